"""The application-menu entry launches the app: its Exec line, run as a desktop would, opens
a window whose WM_CLASS matches the entry's StartupWMClass (so it groups with its launcher).

Uses the Xvfb session of test_app_xvfb (skipped without Xvfb and friends unless
MONITOR_REQUIRE_XVFB=1).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from monitor.services import desktop_entry
from tests.e2e.test_app_xvfb import XSession, _dashboard, _wait_for, xsession  # noqa: F401
from tests.unit.test_desktop_entry import _keys, exec_argv

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_the_entry_exec_line_starts_the_app(xsession: XSession, tmp_path: Path) -> None:  # noqa: F811
    x = xsession
    home = tmp_path / "tm-home"
    launcher = desktop_entry.Launcher((sys.executable, "-m", "monitor"), str(home))
    entry = desktop_entry.install(launcher, platform="linux", base=tmp_path / "share")
    keys = _keys(entry.read_text(encoding="utf-8"))
    argv = exec_argv(keys["Exec"])
    env = {**x.env, "PYTHONPATH": str(ROOT), "MONITOR_SHOW_WINDOW": "1",
           "MONITOR_NO_ERR_WINDOWS": "1", "XDG_DATA_HOME": str(tmp_path / "share")}
    proc = x.spawn(argv, env=env, cwd=str(tmp_path))
    wid = _wait_for(lambda: _dashboard(x), 60, "the dashboard window from the Exec line",
                    lambda: f"exit code {proc.poll()}")
    assert isinstance(wid, int)
    wm_class = x.run("xprop", "-id", str(wid), "WM_CLASS", check=True).stdout
    # WM_CLASS(STRING) = "token-monitor", "Token Monitor"-ish: instance first, then class
    names = [part.strip().strip('"') for part in wm_class.split("=", 1)[1].split(",")]
    assert keys["StartupWMClass"] in names, wm_class
    assert (home / "config").is_dir()  # it ran with the entry's MONITOR_HOME
    assert proc.poll() is None  # still running; the fixture stops it
