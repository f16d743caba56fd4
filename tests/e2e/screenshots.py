"""Re-make the README screenshots under Xvfb with a tray host (trayer) and dunst.

Runnable, not a pytest test: `python tests/e2e/screenshots.py [OUT_DIR]` (default
resources/screenshots). Needs Xvfb, trayer, dunst and dbus-run-session (it re-runs itself
inside a private session bus). Every process it starts is stopped before it exits.

Shots: the tray icon in each state (zoomed crops of the real tray), the tray menu, the
dashboard with a realistic seeded month (several tabs), the settings dialog (valid and with
a refused value), the keys dialog, a desktop notification drawn by dunst, and the in-window
banner fallback.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREEN = (1280, 900)


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def _start_x(procs: list[subprocess.Popen[bytes]]) -> str:
    r, w = os.pipe()
    procs.append(subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
         "-nolisten", "tcp"], pass_fds=(w,), stderr=subprocess.DEVNULL))
    os.close(w)
    with os.fdopen(r) as f:
        display = f.readline().strip()
    if not display:
        raise RuntimeError("Xvfb did not start")
    os.environ["DISPLAY"] = f":{display}"
    procs.append(subprocess.Popen(
        ["trayer", "--edge", "top", "--align", "right", "--widthtype", "pixel", "--width", "96",
         "--height", "32", "--SetDockType", "true", "--transparent", "false", "--tint",
         "0x2b2b2b"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    procs.append(subprocess.Popen(["dunst"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL))
    return display


def _qt_part(out: Path) -> None:
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QEventLoop, QPoint, QRect, Qt, QTimer
    from PySide6.QtGui import QColor, QFont, QGuiApplication, QPainter, QPixmap
    from PySide6.QtWidgets import QApplication, QLineEdit, QSystemTrayIcon

    from monitor.context import AppContext
    from monitor.gui import i18n
    from monitor.gui.alerts import test_notification
    from monitor.gui.app import AppController
    from monitor.gui.keys_dialog import KeysDialog
    from monitor.gui.settings_dialog import SettingsDialog
    from monitor.paths import resolve_paths
    from monitor.services.desktop_notify import Notification
    from monitor.services.keyring_vault import MemoryVault
    from monitor.services.keyvault import KeyStore
    from monitor.services.snapshot import DashboardSnapshot
    from tests.e2e.seed import seed_month

    app = QApplication([])
    app.setQuitOnLastWindowClosed(False)
    translators = i18n.install(app, "en")  # plural forms ("1 request")

    def pump(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def screen_grab(rect: QRect | None = None) -> QPixmap:
        screen = QGuiApplication.primaryScreen()
        pm = screen.grabWindow(0)
        return pm.copy(rect) if rect is not None else pm

    def zoom(pm: QPixmap, factor: int) -> QPixmap:
        return pm.scaled(pm.width() * factor, pm.height() * factor,
                         Qt.AspectRatioMode.KeepAspectRatio,
                         Qt.TransformationMode.FastTransformation)

    home = Path(tempfile.mkdtemp(prefix="tm-shots-"))
    ctx = AppContext(resolve_paths(home).ensure())
    now = datetime.now(UTC)
    seed_month(ctx.store(), ctx.prices(), now, scale=0.9)
    ctx.save_settings(ctx.settings.replace(
        prepaid_credit_usd="200", prepaid_purchased=(now - timedelta(days=40)).date(),
        prepaid_expires=(now + timedelta(days=325)).date(), today_timezone="UTC"))
    assert QSystemTrayIcon.isSystemTrayAvailable(), "trayer did not provide a tray"
    c = AppController(ctx, sync=lambda: "ok", use_freedesktop=True)
    c.quit_requested = lambda: None
    loop = QEventLoop()
    c.state.snapshot_changed.connect(lambda _s: loop.quit())
    QTimer.singleShot(10_000, loop.quit)
    c.start(poll=True)  # the "sync" is a no-op: the seeded store stands in for the org API
    loop.exec()
    snap = c.state.snapshot
    assert isinstance(snap, DashboardSnapshot) and c.tray is not None
    pump(800)
    tray = c.tray

    # -- tray icon in each state, cropped from the real tray host and zoomed -------------
    org_fail = dataclasses.replace(
        snap.org, last_error="invalid API key (401)", last_error_at=now)
    states = {
        "ok": dataclasses.replace(snap, cycle=dataclasses.replace(snap.cycle, fraction=0.32)),
        "amber": dataclasses.replace(snap, cycle=dataclasses.replace(snap.cycle, fraction=0.71)),
        "red": dataclasses.replace(snap, cycle=dataclasses.replace(snap.cycle, fraction=0.96)),
        "no_data": dataclasses.replace(snap, has_data=False),
        "failing": dataclasses.replace(snap, org=org_fail),
    }
    crops: list[tuple[str, QPixmap]] = []
    for name, state in states.items():
        tray.set_snapshot(state)
        pump(600)
        geo = tray.icon.geometry()
        area = QRect(geo.x() - 6, 0, geo.width() + 12, 32)
        crop = screen_grab(area)
        zoom(crop, 6).save(str(out / f"tray_{name}.png"))
        crops.append((name, crop))
    # One strip with every state, labelled.
    cell_w, cell_h = 34 * 6, 32 * 6
    strip = QPixmap(cell_w * len(crops), cell_h + 30)
    strip.fill(QColor("#ffffff"))
    p = QPainter(strip)
    font = QFont()
    font.setPointSize(12)
    p.setFont(font)
    for i, (name, crop) in enumerate(crops):
        z = zoom(crop, 6)
        p.drawPixmap(i * cell_w + (cell_w - z.width()) // 2, 0, z)
        p.drawText(QRect(i * cell_w, cell_h, cell_w, 30), Qt.AlignmentFlag.AlignCenter,
                   name.replace("_", " "))
    p.end()
    strip.save(str(out / "tray_states.png"))
    tray.set_snapshot(snap)
    pump(400)
    _icon_sheet(out)

    # -- tray menu (right click) -----------------------------------------------------------
    geo = tray.icon.geometry()
    tray.menu.aboutToShow.emit()
    tray.menu.popup(QPoint(geo.right() - tray.menu.sizeHint().width(), geo.bottom() + 2))
    pump(600)
    mgeo = tray.menu.geometry()
    screen_grab(QRect(mgeo.x() - 10, 0, mgeo.width() + 20 + (SCREEN[0] - mgeo.right()) - 10,
                      mgeo.bottom() + 12)).save(str(out / "tray_menu.png"))
    tray.menu.hide()
    pump(200)

    # -- dashboard -----------------------------------------------------------------------
    w = c.window
    w.banner.hide()
    w.resize(1240, 860)
    w.move(10, 36)
    w.show()
    pump(900)
    for index, name in ((0, "dashboard"), (1, "dashboard_models"), (3, "dashboard_billed"),
                        (4, "dashboard_sources")):
        w.tabs.setCurrentIndex(index)
        pump(400)
        w.grab().save(str(out / f"{name}.png"))
    w.tabs.setCurrentIndex(0)

    # -- settings dialog -----------------------------------------------------------------
    d = SettingsDialog(ctx.settings, w)
    d.show()
    pump(500)
    d.grab().save(str(out / "settings.png"))
    field = d.field("monthly_limit_usd")
    assert isinstance(field, QLineEdit)
    field.setText("12O")  # a letter O: refused in place
    pump(300)
    d.grab().save(str(out / "settings_invalid.png"))
    d.reject()

    # -- keys dialog (in-memory vault: nothing touches a real keyring) --------------------
    keys = KeyStore(home / "config" / "shot-keys.json", MemoryVault())
    keys.add("org-admin", "admin", "sk-admin-screenshot000000000000a1b2",
             expires=(now + timedelta(days=5)).date())
    keys.add("laptop", "project", "sk-proj-screenshot0000000000000c3d4")
    keys.mark_tested("org-admin", True, now)
    kd = KeysDialog(keys, c.runner, w)
    kd.resize(760, 620)
    kd.show()
    kd.label_edit.setText("org-admin")  # taken: the reason shows under the field
    kd.secret_edit.setText("sk-proj-typed-but-hidden-0000000000")
    kd.add_button.click()
    pump(500)
    kd.grab().save(str(out / "keys.png"))
    kd.reject()

    # -- a desktop notification drawn by dunst ---------------------------------------------
    w.hide()
    delivered: list[object] = []
    c.notifier.delivered.connect(delivered.append)
    c.notifier.notify(Notification(
        "80 % of your monthly limit used", f"Spent ${snap.cycle.cost_usd:.2f} of $120.00 this "
        "cycle.", "normal", "threshold"))
    _wait_qt = time.monotonic() + 10
    while not delivered and time.monotonic() < _wait_qt:
        pump(100)
    pump(900)
    screen_grab(QRect(SCREEN[0] - 520, 0, 520, 220)).save(str(out / "notification.png"))
    print("notification delivered via",
          getattr(delivered[0], "channel", "?") if delivered else "nothing")

    # -- the in-window banner fallback -------------------------------------------------------
    w.show()
    w.show_banner(test_notification())
    pump(400)
    banner_shot = w.grab(QRect(0, 0, w.width(), 300))
    banner_shot.save(str(out / "banner.png"))

    c.shutdown()
    ctx.close()
    i18n.remove(app, translators)
    shutil.rmtree(home, ignore_errors=True)
    del app


def _icon_sheet(out: Path) -> None:
    """Every state at 16, 22 and 32 px on a light and a dark panel, zoomed 3× (legibility)."""
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QColor, QFont, QPainter, QPixmap

    from monitor.core.limit_share import limit_state
    from monitor.gui.icons import GaugeLook, draw_gauge
    from monitor.gui.icons import look_for as gauge_look

    def look_for(fraction: float | None, *, has_data: bool, failing: bool) -> GaugeLook:
        return gauge_look(fraction, state=limit_state(fraction, (50, 80, 90, 100)),
                          has_data=has_data, failing=failing)

    looks = [("ok", look_for(0.32, has_data=True, failing=False)),
             ("amber", look_for(0.71, has_data=True, failing=False)),
             ("red", look_for(0.96, has_data=True, failing=False)),
             ("over", look_for(1.3, has_data=True, failing=False)),
             ("no data", look_for(None, has_data=False, failing=False)),
             ("failing", look_for(0.71, has_data=True, failing=True))]
    sizes, col, row, label_h = (16, 22, 32), 44, 40, 18
    sheet = QPixmap(70 + col * len(looks), label_h + row * len(sizes) * 2)
    sheet.fill(QColor("#ffffff"))
    p = QPainter(sheet)
    font = QFont()
    font.setPointSize(7)
    p.setFont(font)
    for i, (name, _look) in enumerate(looks):
        p.drawText(QRect(70 + i * col, 0, col, label_h), Qt.AlignmentFlag.AlignCenter, name)
    for b, (panel, ink) in enumerate((("#ececec", "#202020"), ("#1f1f1f", "#e0e0e0"))):
        for j, size in enumerate(sizes):
            y = label_h + (b * len(sizes) + j) * row
            p.fillRect(0, y, sheet.width(), row, QColor(panel))
            p.setPen(QColor(ink))
            p.drawText(QRect(4, y, 62, row), Qt.AlignmentFlag.AlignVCenter, f"{size} px")
            for i, (_name, look) in enumerate(looks):
                p.drawPixmap(70 + i * col + (col - size) // 2, y + (row - size) // 2,
                             draw_gauge(size, look))
    p.end()
    sheet.scaled(sheet.width() * 3, sheet.height() * 3, Qt.AspectRatioMode.KeepAspectRatio,
                 Qt.TransformationMode.FastTransformation).save(str(out / "tray_icon_sizes.png"))


def stop_processes(procs: list[subprocess.Popen[bytes]]) -> None:
    """Terminate what `_start_x` started, last first (kill what does not stop in 5 s)."""
    for p in reversed(procs):
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "resources" / "screenshots"
    out = out.resolve()
    if os.environ.get("TM_SHOTS_IN_BUS") != "1":
        for tool in ("Xvfb", "trayer", "dunst", "dbus-run-session"):
            if shutil.which(tool) is None:
                print(f"missing {tool}", file=sys.stderr)
                return 2
        env = {**os.environ, "TM_SHOTS_IN_BUS": "1"}
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        return subprocess.call(["dbus-run-session", "--", sys.executable, __file__, str(out)],
                               env=env)
    out.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        _start_x(procs)
        time.sleep(0.5)  # let trayer dock before Qt asks for the tray
        _qt_part(out)
    finally:
        stop_processes(procs)
    for f in sorted(out.glob("*.png")):
        print(f.relative_to(ROOT) if f.is_relative_to(ROOT) else f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
