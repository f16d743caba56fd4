"""The tray icon, drawn at run time: a pie gauge of cycle spend against the monthly limit.

The only module that decides how the app's status looks. No image files: every size is
painted with QPainter so the gauge stays crisp at 16, 22 and 32 px. A dark disc with a
light rim reads on both light and dark panels.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

from monitor.core.limit_share import STATE_COLOURS

ICON_SIZES_PX = (16, 22, 24, 32, 48, 64)

# The fill is the state's colour (monitor.core.limit_share.STATE_COLOURS: the user's alert
# thresholds decide the state, as for `status` and the number icon). Tests sample these pixels.
GREEN = QColor(STATE_COLOURS["ok"])
AMBER = QColor(STATE_COLOURS["warn"])
RED = QColor(STATE_COLOURS["critical"])
OVER_RED = QColor(STATE_COLOURS["over"])
TRACK = QColor(0x3A, 0x3F, 0x44)  # the unfilled part of the gauge
RIM = QColor(0xF4, 0xF4, 0xF4)  # light rim: contrast on dark panels
EDGE = QColor(0x10, 0x10, 0x10)  # dark outer edge: contrast on light panels
NO_DATA = QColor(0x8A, 0x8F, 0x94)
BADGE = QColor(0xFF, 0xD6, 0x00)  # "source failing" warning badge
BADGE_MARK = QColor(0x10, 0x10, 0x10)


class GaugeLevel(enum.Enum):
    """What the tray icon says at a glance."""

    OK = "ok"  # below the first alert threshold
    WARN = "warn"  # from the first threshold
    CRITICAL = "critical"  # from the next-to-last threshold
    OVER = "over"  # at or past the limit
    NO_DATA = "no_data"  # nothing synced or proxied yet
    FAILING = "failing"  # the last attempt to read a source failed


@dataclass(frozen=True)
class GaugeLook:
    """Everything the painter needs.

    `fraction` is cycle spend / limit (0..1 drawn, beyond 1 is a full red disc);
    `has_data` False draws the grey "nothing yet" dial (an empty gauge). FAILING draws the
    last known gauge (or the grey dial) with a warning badge.
    """

    level: GaugeLevel
    fraction: float = 0.0
    has_data: bool = True
    state: str = "ok"  # the limit state that colours the fill (kept under FAILING too)


def look_for(fraction: float | None, *, state: str, has_data: bool,
             failing: bool) -> GaugeLook:
    """The look for a cycle fraction in limit state `state` (`limit_state` of the fraction
    with the user's thresholds); `fraction` None (no limit) draws an empty gauge."""
    value = max(0.0, fraction) if fraction is not None else 0.0
    if failing:
        return GaugeLook(GaugeLevel.FAILING, value, has_data, state)
    if not has_data:
        return GaugeLook(GaugeLevel.NO_DATA, 0.0, False, state)
    return GaugeLook(GaugeLevel(state), value, True, state)


def fill_colour(state: str) -> QColor:
    """The gauge's (and the dashboard's cycle bar's) fill for a limit state."""
    return QColor(STATE_COLOURS[state])


def draw_gauge(size_px: int, look: GaugeLook, device_pixel_ratio: float = 1.0) -> QPixmap:
    """Paint the gauge into a transparent square pixmap of `size_px` logical pixels."""
    return square_pixmap(size_px, lambda p, s: _paint(p, s, look), device_pixel_ratio)


def square_pixmap(size_px: int, paint: Callable[[QPainter, float], None],
                  device_pixel_ratio: float = 1.0) -> QPixmap:
    """A transparent square pixmap of `size_px` logical pixels, antialiased, painted by
    `paint(painter, side_in_device_pixels)` (every tray icon look draws through this)."""
    real = max(1, round(size_px * device_pixel_ratio))
    pm = QPixmap(real, real)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    try:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        paint(p, float(real))
    finally:
        p.end()
    pm.setDevicePixelRatio(device_pixel_ratio)
    return pm


def _paint(p: QPainter, s: float, look: GaugeLook) -> None:
    edge_w = max(1.0, s / 16.0)
    rim_w = max(1.0, s / 16.0)
    # Dark edge, then light rim, then the dial: legible on any panel colour.
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(EDGE))
    p.drawEllipse(QRectF(0, 0, s, s))
    rim = QRectF(edge_w, edge_w, s - 2 * edge_w, s - 2 * edge_w)
    p.setBrush(QBrush(RIM))
    p.drawEllipse(rim)
    dial = rim.adjusted(rim_w, rim_w, -rim_w, -rim_w)

    if not look.has_data or look.level is GaugeLevel.NO_DATA:
        _paint_no_data(p, dial)
    else:
        p.setBrush(QBrush(TRACK))
        p.drawEllipse(dial)
        fraction = max(0.0, min(1.0, look.fraction))
        if fraction > 0:
            p.setBrush(QBrush(fill_colour(look.state)))
            if fraction >= 0.999:
                p.drawEllipse(dial)
            else:
                # Qt angles: 1/16 degree, 0 = 3 o'clock, positive = counter-clockwise.
                # Start at 12 o'clock and fill clockwise like a clock hand.
                p.drawPie(dial, 90 * 16, -round(fraction * 360 * 16))
    if look.level is GaugeLevel.FAILING:
        _paint_badge(p, s)


