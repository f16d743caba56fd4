"""Charts fit their window (issue 16): day labels never elided at 800×500 or in Chinese,
round money steps; and the cumulative axis reaches the projection, whose line ends inside the
plot (issue 25)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from PySide6.QtCharts import QCategoryAxis, QChartView, QValueAxis
from PySide6.QtCore import QRectF
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui import i18n
from monitor.gui.dashboard.charts import CumulativeChart, nice_scale
from monitor.gui.dashboard.window import DashboardWindow
from monitor.gui.tasks import TaskRunner
from monitor.services.snapshot import DashboardSnapshot
from tests.e2e.seed import seed_month, seed_proxy_spend
from tests.gui.conftest import make_state, snapshot_of

NOW = datetime(2026, 12, 18, 15, tzinfo=UTC)
TEXT_ITEM_TYPE = 8  # QGraphicsTextItem::Type (Qt Charts draws axis labels with them)


@pytest.mark.parametrize(("top", "want_max", "ticks", "label"), [
    (19.95, 25.0, 6, "$%.0f"), (6.5, 8.0, 5, "$%.0f"), (18.0, 20.0, 5, "$%.0f"),
    (0.37, 0.4, 5, "$%.1f"), (1234.0, 1500.0, 4, "$%.0f"), (0.0, 1.0, 6, "$%.1f")])
def test_nice_scale_steps_by_round_amounts(top: float, want_max: float, ticks: int,
                                           label: str) -> None:
    axis_max, n, fmt = nice_scale(top)
    assert (axis_max, n, fmt) == pytest.approx((want_max, ticks, fmt)) and fmt == label
    step = axis_max / (n - 1)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 5) and axis_max >= top


@pytest.fixture(params=["en", "zh_CN"])
def language(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    translators = i18n.install(qapp, request.param)
    yield request.param
    i18n.remove(qapp, translators)


def _day_label_rects(view: QChartView) -> list[QRectF]:
    """Scene rectangles of the text items drawn just under the plot: the day labels as Qt
    laid them out (an elided label, "De…", is narrower than its text)."""
    chart = view.chart()
    bottom = chart.mapToScene(chart.plotArea().bottomLeft()).y()
    rects = [item.sceneBoundingRect() for item in view.scene().items()
             if item.type() == TEXT_ITEM_TYPE]
    return sorted((r for r in rects if bottom - 2 <= r.top() <= bottom + 12 and r.width() > 3),
                  key=lambda r: r.left())


def test_day_labels_are_never_cut_at_800x500(qtbot: QtBot, utc_ctx: AppContext,
                                             runner: TaskRunner, language: str) -> None:
    seed_month(utc_ctx.store(), utc_ctx.prices(), NOW, cycle_start_day=1)
    snap = snapshot_of(qtbot, make_state(utc_ctx, runner, NOW))
    assert isinstance(snap, DashboardSnapshot)
    for size in ((800, 500), (1100, 780), (1600, 1000)):
        w = DashboardWindow()
        qtbot.addWidget(w)
        w.resize(*size)
        w.show()
        qtbot.waitExposed(w)
        w.show_snapshot(snap)
        QApplication.processEvents()
        for view in (w.daily_chart, w.cumulative_chart):
            chart = view.chart()
            axis = next(a for a in chart.axes() if isinstance(a, QCategoryAxis))
            labels = axis.categoriesLabels()
            assert len(labels) >= 4, (size, labels)
            first = "Dec 1" if language == "en" else "12月1日"
            assert labels[0] == first
            rects = _day_label_rects(view)
            assert len(rects) == len(labels), (size, labels, rects)
            metrics = QFontMetricsF(axis.labelsFont())
            for text, rect in zip(labels, rects, strict=True):  # every label drawn whole …
                assert rect.width() >= metrics.horizontalAdvance(text) - 0.5, (size, text)
            for a, b in itertools.pairwise(rects):  # … and clear of the next one
                assert a.right() <= b.left(), (size, labels)
            # (a text item's box carries a sub-pixel margin beyond its glyphs: 1 px of slack)
            assert rects[-1].right() <= view.width() + 1 and rects[0].left() >= -1
            plot = chart.plotArea()
            assert plot.height() >= 0.6 * view.height(), (size, plot, view.size())
            ticks = next(a for a in chart.axes()
                         if isinstance(a, QValueAxis) and not isinstance(a, QCategoryAxis))
            step = ticks.max() / (ticks.tickCount() - 1)
            assert round(step / 10 ** math.floor(math.log10(step)), 6) in (1, 2, 5), (
                view.objectName(), ticks.max(), ticks.tickCount())


def test_the_projection_line_ends_inside_the_plot(
        qtbot: QtBot, utc_ctx: AppContext, runner: TaskRunner) -> None:
    # Issue 25: at a $5 limit, $40 spent in two days projects ~$360; the axis used to stop at
    # 1.4 × max(limit, spent) and the projection left the plot through its top edge mid-cycle.
    utc_ctx.save_settings(utc_ctx.settings.replace(monthly_limit_usd=Decimal(5)))
    seed_proxy_spend(utc_ctx.store(), [(NOW - timedelta(hours=40), Decimal(20)),
                                       (NOW - timedelta(hours=1), Decimal(20))])
    snap = snapshot_of(qtbot, make_state(utc_ctx, runner, NOW))
    assert isinstance(snap, DashboardSnapshot)
    projected = snap.cycle.projected_usd
    assert projected is not None and projected > Decimal(300)
    view = CumulativeChart()
    qtbot.addWidget(view)
    view.resize(520, 420)
    view.show()
    view.show_snapshot(snap)
    chart = view.chart()
    axis_y = next(a for a in chart.axes()
                  if isinstance(a, QValueAxis) and not isinstance(a, QCategoryAxis))
    drawn = [p.y() for s in chart.series() for p in s.points()]
    assert axis_y.max() >= max(drawn) >= float(projected) - 0.01
    legend = [s.name() for s in chart.series()]
    assert any(n.startswith("Projection ($") and "by Dec 31" in n for n in legend), legend
    proj = chart.series()[-1]
    end = proj.points()[-1]
    assert end.x() == (snap.cycle.end - snap.cycle.start).days - 1  # it reaches cycle end
    plot = chart.plotArea().adjusted(-1, -1, 1, 1)
    for s in chart.series():  # every line, the projection's end included, is inside the plot
        for p in s.points():
            assert plot.contains(chart.mapToPosition(p, s)), (s.name(), p, plot)
    assert chart.mapToPosition(end, proj).y() < chart.mapToPosition(
        chart.series()[1].points()[-1], proj).y()  # drawn above the limit, at its own value
