"""The dashboard at 800×500 (issue 25): the header stays a strip, nothing is clipped, no
horizontal scrollbar, and both charts keep their titles."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QLabel
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui.app_jobs import make_tokenizer_factory
from monitor.gui.dashboard.window import DashboardWindow
from monitor.gui.tasks import TaskRunner
from monitor.services.snapshot import DashboardSnapshot
from tests.e2e.seed import seed_month
from tests.gui.conftest import NOW, make_state, snapshot_of

SIZE = (800, 500)


def _clipped(label: QLabel) -> bool:
    """Whether `label` is shown smaller than its text needs."""
    if label.wordWrap():
        return label.height() + 1 < label.heightForWidth(label.width())
    return label.width() + 1 < label.sizeHint().width() \
        or label.height() + 1 < label.sizeHint().height()


def test_the_dashboard_fits_800x500(qtbot: QtBot, utc_ctx: AppContext,
                                    runner: TaskRunner) -> None:
    seed_month(utc_ctx.store(), utc_ctx.prices(), NOW, scale=0.9)
    snap = snapshot_of(qtbot, make_state(utc_ctx, runner, NOW))
    assert isinstance(snap, DashboardSnapshot) and snap.cycle.basis == "mixed"
    w = DashboardWindow(tokenizer_factory=make_tokenizer_factory(utc_ctx, runner))
    qtbot.addWidget(w)
    w.resize(*SIZE)
    w.show()
    qtbot.waitExposed(w)
    w.show_snapshot(snap)
    w.banner.show_text("<b>On pace to exceed your monthly limit</b> — At this pace the cycle "
                       "ends at $127.37, over the $120.00 limit. Crossing around Dec 30.")
    for _ in range(3):
        QApplication.processEvents()
    assert (w.width(), w.height()) == SIZE  # its minimum size does not force it bigger
    assert w.header.height() <= 0.3 * w.height(), w.header.height()
    for label in w.header.findChildren(QLabel):
        if label.isVisible():
            assert not _clipped(label), (label.objectName(), label.text(), label.size(),
                                         label.sizeHint())
    assert w.header.cycle_basis.isVisible() and w.header.cycle_basis.text()
    for index in range(w.tabs.count()):
        w.tabs.setCurrentIndex(index)
        qtbot.wait(20)  # the page's views are built and laid out
        for area in w.findChildren(QAbstractScrollArea):
            if area.isVisible():
                assert not area.horizontalScrollBar().isVisible(), (index, area.objectName())
    w.tabs.setCurrentIndex(0)
    QApplication.processEvents()
    for view in (w.daily_chart, w.cumulative_chart):
        assert view.isVisible() and view.chart().title(), view.objectName()
        plot = view.chart().plotArea()
        assert plot.height() >= 0.5 * view.height(), (view.objectName(), plot, view.size())
