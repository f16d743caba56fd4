"""The dashboard's Overview tab: the two charts, built only while the window is shown.

QtCharts and our chart module cost ~50 ms to import and the chart views a few MB each; the
tray app builds its dashboard at start but most sessions never open it. So the charts are
built right after the window is first shown (its first frame paints without waiting for
them), dropped when the window is closed to the tray, and rebuilt from the last snapshot
when it reopens (tens of milliseconds; tests/bench/bench_startup.py --resident prints it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QWidget

if TYPE_CHECKING:
    from monitor.gui.dashboard.charts import CumulativeChart, DailySpendChart
    from monitor.services.snapshot import DashboardSnapshot


class OverviewCharts(QWidget):
    """Holds the daily-spend and cumulative charts while `built`; keeps the last snapshot."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("charts")
        self._layout = QHBoxLayout(self)
        self._snapshot: DashboardSnapshot | None = None
        self.daily_chart: DailySpendChart | None = None
        self.cumulative_chart: CumulativeChart | None = None

    @property
    def built(self) -> bool:
        return self.daily_chart is not None

    def build(self) -> None:
        """Create the charts (once until `release`) and show the last snapshot in them."""
        if self.built:
            return
        from monitor.gui.dashboard.charts import CumulativeChart, DailySpendChart

        self.daily_chart = DailySpendChart(self)
        self.cumulative_chart = CumulativeChart(self)
        self._layout.addWidget(self.daily_chart, 1)
        self._layout.addWidget(self.cumulative_chart, 1)
        if self.isVisible():  # lay them out now: the charts fit their labels to their width
            self.daily_chart.show()
            self.cumulative_chart.show()
            self._layout.activate()
        if self._snapshot is not None:
            self._draw(self._snapshot)

    def release(self) -> None:
        """Drop the charts (the window was closed); `build` makes them again."""
        for chart in (self.daily_chart, self.cumulative_chart):
            if chart is not None:
                self._layout.removeWidget(chart)
                chart.hide()
                chart.deleteLater()
        self.daily_chart = self.cumulative_chart = None

    def show_snapshot(self, snap: DashboardSnapshot) -> None:
        self._snapshot = snap
        if self.built:
            self._draw(snap)

    def _draw(self, snap: DashboardSnapshot) -> None:
        assert self.daily_chart is not None and self.cumulative_chart is not None
        self.daily_chart.show_snapshot(snap)
        self.cumulative_chart.show_snapshot(snap)
