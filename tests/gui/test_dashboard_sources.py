"""The Sources tab (issue 25): no error reads as a grey "none", not a red "–"; an error is red."""

from __future__ import annotations

from dataclasses import replace

from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui.dashboard.window import DashboardWindow
from monitor.gui.tasks import TaskRunner
from monitor.services.snapshot import DashboardSnapshot
from tests.gui.conftest import make_state, seed_spend, snapshot_of


def test_no_error_is_a_neutral_none_and_an_error_is_red(
        qtbot: QtBot, utc_ctx: AppContext, runner: TaskRunner) -> None:
    seed_spend(utc_ctx, "1.00", "0")
    snap = snapshot_of(qtbot, make_state(utc_ctx, runner))
    assert isinstance(snap, DashboardSnapshot) and snap.proxy.error is None
    w = DashboardWindow()
    qtbot.addWidget(w)
    w.show_snapshot(snap)
    pane = w.sources
    for label in (pane.org_error, pane.proxy_error, pane.proxy_spooled):
        assert label.text() == "none", label.objectName()
        assert "#c62828" not in label.styleSheet(), label.objectName()
    assert not pane._proxy_form.isRowVisible(pane.proxy_metrics)  # metrics off: no row
    w.show_snapshot(replace(snap, proxy=replace(snap.proxy, error="port 8787 in use")))
    assert pane.proxy_error.text() == "port 8787 in use"
    assert "#c62828" in pane.proxy_error.styleSheet()
