"""The number tray icon: compact figures, plate colour by state, digits that stay legible at
16/22/24/32 px on light and dark panels, the failing frame, and the tray's setting."""

from __future__ import annotations

from decimal import Decimal
from itertools import combinations

import pytest
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.core.limit_share import STATE_COLOURS
from monitor.gui import icon_numbers, icons
from monitor.gui.icon_numbers import (
    NumberLook,
    compact_pct,
    compact_usd,
    contrast,
    draw_number,
    ink_colour,
    plate_colour,
    text_box,
)
from monitor.gui.tasks import TaskRunner
from monitor.gui.tray import IconOptions, TrayIcon
from tests.gui.conftest import seed_spend
from tests.gui.test_tray import _tray_with

SIZES = (16, 22, 24, 32)
STATES = ("ok", "warn", "critical", "over", "stale")
LIGHT_PANEL, DARK_PANEL = QColor("#ececec"), QColor("#1f1f1f")


def _image(size: int, look: NumberLook) -> QImage:
    return draw_number(size, look).toImage().convertToFormat(QImage.Format.Format_ARGB32)


def _close(a: QColor, b: QColor, tol: int = 24) -> bool:
    return all(abs(x - y) <= tol for x, y in ((a.red(), b.red()), (a.green(), b.green()),
                                             (a.blue(), b.blue())))


def _plate_row(size: int) -> int:
    """A pixel row wholly inside the plate, above the digits."""
    return int(max(1.0, size / 16)) + 1


def _ink_mask(img: QImage, look: NumberLook) -> frozenset[tuple[int, int]]:
    """Pixels nearer the ink colour than the plate colour: what the eye reads as digits."""
    ink, plate = ink_colour(look.state), plate_colour(look.state)

    def dist(a: QColor, b: QColor) -> int:
        return sum((x - y) ** 2 for x, y in ((a.red(), b.red()), (a.green(), b.green()),
                                             (a.blue(), b.blue())))

    out = set()
    for y in range(img.height()):
        for x in range(img.width()):
            c = img.pixelColor(x, y)
            if c.alpha() > 200 and dist(c, ink) < dist(c, plate):
                out.add((x, y))
    box = text_box(img.width(), look.failing).adjusted(-1, -1, 1, 1)
    return frozenset(p for p in out if box.contains(p[0] + 0.5, p[1] + 0.5))


# ---- compact figures -----------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "text"), [
    ("0", "0.0"), ("0.44", "0.4"), ("1.61", "1.6"), ("9.94", "9.9"), ("9.95", "10"),
    ("13.24", "13"), ("240.2", "240"), ("999.4", "999"), ("999.5", "$1k"), ("4200", "$4k"),
    ("9499", "$9k"), ("9500", "10k"), ("12345", "12k"), ("99400", "99k"),
    ("99500", ".1M"), ("249000", ".2M"),
    ("3200000", "3M"), ("-1", "0.0"), ("1.65", "1.7"), ("4500", "$5k"), ("2500000", "3M"),
])
def test_compact_usd(amount: str, text: str) -> None:
    assert compact_usd(Decimal(amount)) == text
    assert len(text) <= 3


@pytest.mark.parametrize(("fraction", "text"), [
    (0.0, "0"), (0.119, "11"), (0.999, "99"), (1.0, "100"), (1.5, "150"), (12.0, "999"),
])
def test_compact_pct(fraction: float, text: str) -> None:
    assert compact_pct(fraction) == text


