"""A first start as a new user sees it (real Xvfb, a real tray host): the dashboard opens on
the welcome panel by itself, and the terminal says in one line where the app went."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from monitor.gui.first_start import TRAY_LINE
from tests.e2e.test_app_xvfb import (  # noqa: F401 - xsession is a fixture
    ROOT,
    RunningApp,
    XSession,
    _dashboard,
    xsession,
)

pytestmark = pytest.mark.e2e


def test_first_start_opens_the_welcome_panel_and_says_where_the_app_went(
        xsession: XSession, tmp_path: Path) -> None:  # noqa: F811 - the fixture
    x = xsession
    home = tmp_path / "home"  # nothing set up: no key, no proxy, no data
    env = {**x.env, "QT_QPA_PLATFORM": "xcb", "MONITOR_HOME": str(home),
           "PYTHONPATH": str(ROOT)}
    env.pop("OPENAI_ADMIN_KEY", None)
    err_log = tmp_path / "app.err"
    with (tmp_path / "app.out").open("wb") as out, err_log.open("wb") as err:
        proc = x.spawn([sys.executable, "-m", "monitor"], env=env, stdout=out, stderr=err,
                       cwd=tmp_path)
    app = RunningApp(x, proc, env, home, err_log)
    app.wait_docked()
    dash = app.wait_dashboard()  # no click: a first start shows the window
    assert dash == _dashboard(x)
    lines = err_log.read_text(errors="replace").splitlines()
    assert lines.count(TRAY_LINE) == 1, lines
    assert "system tray" in TRAY_LINE and "left-click the icon" in TRAY_LINE
    app.interrupt_and_check_clean_exit()
