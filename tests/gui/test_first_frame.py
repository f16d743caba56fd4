"""The first frame comes first: what run_app does before the dashboard's first paint, and
what it leaves for after (sources, snapshot, alert engine, table views, welcome panel)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QSystemTrayIcon, QTableView, QWidget
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui.app import AppController
from monitor.gui.dashboard.window import DashboardWindow
from monitor.services.snapshot import DashboardSnapshot
from tests.gui.conftest import NOW, seed_spend

ROOT = Path(__file__).resolve().parents[2]


def _record_order(c: AppController, events: list[str]) -> None:
    refresh = c.state.refresh

    def recorded() -> None:
        events.append("refresh")
        refresh()

    c.state.refresh = recorded  # type: ignore[method-assign]
    c.window.first_painted.connect(lambda: events.append("painted"))


def test_sources_start_after_the_window_has_painted(
        qtbot: QtBot, make_app: Callable[..., AppController]) -> None:
    c = make_app()  # offscreen: no tray, so start() shows the window
    events: list[str] = []
    _record_order(c, events)
    c.start(poll=False, after_first_frame=True)
    assert c.window.isVisible()
    assert events == [] and c.runner.active == 0  # nothing started on the way to the frame
    qtbot.waitUntil(lambda: c.state.snapshot is not None, timeout=10_000)
    assert events[:2] == ["painted", "refresh"]


def test_in_the_tray_sources_start_when_the_event_loop_runs(
        qtbot: QtBot, make_app: Callable[..., AppController],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    c = make_app()
    assert c.tray is not None
    c.start(poll=False, after_first_frame=True)
    assert not c.window.isVisible() and c.state.generation == 0
    qtbot.waitUntil(lambda: c.state.snapshot is not None, timeout=10_000)


def test_a_pause_from_before_a_restart_shows_on_the_tray_once_started(
        qtbot: QtBot, ctx: AppContext, make_app: Callable[..., AppController],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    make_app().state.alerts.pause(NOW + timedelta(hours=1))  # the previous run's choice
    c = make_app()
    assert c.tray is not None and not c.tray.paused
    c.start(poll=False, after_first_frame=True)
    qtbot.waitUntil(lambda: c.tray is not None and c.tray.paused, timeout=10_000)


def test_a_shutdown_before_the_event_loop_starts_nothing(
        qtbot: QtBot, make_app: Callable[..., AppController]) -> None:
    c = make_app()
    c.start(poll=True, after_first_frame=True)
    c.shutdown()
    qtbot.wait(50)
    assert c.state.generation == 0 and c.runner.active == 0
    assert not c.poller.running


def test_table_views_are_built_when_their_tab_is_first_shown(
        qtbot: QtBot, ctx: AppContext, make_app: Callable[..., AppController]) -> None:
    seed_spend(ctx, "1.50", "20.00", key_label="laptop")
    c = make_app()
    with qtbot.waitSignal(c.state.snapshot_changed, timeout=10_000) as blocker:
        c.start(poll=False)
    snap = blocker.args[0]
    assert isinstance(snap, DashboardSnapshot) and snap.by_model and snap.by_key
    w = c.window
    def views() -> list[str]:  # the tables' views (the Sources tab has its own table)
        return sorted(v.objectName() for v in w.findChildren(QTableView)
                      if v.objectName() != "rate-limits")

    assert views() == []  # the Overview tab alone was shown
    tabs = [w.tabs.tabText(i) for i in range(w.tabs.count())]
    w.tabs.setCurrentIndex(tabs.index("By model"))
    assert w.model_view is not None and w.model_view.model() is w.model_proxy
    assert w.model_view.model().rowCount() == len(snap.by_model)
    w.tabs.setCurrentIndex(tabs.index("By project and key"))
    assert w.key_view is not None and w.key_view.model().rowCount() == len(snap.by_key)
    w.tabs.setCurrentIndex(tabs.index("Billed vs estimated"))
    assert w.recon_view is not None and w.recon_view.model() is w.recon_proxy
    assert views() == ["key-table", "model-table", "project-table", "recon-table"]
    w.tabs.setCurrentIndex(tabs.index("By model"))  # built once
    assert len(views()) == 4


def test_the_sources_pane_is_built_by_the_first_snapshot_or_its_tab(
        qtbot: QtBot, make_app: Callable[..., AppController]) -> None:
    from monitor.gui.dashboard.sources import SourcesPane

    w = DashboardWindow()
    qtbot.addWidget(w)
    assert w.findChildren(SourcesPane) == []
    w.tabs.setCurrentWidget(w.sources_page)
    assert w.findChildren(SourcesPane) == [w.sources]
    c = make_app()
    assert c.window.findChildren(SourcesPane) == []
    with qtbot.waitSignal(c.state.snapshot_changed, timeout=10_000):
        c.start(poll=False)
    assert c.window.findChildren(SourcesPane) == [c.window.sources]
    assert c.window.sources.org_next.text()  # the snapshot is shown in it


def test_a_remembered_table_tab_is_built_before_the_window_shows(
        qtbot: QtBot, ctx: AppContext, make_app: Callable[..., AppController]) -> None:
    c = make_app()
    c.window.tabs.setCurrentIndex(1)  # remembered in the state file by remember_tab
    again = make_app()
    assert again.window.tabs.currentIndex() == 1
    assert again.window.model_view is not None


def test_the_welcome_panel_is_built_only_when_needed(qtbot: QtBot) -> None:
    w = DashboardWindow()
    qtbot.addWidget(w)
    assert w.findChild(QWidget, "welcome") is None and not w.welcome_active
    w.set_welcome(False)
    assert w.findChild(QWidget, "welcome") is None
    paths: list[str] = []
    w.welcome_path_requested.connect(paths.append)
    w.set_welcome(True)
    assert w.welcome_active and w.findChild(QWidget, "welcome") is w.welcome
    w.welcome.buttons["tokenizer"].click()
    assert paths == ["tokenizer"]


PROBE = """
import json, os, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(["token-monitor"])
from monitor.gui.dashboard.window import DashboardWindow
seen = {}
paint = DashboardWindow.paintEvent
def painted(self, event):
    paint(self, event)
    if not seen:
        seen["modules"] = sorted(sys.modules)
        QTimer.singleShot(0, app.quit)
