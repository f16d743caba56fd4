"""Alerts through AppState: each fires once per cycle, across a restart; pause holds them back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui.alerts import notification_for
from monitor.gui.app import AppController
from monitor.gui.notifier import BANNER
from monitor.gui.state import AppState
from monitor.gui.tasks import TaskRunner
from monitor.services.alerting import Alert
from monitor.services.limit_choice import mark_limit_chosen
from tests.gui.conftest import NOW, fresh_ctx, make_state, seed_spend


@pytest.fixture(autouse=True)
def _limit_chosen(utc_ctx: AppContext) -> None:
    """These users answered the limit question with $120 (tests/gui/test_limit_prompt.py
    covers the question itself)."""
    mark_limit_chosen(utc_ctx.paths.state_file)


def _fired(qtbot: QtBot, state: AppState) -> tuple[Alert, ...]:
    with qtbot.waitSignal(state.alerts_fired, timeout=10_000) as blocker:
        state.refresh()
    alerts = blocker.args[0]
    assert isinstance(alerts, tuple)
    return alerts


def _evaluated_without_alerts(qtbot: QtBot, state: AppState) -> None:
    before = state.alerts_evaluated
    with qtbot.assertNotEmitted(state.alerts_fired, wait=0):
        state.refresh()
        qtbot.waitUntil(lambda: state.alerts_evaluated > before, timeout=10_000)


def test_threshold_alert_fires_once_across_a_restart(qtbot: QtBot, utc_ctx: AppContext,
                                                     runner: TaskRunner) -> None:
    seed_spend(utc_ctx, today_usd="2.00", earlier_usd="98.00")  # $100 of $120: 83 %
    first = make_state(utc_ctx, runner)
    alerts = _fired(qtbot, first)
    kinds = {(a.kind, a.key) for a in alerts}
    assert ("threshold", "80") in kinds  # 50 and 80 crossed together: the higher one shown
    assert ("threshold", "50") not in kinds
    assert utc_ctx.store().fired_alerts(NOW.date().replace(day=1)) >= {
        ("threshold", "50"), ("threshold", "80")}
    n = notification_for(next(a for a in alerts if a.kind == "threshold"))
    assert n.title == "83 % of your monthly limit used"  # the actual share, not 80
    assert n.body == "Spent $100.00 of $120.00 this cycle."
    _evaluated_without_alerts(qtbot, first)  # same state, nothing new

    # "Restart": a new context and state over the same files.
    utc_ctx.close()
    second_ctx = fresh_ctx(utc_ctx.paths)
    try:
        second = make_state(second_ctx, runner)
        _evaluated_without_alerts(qtbot, second)
        # Crossing the next threshold fires just that one.
        seed_spend(second_ctx, today_usd="10.00", earlier_usd="0")  # $110: 91 %
        alerts = _fired(qtbot, second)
        assert [(a.kind, a.key) for a in alerts if a.kind == "threshold"] == [
            ("threshold", "90")]
    finally:
        second_ctx.close()


def test_pause_holds_alerts_until_resumed(qtbot: QtBot, utc_ctx: AppContext,
                                          runner: TaskRunner) -> None:
    seed_spend(utc_ctx, today_usd="1.00", earlier_usd="64.00")  # 54 %
    state = make_state(utc_ctx, runner)
    state.pause_alerts(NOW + timedelta(hours=1))
    _evaluated_without_alerts(qtbot, state)
    assert utc_ctx.store().fired_alerts(NOW.date().replace(day=1)) == set()
    # The pause is remembered by a new AppState (a restart).
    again = make_state(utc_ctx, runner)
    assert again.alerts.paused_until == NOW + timedelta(hours=1)
    _evaluated_without_alerts(qtbot, again)
    with qtbot.waitSignal(state.alerts_fired, timeout=10_000) as blocker:
        state.pause_alerts(None)
    assert [(a.kind, a.key) for a in blocker.args[0]] == [("threshold", "50")]


def test_pause_menu_choice_and_banner_delivery(qtbot: QtBot, utc_ctx: AppContext) -> None:
    seed_spend(utc_ctx, today_usd="1.00", earlier_usd="64.00")
    c = AppController(utc_ctx, sync=lambda: "no-admin-key", use_freedesktop=False,
                      with_tokenizer=False)
    try:
        c.pause_alerts("1h")
        assert c.state.alerts.paused_until is not None
        _evaluated_without_alerts(qtbot, c.state)
        assert c.window.banner.isHidden()
        with qtbot.waitSignal(c.notifier.delivered, timeout=10_000) as blocker:
            c.pause_alerts("off")
        delivery = blocker.args[0]
        assert delivery.channel == BANNER  # offscreen: no bus, no tray → in-window banner
        assert delivery.notification.title == "54 % of your monthly limit used"
        assert "54 % of your monthly limit used" in c.window.banner.label.text()
    finally:
        c.shutdown()


def test_notification_texts_one_request_and_an_expired_key() -> None:
    one = Alert("new_key", "k1", params=(("name", "laptop"), ("requests", "1"),
                                         ("count", "1")))
    assert notification_for(one).body == ("laptop made 1 request this cycle and had not been "
                                          "seen before.")
    many = Alert("new_key", "k2", params=(("name", "ci"), ("requests", "1,204"),
                                          ("count", "1204")))
    assert notification_for(many).body.startswith("ci made 1,204 requests this cycle")
    expired = Alert("key_expired", "old:2026-11-01",
                    params=(("label", "old"), ("days", "-19"), ("date", "2026-11-01")))
    n = notification_for(expired)
    assert n.title == "API key expired" and "expiring" not in n.title
    assert n.body.startswith("The key old expired on ")


def test_the_notification_and_the_cli_read_the_same_english() -> None:
    from monitor.core.alert_texts import english
    from tests.unit.test_alert_rules import every_alert

    for alert in every_alert():
        n, words = notification_for(alert), english(alert)
        assert n.title == words.title, alert
        if not alert.param("date"):  # dates: `Nov 23` in the GUI, ISO on the CLI
            assert n.body == words.body, alert
        assert n.kind == alert.kind and n.urgency == alert.urgency
