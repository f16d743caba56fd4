"""Run inside `dbus-run-session`: watch the bus with dbus-monitor while our Notifier sends an alert.

Not a test module (pytest collects test_*.py only); test_notifications_dbus.py runs it:
`dbus-run-session -- python tests/integration/notify_probe.py OUT.json [--daemon]`.
With `--daemon`, a real notification server (dunst on a private Xvfb display) answers.
Prints/writes JSON: the monitor log, how the notification was delivered, and the reply.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TITLE = "Token Monitor budget alert"
BODY = "80 % of your monthly limit used (probe)"
READY_TIMEOUT_S = 10.0


def _wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def _start_daemon(procs: list[subprocess.Popen[bytes]]) -> str | None:
    """Xvfb on a free display plus dunst owning org.freedesktop.Notifications."""
    if not (shutil.which("Xvfb") and shutil.which("dunst")):
        return "Xvfb or dunst missing"
    r, w = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "800x600x24",
                             "-nolisten", "tcp"], pass_fds=(w,),
                            stderr=subprocess.DEVNULL)  # fmt: skip
    procs.append(xvfb)
    os.close(w)
    with os.fdopen(r) as f:
        display = f.readline().strip()
    if not display:
        return "Xvfb did not start"
    env = {**os.environ, "DISPLAY": f":{display}"}
    procs.append(subprocess.Popen(["dunst"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL))  # fmt: skip
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    dbus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus",
                       interface="org.freedesktop.DBus")

    def owned() -> bool:
        with open_dbus_connection(bus="SESSION") as c:
            reply = c.send_and_get_reply(new_method_call(dbus, "NameHasOwner", "s",
                                                         ("org.freedesktop.Notifications",)))
            return bool(reply.body[0])

    return None if _wait_for(owned, READY_TIMEOUT_S) else "dunst did not take the bus name"


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    want_daemon = "--daemon" in argv
    procs: list[subprocess.Popen[bytes]] = []
    log_path = out.with_suffix(".monitor.log")
    result: dict[str, object] = {}
    try:
        daemon_problem = _start_daemon(procs) if want_daemon else "not requested"
        result["daemon"] = daemon_problem is None
        result["daemon_problem"] = daemon_problem
        with open(log_path, "wb") as log:
            monitor = subprocess.Popen(
                ["dbus-monitor", "--session", "interface='org.freedesktop.Notifications'"],
                stdout=log, stderr=subprocess.STDOUT)
        procs.append(monitor)
        # Ready when a call on the interface shows up in its output (GetCapabilities is
        # harmless, and answered by the daemon or refused by the bus).
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection

        notif = DBusAddress("/org/freedesktop/Notifications",
                            bus_name="org.freedesktop.Notifications",
                            interface="org.freedesktop.Notifications")

        def monitor_ready() -> bool:
            with open_dbus_connection(bus="SESSION") as c:
                c.send_and_get_reply(new_method_call(notif, "GetCapabilities"), timeout=5)
            return b"GetCapabilities" in log_path.read_bytes()

        if not _wait_for(monitor_ready, READY_TIMEOUT_S):
            result["error"] = "dbus-monitor never showed a call"
            return 1

        from PySide6.QtCore import QEventLoop, QTimer
        from PySide6.QtWidgets import QApplication

        from monitor.gui.notifier import Notifier
        from monitor.gui.tasks import TaskRunner
        from monitor.services.desktop_notify import Notification

        app = QApplication([])
        runner = TaskRunner()
        notifier = Notifier(runner, lambda: None, use_freedesktop=True)
        loop = QEventLoop()
        notifier.delivered.connect(lambda _d: loop.quit())
        QTimer.singleShot(15_000, loop.quit)
        notifier.notify(Notification(TITLE, BODY, "normal", "threshold"))
        loop.exec()
        runner.wait(5000)
        delivery = notifier.history[-1] if notifier.history else None
        result["channel"] = delivery.channel if delivery else None
        result["fallback_reason"] = delivery.fallback_reason if delivery else None
        _wait_for(lambda: b"member=Notify" in log_path.read_bytes(), 5.0)
        del app
        return 0
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        result["monitor_log"] = log_path.read_text(errors="replace") if log_path.exists() else ""
        out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