DashboardWindow.paintEvent = painted
from monitor.context import AppContext
from monitor.gui.app import run_app
from monitor.paths import resolve_paths
ctx = AppContext(resolve_paths(sys.argv[1]).ensure())
run_app(ctx)
ctx.close()
print(json.dumps(seen))
"""

# The sources start after the first frame, so their data layer loads then (the store, the
# snapshot, the alert engine, the sync's client); and the heavy optional parts load when
# first used: tiktoken when counting, aiohttp with the proxy, QtCharts with the charts.
NOT_BEFORE_THE_FIRST_FRAME = (
    "monitor.services.snapshot", "monitor.services.alerting", "monitor.services.store",
    "monitor.services.status", "monitor.core.budget", "monitor.services.proxy",
    "monitor.services.openai_admin", "sqlite3", "keyring",
    "monitor.gui.tokenizer.pane", "tiktoken", "aiohttp", "monitor.gui.dashboard.charts",
    "PySide6.QtCharts",
)


@pytest.fixture(scope="module")
def first_frame(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What run_app had done when the dashboard first painted (a fresh process)."""
    home = tmp_path_factory.mktemp("first-frame") / "home"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MONITOR_SHOW_WINDOW": "1",
           "MONITOR_NO_ERR_WINDOWS": "1"}
    out = subprocess.run([sys.executable, "-c", PROBE, str(home)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, env=env)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines, out.stderr[-2000:]
    seen: dict[str, Any] = json.loads(lines[-1])
    assert "monitor.gui.dashboard.window" in seen["modules"]  # it really painted the dashboard
    return seen


def test_the_first_frame_imports_no_data_layer(first_frame: dict[str, Any]) -> None:
    early = [m for m in first_frame["modules"]
             if any(m == p or m.startswith(p + ".") for p in NOT_BEFORE_THE_FIRST_FRAME)]
    assert early == []
