"""Screenshots of issue 25's new-user fixes: the first start (the whole screen with the tray
icon, and the window on the welcome panel once the proxy is on), the keys dialog (a key used
for sync, an expired one, one that failed its test, one due for renewal; and with no usable
admin key left), the monthly-limit question and the no-data tray icon at each size
(tray_no_data.png itself comes from screenshots.py, cropped from the real tray).

Runnable, not a test: `xvfb-run -a -s "-screen 0 1280x860x24" python
tests/e2e/screenshot_newuser.py [OUT_DIR]` (default resources/screenshots). Starts `trayer`
as the tray host when it is installed (stopped before it exits).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtGui import QColor, QPainter, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def pump(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def first_start(app: QApplication, out: Path) -> None:
    from monitor.context import AppContext
    from monitor.gui.app import AppController
    from monitor.gui.welcome import PATH_PROXY
    from monitor.paths import resolve_paths
    from monitor.services.keyring_vault import MemoryVault
    from monitor.services.keyvault import KeyStore

    home = Path(tempfile.mkdtemp(prefix="tm-shots-first-"))
    ctx = AppContext(resolve_paths(home).ensure())
    ctx.save_settings(ctx.settings.replace(proxy_port=_free_port()))
    ctx._keys = KeyStore(ctx.paths.keys_file, MemoryVault())
    c = AppController(ctx, sync=lambda: "no-admin-key", use_freedesktop=False, tray=True)
    c.quit_requested = lambda: None
    c.window.resize(1000, 720)
    c.window.move(40, 60)
    c.start(poll=False)
    pump(2500)
    assert c.welcome.active and c.window.isVisible(), "a first start opens the welcome panel"
    screen = app.primaryScreen()
    screen.grabWindow(0).save(str(out / "first_start_screen.png"))
    c.welcome.follow_path(PATH_PROXY)
    for _ in range(50):
        pump(100)
        if c.proxy.url and "Proxy on at" in c.window.welcome.intro.text():
            break
    pump(400)
    c.window.grab().save(str(out / "first_start_proxy_on.png"))
    c.shutdown()
    ctx.close()


def keys_dialogs(out: Path) -> None:
    from monitor.core.clock import fixed_clock
    from monitor.gui.keys_dialog import KeysDialog
    from monitor.gui.tasks import TaskRunner
    from monitor.services.keyring_vault import MemoryVault
    from monitor.services.keyvault import KeyStore

    today = date(2026, 12, 8)
    at = datetime(2026, 12, 1, 9, tzinfo=UTC)
    keys = KeyStore(Path(tempfile.mkdtemp(prefix="tm-shots-keys-")) / "keys.json",
                    MemoryVault(), today=lambda: today)
    keys.add("org-admin", "admin", "sk-admin-" + "a" * 40 + "1111", today=date(2026, 11, 2))
    keys.mark_tested("org-admin", True, at)
    keys.add("old-admin", "admin", "sk-admin-" + "b" * 40 + "2222", expires=date(2026, 12, 1),
             today=date(2026, 6, 1))
    keys.add("typo", "admin", "sk-admin-" + "c" * 40 + "3333", today=date(2026, 12, 7))
    keys.mark_tested("typo", False, at)
    keys.add("ci-admin", "admin", "sk-admin-" + "d" * 40 + "4444", today=date(2026, 8, 20))
    keys.mark_tested("ci-admin", True, at)
    keys.add("ci", "project", "sk-proj-" + "e" * 40 + "5555", today=date(2026, 10, 1))
    runner = TaskRunner()
    clock = fixed_clock(datetime(2026, 12, 8, 10, tzinfo=UTC))
    d = KeysDialog(keys, runner, tester=None, clock=clock, today=lambda: today)
    d.resize(860, 600)
    d.show()
    d.select("old-admin")
    d.sync_button.click()  # refused: the message shows under the list
    pump(600)
    d.grab().save(str(out / "keys_dialog.png"))
    d.close()

    for label in ("org-admin", "ci-admin", "ci"):
        keys.remove(label)
    d2 = KeysDialog(keys, runner, tester=None, clock=clock, today=lambda: today)
    d2.resize(860, 520)
    d2.show()
    pump(600)
    d2.grab().save(str(out / "keys_no_usable.png"))
    d2.close()
    runner.wait(5000)


def limit_prompt(out: Path) -> None:
    from monitor.gui.limit_prompt import LimitDialog

    d = LimitDialog(Decimal(120), Decimal("37.42"))
    d.resize(520, 200)
    d.show()
    pump(400)
    d.grab().save(str(out / "limit_prompt.png"))
    d.close()


def tray_no_data(out: Path) -> None:
    from monitor.gui import icons

    pm = QPixmap(330, 80)
    pm.fill(QColor("#2b2b2b"))
    p = QPainter(pm)
    x = 8
    for size in (16, 22, 32, 64):
        p.drawPixmap(x, (80 - size) // 2, icons.draw_gauge(
            size, icons.look_for(None, has_data=False, failing=False)))
        x += size + 14
    p.drawPixmap(x + 10, 8, icons.draw_gauge(64, icons.look_for(0.0, has_data=True,
                                                                   failing=False)))
    p.end()
    pm.save(str(out / "tray_empty_gauge.png"))


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "resources" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    from monitor.gui import i18n

    app = QApplication(["token-monitor"])
    app.setQuitOnLastWindowClosed(False)
    translators = i18n.install(app, "en")
    os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="tm-shots-share-")
    tray: subprocess.Popen[bytes] | None = None
    if os.environ.get("DISPLAY") and shutil.which("trayer"):
        tray = subprocess.Popen(
            ["trayer", "--edge", "top", "--align", "right", "--widthtype", "pixel", "--width",
             "96", "--height", "28", "--SetDockType", "true", "--transparent", "false",
             "--tint", "0x2b2b2b"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pump(1500)
    try:
        first_start(app, out)
        keys_dialogs(out)
        limit_prompt(out)
        tray_no_data(out)
    finally:
        if tray is not None:
            tray.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                tray.wait(5)
        i18n.remove(app, translators)
    print("wrote first_start_screen.png, first_start_proxy_on.png, keys_dialog.png, "
          "keys_no_usable.png, limit_prompt.png, tray_empty_gauge.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
