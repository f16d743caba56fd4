"""Rough edges a new user hit (issue 16): prepaid credit wording, remembered tab and model,
CSV export confirmation, paused-alerts mark."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui.alerts import notification_for
from monitor.gui.dashboard.window import DashboardWindow
from monitor.gui.tasks import TaskRunner
from monitor.services.alerting import Alert
from tests.gui.conftest import NOW, make_state, seed_spend, snapshot_of


def test_overspent_credit_reads_used_up_everywhere(qtbot: QtBot, utc_ctx: AppContext,
                                                   runner: TaskRunner) -> None:
    utc_ctx.save_settings(utc_ctx.settings.replace(
        prepaid_credit_usd=Decimal(100), prepaid_purchased=date(2026, 11, 1)))
    seed_spend(utc_ctx, today_usd="23.12", earlier_usd="200")
    snap = snapshot_of(qtbot, make_state(utc_ctx, runner, NOW))
    w = DashboardWindow()
    qtbot.addWidget(w)
    w.show_snapshot(snap)  # type: ignore[arg-type]
    assert w.header.credit_remaining.text() == "Used up"
    assert w.header.credit_detail.text().startswith("$123.12 over the $100.00 credit")
    assert "-$" not in w.header.credit_detail.text()
    n = notification_for(Alert("credit_low", "x", urgency="critical", params=(
        ("remaining", "$0.00"), ("amount", "$100.00"), ("over", "$123.12"))))
    assert n.title == "Prepaid credit used up"
    assert n.body == "The $100.00 prepaid credit is used up, $123.12 over."


def test_paused_alerts_show_on_the_icon_and_tooltip(qtbot: QtBot) -> None:
    from datetime import timedelta

    from PySide6.QtGui import QColor

    from monitor.core.clock import ManualClock
    from monitor.gui import icons
    from monitor.gui.tray import TrayIcon

    clock = ManualClock(NOW)
    tray = TrayIcon(clock=clock)
    try:
        def corner() -> QColor:
            return QColor(tray.current_icon().pixmap(32, 32).toImage().pixel(8, 2))

        plain = corner()
        assert "paused" not in tray.icon.toolTip()
        tray.set_paused_until(NOW + timedelta(hours=1))
        assert tray.paused
        assert "Alerts paused until" in tray.icon.toolTip().splitlines()[-1]
        marked = corner()
        assert marked != plain and marked.blue() > 150 and marked.red() < 100
        assert (marked.red(), marked.green(), marked.blue()) == (
            icons.PAUSE_MARK.red(), icons.PAUSE_MARK.green(), icons.PAUSE_MARK.blue())
        tray.rebuild_menu()
        assert "Pause alerts (paused)" in tray.menu_texts()
        clock.advance(hours=2)  # the pause ran out: the next update drops the mark
        tray._apply()
        assert not tray.paused and corner() == plain
        assert "paused" not in tray.icon.toolTip()
        tray.set_paused_until(NOW + timedelta(hours=3))
        tray.set_paused_until(None)  # resumed
        assert corner() == plain
    finally:
        tray.dispose()


def test_export_csv_confirms_with_the_path_and_starts_in_a_sensible_folder(
        qtbot: QtBot, utc_ctx: AppContext, runner: TaskRunner, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    seed_spend(utc_ctx, today_usd="1.23", earlier_usd="2")
    snap = snapshot_of(qtbot, make_state(utc_ctx, runner, NOW))
    w = DashboardWindow()
    qtbot.addWidget(w)
    w.show_snapshot(snap)  # type: ignore[arg-type]
    monkeypatch.chdir(tmp_path)  # the folder the app was started from
    asked: list[str] = []
    out = tmp_path / "out" / "spend.csv"
    out.parent.mkdir()

    def fake_dialog(_parent: object, _title: str, start: str, _filter: str) -> tuple[str, str]:
        asked.append(start)
        return str(out), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_dialog))
    w.export_action.trigger()
    start = Path(asked[0])
    assert start.name == "token-monitor-2026-11-01.csv"
    assert start.parent != tmp_path and start.parent.is_dir()  # not the start-up folder
    assert out.read_text(encoding="utf-8").startswith("section,")
    assert not w.banner.isHidden()
    assert f"Saved Nov 1 – Nov 30 to {out}" in w.banner.label.text()  # the shown period
    w.export_action.trigger()
    assert Path(asked[1]).parent == out.parent  # the next export starts where the last went

    out.parent.chmod(0o500)  # unwritable: a clear message, no crash
    try:
        bad = out.parent / "nope.csv"
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            staticmethod(lambda *_a: (str(bad), "")))
        w.export_action.trigger()
        if not bad.exists():  # (root can write anyway)
            assert f"Could not write {bad}" in w.banner.label.text()
    finally:
        out.parent.chmod(0o700)


def test_dashboard_tab_and_tokenizer_model_survive_a_restart(
        qtbot: QtBot, ctx: AppContext) -> None:
    from monitor.gui.app import AppController

    def app() -> AppController:
        c = AppController(ctx, sync=lambda: "no-admin-key", use_freedesktop=False,
                          with_tokenizer=True)
        c.quit_requested = lambda: None
        return c

    c = app()
    try:
        c.window.show_tokenizer()
        pane = c.window.tokenizer
        assert pane is not None
        models = [pane.model_combo.itemData(i) for i in range(pane.model_combo.count())]
        other = next(m for m in models if m != pane.model())  # type: ignore[attr-defined]
        pane.set_model(other)  # type: ignore[attr-defined]
        tab = c.window.tabs.currentIndex()
    finally:
        c.shutdown()
        c.window.deleteLater()
    again = app()
    try:
        assert again.window.tabs.currentIndex() == tab
        pane2 = again.window.ensure_tokenizer()
        assert pane2 is not None and pane2.model() == other  # type: ignore[attr-defined]
    finally:
        again.shutdown()
        again.window.deleteLater()
