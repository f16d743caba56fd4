"""Ask once for the monthly limit, after the first data arrives (issue 25).

Until the user answers, budget alerts stay quiet (`services.limit_choice`): the default
$120 is not a limit anyone chose. The question shows last cycle's spend as a hint; either
answer (a new limit, or keeping the one shown) is remembered, so it is asked once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from monitor.core.settings import Settings
from monitor.gui import fmt
from monitor.gui.tasks import TaskRunner
from monitor.services.limit_choice import last_cycle_spend, limit_chosen, mark_limit_chosen

if TYPE_CHECKING:
    from monitor.context import AppContext
    from monitor.services.snapshot import DashboardSnapshot

log = logging.getLogger(__name__)

MAX_LIMIT_USD = 1_000_000


class LimitDialog(QDialog):
    """"What monthly limit should alerts compare against?", with last cycle's spend."""

    def __init__(self, current: Decimal, last_cycle: Decimal | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("limit-dialog")
        self.setWindowTitle(self.tr("Monthly limit"))
        layout = QVBoxLayout(self)
        question = QLabel(self.tr(
            "Which monthly limit should Token Monitor compare your spend against? Budget "
            "alerts (50 %, 80 %, … of the limit, and the projection) start once you choose."),
            self)
        question.setWordWrap(True)
        layout.addWidget(question)
        self.hint = QLabel(self)
        self.hint.setObjectName("limit-hint")
        self.hint.setWordWrap(True)
        if last_cycle is None:
            self.hint.setText(self.tr("Last cycle's spend is not known yet."))
        else:
            self.hint.setText(self.tr("Last billing cycle you spent %1.")
                              .replace("%1", fmt.usd(last_cycle)))
        layout.addWidget(self.hint)
        form = QFormLayout()
        self.spin = QDoubleSpinBox(self)
        self.spin.setObjectName("limit-value")
        self.spin.setPrefix("$")
        self.spin.setDecimals(2)
        self.spin.setRange(0, MAX_LIMIT_USD)
        self.spin.setValue(float(current))
        self.spin.setToolTip(self.tr("0 means no limit: no budget alerts"))
        form.addRow(self.tr("Monthly limit (USD)"), self.spin)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok, self)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(self.tr("Use this limit"))
        ok.setObjectName("limit-ok")
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self.setWindowModality(Qt.WindowModality.NonModal)

    def value(self) -> Decimal:
        return Decimal(f"{self.spin.value():.2f}")


class LimitPrompt(QObject):
    """Shows LimitDialog once, on the first snapshot with data, while no limit was chosen.

    `apply_settings` saves a new limit (AppController.apply_settings); `refresh` takes a new
    snapshot so the now-allowed alerts are evaluated at once.
    """

    def __init__(self, ctx: AppContext, runner: TaskRunner, parent_window: Callable[[], QWidget],
                 apply_settings: Callable[[Settings], None], refresh: Callable[[], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("limit-prompt")
        self._ctx = ctx
        self._runner = runner
        self._window = parent_window
        self._apply = apply_settings
        self._refresh = refresh
        self._started = False
        self._closed = False
        self.dialog: LimitDialog | None = None

    def shutdown(self) -> None:
        """The app is quitting: a spend hint computed after this asks nothing."""
        self._closed = True
        if self.dialog is not None:
            self.dialog.close()

    def on_snapshot(self, snap: DashboardSnapshot) -> None:
        ctx = self._ctx
        if self._started or not snap.has_data:
            return
        if limit_chosen(ctx.paths.state_file, ctx.settings):
            self._started = True
            return
        self._started = True
        now = ctx.now()

        def hint() -> Decimal:
            return last_cycle_spend(ctx.store(), ctx.prices(), ctx.settings, now)

        def failed(exc: BaseException) -> None:
            log.warning("cannot compute last cycle's spend: %s", exc)
            self._ask(None)

        self._runner.run(hint, on_done=lambda v: self._ask(v), on_error=failed)

    def _ask(self, last_cycle: object) -> None:
        spend = last_cycle if isinstance(last_cycle, Decimal) else None
        if self._closed:
            return
        window = self._window()
        if not shiboken6.isValid(window):  # the app's window is gone (quit without shutdown)
            return
        dialog = LimitDialog(self._ctx.settings.monthly_limit_usd, spend,
                             window if window.isVisible() else None)
        dialog.accepted.connect(lambda: self._answered(dialog.value()))
        self.dialog = dialog
        dialog.show()

    def _answered(self, value: Decimal) -> None:
        mark_limit_chosen(self._ctx.paths.state_file)
        settings = self._ctx.settings
        if value != settings.monthly_limit_usd:
            self._apply(settings.replace(monthly_limit_usd=str(value)))
        self._refresh()
        if self.dialog is not None:
            self.dialog.deleteLater()
            self.dialog = None
