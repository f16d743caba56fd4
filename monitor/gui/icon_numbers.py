"""The tray icon as a number: today's dollars or the cycle's percent, on a plate coloured by state.

Chosen by the setting "Tray icon shows" (`tray_icon_shows`: gauge | today_usd | cycle_pct). The
figure is squeezed into three characters so it stays legible at 16 px (`compact_usd`: `0.4`,
`1.6`, `13`, `240`, `$4k`, `12k`, `.2M`; `compact_pct`: `11`, `100`, `999`). The plate takes the
state's colour (the `status` command's states and hues: ok, warn, critical, over, stale,
no_data), the digits are whichever of near-black and white contrasts more with it, and a dark
edge separates the plate from light panels. The text is drawn as a path scaled to fill the
plate, narrowed (never below 62 % width) before it is shrunk. A failing source adds a
yellow-and-black dashed frame (the gauge's badge colours) inside the edge.
Pixel tests: tests/gui/test_icon_numbers.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QIcon,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QTransform,
)

from monitor.gui import icons

if TYPE_CHECKING:
    from monitor.services.snapshot import DashboardSnapshot

DARK_INK = QColor(0x10, 0x10, 0x10)
LIGHT_INK = QColor(0xFF, 0xFF, 0xFF)
EDGE = icons.EDGE
MIN_STRETCH = 0.62  # narrowest the digits get before they are made smaller


@dataclass(frozen=True)
class NumberLook:
    """What the number icon shows: the compact text, the state that colours it, a badge."""

    text: str
    state: str
    failing: bool = False


def compact_usd(amount: Decimal) -> str:
    """Dollars in at most three characters: 0.4, 1.6, 13, 240, $4k, 12k, .2M, 3M (rounded
    half up, as every amount the app shows)."""
    v = max(Decimal(0), amount)

    def r(x: Decimal, places: int = 0) -> Decimal:
        return x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)

    if r(v, 1) < 10:
        return f"{r(v, 1)}"
    if r(v) < 1000:
        return f"{r(v)}"
    if r(v / 1000) < 10:
        return f"${r(v / 1000)}k"
    if r(v / 1000) < 100:
        return f"{r(v / 1000)}k"
    if r(v / 100_000) < 10:
        return f".{r(v / 100_000)}M"
    return f"{min(r(v / 1_000_000), Decimal(999))}M"


def compact_pct(fraction: float) -> str:
    """The used share by the one percent rule, at most 999 (what fits on the plate)."""
    from monitor.core.limit_share import whole_percent

    return str(min(999, whole_percent(fraction) or 0))


def state_of(snap: DashboardSnapshot, thresholds_pct: tuple[int, ...],
             poll_interval_s: int) -> str:
    """The snapshot's state by the `status` command's rules (the same thresholds and staleness).

    Unlike `status`, the app knows whether its own proxy is running: a live proxy counts as a
    source that is up to date even when no request came through it lately."""
    seen = [t for t in (snap.org.last_success, snap.proxy.last_request) if t is not None]
    if snap.proxy.enabled and snap.proxy.address and not snap.proxy.error:
        seen.append(snap.generated_at)
    as_of: datetime | None = max(seen) if seen else None
    fraction = None if snap.cycle.fraction is None else Decimal(str(snap.cycle.fraction))
    from monitor.services.status import is_stale, state_for  # not needed before a snapshot

    return state_for(fraction, thresholds_pct, has_data=snap.has_data,
                     stale=is_stale(as_of, snap.generated_at, poll_interval_s))


def number_look(snap: DashboardSnapshot | None, mode: str, thresholds_pct: tuple[int, ...],
                poll_interval_s: int) -> NumberLook | None:
    """The number icon's look for `mode`, or None when the gauge is wanted (mode "gauge",
    no snapshot yet, or nothing to count: the gauge's grey dial says "no data" better)."""
    if mode not in ("today_usd", "cycle_pct") or snap is None or not snap.has_data:
        return None
    state = state_of(snap, thresholds_pct, poll_interval_s)
    if mode == "today_usd":
        text = compact_usd(snap.today.cost_usd)
    else:
        if snap.cycle.fraction is None:  # no limit set: no percent to show
            return None
        text = compact_pct(snap.cycle.fraction)
    return NumberLook(text, state, snap.failing)


