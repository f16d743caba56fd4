"""Tray icon: gauge colour, tooltip and menu from a seeded store; clicks and menu actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui import icons
from monitor.gui.tasks import TaskRunner
from monitor.gui.tray import PAUSE_HOUR, PAUSE_TOMORROW, TrayIcon
from monitor.services.snapshot import DashboardSnapshot
from monitor.services.store import ORG_SOURCE, SyncState
from tests.gui.conftest import NOW, make_state, seed_spend, snapshot_of


def _tray_with(qtbot: QtBot, ctx: AppContext, runner: TaskRunner) -> tuple[TrayIcon,
                                                                            DashboardSnapshot]:
    state = make_state(ctx, runner)
    tray = TrayIcon()
    state.snapshot_changed.connect(tray.set_snapshot)
    snap = snapshot_of(qtbot, state)
    assert isinstance(snap, DashboardSnapshot)
    return tray, snap


def _pixel(tray: TrayIcon, size: int = 32) -> QColor:
    img = tray.current_icon().pixmap(size, size).toImage().convertToFormat(
        QImage.Format.Format_ARGB32)
    return img.pixelColor(int(size * 0.62), int(size * 0.30))


def test_tooltip_and_green_gauge_from_seeded_store(qtbot: QtBot, utc_ctx: AppContext,
                                                   runner: TaskRunner) -> None:
    seed_spend(utc_ctx, today_usd="1.23", earlier_usd="46.87")
    tray, snap = _tray_with(qtbot, utc_ctx, runner)
    try:
        assert tray.icon.toolTip() == "Today $1.23 · Nov $48.10 of $120 (40 %)"
        assert snap.cycle.fraction == pytest.approx(48.10 / 120)
        assert tray.look.level is icons.GaugeLevel.OK
        assert _pixel(tray).name() == icons.GREEN.name()
    finally:
        tray.dispose()


@pytest.mark.parametrize(("earlier", "level", "colour"), [
    ("70", icons.GaugeLevel.WARN, icons.AMBER),
    ("115", icons.GaugeLevel.CRITICAL, icons.RED),  # 97.5 %: critical from 90 %
    ("130", icons.GaugeLevel.OVER, icons.OVER_RED),
])
def test_gauge_turns_amber_then_red(qtbot: QtBot, utc_ctx: AppContext, runner: TaskRunner,
                                    earlier: str, level: icons.GaugeLevel,
                                    colour: QColor) -> None:
    seed_spend(utc_ctx, today_usd="2", earlier_usd=earlier)
    tray, _snap = _tray_with(qtbot, utc_ctx, runner)
    try:
        assert tray.look.level is level
        assert _pixel(tray).name() == colour.name()
    finally:
        tray.dispose()


def test_no_data_yet_look_and_tooltip(qtbot: QtBot, utc_ctx: AppContext,
                                      runner: TaskRunner) -> None:
    tray, snap = _tray_with(qtbot, utc_ctx, runner)
    try:
        assert not snap.has_data
        assert tray.look.level is icons.GaugeLevel.NO_DATA
        assert tray.icon.toolTip().splitlines() == [
            "Today $0.00 · Nov $0.00 of $120 (0 %)", "No usage data yet"]
        assert _pixel(tray).name() == icons.NO_DATA.name()
    finally:
        tray.dispose()


def test_failing_source_look_keeps_numbers(qtbot: QtBot, utc_ctx: AppContext,
                                           runner: TaskRunner) -> None:
    seed_spend(utc_ctx, today_usd="1", earlier_usd="20")
    # Never synced (so org covers nothing and every proxy record counts), last try failed.
    utc_ctx.store().set_sync_state(ORG_SOURCE, SyncState(
        last_success=None, last_error="invalid API key (401)",
        last_error_at=NOW - timedelta(minutes=5)))
    tray, snap = _tray_with(qtbot, utc_ctx, runner)
    try:
        assert snap.failing
        assert tray.look.level is icons.GaugeLevel.FAILING
        lines = tray.icon.toolTip().splitlines()
        assert lines[0] == "Today $1.00 · Nov $21.00 of $120 (17 %)"
        assert lines[1] == "Sync failing: invalid API key (401)"
        img = tray.current_icon().pixmap(32, 32).toImage()
        assert img.pixelColor(26, 28).name() in (icons.BADGE.name(), icons.BADGE_MARK.name())
    finally:
        tray.dispose()


def test_menu_is_rebuilt_with_figures_and_actions(qtbot: QtBot, utc_ctx: AppContext,
                                                  runner: TaskRunner) -> None:
    seed_spend(utc_ctx, today_usd="1.23", earlier_usd="46.87")
    tray, _snap = _tray_with(qtbot, utc_ctx, runner)
    try:
        tray.menu.aboutToShow.emit()  # what opening the menu does
        texts = tray.menu_texts()
        assert texts[0] == "Today: $1.23 · 1,100 tokens"
        assert "input 1,000 · cached 0 · output 100 · reasoning 0" in texts[1]
        assert texts[2] == "Nov: $48.10 of $120 (40 %)"
        assert texts[3].strip().startswith("At this pace: $")
        assert texts[-7:] == ["Open dashboard", "Tokenizer", "Refresh now", "Pause alerts",
                              "Settings…", "API keys…", "Quit"]
        # Each action emits its request.
        for name, signal in (("open-dashboard", tray.dashboard_requested),
                             ("tokenizer", tray.tokenizer_requested),
                             ("refresh", tray.refresh_requested),
                             ("settings", tray.settings_requested),
                             ("quit", tray.quit_requested)):
            action = tray.find_action(name)
            assert action is not None, name
            with qtbot.waitSignal(signal, timeout=1000):
                action.trigger()
        for name, choice in (("pause-1h", PAUSE_HOUR), ("pause-tomorrow", PAUSE_TOMORROW)):
            action = tray.find_action(name)
            assert action is not None
            with qtbot.waitSignal(tray.pause_requested, timeout=1000) as blocker:
                action.trigger()
            assert blocker.args == [choice]
        # A newer snapshot shows up the next time the menu opens.
        seed_spend(utc_ctx, today_usd="2.00", earlier_usd="0")
        state = make_state(utc_ctx, runner)
        state.snapshot_changed.connect(tray.set_snapshot)
        snapshot_of(qtbot, state)
        tray.menu.aboutToShow.emit()
        assert tray.menu_texts()[0].startswith("Today: $3.23")
    finally:
        tray.dispose()


def test_left_click_opens_dashboard(qtbot: QtBot) -> None:
    tray = TrayIcon()
    try:
        with qtbot.waitSignal(tray.dashboard_requested, timeout=1000):
            tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
        with qtbot.assertNotEmitted(tray.dashboard_requested):
            tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.Context)
    finally:
        tray.dispose()


def test_unpriced_requests_are_said_where_the_money_is(qtbot: QtBot, utc_ctx: AppContext,
                                                       runner: TaskRunner) -> None:
    from decimal import Decimal

    from monitor.core.records import ProxyRecord
    from monitor.core.usage import TokenUsage

    seed_spend(utc_ctx, today_usd="1.23", earlier_usd="46.87")
    # one request today on a model the table cannot price: today's $1.23 leaves it out
    utc_ctx.store().add_proxy_record(ProxyRecord(
        time=NOW - timedelta(minutes=30), endpoint="/v1/images/generations",
        model="mystery-image-model", service_tier=None, key_label="laptop",
        usage=TokenUsage(input_tokens=50, output_tokens=4000), cost_usd=None,
        price_as_of=None, status=200, latency_ms=900.0))
    tray, snap = _tray_with(qtbot, utc_ctx, runner)
    try:
        assert (snap.today.unpriced_requests, snap.cycle.unpriced_requests) == (1, 1)
        assert snap.today.cost_usd == Decimal("1.23")
        assert tray.icon.toolTip().splitlines()[1] == "1 request not priced today"
        tray.rebuild_menu()
        assert "    1 request not priced today" in tray.menu_texts()
    finally:
        tray.dispose()
    from monitor.gui.dashboard.header import HeaderPanel

    header = HeaderPanel()
    qtbot.addWidget(header)
    header.show_snapshot(snap)
    assert header.today_requests.text().endswith("\n1 request not priced today")


def test_the_menu_says_whether_the_proxy_is_on(qtbot: QtBot, utc_ctx: AppContext,
                                               runner: TaskRunner) -> None:
    import dataclasses

    from monitor.services.snapshot import ProxySourceStatus

    tray, snap = _tray_with(qtbot, utc_ctx, runner)
    try:
        tray.rebuild_menu()
        action = tray.find_action("proxy-state")
        assert action is not None and action.text() == "Proxy: off"
        on = dataclasses.replace(snap, proxy=ProxySourceStatus(
            True, address="http://127.0.0.1:8787/v1"))
        tray.set_snapshot(on)
        tray.rebuild_menu()
        assert "Proxy: on at http://127.0.0.1:8787/v1" in tray.menu_texts()
        failed = dataclasses.replace(snap, proxy=ProxySourceStatus(
            True, error="port 8787 is in use"))
        tray.set_snapshot(failed)
        tray.rebuild_menu()
        assert "Proxy: not running (port 8787 is in use)" in tray.menu_texts()
    finally:
        tray.dispose()
