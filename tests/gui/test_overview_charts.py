"""The dashboard's charts exist only while the window is shown, and show the last snapshot."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui.app import AppController
from monitor.gui.app_jobs import NO_ADMIN_KEY
from monitor.gui.dashboard.charts import daily_values


def test_charts_are_built_when_shown_dropped_when_closed_and_rebuilt_with_the_data(
        qtbot: QtBot, ctx: AppContext) -> None:
    from monitor.gui.welcome_flow import WELCOME_DISMISSED_PREF
    from monitor.gui.window_state import save_pref

    save_pref(ctx.paths.state_file, WELCOME_DISMISSED_PREF, True)  # not a first start
    c = AppController(ctx, tray=True, sync=lambda: NO_ADMIN_KEY, use_freedesktop=False,
                      with_tokenizer=False)
    c.quit_requested = lambda: None
    try:
        with qtbot.waitSignal(c.state.snapshot_changed, timeout=10_000):
            c.start(poll=False)
        w = c.window
        overview = w.charts
        assert not w.isVisible() and not overview.built  # tray only: no charts yet
        w.bring_forward()
        qtbot.waitUntil(lambda: overview.built, timeout=5_000)
        daily = overview.daily_chart
        assert daily is not None and daily.chart().series(), "drawn from the snapshot"
        w.close()  # to the tray
        assert not w.isVisible() and not overview.built
        qtbot.waitUntil(lambda: not daily.isVisible(), timeout=5_000)
        w.bring_forward()
        qtbot.waitUntil(lambda: overview.built, timeout=5_000)
        assert overview.daily_chart is not daily
        assert overview.daily_chart is not None and overview.daily_chart.chart().series()
        assert c.state.snapshot is not None
        assert overview.daily_chart.bar_values == daily_values(c.state.snapshot)[1]
    finally:
        c.shutdown()
        c.window.deleteLater()
