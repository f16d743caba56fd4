"""`token-monitor` (the tray app) without a display: one clear line and exit 7, not Qt's
abort (exit 134, a core dump, after a misleading message about libxcb-cursor0)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor import exit_codes
from monitor.display import missing_display

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def _headless_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return {**env, "MONITOR_HOME": str(home), "MONITOR_NO_ERR_WINDOWS": "1", **extra}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland only")
@pytest.mark.parametrize("extra", [{}, {"QT_QPA_PLATFORM": "xcb"}])
def test_no_display_is_one_line_and_its_own_exit_code(home: Path,
                                                      extra: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "monitor"], cwd=REPO, timeout=60,
                          env=_headless_env(home, **extra), capture_output=True, check=False)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == exit_codes.NO_DISPLAY == 7, (proc.returncode, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: no display found")
    assert "token-monitor count|usage|status" in lines[0]
    assert "xcb" not in lines[0].replace("QT_QPA_PLATFORM=xcb", "") and "Traceback" not in err
    assert proc.stdout == b""


def test_the_rule() -> None:
    linux = "linux"
    assert missing_display({}, linux) is not None
    assert missing_display({"DISPLAY": ":0"}, linux) is None
    assert missing_display({"WAYLAND_DISPLAY": "wayland-0"}, linux) is None
    assert missing_display({"QT_QPA_PLATFORM": "offscreen"}, linux) is None
    assert missing_display({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, linux) is not None
    assert missing_display({"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":0"}, linux) is None
    assert missing_display({}, "darwin") is None and missing_display({}, "win32") is None
