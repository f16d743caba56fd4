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
    assert window.what_if_result.text() == "$0.00042 instead of $48.10: −$48.10 (−100 %)"
    # Per model, as `usage --reprice gpt-4o-mini --by model` gives it (issue 25).
    table = window.what_if.table
    assert table is not None and not table.isHidden() and table.rowCount() == 1
    assert [table.item(0, c).text() for c in range(4)] == [
        "gpt-4o", "$48.10", "$0.00042", "−$48.10 (−100 %)"]
    assert table.horizontalHeaderItem(2).text() == "On gpt-4o-mini"


def test_the_model_list_filters_by_what_is_typed(qtbot: QtBot, utc_ctx: AppContext,
                                                 runner: TaskRunner) -> None:
    seed_spend(utc_ctx, today_usd="1.23", earlier_usd="0")
    snap = snapshot_of(qtbot, make_state(utc_ctx, runner))
    assert isinstance(snap, DashboardSnapshot) and len(snap.price_models) > 40
    window = DashboardWindow()
    qtbot.addWidget(window)
    window.show_snapshot(snap)
    combo = window.what_if_model
    everything = [combo.itemData(i) for i in range(1, combo.count())]
    assert everything == list(snap.price_models)
    window.what_if.filter.setText("MINI")  # any case
    shown = [combo.itemData(i) for i in range(1, combo.count())]
    assert shown == [m for m in snap.price_models if "mini" in m.lower()]
    assert "gpt-4o-mini" in shown and "gpt-4o" not in shown
    combo.setCurrentIndex(combo.findData("gpt-4o-mini"))
    window.what_if.filter.setText("o1")  # the chosen model stays in the list
    assert combo.currentData() == "gpt-4o-mini"
    window.what_if.filter.clear()
    assert combo.count() - 1 == len(snap.price_models) and combo.currentData() == "gpt-4o-mini"


def test_a_what_if_difference_under_half_a_cent_reads_zero() -> None:
    from decimal import Decimal

    from monitor.gui.dashboard.what_if import _signed

    assert _signed(Decimal("0.00000010"), Decimal("1.00")) == "$0.00"
    assert _signed(Decimal("-3"), Decimal("3")) == "−$3.00 (−100 %)"
    assert _signed(Decimal("1.2"), Decimal(0)) == "+$1.20"
