"""Table models over snapshot rows: by model / project / key, and billed vs estimated.

Models hold tuples of frozen rows; `Qt.UserRole` gives the raw value so a
QSortFilterProxyModel sorts numbers as numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from monitor.core import money
from monitor.gui import fmt, texts

if TYPE_CHECKING:  # loaded by the first snapshot, after the window's first frame
    from monitor.services.snapshot import GroupRow, ReconRow

R = TypeVar("R")
DISPLAY_ROLE = Qt.ItemDataRole.DisplayRole
SORT_ROLE = Qt.ItemDataRole.UserRole  # the raw value, so numbers sort as numbers
_Index = QModelIndex | QPersistentModelIndex
UNPRICED_COLOUR = QColor(0xB2, 0x6A, 0x00)
ALL_MODELS = "(all models)"  # the day-total row of the billed-vs-estimated table


class _Column(Generic[R]):
    def __init__(
        self,
        title: str,
        display: Callable[[R], str],
        raw: Callable[[R], Any],
        numeric: bool = True,
    ) -> None:
        self.title = title
        self.display = display
        self.raw = raw
        self.numeric = numeric


class RowTableModel(QAbstractTableModel, Generic[R]):
    """A read-only table of frozen rows; `set_rows` replaces them all."""

    def __init__(self, columns: Sequence[_Column[R]], parent: Any = None) -> None:
        super().__init__(parent)
        self._columns = list(columns)
        self._rows: list[R] = []

    def set_rows(self, rows: Sequence[R]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: _Index, role: int = DISPLAY_ROLE) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        col = self._columns[index.column()]
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.display(row)
        if role == Qt.ItemDataRole.ToolTipRole and not col.numeric:
            return col.display(row)  # the whole text of a cell elided in a narrow window
        if role == SORT_ROLE:
            return col.raw(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            align = Qt.AlignmentFlag.AlignRight if col.numeric else Qt.AlignmentFlag.AlignLeft
            return int(align | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and _is_unpriced(row):
            return QBrush(UNPRICED_COLOUR)
        if role == Qt.ItemDataRole.FontRole and _is_all_models(row):
            font = QFont()
            font.setBold(True)
            return font
        return None

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = DISPLAY_ROLE,
    ) -> Any:
        if (
            role == DISPLAY_ROLE
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self._columns)
        ):
            return self._columns[section].title
        return None


def _is_unpriced(row: object) -> bool:
    from monitor.services.snapshot import GroupRow  # loaded: rows come from a snapshot

    return isinstance(row, GroupRow) and row.cost_usd is None


def _is_all_models(row: object) -> bool:
    from monitor.services.snapshot import ReconRow

    return isinstance(row, ReconRow) and row.item == ALL_MODELS


def _cost_raw(value: Decimal | None) -> float:
    return -1.0 if value is None else float(value)


def _count_column(title: str, count: Callable[[GroupRow], int]) -> _Column[GroupRow]:
    """A right-aligned count shown with thousands separators and sorted by value."""
    return _Column(title, lambda r: f"{count(r):,}", count)


def group_columns(name_title: str) -> list[_Column[GroupRow]]:
    return [
        _Column(name_title, lambda r: r.name, lambda r: r.name.lower(), numeric=False),
        _count_column(QCoreApplication.translate("tables", "Requests"), lambda r: r.requests),
        _count_column(QCoreApplication.translate("tables", "Input"),
                      lambda r: r.usage.input_tokens),
        _count_column(QCoreApplication.translate("tables", "Cached"),
                      lambda r: r.usage.cached_input_tokens),
        _count_column(QCoreApplication.translate("tables", "Output"),
                      lambda r: r.usage.output_tokens),
        _count_column(QCoreApplication.translate("tables", "Reasoning"),
                      lambda r: r.usage.reasoning_tokens),
        _Column(
            QCoreApplication.translate("tables", "Cost"),
            lambda r: (
                fmt.usd(r.cost_usd)
                if r.cost_usd is not None
                else QCoreApplication.translate("tables", "price unknown")
            ),
            lambda r: _cost_raw(r.cost_usd),
        ),
        _Column(
            QCoreApplication.translate("tables", "Basis"),
            lambda r: texts.basis_text(r.basis)
            if r.cost_usd is not None
            else QCoreApplication.translate("tables", "unpriced"),
            lambda r: r.basis if r.cost_usd is not None else "~unpriced",
            numeric=False,
        ),
    ]


def all_models_text() -> str:
    return QCoreApplication.translate("tables", "(all models)")


def _reason_text(part: str) -> str:
    """One `; `-separated reason from the snapshot (English, Qt-free) in the UI language.

    Each call names its context literally so pyside6-lupdate extracts it.
    """
    fixed = {
        "matches": QCoreApplication.translate("tables", "matches"),
        "price unknown": QCoreApplication.translate("tables", "price unknown"),
        "billed by line item": QCoreApplication.translate("tables", "billed by line item"),
        "billed by line item; price unknown": QCoreApplication.translate(
            "tables", "billed by line item; price unknown"),
        "per-model dollars are estimated: no line item names this model":
            QCoreApplication.translate(
                "tables", "per-model dollars are estimated: no line item names this model"),
        "billed so far: the day is still open": QCoreApplication.translate(
            "tables", "billed so far: the day is still open"),
        ("billed and tokens x price differ by more than 1 %: a price in the table may be "
         "wrong"): QCoreApplication.translate(
            "tables", "billed and tokens x price differ by more than 1 %: a price in the "
            "table may be wrong"),
        "billed line item that names no model: its own row, not spread over models":
            QCoreApplication.translate(
                "tables",
                "billed line item that names no model: its own row, not spread over models"),
        _NOT_BILLED_TODAY: QCoreApplication.translate(
            "tables", "not billed yet: today's costs are still open"),
        _NOT_BILLED_LATE: QCoreApplication.translate(
            "tables", "not billed yet: the Costs API reports days late"),
        _PER_MODEL: QCoreApplication.translate(
            "tables", "per-model dollars are estimated: the Costs API has no model breakdown"),
        _NO_TOKENS: QCoreApplication.translate(
            "tables", "billed includes items without token usage (tools, storage, images) or "
            "usage not yet synced"),
        _REVISED: QCoreApplication.translate(
            "tables", "usage revised or billed at lower rates than the price table"),
    }
    if part in fixed:
        return fixed[part]
    if part.startswith(_UNPRICED):
        return QCoreApplication.translate(
            "tables", "unpriced models not in the estimate: %1").replace(
            "%1", part[len(_UNPRICED):])
    if part.startswith(_TIERS):
        return QCoreApplication.translate("tables", "service tiers used: %1").replace(
            "%1", part[len(_TIERS):])
    m = _CACHED_SHARE.fullmatch(part)
    if m:
        return QCoreApplication.translate("tables", "cached input %1 % of input").replace(
            "%1", m.group(1))
    return part  # a reason this GUI does not know yet: shown as the snapshot wrote it


_NOT_BILLED_TODAY = "not billed yet: today's costs are still open"
_NOT_BILLED_LATE = "not billed yet: the Costs API reports days late"
_PER_MODEL = "per-model dollars are estimated: the Costs API has no model breakdown"
_NO_TOKENS = ("billed includes items without token usage (tools, storage, images) or usage "
              "not yet synced")
_REVISED = "usage revised or billed at lower rates than the price table"
_UNPRICED = "unpriced models not in the estimate: "
_TIERS = "service tiers used: "
_CACHED_SHARE = re.compile(r"cached input (\d+) % of input")


def explanation_text(explanation: str) -> str:
    """The billed-vs-estimated "Why" text, translated reason by reason."""
    if not explanation:
        return explanation
    return QCoreApplication.translate("tables", "; ").join(
        _reason_text(part) for part in explanation.split("; "))


def recon_columns() -> list[_Column[ReconRow]]:
    def diff(r: ReconRow) -> str:
        return money.signed_usd(r.difference_usd, unknown="–")

    return [
        _Column(
            QCoreApplication.translate("tables", "Day"),
            lambda r: r.day.isoformat(),
            lambda r: r.day.toordinal(),
            numeric=False,
        ),
        _Column(
            QCoreApplication.translate("tables", "Model / line item"),
            lambda r: all_models_text() if r.item == ALL_MODELS else r.item,
            lambda r: r.item.lower(),
            numeric=False,
        ),
        _Column(
            QCoreApplication.translate("tables", "Billed"),
            lambda r: fmt.usd(r.billed_usd) if r.billed_usd is not None else "–",
            lambda r: _cost_raw(r.billed_usd),
        ),
        _Column(
            QCoreApplication.translate("tables", "Estimated"),
            lambda r: fmt.usd(r.estimated_usd) if r.estimated_usd is not None else "–",
            lambda r: _cost_raw(r.estimated_usd),
        ),
        _Column(
            QCoreApplication.translate("tables", "Difference"),
            diff,
            lambda r: float(r.difference_usd) if r.difference_usd is not None else 0.0,
        ),
        _Column(
            QCoreApplication.translate("tables", "Why"),
            lambda r: explanation_text(r.explanation),
            lambda r: r.explanation,
            numeric=False,
        ),
    ]


def sorted_proxy(model: QAbstractTableModel, parent: Any = None) -> QSortFilterProxyModel:
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    return proxy