def _paint_no_data(p: QPainter, dial: QRectF) -> None:
    """An empty gauge: a grey dial, its hand at zero (12 o'clock) and ticks at 3, 6 and 9.

    Not a disc with a bar across it: that reads as a "no entry" sign (issue 25)."""
    p.setBrush(QBrush(NO_DATA))
    p.drawEllipse(dial)
    c = dial.center()
    r = dial.width() / 2
    hand_w = max(1.5, r * 0.22)
    p.setBrush(QBrush(RIM))
    p.drawRect(QRectF(c.x() - hand_w / 2, c.y() - r * 0.78, hand_w, r * 0.78))
    hub = max(1.5, r * 0.24)
    p.drawEllipse(QRectF(c.x() - hub, c.y() - hub, 2 * hub, 2 * hub))
    tick_w, tick_l = max(1.0, r * 0.16), r * 0.3
    for dx, dy in ((1, 0), (0, 1), (-1, 0)):  # 3, 6 and 9 o'clock, at the dial's edge
        cx, cy = c.x() + dx * (r - tick_l / 2), c.y() + dy * (r - tick_l / 2)
        w, h = (tick_l, tick_w) if dx else (tick_w, tick_l)
        p.drawRect(QRectF(cx - w / 2, cy - h / 2, w, h))


def _paint_badge(p: QPainter, s: float) -> None:
    """A warning triangle in the lower-right corner, outlined dark so it reads on the gauge."""
    side = s * 0.62
    x0, y0 = s - side, s - side * 0.9
    tri = QPolygonF([QPointF(x0 + side / 2, y0), QPointF(s, s), QPointF(x0, s)])
    path = QPainterPath()
    path.addPolygon(tri)
    path.closeSubpath()
    p.setPen(QPen(BADGE_MARK, max(1.0, s / 20.0)))
    p.setBrush(QBrush(BADGE))
    p.drawPath(path)
    # The "!" mark.
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(BADGE_MARK))
    bar_w = max(1.0, side * 0.14)
    cx = x0 + side / 2
    top = y0 + side * 0.32
    p.drawRect(QRectF(cx - bar_w / 2, top, bar_w, side * 0.32))
    p.drawRect(QRectF(cx - bar_w / 2, top + side * 0.42, bar_w, bar_w))


def tray_icon(look: GaugeLook) -> QIcon:
    """A QIcon holding every tray size, so the platform picks the sharpest one."""
    icon = QIcon()
    for size in ICON_SIZES_PX:
        icon.addPixmap(draw_gauge(size, look))
    return icon


PAUSE_MARK = QColor(0x1A, 0x73, 0xE8)  # "alerts paused" badge (blue: not a warning)


def _paint_pause_mark(p: QPainter, s: float) -> None:
    """Alerts paused: a blue disc with two white bars in the upper-left corner."""
    d = s * 0.5
    p.setPen(QPen(EDGE, max(1.0, s / 24.0)))
    p.setBrush(QBrush(PAUSE_MARK))
    p.drawEllipse(QRectF(0, 0, d, d))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(RIM))
    bar_w, bar_h = max(1.0, d * 0.16), d * 0.5
    top = (d - bar_h) / 2
    p.drawRect(QRectF(d * 0.5 - bar_w * 1.5, top, bar_w, bar_h))
    p.drawRect(QRectF(d * 0.5 + bar_w * 0.5, top, bar_w, bar_h))


def with_pause_mark(icon: QIcon) -> QIcon:
    """`icon` with the "alerts paused" mark painted over each of its sizes (additive: any
    other overlay already in the icon stays)."""
    out = QIcon()
    for size in ICON_SIZES_PX:
        pm = icon.pixmap(size, size)
        p = QPainter(pm)
        try:
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            _paint_pause_mark(p, float(pm.width()))
        finally:
            p.end()
        out.addPixmap(pm)
    return out
