"""The drawn tray gauge: colours by level, distinct no-data and failing looks, at every size."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from monitor.core.limit_share import limit_state
from monitor.gui import icons
from monitor.gui.icons import GaugeLevel, draw_gauge
from monitor.gui.icons import look_for as _look_for

DEFAULT_THRESHOLDS = (50, 80, 90, 100)


def look_for(fraction: float | None, *, has_data: bool, failing: bool,
             thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS) -> icons.GaugeLook:
    return _look_for(fraction, state=limit_state(fraction, thresholds), has_data=has_data,
                     failing=failing)


def _image(size: int, look: icons.GaugeLook) -> QImage:
    return draw_gauge(size, look).toImage().convertToFormat(QImage.Format.Format_ARGB32)


def _at(img: QImage, fx: float, fy: float) -> QColor:
    return img.pixelColor(int(img.width() * fx), int(img.height() * fy))


def _close(a: QColor, b: QColor, tol: int = 24) -> bool:
    return all(abs(x - y) <= tol for x, y in ((a.red(), b.red()), (a.green(), b.green()),
                                             (a.blue(), b.blue())))


@pytest.mark.parametrize("size", [16, 22, 32])
@pytest.mark.parametrize(("fraction", "colour"), [
    (0.40, icons.GREEN), (0.60, icons.AMBER), (0.89, icons.AMBER), (0.95, icons.RED),
    (1.40, icons.OVER_RED),
])
def test_gauge_fill_colour_by_level(qtbot: QtBot, size: int, fraction: float,
                                    colour: QColor) -> None:
    img = _image(size, look_for(fraction, has_data=True, failing=False))
    # Just right of 12 o'clock is always inside the filled wedge (fraction >= 0.4 here).
    assert _close(_at(img, 0.62, 0.30), colour), _at(img, 0.62, 0.30).name()
    if fraction < 0.5:
        # 9 o'clock (75 % round the dial) is still the dark track.
        assert _close(_at(img, 0.30, 0.50), icons.TRACK)
    if fraction >= 1:
        assert _close(_at(img, 0.30, 0.50), icons.OVER_RED)


@pytest.mark.parametrize(("fraction", "colour"), [
    (0.60, icons.GREEN), (0.69, icons.GREEN), (0.70, icons.AMBER), (0.94, icons.AMBER),
    (0.95, icons.RED), (1.0, icons.OVER_RED),
])
def test_gauge_follows_the_users_thresholds(qtbot: QtBot, fraction: float,
                                            colour: QColor) -> None:
    # Thresholds 70/95/100: amber from 70 %, red from 95 %, as `status` says warn/critical.
    img = _image(22, look_for(fraction, has_data=True, failing=False, thresholds=(70, 95, 100)))
    assert _close(_at(img, 0.62, 0.30), colour), _at(img, 0.62, 0.30).name()


@pytest.mark.parametrize("size", [16, 22, 32])
def test_gauge_has_light_rim_and_dark_edge_for_any_panel(qtbot: QtBot, size: int) -> None:
    img = _image(size, look_for(0.2, has_data=True, failing=False))
    mid = img.height() // 2
    row = [img.pixelColor(x, mid) for x in range(img.width())]
    opaque = [c for c in row if c.alpha() > 200]
    assert any(c.lightness() > 200 for c in opaque), "a light rim (reads on dark panels)"
    assert any(c.lightness() < 60 for c in opaque), "dark parts (read on light panels)"
    assert img.pixelColor(0, 0).alpha() == 0  # transparent corners


@pytest.mark.parametrize("size", [16, 22, 32])
def test_no_data_and_failing_looks_are_distinct(qtbot: QtBot, size: int) -> None:
    no_data = _image(size, look_for(None, has_data=False, failing=False))
    failing = _image(size, look_for(0.4, has_data=True, failing=True))
    ok = _image(size, look_for(0.4, has_data=True, failing=False))
    assert look_for(None, has_data=False, failing=False).level is GaugeLevel.NO_DATA
    assert look_for(0.4, has_data=True, failing=True).level is GaugeLevel.FAILING
    # No data: an empty gauge (grey dial, a light hand at zero), no green anywhere; not a
    # "no entry" sign (a bar across the middle).
    assert _close(_at(no_data, 0.30, 0.30), icons.NO_DATA)
    assert _at(no_data, 0.5, 0.5).lightness() > 200  # the hub
    assert _at(no_data, 0.5, 0.30).lightness() > 200  # the hand points up, to zero
    assert _close(_at(no_data, 0.32, 0.5), icons.NO_DATA)  # no bar across
    assert _close(_at(no_data, 0.68, 0.5), icons.NO_DATA)
    assert not any(_close(no_data.pixelColor(x, y), icons.GREEN)
                   for x in range(size) for y in range(size))
    # Failing: the last gauge stays visible, with a yellow warning badge bottom-right.
    assert _close(_at(failing, 0.62, 0.30), icons.GREEN)
    badge = [failing.pixelColor(x, y) for x in range(size // 2, size)
             for y in range(size // 2, size)]
    assert any(_close(c, icons.BADGE, 30) for c in badge)
    assert not any(_close(ok.pixelColor(x, y), icons.BADGE, 30)
                   for x in range(size) for y in range(size))


def test_tray_icon_holds_every_size(qtbot: QtBot) -> None:
    icon = icons.tray_icon(look_for(0.4, has_data=True, failing=False))
    sizes = {(s.width(), s.height()) for s in icon.availableSizes()}
    assert {(16, 16), (22, 22), (32, 32)} <= sizes
