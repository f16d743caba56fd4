"""Qt Charts views of the cycle: daily spend bars with the limit's daily pace, and cumulative spend.

Fed plain series from the snapshot; no queries here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from PySide6.QtCharts import (
    QBarSeries,
    QBarSet,
    QCategoryAxis,
    QChart,
    QChartView,
    QDateTimeAxis,
    QLineSeries,
    QValueAxis,
)
from PySide6.QtCore import QDateTime, QMargins, Qt, QTimeZone
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from monitor.services.snapshot import DashboardSnapshot, DayPoint

BAR_COLOUR = QColor(0x3B, 0x82, 0xC4)
PACE_COLOUR = QColor(0xE0, 0x2E, 0x24)
CUMULATIVE_COLOUR = QColor(0x2E, 0xA0, 0x43)
PROJECTION_COLOUR = QColor(0x88, 0x88, 0x88)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def _qdt(when: datetime) -> QDateTime:
    return QDateTime.fromMSecsSinceEpoch(round(when.timestamp() * 1000), QTimeZone.utc())


def _ms(day: date) -> float:
    # noon UTC, so a point sits in the middle of its day's label
    return float(_qdt(datetime.combine(day, time(12), UTC)).toMSecsSinceEpoch())


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        top = step * (int(value / step) + 1)
        if top / step <= 8:
            return float(top)
    return value * 1.1


def daily_values(snap: DashboardSnapshot) -> tuple[list[date], list[float]]:
    """Every day of the cycle with its spend (0 for days without data or in the future)."""
    by_day: dict[date, DayPoint] = {p.day: p for p in snap.daily}
    days = _days(snap.cycle.start, snap.cycle.end)
    return days, [float(by_day[d].cost_usd) if d in by_day else 0.0 for d in days]


class DailySpendChart(QChartView):
    """Bars: spend per UTC day of the cycle; red line: the limit spread evenly over the cycle."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("daily-chart")
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(220)
        self.setChart(QChart())
        self.chart().setMargins(QMargins(4, 4, 4, 4))
        self.bar_values: list[float] = []
        self.pace_value = 0.0

    def show_snapshot(self, snap: DashboardSnapshot) -> None:
        chart = QChart()
        chart.setTitle(self.tr("Daily spend this cycle (UTC days)"))
        chart.setMargins(QMargins(4, 4, 4, 4))
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
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
            "%1", f"${pace:,.2f}"))
        pen = QPen(PACE_COLOUR)
        pen.setWidthF(2.0)
        pen.setStyle(Qt.PenStyle.DashLine)
        pace_line.setPen(pen)
        pace_line.append(-0.5, pace)
        pace_line.append(n - 0.5, pace)
        chart.addSeries(pace_line)
        # A value axis with labels at chosen days: a bar category axis would elide 31 labels.
        axis_x = QCategoryAxis()
        axis_x.setRange(-0.5, n - 0.5)
        axis_x.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
        step = 1 if n <= 10 else 3 if n <= 24 else 5
        for i, d in enumerate(days):
            if i % step == 0:
                axis_x.append(f"{d.day}", float(i))
        axis_x.setGridLineVisible(False)
        axis_y = QValueAxis()
        axis_y.setLabelFormat("$%.0f")
        axis_y.setRange(0, _nice_max(max([pace, *values])))
        axis_y.setTickCount(5)
        chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        for s in (series, pace_line):
            s.attachAxis(axis_x)
            s.attachAxis(axis_y)
        old = self.chart()
        self.setChart(chart)
        old.deleteLater()


class CumulativeChart(QChartView):
    """Cumulative spend through the cycle, the limit, and the projection to cycle end."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cumulative-chart")
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(220)
        self.setChart(QChart())
        self.cumulative: list[float] = []

    def show_snapshot(self, snap: DashboardSnapshot) -> None:
        chart = QChart()
        chart.setTitle(self.tr("Cumulative spend against the limit"))
        chart.setMargins(QMargins(4, 4, 4, 4))
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        days, values = daily_values(snap)
        today = snap.generated_at.astimezone().date()
        running = 0.0
        actual = QLineSeries()
        actual.setName(self.tr("Spent"))
        pen = QPen(CUMULATIVE_COLOUR)
        pen.setWidthF(2.5)
        actual.setPen(pen)
        self.cumulative = []
        for d, v in zip(days, values, strict=True):
            if d > max(today, snap.cycle.start):
                break
            running += v
            self.cumulative.append(running)
            actual.append(_ms(d), running)
        limit = QLineSeries()
        limit.setName(self.tr("Limit"))
        lpen = QPen(PACE_COLOUR)
        lpen.setWidthF(2.0)
        limit.setPen(lpen)
        limit_v = float(snap.cycle.limit_usd)
        limit.append(_ms(snap.cycle.start), limit_v)
        limit.append(_ms(snap.cycle.last_day), limit_v)
        top = max(limit_v, running)
        series: list[QLineSeries] = [actual, limit]
        projected = snap.cycle.projected_usd
        if projected is not None and self.cumulative:
            proj = QLineSeries()
            proj.setName(self.tr("Projection"))
            ppen = QPen(PROJECTION_COLOUR)
            ppen.setWidthF(2.0)
            ppen.setStyle(Qt.PenStyle.DotLine)
            proj.setPen(ppen)
            last = min(today, snap.cycle.last_day)
            proj.append(_ms(last), running)
            proj.append(_ms(snap.cycle.last_day), float(projected))
            series.append(proj)
            top = max(top, float(projected))
        for s in series:
            chart.addSeries(s)
        axis_x = QDateTimeAxis()
        axis_x.setFormat(self.tr("MMM d", "QDateTime format of the chart's day axis"))
        axis_x.setTickCount(min(8, max(2, len(days) // 4 + 1)))
        axis_x.setRange(
            _qdt(datetime.combine(snap.cycle.start, time(0), UTC)),
            _qdt(datetime.combine(snap.cycle.last_day, time(23, 59), UTC)),
        )
        axis_y = QValueAxis()
        axis_y.setLabelFormat("$%.0f")
        axis_y.setRange(0, _nice_max(top))
        axis_y.setTickCount(5)
        chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        for s in series:
            s.attachAxis(axis_x)
            s.attachAxis(axis_y)
        old = self.chart()
        self.setChart(chart)
        old.deleteLater()
