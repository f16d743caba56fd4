"""Qt Charts views of the cycle: daily spend bars with the limit's daily pace, and cumulative spend.

Fed plain series from the snapshot; no queries here. Both charts rebuild when resized so
their day labels fit (never "De… De…", in any language) and their money axes step by round
amounts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta

from PySide6.QtCharts import (
    QBarSeries,
    QBarSet,
    QCategoryAxis,
    QChart,
    QChartView,
    QLineSeries,
    QValueAxis,
)
from PySide6.QtCore import QMargins, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen, QResizeEvent
from PySide6.QtWidgets import QWidget

from monitor.gui import fmt
from monitor.services.snapshot import DashboardSnapshot, DayPoint

BAR_COLOUR = QColor(0x3B, 0x82, 0xC4)
PACE_COLOUR = QColor(0xE0, 0x2E, 0x24)
CUMULATIVE_COLOUR = QColor(0x2E, 0xA0, 0x43)
PROJECTION_COLOUR = QColor(0x88, 0x88, 0x88)


COMPACT_BELOW_PX = 380  # a chart view shorter than this has a smaller title
LABEL_GAP_PX = 8  # free space between two day labels
RIGHT_SLACK_PX = 10  # the last label may reach this far past the plot's right edge
QT_LABEL_PADDING_PX = 6  # Qt Charts' padding on each side of an axis label (5, and a margin)
Y_AXIS_ALLOWANCE_PX = 64  # the view's width minus this is about the plot's width


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def nice_scale(top: float, max_ticks: int = 6) -> tuple[float, int, str]:
    """(axis maximum, tick count, label format) for a money axis from 0 to at least `top`,
    with a round step (1, 2 or 5 × 10^k): $0/$5/$10/$15/$20, never $6/$13/$19."""
    if top <= 0:
        return 1.0, 6, "$%.1f"
    raw = top * 1.04 / (max_ticks - 1)  # a little headroom above the highest value
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw * 0.999)
    intervals = max(1, math.ceil(top * 1.04 / step - 1e-9))
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return step * intervals, intervals + 1, f"$%.{decimals}f"


def day_labels(days: list[date], plot_width: float,
               width_of: Callable[[str], float]) -> list[tuple[int, str]]:
    """(day index, label) for an axis `plot_width` pixels wide: day numbers every `step`
    days, the first label and the first one of a new month with the month (`Dec 1`,
    `12月1日`), and `step` the smallest that keeps every label clear of its neighbours."""
    n = len(days)
    if n == 0:
        return []
    per_day = plot_width / n
    for step in (1, 2, 3, 5, 7, 10, 14, 31):
        picks: list[tuple[int, str]] = []
        month = None
        for i in range(0, n, step):
            d = days[i]
            picks.append((i, fmt.short_date(d) if d.month != month else str(d.day)))
            month = d.month
        widths = [width_of(text) for _i, text in picks]
        fits = all(
            (b[0] - a[0]) * per_day >= (wa + wb) / 2 + LABEL_GAP_PX
            for a, b, wa, wb in zip(picks, picks[1:], widths, widths[1:], strict=False))
        # Qt truncates every label to the axis width / (labels + 1) less its padding.
        room = plot_width / (len(picks) + 1) - 2 * QT_LABEL_PADDING_PX
        if fits and max(widths) <= room \
                and widths[-1] / 2 <= (n - 0.5 - picks[-1][0]) * per_day + RIGHT_SLACK_PX:
            return picks
    return [(0, fmt.short_date(days[0]))]


def _day_axis(days: list[date], plot_width: float, font: QFont) -> QCategoryAxis:
    """Labels at chosen days (a bar category axis would elide 31 labels)."""
    metrics = QFontMetricsF(font)
    axis = QCategoryAxis()
    axis.setLabelsFont(font)
    n = max(1, len(days))
    axis.setRange(-0.5, n - 0.5)
    axis.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
    for i, text in day_labels(days, plot_width, metrics.horizontalAdvance):
        axis.append(text, float(i))
    axis.setGridLineVisible(False)
    return axis


def daily_values(snap: DashboardSnapshot) -> tuple[list[date], list[float]]:
    """Every day of the cycle with its spend (0 for days without data or in the future)."""
    by_day: dict[date, DayPoint] = {p.day: p for p in snap.daily}
    days = _days(snap.cycle.start, snap.cycle.end)
    return days, [float(by_day[d].cost_usd) if d in by_day else 0.0 for d in days]


class _CycleChart(QChartView):
    """A chart of the cycle that refits its labels to its size (rebuilt on resize)."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(140)
        self.setChart(QChart())
        self.chart().setMargins(QMargins(4, 4, 4, 4))
        self.snapshot: DashboardSnapshot | None = None
        self._built_for: tuple[int, int] | None = None

    def show_snapshot(self, snap: DashboardSnapshot) -> None:
        self.snapshot = snap
        self._built_for = (self.width(), self.height())
        old = self.chart()
        self.setChart(self._build(snap))
        old.deleteLater()

    def _build(self, snap: DashboardSnapshot) -> QChart:
        raise NotImplementedError

    def _new_chart(self, title: str) -> QChart:
        chart = QChart()
        chart.setMargins(QMargins(2, 2, 2, 2))
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.setTitle(title)  # always: a chart without its title is a guess (issue 25)
        if self.height() < COMPACT_BELOW_PX:  # small window: a smaller title, more plot
            font = chart.titleFont()
            font.setPointSizeF(max(7.0, chart.font().pointSizeF() - 0.5))
            font.setBold(True)
            chart.setTitleFont(font)
            chart.layout().setContentsMargins(0, 0, 0, 0)
            chart.legend().setContentsMargins(0, 0, 0, 0)
        self.setToolTip(title)
        return chart

    def plot_width(self) -> float:
        return max(80.0, self.width() - Y_AXIS_ALLOWANCE_PX)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        size = (self.width(), self.height())
        if self.snapshot is not None and size != self._built_for:
            self.show_snapshot(self.snapshot)


