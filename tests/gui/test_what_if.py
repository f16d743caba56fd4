"""The By-model tab's "What if everything ran on [model ▾]" line (issue 13)."""

from __future__ import annotations

from decimal import Decimal

from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui.dashboard.window import DashboardWindow
from monitor.gui.tasks import TaskRunner
from monitor.services.snapshot import DashboardSnapshot
from tests.gui.conftest import make_state, seed_spend, snapshot_of


def test_what_if_line_reprices_the_cycle(qtbot: QtBot, utc_ctx: AppContext,
                                         runner: TaskRunner) -> None:
    # two proxy records on gpt-4o (1,000 input + 100 output each) recorded at $46.87 + $1.23
    seed_spend(utc_ctx, today_usd="1.23", earlier_usd="46.87")
    state = make_state(utc_ctx, runner)
    window = DashboardWindow()
    qtbot.addWidget(window)
    state.snapshot_changed.connect(window.show_snapshot)
    window.what_if_requested.connect(
        lambda model: state.update_runtime(what_if_model=model or None))
    snap = snapshot_of(qtbot, state)
    assert isinstance(snap, DashboardSnapshot) and snap.what_if is None
    combo = window.what_if_model
    assert combo.findData("gpt-4o-mini") > 0 and window.what_if_result.text() == ""

    with qtbot.waitSignal(state.snapshot_changed, timeout=10_000) as blocker:
        combo.setCurrentIndex(combo.findData("gpt-4o-mini"))
    snap = blocker.args[0]
    w = snap.what_if
    # gpt-4o-mini: 2 x (1,000 x 0.15 + 100 x 0.6) micro-dollars = $0.00042
    assert w is not None and (w.model, w.cost_usd) == ("gpt-4o-mini", Decimal("0.00042"))
    assert w.actual_cost_usd == Decimal("48.10")
    # under a cent: two significant digits (the one money rule, monitor.core.money)
    assert window.what_if_result.text() == \
        "$0.00042 this cycle instead of $48.10: −$48.10 (−100 %)"
