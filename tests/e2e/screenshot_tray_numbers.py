"""Re-make the number tray icon screenshots (setting "Tray icon shows": today's $ / cycle %).

Run: `python tests/e2e/screenshot_tray_numbers.py [OUT_DIR]` (default resources/screenshots).
Writes `tray_numbers.png` (today's $ and cycle % in every state at 16, 22, 24 and 32 px on a
light and a dark panel, zoomed 3×, drawn offscreen) and, when Xvfb and trayer are installed,
`tray_number_today.png` / `tray_number_cycle.png`: the real tray host showing the app's icon
for a seeded store, cropped and zoomed 6×.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.screenshots import _start_x, stop_processes  # noqa: E402 (after sys.path)

SIZES = (16, 22, 24, 32)


def _sheet(out: Path) -> None:
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QColor, QFont, QPainter, QPixmap

    from monitor.gui.icon_numbers import NumberLook, compact_pct, compact_usd, draw_number

    looks = [
        ("$1.61 ok", NumberLook(compact_usd(Decimal("1.61")), "ok")),
        ("$13.24 warn", NumberLook(compact_usd(Decimal("13.24")), "warn")),
        ("$4,210 over", NumberLook(compact_usd(Decimal("4210")), "over")),
        ("11 % ok", NumberLook(compact_pct(0.11), "ok")),
        ("92 % critical", NumberLook(compact_pct(0.92), "critical")),
        ("140 % over", NumberLook(compact_pct(1.4), "over")),
        ("stale", NumberLook(compact_usd(Decimal("0.42")), "stale")),
        ("failing", NumberLook(compact_usd(Decimal("7.3")), "warn", failing=True)),
    ]
    col, row, label_h, left = 64, 40, 18, 48
    sheet = QPixmap(left + col * len(looks), label_h + row * len(SIZES) * 2)
    sheet.fill(QColor("#ffffff"))
    p = QPainter(sheet)
    font = QFont()
    font.setPixelSize(8)
    p.setFont(font)
    for i, (name, _look) in enumerate(looks):
        p.drawText(QRect(left + i * col, 0, col, label_h), Qt.AlignmentFlag.AlignCenter, name)
    for b, (panel, ink) in enumerate((("#ececec", "#202020"), ("#1f1f1f", "#e0e0e0"))):
        for j, size in enumerate(SIZES):
            y = label_h + (b * len(SIZES) + j) * row
            p.fillRect(0, y, sheet.width(), row, QColor(panel))
            p.setPen(QColor(ink))
            p.drawText(QRect(4, y, left - 4, row), Qt.AlignmentFlag.AlignVCenter, f"{size} px")
            for i, (_name, look) in enumerate(looks):
                p.drawPixmap(left + i * col + (col - size) // 2, y + (row - size) // 2,
                             draw_number(size, look))
    p.end()
    sheet.scaled(sheet.width() * 3, sheet.height() * 3, Qt.AspectRatioMode.KeepAspectRatio,
                 Qt.TransformationMode.FastTransformation).save(str(out / "tray_numbers.png"))


def _real_tray(out: Path) -> None:
    """The icon in a real tray host (Xvfb + trayer), for today's $ and the cycle's %."""
    from PySide6.QtCore import QEventLoop, QRect, Qt, QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QSystemTrayIcon

    from monitor.context import AppContext
    from monitor.gui.tray import IconOptions, TrayIcon
    from monitor.paths import resolve_paths
    from monitor.services.snapshot import RuntimeStatus
    from monitor.services.snapshot_build import build_snapshot
    from tests.e2e.seed import seed_month

    def pump(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    assert QSystemTrayIcon.isSystemTrayAvailable(), "trayer did not provide a tray"
    home = Path(tempfile.mkdtemp(prefix="tm-numbers-"))
    ctx = AppContext(resolve_paths(home).ensure())
    now = ctx.now()  # a screenshot of "now"; the figures come from the seeded store
    seed_month(ctx.store(), ctx.prices(), now, scale=0.9)
    settings = ctx.settings.replace(today_timezone="UTC")
    snap = build_snapshot(ctx.store(), ctx.prices(), settings, RuntimeStatus(), now)
    tray = TrayIcon()
    tray.set_snapshot(snap)
    tray.show()
    for mode, name in (("today_usd", "today"), ("cycle_pct", "cycle")):
        tray.set_icon_options(IconOptions(mode, settings.alert_thresholds_pct,
                                          settings.poll_interval_s))
        pump(800)
        geo = tray.icon.geometry()
        grab = QGuiApplication.primaryScreen().grabWindow(0).copy(
            QRect(geo.x() - 6, 0, geo.width() + 12, 32))
        grab.scaled(grab.width() * 6, grab.height() * 6, Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.FastTransformation).save(
            str(out / f"tray_number_{name}.png"))
        print(f"{name}: {tray.shown_look} (today ${snap.today.cost_usd:.2f}, cycle "
              f"{(snap.cycle.fraction or 0) * 100:.1f} %)")
    tray.dispose()
    ctx.close()
    shutil.rmtree(home, ignore_errors=True)


def main(argv: list[str]) -> int:
    out = (Path(argv[0]) if argv else ROOT / "resources" / "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    real = all(shutil.which(t) for t in ("Xvfb", "trayer"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        if real:
            os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)  # XEmbed tray, not a bus
            _start_x(procs)
            time.sleep(0.5)
            os.environ["QT_QPA_PLATFORM"] = "xcb"
        else:
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtWidgets import QApplication

        app = QApplication([])
        app.setQuitOnLastWindowClosed(False)
        _sheet(out)
        if real:
            _real_tray(out)
        del app
    finally:
        stop_processes(procs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