class DailySpendChart(_CycleChart):
    """Bars: spend per UTC day of the cycle; red line: the limit spread evenly over the cycle."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("daily-chart", parent)
        self.bar_values: list[float] = []
        self.pace_value = 0.0

    def _build(self, snap: DashboardSnapshot) -> QChart:
        chart = self._new_chart(self.tr("Daily spend this cycle (UTC days)"))
        days, values = daily_values(snap)
        self.bar_values = values
        bars = QBarSet(self.tr("Spend"))
        bars.setColor(BAR_COLOUR)
        bars.setBorderColor(BAR_COLOUR)
        bars.append(values)
        series = QBarSeries()
        series.setBarWidth(0.8)
        series.append(bars)
        chart.addSeries(series)
        n = max(1, len(days))
        pace = float(snap.cycle.limit_usd) / n
        self.pace_value = pace
        pace_line = QLineSeries()
        pace_line.setName(self.tr("Daily pace of the limit (%1/day)").replace(
            "%1", fmt.usd(snap.cycle.limit_usd / n)))
        pen = QPen(PACE_COLOUR)
        pen.setWidthF(2.0)
        pen.setStyle(Qt.PenStyle.DashLine)
        pace_line.setPen(pen)
        pace_line.append(-0.5, pace)
        pace_line.append(n - 0.5, pace)
        chart.addSeries(pace_line)
        axis_x = _day_axis(days, self.plot_width(), chart.font())
        top, ticks, label_format = nice_scale(max([pace, *values]))
        axis_y = QValueAxis()
        axis_y.setLabelFormat(label_format)
        axis_y.setRange(0, top)
        axis_y.setTickCount(ticks)
        chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        for s in (series, pace_line):
            s.attachAxis(axis_x)
            s.attachAxis(axis_y)
        return chart


class CumulativeChart(_CycleChart):
    """Cumulative spend through the cycle, the limit, and the projection to cycle end.

    The value axis reaches the largest value drawn (limit, spent, projection): a line that
    left the plot through its top edge read as a projection that stops mid-cycle (issue 25).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("cumulative-chart", parent)
        self.cumulative: list[float] = []
        self.axis_top = 0.0

    def _build(self, snap: DashboardSnapshot) -> QChart:
        chart = self._new_chart(self.tr("Cumulative spend against the limit"))
        days, values = daily_values(snap)
        today = snap.generated_at.astimezone().date()
        running = 0.0
        actual = QLineSeries()
        actual.setName(self.tr("Spent"))
        pen = QPen(CUMULATIVE_COLOUR)
        pen.setWidthF(2.5)
        actual.setPen(pen)
        self.cumulative = []
        for i, (d, v) in enumerate(zip(days, values, strict=True)):
            if d > max(today, snap.cycle.start):
                break
            running += v
            self.cumulative.append(running)
            actual.append(float(i), running)
        n = max(1, len(days))
        limit = QLineSeries()
        limit.setName(self.tr("Limit"))
        lpen = QPen(PACE_COLOUR)
        lpen.setWidthF(2.0)
        limit.setPen(lpen)
        limit_v = float(snap.cycle.limit_usd)
        limit.append(0.0, limit_v)
        limit.append(float(n - 1), limit_v)
        series: list[QLineSeries] = [actual, limit]
        drawn = [limit_v, running]
        projected = snap.cycle.projected_usd
        if projected is not None and self.cumulative:
            proj_v = float(projected)
            proj = QLineSeries()
            proj.setName(self.tr("Projection (%1 by %2)").replace("%1", fmt.usd_round(
                projected)).replace("%2", fmt.short_date(snap.cycle.last_day)))
            ppen = QPen(PROJECTION_COLOUR)
            ppen.setWidthF(2.0)
            ppen.setStyle(Qt.PenStyle.DotLine)
            proj.setPen(ppen)
            proj.append(float(len(self.cumulative) - 1), running)
            proj.append(float(n - 1), proj_v)
            series.append(proj)
            drawn.append(proj_v)
        top, ticks, label_format = nice_scale(max(drawn))
        self.axis_top = top
        for s in series:
            chart.addSeries(s)
        axis_x = _day_axis(days, self.plot_width(), chart.font())
        axis_y = QValueAxis()
        axis_y.setLabelFormat(label_format)
        axis_y.setRange(0, top)
        axis_y.setTickCount(ticks)
        chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        for s in series:
            s.attachAxis(axis_x)
            s.attachAxis(axis_y)
        return chart
