"""Render resources/icons/token-monitor.svg to the PNG sizes the hicolor theme gets.

Runnable, not a test: `python tests/e2e/make_app_icons.py` after changing the SVG
(tests/unit/test_desktop_entry.py checks the PNGs still match the SVG).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from monitor.services.desktop_entry import APP_ID, ICON_PNG_SIZES

ICONS = Path(__file__).resolve().parents[2] / "resources" / "icons"


def render(svg: Path, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    return image


def main() -> int:
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    svg = ICONS / f"{APP_ID}.svg"
    for n in ICON_PNG_SIZES:
        out = ICONS / f"{APP_ID}-{n}.png"
        if not render(svg, n).save(str(out), "PNG"):
            print(f"could not write {out}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
