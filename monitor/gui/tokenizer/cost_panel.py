"""The tokenizer pane's cost and budget panel: what the counted text costs as input, cached
input and output (standard and batch tiers), and the budget calculator below it.

Only widgets and how they show costs; the controller (pane.py) says which model and count.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from monitor.core.tokenizer_model import TextCosts, text_costs
from monitor.core.usage import TokenUsage
from monitor.gui.tokenizer.budget import BudgetCalculator
from monitor.gui.tokenizer.money import cost_text

if TYPE_CHECKING:
    from monitor.core.prices import Cost, PriceTable


class CostPanel(QWidget):
    """"Cost of this text" (a grid of labels named `cost-<kind>-<tier>`) and the budget."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenizer-costs")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        costs = QGroupBox(self.tr("Cost of this text"), self)
        cg = QGridLayout(costs)
        right = Qt.AlignmentFlag.AlignRight
        cg.addWidget(QLabel("<b>" + self.tr("Standard") + "</b>", costs), 0, 1, right)
        cg.addWidget(QLabel("<b>" + self.tr("Batch") + "</b>", costs), 0, 2, right)
        self.cost_labels: dict[str, QLabel] = {}
        rows = (
            ("input", self.tr("As input")),
            ("cached_input", self.tr("As cached input")),
            ("output", self.tr("As output")),
        )
        for r, (key, title) in enumerate(rows, start=1):
            cg.addWidget(QLabel(title, costs), r, 0)
            for c, tier in enumerate(("standard", "batch"), start=1):
                label = QLabel("–", costs)
                label.setObjectName(f"cost-{key}-{tier}")
                label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                cg.addWidget(label, r, c)
                self.cost_labels[f"{key}/{tier}"] = label
        self.cost_note = QLabel(costs)
        self.cost_note.setObjectName("tokenizer-cost-note")
        self.cost_note.setWordWrap(True)
        cg.addWidget(self.cost_note, len(rows) + 1, 0, 1, 3)
        cg.setColumnStretch(0, 1)
        self.budget = BudgetCalculator(self)
        layout.addWidget(costs)
        layout.addWidget(self.budget)

    def show_costs(self, table: PriceTable, model: str, tokens: int) -> TextCosts:
        """Fill the grid and its note for `tokens` of `model`; returns the costs shown."""
        costs = text_costs(table, model, tokens)
        cells: dict[str, Cost | None] = {
            "input/standard": costs.input, "input/batch": costs.batch_input,
            "cached_input/standard": costs.cached_input, "cached_input/batch": None,
            "output/standard": costs.output, "output/batch": costs.batch_output,
        }
        if costs.cached_input is not None and costs.batch_input is not None:
            cells["cached_input/batch"] = table.cost(
                model, TokenUsage(input_tokens=tokens, cached_input_tokens=tokens), batch=True,
            )
        derived = False
        for key, cost in cells.items():
            label = self.cost_labels[key]
            if cost is None or cost.usd is None:
                label.setText("–")
                label.setToolTip(self.tr("No such price for this model"))
                continue
            mark = "*" if cost.derived else ""
            derived = derived or cost.derived
            label.setText(cost_text(cost.usd) + mark)
            label.setToolTip(f"${cost.usd:f}")
        notes = []
        if not costs.known:
            notes.append(self.tr("{model} is not in the price table.").format(model=model))
        else:
            notes.append(self.tr("Prices as of {date}.").format(date=costs.input.as_of.isoformat()
                                                                  if costs.input else "?"))
            if costs.input is not None and costs.input.long_context:
                notes.append(self.tr("Long-context rates apply above {n} input tokens.").format(
                    n=f"{table.long_context_threshold:,}"))
            if derived:
                notes.append(self.tr("* computed by rule, not from a published price."))
        self.cost_note.setText(" ".join(notes))
        return costs

    def show_unknown(self) -> None:
        for label in self.cost_labels.values():
            label.setText("–")

    def show_budget(self, table: PriceTable | None, model: str, tokens: int | None,
                    remaining: Decimal, *, remaining_is_limit: bool) -> None:
        """`tokens` None: the text could not be counted (the calculator then shows none)."""
        self.budget.set_inputs(table, model, tokens, remaining,
                               remaining_is_limit=remaining_is_limit)
