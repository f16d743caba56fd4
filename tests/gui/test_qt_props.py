"""What the first frame sets without PySide6's `Qt` namespace is what it set with it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLabel, QSplitter
from pytestqt.qtbot import QtBot

from monitor.gui.dashboard import tables
from monitor.gui.dashboard.window import DashboardWindow
from monitor.gui.qt_props import set_property


def test_key_names_set_enum_and_flag_properties(qtbot: QtBot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    set_property(label, "alignment", "AlignRight|AlignVCenter")
    assert label.alignment() == Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    set_property(label, "textInteractionFlags", "TextSelectableByMouse")
    assert label.textInteractionFlags() == Qt.TextInteractionFlag.TextSelectableByMouse


@pytest.mark.parametrize(("prop", "value"), [("alignment", "AlignSideways"),
                                              ("alignmnet", "AlignRight")])
def test_a_refused_property_raises(qtbot: QtBot, prop: str, value: str) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    with pytest.raises(ValueError, match=prop):
        set_property(label, prop, value)


def test_the_table_roles_are_qts() -> None:
    assert Qt.ItemDataRole.DisplayRole == tables.DISPLAY_ROLE
    assert Qt.ItemDataRole.UserRole == tables.SORT_ROLE


def test_the_dashboard_has_the_settings_it_had(qtbot: QtBot) -> None:
    w = DashboardWindow()
    qtbot.addWidget(w)
    assert w.refresh_action.shortcut().isEmpty()  # added once the window has painted
    w.show()
    qtbot.waitUntil(lambda: not w.refresh_action.shortcut().isEmpty(), timeout=5_000)
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
