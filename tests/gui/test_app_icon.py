"""The application icon: the committed PNGs are the SVG rendered at each size, and they
look like the tray gauge (dark edge, light rim, green fill)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from monitor import resources
from monitor.gui import icons
from monitor.gui.app_icon import app_icon
from monitor.services.desktop_entry import APP_ID, ICON_PNG_SIZES
from tests.e2e.make_app_icons import render


def test_pngs_are_the_svg_rendered(qtbot: QtBot) -> None:
    svg = resources.file_path("icons", f"{APP_ID}.svg")
    for n in ICON_PNG_SIZES:
        png = QImage(str(resources.file_path("icons", f"{APP_ID}-{n}.png")))
        assert (png.width(), png.height()) == (n, n)
        want = render(svg, n).convertToFormat(QImage.Format.Format_ARGB32)
        got = png.convertToFormat(QImage.Format.Format_ARGB32)
        worst = max(abs(QColor(got.pixel(x, y)).red() - QColor(want.pixel(x, y)).red())
                    + abs(QColor(got.pixel(x, y)).alpha() - QColor(want.pixel(x, y)).alpha())
                    for x in range(n) for y in range(n))
        assert worst <= 4, f"{n} px differs from the SVG (run tests/e2e/make_app_icons.py)"


def test_the_icon_is_the_gauge(qtbot: QtBot) -> None:
    img = QImage(str(resources.file_path("icons", f"{APP_ID}-256.png")))
    assert QColor(img.pixel(128, 2)).lightness() < 40  # dark edge
    assert QColor(img.pixel(128, 20)).lightness() > 230  # light rim
    fill = QColor(img.pixel(200, 128))  # right half: filled clockwise from 12 o'clock
    assert (fill.red(), fill.green(), fill.blue()) == (icons.GREEN.red(), icons.GREEN.green(),
                                                       icons.GREEN.blue())
    assert QColor(img.pixel(60, 90)) == icons.TRACK  # upper left: the unfilled track
    sizes = {s.width() for s in app_icon().availableSizes()}
    assert sizes == set(ICON_PNG_SIZES)


def test_each_size_draws_its_own_png(qtbot: QtBot) -> None:
    icon = app_icon()
    for n in ICON_PNG_SIZES:
        png = QImage(str(resources.file_path("icons", f"{APP_ID}-{n}.png")))
        got = icon.pixmap(n, n).toImage()
        assert got.convertToFormat(png.format()) == png, n
