"""The period picker: which period the tables, the what-if and the CSV export show.

It only offers names `usage --period` takes (today, yesterday, cycle, previous-cycle, a UTC
month, a range of UTC days); services/periods.py says what each one means, so the dashboard
and `usage --json` show the same figures for the same name.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QWidget

from monitor.gui import fmt

if TYPE_CHECKING:
    from monitor.services.snapshot import ShownPeriod

MONTHS_OFFERED = 12  # this UTC month and the 11 before it
RANGE = "range"  # the combo's "Date range…" entry; the period is then "FROM..TO"


def _months_back(today: date, n: int) -> list[date]:
    first = today.replace(day=1)
    out = []
    for _ in range(n):
        out.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return out


def _qdate(d: date) -> QDate:
    return QDate(d.year, d.month, d.day)


def _pydate(d: QDate) -> date:
    return date(d.year(), d.month(), d.day())


class PeriodPicker(QWidget):
    """A combo of periods, and two date fields for "Date range…".

    Signals:
        period_requested(str): a `usage --period` name ("cycle", "2026-11", "a..b").
    """

    period_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("period")
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(QLabel(self.tr("Period"), self))
        self.combo = QComboBox(self)
        self.combo.setObjectName("period-picker")
        for text, name in ((self.tr("This cycle"), "cycle"), (self.tr("Today"), "today"),
                           (self.tr("Yesterday"), "yesterday"),
                           (self.tr("Last cycle"), "previous-cycle")):
            self.combo.addItem(text, name)
        self._months_from: date | None = None
        self.touched = False  # the user picked a period in this picker
        self.combo.addItem(self.tr("Date range…"), RANGE)
        row.addWidget(self.combo)
        self.range_from = QDateEdit(self)
        self.range_from.setObjectName("period-from")
        self.range_to = QDateEdit(self)
        self.range_to.setObjectName("period-to")
        for edit in (self.range_from, self.range_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.hide()
            edit.dateChanged.connect(lambda _d: self._emit())
            row.addWidget(edit)
        self.combo.currentIndexChanged.connect(lambda _i: self._emit())

    def set_today(self, today: date) -> None:
        """Offer the UTC months up to `today`'s (kept when the month has not changed)."""
        if self._months_from == today.replace(day=1):
            return
        self._months_from = today.replace(day=1)
        chosen = self.combo.currentData()
        self.combo.blockSignals(True)
        for i in range(self.combo.count() - 2, 3, -1):  # the old months, before "Date range…"
            self.combo.removeItem(i)
        for i, first in enumerate(_months_back(today, MONTHS_OFFERED)):
            self.combo.insertItem(4 + i, fmt.month_year(first), f"{first:%Y-%m}")
        index = self.combo.findData(chosen)
        self.combo.setCurrentIndex(max(0, index))
        if self.range_from.date() == QDate(2000, 1, 1):  # never set: this month so far
            for edit, d in ((self.range_from, today.replace(day=1)), (self.range_to, today)):
                edit.blockSignals(True)
                edit.setDate(_qdate(d))
                edit.blockSignals(False)
        self.combo.blockSignals(False)

    def period(self) -> str:
        """The chosen period's name."""
        name = str(self.combo.currentData() or "cycle")
        if name != RANGE:
            return name
        a, b = _pydate(self.range_from.date()), _pydate(self.range_to.date())
        return f"{min(a, b).isoformat()}..{max(a, b).isoformat()}"

    def choose(self, name: str, *, emit: bool = True) -> None:
        """Pick `name` ("2026-11", "a..b", ...) as if the user had (`emit`), or only show
        it (a new window adopting the period the app shows)."""
        self.blockSignals(not emit)
        try:
            self._choose(name)
        finally:
            self.blockSignals(False)

    def adopt(self, name: str) -> None:
        """Show `name`, the snapshot's period, unless the user has picked one here."""
        if not self.touched and name != self.period():
            self.choose(name, emit=False)
            self.touched = False

    def _choose(self, name: str) -> None:
        if ".." in name:
            first, _, last = name.partition("..")
            for edit, text in ((self.range_from, first), (self.range_to, last)):
                edit.blockSignals(True)
                edit.setDate(_qdate(date.fromisoformat(text)))
                edit.blockSignals(False)
            name = RANGE
        index = self.combo.findData(name)
        if 0 <= index != self.combo.currentIndex():
            self.combo.setCurrentIndex(index)  # emits, through currentIndexChanged
        else:
            self._emit()

    def show_period(self, shown: ShownPeriod) -> None:
        """The dates the period covers, as a tooltip (UTC days but today/yesterday)."""
        self.combo.setToolTip(
            self.tr("%1 – %2").replace("%1", fmt.short_date(shown.first_day))
            .replace("%2", fmt.short_date(shown.last_day)) + (
                "\n" + shown.error if shown.error else ""))

    def _emit(self) -> None:
        self.touched = True
        ranged = self.combo.currentData() == RANGE
        self.range_from.setVisible(ranged)
        self.range_to.setVisible(ranged)
        self.period_requested.emit(self.period())
