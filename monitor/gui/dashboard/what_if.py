"""The By-model tab's "What if everything ran on [model]": the shown period repriced, in
total and per model, as `usage --reprice MODEL --by model` gives it (services/reprice.py).

The price table has some 80 models: a filter box narrows the list.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from monitor.core import money
from monitor.gui import fmt

if TYPE_CHECKING:
    from monitor.services.snapshot import DashboardSnapshot, WhatIf


def compact_rows(view: QTableView) -> None:
    """One line per row, a little over the font's height: more rows fit a small window."""
    view.setWordWrap(False)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)


def _signed(diff: Decimal, base: Decimal) -> str:
    """`+$1.20 (+5 %)`, `−$3.00 (−100 %)`; no percentage on a zero base."""
    text = money.signed_usd(diff, minus="−")  # under half a cent: $0.00, no float noise
    if not base or money.is_nil_difference(diff):
        return text
    sign = "+" if diff > 0 else "−"
    return f"{text} ({sign}{abs(diff) / base * 100:.0f} %)"


class WhatIfPanel(QWidget):
    """Filter, model choice, the total line and the per-model table.

    Signals:
        what_if_requested(str): the model chosen; "" = none.
    """

    what_if_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("what-if")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("What if everything ran on"), self))
        self.filter = QLineEdit(self)
        self.filter.setObjectName("what-if-filter")
        self.filter.setPlaceholderText(self.tr("Filter models…"))
        self.filter.setClearButtonEnabled(True)
        self.filter.setMaximumWidth(160)
        self.filter.textChanged.connect(lambda _t: self._fill_models())
        row.addWidget(self.filter)
        self.model = QComboBox(self)
        self.model.setObjectName("what-if-model")
        self.model.addItem(self.tr("(choose a model)"), "")
        self.model.currentIndexChanged.connect(
            lambda _=0: self.what_if_requested.emit(self.model.currentData() or ""))
        row.addWidget(self.model)
        self.result = QLabel(self)
        self.result.setObjectName("what-if-result")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.result, 1)
        outer.addLayout(row)
        self._outer = outer
        self.table: QTableWidget | None = None  # per model, built when first needed
        self._models: tuple[str, ...] = ()

    def _fill_models(self) -> None:
        """The price table's models that contain the filter text (the chosen one stays)."""
        combo = self.model
        chosen = combo.currentData() or ""
        needle = self.filter.text().strip().lower()
        shown = [m for m in self._models if needle in m.lower() or m == chosen]
        combo.blockSignals(True)
        while combo.count() > 1:
            combo.removeItem(1)
        for name in shown:
            combo.addItem(name, name)
        combo.setCurrentIndex(max(0, combo.findData(chosen)))
        combo.blockSignals(False)

    def show_snapshot(self, snap: DashboardSnapshot) -> None:
        combo = self.model
        if snap.price_models != self._models:
            self._models = snap.price_models
            self._fill_models()
        w = snap.what_if
        if w is not None and not combo.currentData():  # a new window: keep the choice
            combo.blockSignals(True)
            combo.setCurrentIndex(max(0, combo.findData(w.model)))
            combo.blockSignals(False)
        if w is None or w.model != combo.currentData():
            self.result.setText("")
            if self.table is not None:
                self.table.hide()
            return
        text = (self.tr("%1 instead of %2: %3")
                .replace("%1", fmt.usd(w.cost_usd)).replace("%2", fmt.usd(w.actual_cost_usd))
                .replace("%3", _signed(w.difference_usd, w.actual_cost_usd)))
        if w.long_context_estimated:
            text += " · " + self.tr("long context estimated")
        self.result.setText(text)
        self._fill_table(w)

    def _table(self) -> QTableWidget:
        if self.table is None:
            table = QTableWidget(0, 4, self)
            table.setObjectName("what-if-table")
            table.verticalHeader().setVisible(False)
            compact_rows(table)
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            self._outer.addWidget(table, 2)
            self.table = table
        return self.table

    def _fill_table(self, w: WhatIf) -> None:
        table = self._table()
        table.setHorizontalHeaderLabels([
            self.tr("Model"), self.tr("Actual"), self.tr("On %1").replace("%1", w.model),
            self.tr("Difference")])
        table.setRowCount(len(w.by_model))
        for r, g in enumerate(w.by_model):
            cells = [g.name or str(g.key or "–"), fmt.usd(g.actual_cost_usd),
                     fmt.usd(g.cost_usd), _signed(g.cost_usd - g.actual_cost_usd,
                                                  g.actual_cost_usd)]
            for c, value in enumerate(cells):
                table.setItem(r, c, QTableWidgetItem(value))
        table.setVisible(bool(w.by_model))