def _luminance(c: QColor) -> float:
    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def plate_colour(state: str) -> QColor:
    from monitor.core.limit_share import STATE_COLOURS

    return QColor(STATE_COLOURS[state])


def ink_colour(state: str) -> QColor:
    plate = plate_colour(state)
    return DARK_INK if contrast(plate, DARK_INK) >= contrast(plate, LIGHT_INK) else LIGHT_INK


def _font() -> QFont:
    font = QFont("DejaVu Sans")
    font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setBold(True)
    font.setPixelSize(100)  # a path at this size is then scaled to the icon
    return font


def _text_path(text: str, box: QRectF) -> QPainterPath:
    """`text` as a path fitted into `box`: full height where the width allows, narrowed down
    to MIN_STRETCH, then scaled down uniformly; centred."""
    path = QPainterPath()
    path.addText(QPointF(0, 0), _font(), text)
    ink = path.boundingRect()
    if ink.width() <= 0 or ink.height() <= 0:
        return path
    sy = box.height() / ink.height()
    sx = sy
    if ink.width() * sx > box.width():
        sx = max(box.width() / ink.width(), sy * MIN_STRETCH)
        if ink.width() * sx > box.width():  # too wide even narrowed: shrink both
            shrink = box.width() / (ink.width() * sx)
            sx, sy = sx * shrink, sy * shrink
    w, h = ink.width() * sx, ink.height() * sy
    t = QTransform()
    t.translate(box.x() + (box.width() - w) / 2, box.y() + (box.height() - h) / 2)
    t.scale(sx, sy)
    t.translate(-ink.x(), -ink.y())
    return t.map(path)


def draw_number(size_px: int, look: NumberLook, device_pixel_ratio: float = 1.0) -> QPixmap:
    """Paint the number icon into a transparent square pixmap of `size_px` logical pixels."""
    return icons.square_pixmap(size_px, lambda p, s: _paint(p, s, look), device_pixel_ratio)


def text_box(s: float, failing: bool = False) -> QRectF:
    """Where the digits go in an icon of `s` pixels (inside the edge, and the failing frame)."""
    edge = max(1.0, s / 16.0) + (max(1.5, s / 10.0) if failing else 0.0)
    pad_x, pad_y = edge + max(0.5, s / 32.0), edge + max(1.5, s * 0.12)
    if failing:
        pad_y -= max(1.5, s / 10.0) / 2  # the frame already keeps the digits off the edge
    return QRectF(pad_x, pad_y, s - 2 * pad_x, s - 2 * pad_y)


def _paint(p: QPainter, s: float, look: NumberLook) -> None:
    edge = max(1.0, s / 16.0)
    radius = s * 0.2
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(EDGE))
    p.drawRoundedRect(QRectF(0, 0, s, s), radius, radius)
    inner = QRectF(edge, edge, s - 2 * edge, s - 2 * edge)
    if look.failing:  # a yellow-and-black hazard frame: a source is failing
        ring = max(1.5, s / 10.0)
        p.setBrush(QBrush(icons.BADGE))
        p.drawRoundedRect(inner, radius - edge, radius - edge)
        dashes = QPen(EDGE, ring)
        dashes.setCapStyle(Qt.PenCapStyle.FlatCap)  # dash lengths as given, no caps
        dashes.setDashPattern([1.0, 1.5])
        p.setPen(dashes)
        p.setBrush(Qt.BrushStyle.NoBrush)
        half = ring / 2
        p.drawRoundedRect(inner.adjusted(half, half, -half, -half), radius - edge - half,
                          radius - edge - half)
        p.setPen(Qt.PenStyle.NoPen)
        inner = inner.adjusted(ring, ring, -ring, -ring)
    p.setBrush(QBrush(plate_colour(look.state)))
    p.drawRoundedRect(inner, max(0.0, radius - edge), max(0.0, radius - edge))
    p.setBrush(QBrush(ink_colour(look.state)))
    p.drawPath(_text_path(look.text, text_box(s, look.failing)))


def number_icon(look: NumberLook) -> QIcon:
    """A QIcon holding every tray size, so the platform picks the sharpest one."""
    icon = QIcon()
    for size in icons.ICON_SIZES_PX:
        icon.addPixmap(draw_number(size, look))
    return icon
