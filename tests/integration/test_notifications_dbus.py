"""An alert reaches org.freedesktop.Notifications on a real session bus (seen by dbus-monitor).

Each case runs tests/integration/notify_probe.py inside its own `dbus-run-session`, so no
bus or daemon outlives the test. Skipped when the D-Bus tools are missing, unless
MONITOR_REQUIRE_DBUS=1 (CI) makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.notify_probe import BODY, TITLE

PROBE = Path(__file__).with_name("notify_probe.py")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.gui


def _need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        if os.environ.get("MONITOR_REQUIRE_DBUS") == "1":
            pytest.fail(f"missing {', '.join(missing)} (MONITOR_REQUIRE_DBUS=1)")
        pytest.skip(f"missing {', '.join(missing)}")


def _probe(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "probe.json"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY")}
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), HOME=str(tmp_path))
    proc = subprocess.run(
        ["dbus-run-session", "--", sys.executable, str(PROBE), str(out), *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=90,
    )
    assert out.exists(), f"probe wrote nothing: rc={proc.returncode}\n{proc.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(out.read_text())
    assert proc.returncode == 0, (proc.stderr[-2000:], result.get("error"))
    return result


def _notify_calls(log: str) -> list[str]:
    blocks = log.split("\nmethod call ")
    return [b for b in blocks if "member=Notify" in b.splitlines()[0]]


def test_notify_call_is_on_the_bus(tmp_path: Path) -> None:
    """No daemon: the bus refuses the call, dbus-monitor still sees it, we fall back."""
    _need("dbus-run-session", "dbus-monitor")
    result = _probe(tmp_path)
    calls = _notify_calls(result["monitor_log"])
    assert len(calls) == 1, result["monitor_log"]
    call = calls[0]
    assert "interface=org.freedesktop.Notifications" in call
    assert 'string "Token Monitor"' in call  # app_name
    assert "uint32 0" in call  # replaces_id: the uint32 QtDBus cannot send
    assert f'string "{TITLE}"' in call and f'string "{BODY}"' in call
    assert 'string "urgency"' in call and "byte 1" in call
    # Nobody answered, so the notifier fell back (offscreen: no tray → banner).
    assert result["channel"] == "banner"
    assert result["fallback_reason"]


def test_notification_server_accepts_it(tmp_path: Path) -> None:
    """With dunst (on a private Xvfb) owning the name, Notify returns an id: delivered."""
    _need("dbus-run-session", "dbus-monitor", "Xvfb", "dunst")
    result = _probe(tmp_path, "--daemon")
    assert result["daemon"], result["daemon_problem"]
    assert len(_notify_calls(result["monitor_log"])) == 1
    assert result["channel"] == "freedesktop", result["fallback_reason"]
