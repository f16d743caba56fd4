"""The tokenizer pane's results panel: which model and encoding count, and what the count is
(tokens, status line, characters, words, tokens per word, context-window fill).

Only widgets and how they show a result; the controller (pane.py) feeds them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from monitor.core.tokenizer_model import Analysis, TextAnalysis
from monitor.core.tokens import ENCODING_NAMES, encoding_for_model

if TYPE_CHECKING:
    from monitor.core.prices import PriceTable

SPECIALS_NAMED = 3  # special-token strings named in the note; more read as "…"
CONTEXT_BAR_SCALE = 1000  # the bar counts in per-mille: token counts may pass 2**31
_BAR_STYLE = (
    "QProgressBar {{ border: 1px solid palette(mid); border-radius: 3px; text-align: center;"
    " background: palette(base); min-height: 18px; }}"
    " QProgressBar::chunk {{ background-color: {colour}; border-radius: 2px; }}"
)
_BAR_OK = "#7fb3e6"
_BAR_OVER = "#e06666"


class FittingPanel(QWidget):
    """A panel for a QScrollArea that keeps its minimum height at what its wrapped labels need.

    # WORKAROUND for QScrollArea ignoring height-for-width (QTBUG-37673 family): without this
    # word-wrapped labels inside it are laid out one line high and clipped.
    """

    def _fit(self) -> None:
        layout = self.layout()
        if layout is None:
            return
        height = (
            layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth()
            else layout.totalMinimumSize().height()
        )
        if height > 0 and height != self.minimumHeight():
            self.setMinimumHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.LayoutRequest:
            self._fit()
        return handled


class ResultsPanel(QWidget):
    """"Model and encoding" (model combo, its encoding, an override) and "This text"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenizer-results")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._build_model_box())
        layout.addWidget(self._build_figures())

    def _build_model_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Model and encoding"), self)
        mf = QFormLayout(box)
        mf.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.model_combo = QComboBox(box)
        self.model_combo.setObjectName("tokenizer-model")
        self.model_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_combo.setMinimumContentsLength(14)
        self.encoding_label = QLabel(box)
        self.encoding_label.setObjectName("tokenizer-model-encoding")
        self.encoding_combo = QComboBox(box)
        self.encoding_combo.setObjectName("tokenizer-encoding")
        self.encoding_combo.addItem(self.tr("Model's encoding"), None)
        for name in ENCODING_NAMES:
            self.encoding_combo.addItem(name, name)
        mf.addRow(self.tr("Model"), self.model_combo)
        mf.addRow(self.tr("Encoding"), self.encoding_label)
        mf.addRow(self.tr("Count with"), self.encoding_combo)
        return box

    def _build_figures(self) -> QGroupBox:
        figures = QGroupBox(self.tr("This text"), self)
        fv = QVBoxLayout(figures)
        count_row = QHBoxLayout()
        self.tokens_label = QLabel("–", figures)
        self.tokens_label.setObjectName("tokenizer-token-count")
        big = QFont(self.tokens_label.font())
        big.setPointSizeF(big.pointSizeF() * 1.8)
        big.setBold(True)
        self.tokens_label.setFont(big)
        self.tokens_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_count_button = QPushButton(self.tr("Copy count"), figures)
        count_row.addWidget(self.tokens_label, 1)
        count_row.addWidget(self.copy_count_button)
        self.status_label = QLabel(figures)
        self.status_label.setObjectName("tokenizer-status")
        self.status_label.setWordWrap(True)
        self.special_note = QLabel(figures)
        self.special_note.setObjectName("tokenizer-special-note")
        self.special_note.setWordWrap(True)
        self.special_note.setStyleSheet("color: #8a5a00;")
        self.special_note.hide()
        stats = QFormLayout()
        self.characters_label = QLabel("–", figures)
        self.words_label = QLabel("–", figures)
        self.per_word_label = QLabel("–", figures)
        stats.addRow(self.tr("Characters"), self.characters_label)
        stats.addRow(self.tr("Words"), self.words_label)
        stats.addRow(self.tr("Tokens per word"), self.per_word_label)
        self.context_bar = QProgressBar(figures)
        self.context_bar.setObjectName("tokenizer-context-bar")
        self.context_bar.setRange(0, CONTEXT_BAR_SCALE)
        self.context_bar.setStyleSheet(_BAR_STYLE.format(colour=_BAR_OK))
        self.context_label = QLabel(figures)
        self.context_label.setObjectName("tokenizer-context-label")
        self.context_label.setWordWrap(True)
        fv.addLayout(count_row)
        fv.addWidget(self.status_label)
        fv.addWidget(self.special_note)
        fv.addLayout(stats)
        fv.addWidget(QLabel(self.tr("Context window"), figures))
        fv.addWidget(self.context_bar)
        fv.addWidget(self.context_label)
        return figures

    # model and encoding -----------------------------------------------------------------

    def populate_models(self, table: PriceTable | None, selected: str | None) -> None:
        """Fill the model list from the price table (each item's tooltip: its encoding) and
        select `selected` (or the first model). No signal fires."""
        combo = self.model_combo
        combo.blockSignals(True)
        try:
            if table is None:
                combo.addItem(self.tr("(no price table)"), "")
                combo.setEnabled(False)
            else:
                for name in sorted(table.models):
                    combo.addItem(name, name)
                    choice = encoding_for_model(name, table)
                    tip = choice.name + (" " + self.tr("(assumed)") if choice.assumed else "")
                    combo.setItemData(combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
                combo.setCurrentIndex(max(0, combo.findData(selected)))
        finally:
            combo.blockSignals(False)

    def model(self) -> str:
        return str(self.model_combo.currentData() or "")

    def chosen_encoding(self) -> str | None:
        """The "Count with" override (None: the model's own encoding)."""
        data = self.encoding_combo.currentData()
        return str(data) if data else None

    def show_model_encoding(self, table: PriceTable | None) -> None:
        model = self.model()
        if not model:
            self.encoding_label.setText("–")
            return
        choice = encoding_for_model(model, table)
        text = choice.name
        if choice.assumed:
            text += " " + self.tr("(assumed)")
        self.encoding_label.setText(text)
        self.encoding_label.setToolTip(
            self.tr("Assumed: no source names the encoding of {model}.").format(model=model)
            if choice.assumed else self.tr("From {source}.").format(source=choice.source)
        )

    # figures ----------------------------------------------------------------------------

    def set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def show_counts(self, result: Analysis) -> None:
        self.tokens_label.setText(self.tr("{n} tokens").format(n=f"{result.tokens:,}"))
        self.characters_label.setText(f"{result.characters:,}")
        self.words_label.setText(f"{result.words:,}")
        if isinstance(result, TextAnalysis):
            per_word = result.tokens_per_word
        else:
            per_word = result.tokens / result.words if result.words else None
        self.per_word_label.setText("–" if per_word is None else f"{per_word:.2f}")
        self._show_specials(result.special_tokens)

    def _show_specials(self, found: tuple[str, ...]) -> None:
        """Say that special-token strings (`<|endoftext|>`) count as plain text (issue 25)."""
        self.special_note.setVisible(bool(found))
        if not found:
            return
        names = ", ".join(found[:SPECIALS_NAMED]) + (" …" if len(found) > SPECIALS_NAMED
                                                       else "")
        self.special_note.setText(self.tr(
            "Contains special-token strings ({names}): counted as plain text, as the API "
            "does with the text of a request (they never act as control tokens).")
            .format(names=names))

    def show_unknown(self) -> None:
        for label in (self.tokens_label, self.characters_label, self.words_label,
                      self.per_word_label):
            label.setText("–")
        self.context_bar.setValue(0)
        self.context_bar.setFormat("")
        self.context_label.setText("")
        self._show_specials(())

    def show_context(self, tokens: int | None, window: int | None) -> None:
        """How much of the model's context window `tokens` fills (None: no count shown)."""
        if tokens is None or not window:
            self.context_bar.setValue(0)
            self.context_bar.setFormat(self.tr("unknown"))
            self.context_label.setText(self.tr("Context window unknown for this model.")
                                       if tokens is not None else "")
            return
        over = tokens > window
        self.context_bar.setValue(min(CONTEXT_BAR_SCALE, tokens * CONTEXT_BAR_SCALE // window))
        self.context_bar.setFormat(f"{tokens / window:.1%}")
        self.context_bar.setStyleSheet(_BAR_STYLE.format(colour=_BAR_OVER if over else _BAR_OK))
        self.context_bar.setProperty("over", over)
        if over:
            self.context_label.setText(
                self.tr("{n} of {window} tokens: {extra} over the context window").format(
                    n=f"{tokens:,}", window=f"{window:,}", extra=f"{tokens - window:,}"
                )
            )
        else:
            self.context_label.setText(
                self.tr("{n} of {window} tokens").format(n=f"{tokens:,}", window=f"{window:,}")
            )
