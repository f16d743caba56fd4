"""The monthly limit is asked once, after the first data, before any budget alert fires:
no threshold or projection alert from the default $120 the user never chose."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui.app import AppController
from monitor.gui.limit_prompt import LimitDialog
from monitor.services import ui_state
from monitor.services.alerting import Alert
from monitor.services.limit_choice import LIMIT_CHOSEN_KEY, limit_chosen
from tests.e2e.seed import seed_proxy_spend
from tests.gui.conftest import seed_spend


def test_no_budget_alert_until_the_limit_is_chosen_then_asked_once(
        qtbot: QtBot, utc_ctx: AppContext, make_app: Callable[..., AppController]) -> None:
    # Last cycle (October) $37.50; this cycle $100 of the default $120 (83 %).
    seed_proxy_spend(utc_ctx.store(), [(datetime(2026, 10, 10, 12, tzinfo=UTC),
                                        Decimal("37.50"))], key_label="old")
    seed_spend(utc_ctx, today_usd="2.00", earlier_usd="98.00")
    fired: list[Alert] = []
    c = make_app()
    c.state.alerts_fired.connect(lambda alerts: fired.extend(alerts))
    c.start(poll=False)
    qtbot.waitUntil(lambda: c.limit_prompt is not None and c.limit_prompt.dialog is not None,
                    timeout=10_000)
    qtbot.waitUntil(lambda: c.state.alerts_evaluated > 0, timeout=10_000)
    assert not [a for a in fired if a.kind in ("threshold", "projection")]
    assert not limit_chosen(utc_ctx.paths.state_file, utc_ctx.settings)
    assert c.limit_prompt is not None
    dialog = c.limit_prompt.dialog
    assert isinstance(dialog, LimitDialog) and dialog.isVisible()
    assert dialog.hint.text() == "Last billing cycle you spent $37.50."
    assert dialog.value() == Decimal("120.00")

    dialog.spin.setValue(150)
    with qtbot.waitSignal(c.state.alerts_fired, timeout=10_000) as blocker:
        dialog.accept()
    assert utc_ctx.settings.monthly_limit_usd == Decimal(150)
    assert ui_state.read_key(utc_ctx.paths.state_file, LIMIT_CHOSEN_KEY) is True
    # $100 of the chosen $150: 66 %, so the 50 % alert and nothing from $120's 80 %.
    assert [(a.kind, a.key) for a in blocker.args[0] if a.kind == "threshold"] == [
        ("threshold", "50")]

    again = make_app()  # a restart: not asked again
    again.start(poll=False)
    qtbot.waitUntil(lambda: again.state.alerts_evaluated > 0, timeout=10_000)
    assert again.limit_prompt is not None and again.limit_prompt.dialog is None


def test_keeping_the_shown_limit_counts_as_chosen(
        qtbot: QtBot, utc_ctx: AppContext, make_app: Callable[..., AppController]) -> None:
    seed_spend(utc_ctx, today_usd="1.00", earlier_usd="64.00")  # 54 % of $120
    c = make_app()
    c.start(poll=False)
    qtbot.waitUntil(lambda: c.limit_prompt is not None and c.limit_prompt.dialog is not None,
                    timeout=10_000)
    assert c.limit_prompt is not None and c.limit_prompt.dialog is not None
    assert c.limit_prompt.dialog.hint.text() == "Last billing cycle you spent $0.00."
    with qtbot.waitSignal(c.state.alerts_fired, timeout=10_000) as blocker:
        c.limit_prompt.dialog.accept()
    assert utc_ctx.settings.monthly_limit_usd == Decimal(120)
    assert [(a.kind, a.key) for a in blocker.args[0]] == [("threshold", "50")]
