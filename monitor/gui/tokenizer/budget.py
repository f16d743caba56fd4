"""The budget calculator: this text × calls per day × service tier × cached share → $ per month."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QSpinBox, QWidget

from monitor.core.tokenizer_model import (
    DAYS_PER_MONTH,
    SERVICE_TIERS,
    BudgetEstimate,
    budget_estimate,
)
from monitor.gui.tokenizer.money import cost_text, share_text

if TYPE_CHECKING:
    from monitor.core.prices import PriceTable

_MAX_SPIN = 2_000_000_000


class BudgetCalculator(QGroupBox):
    """Monthly cost of sending the current text N times a day, against the monthly budget.

    No signals; the pane calls `set_inputs` whenever the count, model or budget changes and the
    user edits calls per day, tier, cached share and output tokens here.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Budget calculator"))
        self.setObjectName("tokenizer-budget")
        self._table: PriceTable | None = None
        self._model = ""
        self._tokens: int | None = 0
        self._remaining: Decimal | None = None
        self._remaining_is_limit = False
        self.estimate: BudgetEstimate | None = None

        self.calls_per_day = QSpinBox(self)
        self.calls_per_day.setObjectName("budget-calls-per-day")
        self.calls_per_day.setRange(0, _MAX_SPIN)
        self.calls_per_day.setGroupSeparatorShown(True)
        self.calls_per_day.setValue(1000)
        self.tier = QComboBox(self)
        self.tier.setObjectName("budget-tier")
        names = {
            "standard": self.tr("Standard"),
            "batch": self.tr("Batch API"),
            "flex": self.tr("Flex"),
            "priority": self.tr("Priority"),
        }
        for tier in SERVICE_TIERS:
            self.tier.addItem(names[tier], tier)
        self.cached_pct = QSpinBox(self)
        self.cached_pct.setObjectName("budget-cached-share")
        self.cached_pct.setRange(0, 100)
        self.cached_pct.setSuffix(" %")
        self.output_tokens = QSpinBox(self)
        self.output_tokens.setObjectName("budget-output-tokens")
        self.output_tokens.setRange(0, _MAX_SPIN)
        self.output_tokens.setGroupSeparatorShown(True)
        self.result = QLabel(self)
        self.result.setObjectName("budget-result")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(self.tr("Calls per day"), self.calls_per_day)
        form.addRow(self.tr("Tier"), self.tier)
        form.addRow(self.tr("Cached input"), self.cached_pct)
        form.addRow(self.tr("Output tokens per call"), self.output_tokens)
        form.addRow(self.result)

        self.calls_per_day.valueChanged.connect(self._recompute)
        self.tier.currentIndexChanged.connect(self._recompute)
        self.cached_pct.valueChanged.connect(self._recompute)
        self.output_tokens.valueChanged.connect(self._recompute)
        self._recompute()

    def set_inputs(
        self, table: PriceTable | None, model: str, tokens_per_call: int | None,
        remaining_usd: Decimal | None, *, remaining_is_limit: bool,
    ) -> None:
        """The text's token count (None: there is none, e.g. the chat JSON is invalid), the
        model, and the money left this month (or, when the remaining amount is unknown, the
        monthly limit with `remaining_is_limit`)."""
        self._table = table
        self._model = model
        self._tokens = tokens_per_call
        self._remaining = remaining_usd
        self._remaining_is_limit = remaining_is_limit
        self._recompute()

    def _recompute(self) -> None:
        if self._table is None or not self._model:
            self.estimate = None
            self.result.setText(self.tr("No price table: costs are unavailable."))
            return
        if self._tokens is None:  # no dollars for a text that could not be counted
            self.estimate = None
            self.result.setText(self.tr("No estimate until the text can be counted."))
            return
        tier = str(self.tier.currentData())
        est = budget_estimate(
            self._table, self._model, tokens_per_call=self._tokens,
            calls_per_day=self.calls_per_day.value(), tier=tier,
            cached_share_pct=self.cached_pct.value(),
            output_tokens_per_call=self.output_tokens.value(),
            remaining_usd=self._remaining,
        )
        self.estimate = est
        self.result.setText(self._describe(est))

    def _describe(self, est: BudgetEstimate) -> str:
        if not est.offered:
            if self._table is not None and self._table.resolve(self._model).info is None:
                return self.tr("{model} is not in the price table.").format(model=self._model)
            return self.tr("{tier} is not offered for {model}.").format(
                tier=self.tier.currentText(), model=self._model
            )
        if est.monthly_usd is None:
            return self.tr("The price of {model} is unknown.").format(model=self._model)
        lines = [
            self.tr("<b>{monthly}</b> per month ({days} days × {calls} calls; {per_call} each)")
            .format(
                monthly=cost_text(est.monthly_usd), days=DAYS_PER_MONTH,
                calls=f"{est.calls_per_month // DAYS_PER_MONTH:,}",
                per_call=cost_text(est.per_call_usd),
            )
        ]
        if est.share_of_remaining is not None and self._remaining is not None:
            if self._remaining <= 0:
                lines.append(self.tr("The monthly limit is already used up."))
            elif self._remaining_is_limit:
                lines.append(
                    self.tr("{share} of the {limit} monthly limit").format(
                        share=share_text(est.share_of_remaining), limit=cost_text(self._remaining)
                    )
                )
            else:
                lines.append(
                    self.tr("{share} of the {left} left this month").format(
                        share=share_text(est.share_of_remaining), left=cost_text(self._remaining)
                    )
                )
        if est.cached_input_tokens and not est.cached_price_known:
            lines.append(self.tr("{model} has no cached-input price; cached tokens are billed as "
                                 "input.").format(model=self._model))
        return "<br>".join(lines)
