"""The dashboard's widgets keep their settings: selectable figures, right-aligned counts, a
vertical splitter, sorting by raw value without case, the Refresh shortcut."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QSplitter
from pytestqt.qtbot import QtBot

from monitor.gui.dashboard.window import DashboardWindow


def test_the_dashboard_has_the_settings_it_had(qtbot: QtBot) -> None:
    w = DashboardWindow()
    qtbot.addWidget(w)
    assert w.refresh_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Refresh)
    selectable = Qt.TextInteractionFlag.TextSelectableByMouse
    for label in (w.banner.label, w.notice.label, w.unpriced, w.what_if_result,
                  w.header.today_cost, w.header.cycle_projection):
        assert label.textInteractionFlags() == selectable, label.objectName()
    assert all(v.alignment() & Qt.AlignmentFlag.AlignRight
               for v in w.header.token_labels.values())
    splitters = w.tabs.findChildren(QSplitter)
    assert [s.orientation() for s in splitters] == [Qt.Orientation.Vertical]
    for proxy in (w.model_proxy, w.project_proxy, w.key_proxy, w.recon_proxy):
        assert isinstance(proxy, QSortFilterProxyModel)
        assert proxy.sortCaseSensitivity() == Qt.CaseSensitivity.CaseInsensitive
        assert proxy.sortRole() == Qt.ItemDataRole.UserRole