# ---- pixels --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_plate_takes_the_state_colour_and_ink_contrasts(qtbot: QtBot, size: int,
                                                        state: str) -> None:
    look = NumberLook("13", state)
    img = _image(size, look)
    # Top middle, just inside the dark edge: plate (the digits sit lower).
    top = img.pixelColor(size // 2, _plate_row(size))
    assert _close(top, QColor(STATE_COLOURS[state])), (state, top.name())
    assert img.pixelColor(0, 0).alpha() < 128  # rounded, transparent corner
    # Bold digits in whichever of near-black and white reads better on the plate:
    # at least 3:1 (WCAG AA for large/bold text) on every state's colour.
    assert contrast(ink_colour(state), plate_colour(state)) >= 3.0
    assert len(_ink_mask(img, look)) >= size  # a real amount of ink, not a speck


@pytest.mark.parametrize("size", SIZES)
def test_digits_are_told_apart_at_every_size(qtbot: QtBot, size: int) -> None:
    """Each digit, and figures differing in one digit, give clearly different ink."""
    masks = {d: _ink_mask(_image(size, NumberLook(d, "ok")), NumberLook(d, "ok"))
             for d in "0123456789"}
    for a, b in combinations(masks, 2):
        differ = len(masks[a] ^ masks[b])
        assert differ >= max(4, size // 3), (size, a, b, differ)
    for a, b in (("1.6", "1.8"), ("13", "18"), ("$4k", "$9k"), ("240", "246"), ("92", "97")):
        ma = _ink_mask(_image(size, NumberLook(a, "warn")), NumberLook(a, "warn"))
        mb = _ink_mask(_image(size, NumberLook(b, "warn")), NumberLook(b, "warn"))
        assert len(ma ^ mb) >= max(3, size // 4), (size, a, b)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("text", ["1.6", "13", "$4k", "100"])
def test_digits_fill_the_plate(qtbot: QtBot, size: int, text: str) -> None:
    look = NumberLook(text, "ok")
    mask = _ink_mask(_image(size, look), look)
    xs, ys = [p[0] for p in mask], [p[1] for p in mask]
    box = text_box(size)
    # As wide as the box allows; as tall as a 62 %-narrowed three-character figure can be.
    assert max(xs) - min(xs) + 1 >= box.width() * 0.8, (size, text)
    assert max(ys) - min(ys) + 1 >= min(box.height(), size * 0.4) * 0.8, (size, text)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_icon_stands_out_on_light_and_dark_panels(qtbot: QtBot, size: int, state: str) -> None:
    for panel in (LIGHT_PANEL, DARK_PANEL):
        pm = QPixmap(size, size)
        pm.fill(panel)
        p = QPainter(pm)
        p.drawPixmap(0, 0, draw_number(size, NumberLook("13", state)))
        p.end()
        img = pm.toImage()
        outline = img.pixelColor(size // 2, 0)  # the outer edge, top middle
        plate = img.pixelColor(size // 2, _plate_row(size))
        best = max(contrast(outline, panel), contrast(plate, panel))
        assert best >= 3.0, (size, state, panel.name(), outline.name(), plate.name())


@pytest.mark.parametrize("size", SIZES)
def test_failing_source_adds_a_hazard_frame_and_keeps_the_digits(qtbot: QtBot,
                                                                 size: int) -> None:
    ok, failing = NumberLook("1.6", "ok"), NumberLook("1.6", "ok", failing=True)
    img_ok, img_failing = _image(size, ok), _image(size, failing)

    def yellow(img: QImage) -> int:
        return sum(_close(img.pixelColor(x, y), icons.BADGE, 30)
                   for x in range(size) for y in range(size))

    assert yellow(img_failing) >= size  # the yellow of a yellow-and-black frame
    assert yellow(img_ok) == 0
    assert len(_ink_mask(img_failing, failing)) >= size // 2


# ---- the tray and its setting ------------------------------------------------------------


def _pixels(tray: TrayIcon, size: int) -> QImage:
    return tray.current_icon().pixmap(size, size).toImage().convertToFormat(
        QImage.Format.Format_ARGB32)


def test_tray_shows_todays_dollars_or_cycle_percent(qtbot: QtBot, utc_ctx: AppContext,
                                                    runner: TaskRunner) -> None:
    seed_spend(utc_ctx, today_usd="1.61", earlier_usd="70")  # 59.7 % of $120: warn
    tray, snap = _tray_with(qtbot, utc_ctx, runner)
    try:
        assert isinstance(tray.shown_look, icons.GaugeLook)  # the default: gauge
        # The seeded request is an hour old: a poll interval of an hour keeps it fresh.
        tray.set_icon_options(IconOptions("today_usd", (50, 80, 90, 100), 3600))
        assert tray.shown_look == NumberLook("1.6", "warn")
        for size in SIZES:
            assert _pixels(tray, size) == _image(size, NumberLook("1.6", "warn"))
        tray.set_icon_options(IconOptions("cycle_pct", (50, 80, 90, 100), 3600))
        assert tray.shown_look == NumberLook(compact_pct(snap.cycle.fraction or 0), "warn")
        assert tray.shown_look == NumberLook("59", "warn")
        # Thresholds move the colour; a short poll interval makes the hour-old data stale.
        tray.set_icon_options(IconOptions("cycle_pct", (30, 55, 100), 3600))
        assert tray.shown_look == NumberLook("59", "critical")
        tray.set_icon_options(IconOptions("cycle_pct", (50, 80, 90, 100), 300))
        assert tray.shown_look == NumberLook("59", "stale")
        tray.set_icon_options(IconOptions("gauge", (50, 80, 90, 100), 300))
        assert isinstance(tray.shown_look, icons.GaugeLook)
    finally:
        tray.dispose()


def test_no_data_keeps_the_gauges_grey_dial(qtbot: QtBot, utc_ctx: AppContext,
                                            runner: TaskRunner) -> None:
    tray, snap = _tray_with(qtbot, utc_ctx, runner)
    try:
        assert not snap.has_data
        tray.set_icon_options(IconOptions("today_usd"))
        look = tray.shown_look
        assert isinstance(look, icons.GaugeLook) and look.level is icons.GaugeLevel.NO_DATA
        assert icon_numbers.number_look(None, "today_usd", (50,), 300) is None
    finally:
        tray.dispose()


def test_setting_validates_its_choices() -> None:
    from monitor.core.settings import SettingError, Settings

    assert Settings().tray_icon_shows == "gauge"
    assert Settings().replace(tray_icon_shows="cycle_pct").tray_icon_shows == "cycle_pct"
    with pytest.raises(SettingError, match="one of gauge, today_usd, cycle_pct"):
        Settings().replace(tray_icon_shows="dollars")
