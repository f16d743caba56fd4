"""The tokenizer pane: paste, type or drop text and see tokens, ids, costs and budget live.

Responsiveness design (numbers from tests/bench/bench_tokenizer_pane.py and editor.py):

* every edit advances a `Generation` and restarts a named single-shot debounce timer; when it
  fires the document is read (in slices if large), and `analyze_text`/`analyze_chat` run on
  the TaskRunner. Workers stop between chunks once their generation is stale, and a result
  whose generation is no longer current is dropped on arrival, so a slow count of old text
  never overwrites a newer one;
* the count is always exact for the whole text; only the shading is limited to the first
  `shade_tokens` tokens (with a note), and the token view lays that out in slices;
* large pastes and file loads are normalised off-thread and inserted in slices; texts with
  very long lines or beyond `editor_max_chars` are counted without being put in the editor.
"""

from __future__ import annotations

import html
import logging
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QResizeEvent,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from monitor.core.chat_tokens import ChatFormatError
from monitor.core.tokenizer_model import (
    ENCODING_TITLES,
    SHADE_LIMIT_TOKENS,
    Analysis,
    ChatAnalysis,
    Generation,
    PreparedText,
    Superseded,
    TextAnalysis,
    TextCosts,
    TextFileError,
    TokenSample,
    analyze_chat,
    analyze_text,
    decode_text,
    prepare_text,
    text_costs,
    token_ids_text,
)
from monitor.core.tokens import ENCODING_NAMES, encoding_for_model
from monitor.core.usage import TokenUsage
from monitor.errors import KnownError
from monitor.gui.tokenizer.budget import BudgetCalculator
from monitor.gui.tokenizer.editor import (
    DIRECT_INSERT_MAX_CHARS,
    DocumentReader,
    InputEdit,
    SlicedInserter,
)
from monitor.gui.tokenizer.money import cost_text
from monitor.gui.tokenizer.token_view import TokenView

if TYPE_CHECKING:
    from monitor.context import AppContext
    from monitor.core.pricing import Cost, PriceTable
    from monitor.gui.tasks import TaskRunner

log = logging.getLogger(__name__)

DEBOUNCE_MS = 150
_READ_BLOCK_BYTES = 4 << 20
_CONTEXT_BAR_SCALE = 1000  # the bar counts in per-mille: token counts may pass 2**31
_BAR_STYLE = (
    "QProgressBar {{ border: 1px solid palette(mid); border-radius: 3px; text-align: center;"
    " background: palette(base); min-height: 18px; }}"
    " QProgressBar::chunk {{ background-color: {colour}; border-radius: 2px; }}"
)
_BAR_OK = "#7fb3e6"
_BAR_OVER = "#e06666"


@dataclass(frozen=True)
class PaneLimits:
    """Sizes at which the pane changes strategy (tests shrink them)."""

    debounce_ms: int = DEBOUNCE_MS
    shade_tokens: int = SHADE_LIMIT_TOKENS
    # Pastes/drops above this many characters are normalised off-thread and inserted in slices.
    direct_insert_chars: int = DIRECT_INSERT_MAX_CHARS
    # A line longer than this makes every keystroke in QPlainTextEdit slow: count, don't edit.
    long_line_chars: int = 50_000
    # Texts above this are counted without being put in the editor.
    editor_max_chars: int = 32_000_000
    # Files above this are refused with a message (the CLI `count` streams any size).
    max_file_bytes: int = 256 * 1024 * 1024


@dataclass(frozen=True)
class _Detached:
    """Text counted without being in the editor (too large, or lines too long)."""

    text: str
    label: str


def _advance_all(generations: tuple[Generation, ...], *_args: object) -> None:
    for generation in generations:
        generation.advance()


def _prepare(text: str | QByteArray, long_line_chars: int) -> PreparedText:
    """Worker: a large text, or the UTF-8 bytes of a paste, ready for the editor."""
    if isinstance(text, QByteArray):
        text = decode_text(bytes(text.data()), "pasted text", lenient=True)
    return prepare_text(text, long_line_chars)


def _read_file(path: Path, max_bytes: int, long_line_chars: int) -> PreparedText:
    """Worker: a dropped/opened file as prepared text (TextFileError/OSError otherwise)."""
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise TextFileError(f"{path.name} is too big ({size:,} bytes)", "too_big",
                                offset=size)
        # Read in blocks: each read releases the GIL (one 50 MB read() held it ~35 ms).
        buffer = bytearray(size)
        view = memoryview(buffer)
        pos = 0
        while pos < size:
            n = fh.readinto(view[pos : pos + _READ_BLOCK_BYTES])
            if not n:
                break
            pos += n
    data = buffer if pos == size else bytes(view[:pos])
    return prepare_text(decode_text(data, path.name), long_line_chars)


class _FittingPanel(QWidget):
    """The scrollable side panel; keeps its minimum height at what its wrapped labels need.

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


class TokenizerPane(QWidget):
    """Paste/type/drop text; see its exact token count, ids, costs, context use and budget share.

    Embeddable (a tab of the dashboard) or a window of its own (`token-monitor tokenizer`).

    Signals:
        analysis_updated(object): a `TextAnalysis` or `ChatAnalysis` is now shown; fires only
            for the current text and settings, never for a superseded request.
        message_changed(str): the inline message changed (plain text; "" when cleared).
    """

    analysis_updated = Signal(object)
    message_changed = Signal(str)

    def __init__(
        self, ctx: AppContext, runner: TaskRunner, parent: QWidget | None = None, *,
        limits: PaneLimits | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("tokenizer-pane")
        self._ctx = ctx
        self._runner = runner
        self.limits = limits or PaneLimits()
        self._generation = Generation()
        self._load_generation = Generation()
        self._ids_generation = Generation()
        self._result: Analysis | None = None
        self._costs: TextCosts | None = None
        self._detached: _Detached | None = None
        self._remaining: Decimal | None = None
        self._message = ""
        self._error_position: tuple[int, int] | None = None
        self.stale_results_dropped = 0
        self._shown_gen = -1  # generation of the figures on screen
        self._loading = False  # a file read or a large paste is being prepared
        self._message_from_analysis = False
        self._table, table_error = self._load_prices()

        self._build()
        self._debounce = QTimer(self)
        self._debounce.setObjectName("tokenizer-debounce-timer")
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(self.limits.debounce_ms)
        self._debounce.timeout.connect(self._start_analysis)
        self._reader = DocumentReader(self.editor.document(), self)
        self._inserter = SlicedInserter(self.editor)
        self._connect()
        # A pane deleted mid-count: its workers stop at the next chunk.
        self.destroyed.connect(partial(
            _advance_all, (self._generation, self._load_generation, self._ids_generation)))
        self.setAcceptDrops(True)  # files dropped anywhere (the editor refuses them read-only)
        self._populate_models()
        if table_error:
            self._show_message(table_error, error=True)
        self._request_now()  # counts the empty text: loads the encoding off the GUI thread

    # ------------------------------------------------------------------------------------
    # public API

    @property
    def result(self) -> Analysis | None:
        """The analysis on screen (None before the first one arrives)."""
        return self._result

    @property
    def busy(self) -> bool:
        """True until the figures (or the error) on screen belong to the current text and
        settings: while loading, inserting, debouncing, reading or counting."""
        return (
            self._loading or self._inserter.active
            or self._shown_gen != self._generation.current
        )

    @property
    def message(self) -> str:
        return self._message

    @property
    def remaining_budget_usd(self) -> Decimal | None:
        return self._remaining

    @remaining_budget_usd.setter
    def remaining_budget_usd(self, value: Decimal | None) -> None:
        self.set_remaining_budget(value)

    def set_remaining_budget(self, usd: Decimal | None) -> None:
        """Money left of this month's limit (None: unknown; the calculator then uses the limit)."""
        self._remaining = usd
        self._update_budget()

    def model(self) -> str:
        return str(self.model_combo.currentData() or "")

    def set_model(self, model: str) -> None:
        index = self.model_combo.findData(model)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)

    def set_encoding(self, encoding: str | None) -> None:
        """Count with `encoding` instead of the model's (None: the model's own)."""
        index = self.encoding_combo.findData(encoding)
        if index >= 0:
            self.encoding_combo.setCurrentIndex(index)

    def set_chat_mode(self, on: bool) -> None:
        (self.chat_radio if on else self.text_radio).setChecked(True)

    def chat_mode(self) -> bool:
        return self.chat_radio.isChecked()

    def effective_encoding(self) -> str:
        chosen = self.encoding_combo.currentData()
        if chosen:
            return str(chosen)
        model = self.model()
        if not model:
            return ENCODING_NAMES[0]
        return encoding_for_model(model, self._table).name

    def set_text(self, text: str) -> None:
        """Replace the whole text (large texts are loaded in slices, like a paste)."""
        self._load_generation.advance()
        self._loading = False
        self._inserter.cancel()
        if len(text) <= self.limits.direct_insert_chars:
            self._leave_detached()
            self.editor.setPlainText(text)
            return
        self._ingest(text, replace_all=True, origin=self.tr("The text"))

    def open_file(self, path: Path, *, note: str = "") -> None:
        """Load a UTF-8 text file (off the GUI thread); other files get an inline message.

        `note` is shown with the outcome (e.g. that only the first dropped file is opened).
        """
        gen = self._load_generation.advance()
        self._loading = True
        self._inserter.cancel()
        self._set_status(self.tr("Reading {name}…").format(name=path.name))
        limits = self.limits
        self._runner.run(
            partial(_read_file, path, limits.max_file_bytes, limits.long_line_chars),
            on_done=partial(self._on_loaded, gen, True,
                            self.tr("“{name}”").format(name=path.name), note),
            on_error=partial(self._on_load_failed, gen, path, note),
        )

    def shutdown(self) -> None:
        """Stop timers and make every in-flight result stale (before the window goes away)."""
        self._debounce.stop()
        self._reader.cancel()
        self._inserter.cancel()
        self._generation.advance()
        self._load_generation.advance()
        self._ids_generation.advance()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self._on_files_dropped(paths)

    # ------------------------------------------------------------------------------------
    # construction

    def _load_prices(self) -> tuple[PriceTable | None, str]:
        try:
            return self._ctx.prices(), ""
        except KnownError as exc:
            return None, self.tr("Prices are unavailable: {problem}").format(problem=exc.text())

    def _build(self) -> None:
        # -- top row: mode, file, clear
        self.text_radio = QRadioButton(self.tr("Text"), self)
        self.chat_radio = QRadioButton(self.tr("Chat messages (JSON)"), self)
        self.text_radio.setChecked(True)
        self._mode_group = QButtonGroup(self)
        self._mode_group.addButton(self.text_radio)
        self._mode_group.addButton(self.chat_radio)
        self.open_button = QPushButton(self.tr("Open file…"), self)
        self.clear_button = QPushButton(self.tr("Clear"), self)
        top = QHBoxLayout()
        top.addWidget(self.text_radio)
        top.addWidget(self.chat_radio)
        top.addStretch(1)
        top.addWidget(self.open_button)
        top.addWidget(self.clear_button)

        # -- editor and inline message
        self.editor = InputEdit(self)
        self.editor.direct_insert_max_chars = self.limits.direct_insert_chars
        self._default_placeholder = self.tr(
            "Paste or type text here, or drop a UTF-8 text file. In chat mode, paste a JSON "
            'list of messages or {"messages": […], "tools": […]}.'
        )
        self.editor.setPlaceholderText(self._default_placeholder)
        self.editor.setTabStopDistance(QFontMetricsF(self.editor.font()).horizontalAdvance(" ") * 4)
        self.message_label = QLabel(self)
        self.message_label.setObjectName("tokenizer-message")
        self.message_label.setWordWrap(True)
        self.message_label.setTextFormat(Qt.TextFormat.RichText)
        self.message_label.setVisible(False)
        self.message_label.linkActivated.connect(self._on_message_link)
        editor_box = QWidget(self)
        ev = QVBoxLayout(editor_box)
        ev.setContentsMargins(0, 0, 0, 0)
        ev.addWidget(self.editor, 1)
        ev.addWidget(self.message_label)

        # -- token view page
        tokens_page = QWidget(self)
        tv = QVBoxLayout(tokens_page)
        tv.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()
        self.whitespace_check = QCheckBox(self.tr("Show whitespace"), tokens_page)
        self.ids_check = QCheckBox(self.tr("Show token IDs"), tokens_page)
        self.copy_ids_button = QPushButton(self.tr("Copy token IDs"), tokens_page)
        header.addWidget(QLabel("<b>" + self.tr("Tokens") + "</b>", tokens_page))
        header.addSpacing(8)
        header.addWidget(self.whitespace_check)
        header.addWidget(self.ids_check)
        header.addStretch(1)
        header.addWidget(self.copy_ids_button)
        self.shading_note = QLabel(tokens_page)
        self.shading_note.setObjectName("tokenizer-shading-note")
        self.shading_note.setWordWrap(True)
        self.shading_note.setVisible(False)
        self.token_view = TokenView(tokens_page)
        tv.addLayout(header)
        tv.addWidget(self.shading_note)
        tv.addWidget(self.token_view, 1)

        # -- chat page
        chat_page = QWidget(self)
        cv = QVBoxLayout(chat_page)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.addWidget(QLabel("<b>" + self.tr("Messages") + "</b>", chat_page))
        self.chat_table = QTableWidget(0, 3, chat_page)
        self.chat_table.setObjectName("tokenizer-chat-table")
        self.chat_table.setHorizontalHeaderLabels(
            [self.tr("#"), self.tr("Role"), self.tr("Tokens")]
        )
        self.chat_table.verticalHeader().setVisible(False)
        self.chat_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.chat_table.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.Stretch
        )
        self.chat_summary = QLabel(chat_page)
        self.chat_summary.setObjectName("tokenizer-chat-summary")
        self.chat_summary.setWordWrap(True)
        cv.addWidget(self.chat_table, 1)
        cv.addWidget(self.chat_summary)

        self.lower_stack = QStackedWidget(self)
        self.lower_stack.addWidget(tokens_page)
        self.lower_stack.addWidget(chat_page)

        left = QSplitter(Qt.Orientation.Vertical, self)
        left.addWidget(editor_box)
        left.addWidget(self.lower_stack)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 2)
        left.setChildrenCollapsible(False)

        # -- right panel
        panel = _FittingPanel(self)
        pv = QVBoxLayout(panel)
        pv.setContentsMargins(4, 0, 4, 0)

        model_box = QGroupBox(self.tr("Model and encoding"), panel)
        mf = QFormLayout(model_box)
        mf.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.model_combo = QComboBox(model_box)
        self.model_combo.setObjectName("tokenizer-model")
        self.model_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_combo.setMinimumContentsLength(14)
        self.encoding_label = QLabel(model_box)
        self.encoding_label.setObjectName("tokenizer-model-encoding")
        self.encoding_combo = QComboBox(model_box)
        self.encoding_combo.setObjectName("tokenizer-encoding")
        self.encoding_combo.addItem(self.tr("Model's encoding"), None)
        for name in ENCODING_NAMES:
            self.encoding_combo.addItem(name, name)
        mf.addRow(self.tr("Model"), self.model_combo)
        mf.addRow(self.tr("Encoding"), self.encoding_label)
        mf.addRow(self.tr("Count with"), self.encoding_combo)

        figures = QGroupBox(self.tr("This text"), panel)
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
        stats = QFormLayout()
        self.characters_label = QLabel("–", figures)
        self.words_label = QLabel("–", figures)
        self.per_word_label = QLabel("–", figures)
        stats.addRow(self.tr("Characters"), self.characters_label)
        stats.addRow(self.tr("Words"), self.words_label)
        stats.addRow(self.tr("Tokens per word"), self.per_word_label)
        self.context_bar = QProgressBar(figures)
        self.context_bar.setObjectName("tokenizer-context-bar")
        self.context_bar.setRange(0, _CONTEXT_BAR_SCALE)
        self.context_bar.setStyleSheet(_BAR_STYLE.format(colour=_BAR_OK))
        self.context_label = QLabel(figures)
        self.context_label.setObjectName("tokenizer-context-label")
        self.context_label.setWordWrap(True)
        fv.addLayout(count_row)
        fv.addWidget(self.status_label)
        fv.addLayout(stats)
        fv.addWidget(QLabel(self.tr("Context window"), figures))
        fv.addWidget(self.context_bar)
        fv.addWidget(self.context_label)

        costs = QGroupBox(self.tr("Cost of this text"), panel)
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

        self.budget = BudgetCalculator(panel)

        pv.addWidget(model_box)
        pv.addWidget(figures)
        pv.addWidget(costs)
        pv.addWidget(self.budget)
        pv.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidget(panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(330)
        scroll.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

        main = QSplitter(Qt.Orientation.Horizontal, self)
        main.addWidget(left)
        main.addWidget(scroll)
        main.setStretchFactor(0, 1)
        main.setStretchFactor(1, 0)
        main.setChildrenCollapsible(False)

        outer = QVBoxLayout(self)
        outer.addLayout(top)
        outer.addWidget(main, 1)

    def _connect(self) -> None:
        self.editor.document().contentsChange.connect(self._on_contents_change)
        self.editor.files_dropped.connect(self._on_files_dropped)
        self.editor.large_text_inserted.connect(self._on_large_text)
        self._inserter.progressed.connect(self._on_insert_progress)
        self._inserter.finished.connect(self._on_insert_finished)
        self.model_combo.currentIndexChanged.connect(self._on_model_changed)
        self.encoding_combo.currentIndexChanged.connect(lambda _i: self._request_now())
        self.chat_radio.toggled.connect(self._on_mode_changed)
        self.whitespace_check.toggled.connect(self.token_view.set_show_whitespace)
        self.ids_check.toggled.connect(self.token_view.set_show_ids)
        self.copy_count_button.clicked.connect(self._copy_count)
        self.copy_ids_button.clicked.connect(self._copy_ids)
        self.open_button.clicked.connect(self._ask_open_file)
        self.clear_button.clicked.connect(self._clear)

    def _populate_models(self) -> None:
        combo = self.model_combo
        combo.blockSignals(True)
        try:
            if self._table is None:
                combo.addItem(self.tr("(no price table)"), "")
                combo.setEnabled(False)
            else:
                for name in sorted(self._table.models):
                    combo.addItem(name, name)
                    choice = encoding_for_model(name, self._table)
                    tip = choice.name + (" " + self.tr("(assumed)") if choice.assumed else "")
                    combo.setItemData(combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
                index = combo.findData(self._table.default_model)
                combo.setCurrentIndex(max(0, index))
        finally:
            combo.blockSignals(False)
        self._update_encoding_label()

    # ------------------------------------------------------------------------------------
    # requests and results

    def _invalidate(self) -> None:
        """The input changed: results in flight are now stale."""
        self._generation.advance()
        self._reader.cancel()
        self._set_status(self.tr("Counting…"))

    def _request_now(self) -> None:
        self._invalidate()
        self._debounce.stop()
        self._start_analysis()

    def _on_contents_change(self, _pos: int, removed: int, added: int) -> None:
        if removed == 0 and added == 0:
            return
        self._invalidate()
        if self._inserter.active:
            return  # counted once the whole text is in (`_on_insert_finished`)
        self._debounce.start()

    def _start_analysis(self) -> None:
        gen = self._generation.current
        if self._detached is not None:
            self._submit(gen, self._detached.text)
        else:
            self._reader.read(partial(self._submit, gen))

    def _submit(self, gen: int, text: str) -> None:
        if not self._generation.is_current(gen):
            return
        cancelled = self._generation.canceller(gen)
        fn: Any
        if self.chat_mode():
            fn = partial(
                analyze_chat, text, self.model() or "gpt-4o", self._table,
                encoding=self.encoding_combo.currentData() or None, cancelled=cancelled,
            )
        else:
            fn = partial(
                analyze_text, text, self.effective_encoding(),
                shade_limit=self.limits.shade_tokens, cancelled=cancelled,
            )
        self._runner.run(
            fn, on_done=partial(self._on_analysis_done, gen),
            on_error=partial(self._on_analysis_failed, gen),
        )

    def _alive(self) -> bool:
        return shiboken6.isValid(self)

    def _on_analysis_done(self, gen: int, result: object) -> None:
        if not self._alive():
            return
        if not self._generation.is_current(gen):
            self.stale_results_dropped += 1
            return
        assert isinstance(result, TextAnalysis | ChatAnalysis)
        self._result = result
        self._shown_gen = gen
        self._error_position = None
        if self._message_from_analysis:
            self._show_message("")
        self._show_result(result)
        self.analysis_updated.emit(result)

    def _on_analysis_failed(self, gen: int, exc: BaseException) -> None:
        if not self._alive() or isinstance(exc, Superseded):
            return
        if not self._generation.is_current(gen):
            self.stale_results_dropped += 1
            return
        self._shown_gen = gen
        self._set_status("")
        if isinstance(exc, ChatFormatError):
            self._show_chat_error(exc)
            self._message_from_analysis = True
            return
        if isinstance(exc, KnownError):
            self._show_message(exc.text(), error=True)
        elif type(exc).__name__ == "PanicException":  # tiktoken's Rust core gave up
            self._show_message(
                self.tr("tiktoken could not tokenize this text ({problem}). Very long runs of "
                        "whitespace can cause this.").format(problem=str(exc)[:200]),
                error=True,
            )
        else:
            log.error("tokenizer analysis failed", exc_info=exc)
            self._show_message(
                self.tr("Counting failed: {problem}").format(
                    problem=f"{type(exc).__name__}: {exc}"
                ),
                error=True,
            )
        self._message_from_analysis = True
        self._show_unknown_figures()

    def _show_chat_error(self, exc: ChatFormatError) -> None:
        self._error_position = (exc.line, exc.column) if exc.line else None
        text = html.escape(exc.text())
        if exc.line:
            text += ' <a href="goto">' + html.escape(
                self.tr("Show line {line}, column {column}").format(
                    line=exc.line, column=exc.column
                )
            ) + "</a>"
        self._show_message(text, error=True, rich=True)
        self._show_unknown_figures()
        self.chat_table.setRowCount(0)
        self.chat_summary.setText("")

    def _show_unknown_figures(self) -> None:
        self._result = None
        for label in (self.tokens_label, self.characters_label, self.words_label,
                      self.per_word_label):
            label.setText("–")
        self.context_bar.setValue(0)
        self.context_bar.setFormat("")
        self.context_label.setText("")
        self._costs = None
        for label in self.cost_labels.values():
            label.setText("–")
        self.token_view.set_sample(TokenSample())
        self.shading_note.setVisible(False)
        self._update_budget()

    def _show_result(self, result: Analysis) -> None:
        n = result.tokens
        self.tokens_label.setText(self.tr("{n} tokens").format(n=f"{n:,}"))
        self.characters_label.setText(f"{result.characters:,}")
        self.words_label.setText(f"{result.words:,}")
        if isinstance(result, TextAnalysis):
            per_word = result.tokens_per_word
            self.per_word_label.setText("–" if per_word is None else f"{per_word:.2f}")
            self._set_status(
                self.tr("{encoding} · counted in {seconds} s").format(
                    encoding=result.encoding, seconds=f"{result.elapsed_s:.2f}"
                )
            )
            self.token_view.set_sample(result.sample)
            if result.shading_truncated:
                self.shading_note.setText(
                    self.tr("Shading shows the first {shown} of {total} tokens; the count covers "
                       "all of them.").format(shown=f"{len(result.sample):,}", total=f"{n:,}")
                )
                self.shading_note.setVisible(True)
            else:
                self.shading_note.setVisible(False)
        else:
            self.per_word_label.setText(
                "–" if not result.words else f"{result.tokens / result.words:.2f}"
            )
            self._set_status(
                self.tr("{encoding} · chat prompt · counted in {seconds} s").format(
                    encoding=result.encoding, seconds=f"{result.elapsed_s:.2f}"
                )
            )
            self._show_chat(result)
        self._update_costs()

    def _show_chat(self, result: ChatAnalysis) -> None:
        table = self.chat_table
        table.setRowCount(len(result.rows))
        for r, row in enumerate(result.rows):
            role = row.role + (f" ({row.name})" if row.name else "")
            for c, value in enumerate((str(row.index), role, f"{row.tokens:,}")):
                item = QTableWidgetItem(value)
                if c != 1:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                table.setItem(r, c, item)
        chat = result.chat
        parts = [
            self.tr("Messages: {n} (of which {overhead} per-message overhead)").format(
                n=f"{sum(chat.per_message):,}", overhead=f"{chat.message_overhead:,}"
            ),
            self.tr("Tools: {n}").format(n=f"{chat.tools_tokens:,}"),
            self.tr("Reply priming: {n}").format(n=f"{chat.reply_priming:,}"),
            "<b>" + self.tr("Total: {n}").format(n=f"{chat.total:,}") + "</b>",
        ]
        lines = [" · ".join(parts)]
        if chat.estimate:
            notes = "; ".join(chat.notes) or self.tr("rules not verified for this model")
            lines.append(self.tr("Estimate: {notes}").format(notes=html.escape(notes)))
        elif chat.notes:
            lines.append(html.escape("; ".join(chat.notes)))
        self.chat_summary.setText("<br>".join(lines))

    # ------------------------------------------------------------------------------------
    # costs, context window, budget

    def _update_costs(self) -> None:
        model = self.model()
        result = self._result
        if self._table is None or not model or result is None:
            self._costs = None
            self._update_context(None)
            self._update_budget()
            return
        costs = text_costs(self._table, model, result.tokens)
        self._costs = costs
        cells: dict[str, Cost | None] = {
            "input/standard": costs.input, "input/batch": costs.batch_input,
            "cached_input/standard": costs.cached_input, "cached_input/batch": None,
            "output/standard": costs.output, "output/batch": costs.batch_output,
        }
        if costs.cached_input is not None and costs.batch_input is not None:
            cells["cached_input/batch"] = self._table.cost(
                model, TokenUsage(input_tokens=result.tokens, cached_input_tokens=result.tokens),
                batch=True,
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
                    n=f"{self._table.long_context_threshold:,}"))
            if derived:
                notes.append(self.tr("* computed by rule, not from a published price."))
        self.cost_note.setText(" ".join(notes))
        info = self._table.resolve(model).info
        self._update_context(info.context_window if info is not None else None)
        self._update_budget()

    def _update_context(self, window: int | None) -> None:
        result = self._result
        if result is None or not window:
            self.context_bar.setValue(0)
            self.context_bar.setFormat(self.tr("unknown"))
            self.context_label.setText(self.tr("Context window unknown for this model.")
                                       if result is not None else "")
            return
        n = result.tokens
        over = n > window
        self.context_bar.setValue(min(_CONTEXT_BAR_SCALE, n * _CONTEXT_BAR_SCALE // window))
        self.context_bar.setFormat(f"{n / window:.1%}")
        self.context_bar.setStyleSheet(_BAR_STYLE.format(colour=_BAR_OVER if over else _BAR_OK))
        self.context_bar.setProperty("over", over)
        if over:
            self.context_label.setText(
                self.tr("{n} of {window} tokens: {extra} over the context window").format(
                    n=f"{n:,}", window=f"{window:,}", extra=f"{n - window:,}"
                )
            )
        else:
            self.context_label.setText(
                self.tr("{n} of {window} tokens").format(n=f"{n:,}", window=f"{window:,}")
            )

    def _update_budget(self) -> None:
        remaining = self._remaining
        is_limit = False
        if remaining is None:
            remaining = self._ctx.settings.monthly_limit_usd
            is_limit = True
        tokens = self._result.tokens if self._result is not None else None  # None: no count
        self.budget.set_inputs(self._table, self.model(), tokens, remaining,
                               remaining_is_limit=is_limit)

    # ------------------------------------------------------------------------------------
    # inputs: model, encoding, mode

    def _update_encoding_label(self) -> None:
        model = self.model()
        if not model:
            self.encoding_label.setText("–")
            return
        choice = encoding_for_model(model, self._table)
        text = choice.name
        if choice.assumed:
            text += " " + self.tr("(assumed)")
        self.encoding_label.setText(text)
        self.encoding_label.setToolTip(
            self.tr("Assumed: no source names the encoding of {model}.").format(model=model)
            if choice.assumed else self.tr("From {source}.").format(source=choice.source)
        )

    def _on_model_changed(self, _index: int) -> None:
        self._update_encoding_label()
        result = self._result
        if (
            self.chat_mode() or result is None or self.busy
            or result.encoding != self.effective_encoding()
        ):
            self._request_now()
        else:
            self._update_costs()  # same encoding: the count stands, only prices change

    def _on_mode_changed(self, chat: bool) -> None:
        self.lower_stack.setCurrentIndex(1 if chat else 0)
        self.copy_ids_button.setEnabled(not chat)
        self._show_message("")
        self._request_now()

    # ------------------------------------------------------------------------------------
    # loading text: large pastes, drops, files

    def _ingest(self, text: str | QByteArray, *, replace_all: bool, origin: str) -> None:
        """Prepare a large text (or the UTF-8 bytes of a paste) off-thread, then load it."""
        gen = self._load_generation.advance()
        self._loading = True
        self._set_status(self.tr("Preparing the text…"))
        self._runner.run(
            partial(_prepare, text, self.limits.long_line_chars),
            on_done=partial(self._on_loaded, gen, replace_all, origin, ""),
            on_error=partial(self._on_load_failed, gen, None, ""),
        )

    def _on_large_text(self, raw: object) -> None:
        assert isinstance(raw, QByteArray)
        self._ingest(raw, replace_all=self._detached is not None,
                     origin=self.tr("The pasted text"))

    def _on_files_dropped(self, paths: object) -> None:
        assert isinstance(paths, list)
        note = ""
        if len(paths) > 1:
            note = self.tr("Only the first of {n} files is opened.").format(n=len(paths))
        self.open_file(paths[0], note=note)

    def _on_loaded(
        self, gen: int, replace_all: bool, origin: str, note: str, prepared: object
    ) -> None:
        if not self._alive() or not self._load_generation.is_current(gen):
            return
        self._loading = False
        assert isinstance(prepared, PreparedText)
        text = prepared.text
        notes = [note] if note else []
        if prepared.converted_newlines:
            notes.append(self.tr("Line endings were converted to \\n."))
        if prepared.long_line or len(text) > self.limits.editor_max_chars:
            if prepared.long_line:
                why = self.tr("it has a line of {n} characters, too long to edit smoothly").format(
                    n=f"{prepared.long_line:,}")
            else:
                why = self.tr("it is too large to edit here ({n} characters)").format(
                    n=f"{len(text):,}")
            self._enter_detached(text, origin, why)
            notes.insert(0, self.tr("{what} is counted but not shown in the editor: {why}.")
                         .format(what=origin, why=why))
            self._show_message(" ".join(notes))
            return
        self._leave_detached()
        self._show_message(" ".join(notes))
        if len(text) <= self.limits.direct_insert_chars:
            if replace_all:
                self.editor.setPlainText(text)
            else:
                self.editor.insertPlainText(text)
            return
        self._inserter.start(text, replace_all=replace_all)

    def _on_load_failed(
        self, gen: int, path: Path | None, note: str, exc: BaseException
    ) -> None:
        if not self._alive() or not self._load_generation.is_current(gen):
            return
        self._loading = False
        self._set_status("")
        name = path.name if path is not None else ""
        if isinstance(exc, TextFileError):
            if exc.reason == "too_big":
                text = self.tr("{name} is too big to open here ({mb} MB; the limit is {limit} MB). "
                               "Count it with `token-monitor count FILE`.").format(
                    name=name, mb=f"{exc.offset / 1e6:,.1f}",
                    limit=f"{self.limits.max_file_bytes / 1e6:,.0f}")
            elif exc.reason in ("utf16", "utf32"):
                text = self.tr("{name} is {kind} text. Only UTF-8 text can be counted; save it "
                               "as UTF-8.").format(name=name, kind=ENCODING_TITLES[exc.reason])
            else:
                text = self.tr("{name} is not UTF-8 text (byte 0x{byte} at offset {offset}), so "
                               "it cannot be counted. Drop a text file instead.").format(
                    name=name, byte=f"{exc.byte:02x}", offset=f"{exc.offset:,}")
        elif isinstance(exc, IsADirectoryError):
            text = self.tr("{name} is a folder, not a file.").format(name=name)
        elif isinstance(exc, OSError):
            text = self.tr("Cannot read {name}: {problem}").format(
                name=name, problem=exc.strerror or str(exc))
        else:
            log.error("loading text failed", exc_info=exc)
            text = self.tr("Loading failed: {problem}").format(
                problem=f"{type(exc).__name__}: {exc}")
        self._show_message(f"{text} {note}".strip(), error=True)

    def _on_insert_progress(self, done: int, total: int) -> None:
        self._set_status(self.tr("Loading… {pct} %").format(pct=done * 100 // max(1, total)))

    def _on_insert_finished(self) -> None:
        self._request_now()

    def _enter_detached(self, text: str, label: str, why: str) -> None:
        self._detached = _Detached(text, label)
        self._inserter.cancel()
        self.editor.setPlainText("")  # invalidates; the debounced analysis counts the detached text
        self.editor.setReadOnly(True)
        self.editor.setPlaceholderText(
            self.tr("{what} ({n} characters) is counted but not shown here: {why}. Press "
                    "Clear to type again.").format(what=label,
                                                   n=f"{len(text):,}", why=why))
        self._request_now()

    def _leave_detached(self) -> None:
        if self._detached is None:
            return
        self._detached = None
        self.editor.setReadOnly(False)
        self.editor.setPlaceholderText(self._default_placeholder)

    def _clear(self) -> None:
        self._load_generation.advance()
        self._loading = False
        self._inserter.cancel()
        was_detached = self._detached is not None
        self._leave_detached()
        self._show_message("")
        self.editor.clear()
        if was_detached:
            self._request_now()

    def _ask_open_file(self) -> None:
        name, _filter = QFileDialog.getOpenFileName(self, self.tr("Open a text file"))
        if name:
            self.open_file(Path(name))

    # ------------------------------------------------------------------------------------
    # copy buttons

    def _copy_count(self) -> None:
        if self._result is None:
            return
        QGuiApplication.clipboard().setText(str(self._result.tokens))
        self._show_message(self.tr("Copied the count ({n}).").format(n=f"{self._result.tokens:,}"))

    def _copy_ids(self) -> None:
        result = self._result
        if not isinstance(result, TextAnalysis):
            return
        if not result.shading_truncated:
            self._put_ids(self._ids_generation.advance(), len(result.sample),
                          "[" + ", ".join(map(str, result.sample.ids)) + "]")
            return
        gen = self._ids_generation.advance()
        encoding = result.encoding
        count = result.tokens
        self._set_status(self.tr("Preparing {n} token IDs…").format(n=f"{count:,}"))

        def with_text(text: str) -> None:
            self._runner.run(
                partial(token_ids_text, text, encoding,
                        cancelled=self._ids_generation.canceller(gen)),
                on_done=partial(self._put_ids, gen, count),
                on_error=partial(self._on_ids_failed, gen),
            )

        if self._detached is not None:
            with_text(self._detached.text)
        else:
            self._reader.read(with_text)

    def _put_ids(self, gen: int, count: int, ids: object) -> None:
        if not self._alive() or not self._ids_generation.is_current(gen):
            return
        QGuiApplication.clipboard().setText(str(ids))
        self._set_status("")
        self._show_message(self.tr("Copied {n} token IDs.").format(n=f"{count:,}"))

    def _on_ids_failed(self, gen: int, exc: BaseException) -> None:
        if not self._alive() or isinstance(exc, Superseded):
            return
        if self._ids_generation.is_current(gen):
            log.error("preparing token ids failed", exc_info=exc)
            self._set_status("")
            self._show_message(self.tr("Copying the token IDs failed: {problem}").format(
                problem=f"{type(exc).__name__}: {exc}"), error=True)

    # ------------------------------------------------------------------------------------
    # messages

    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def _show_message(self, text: str, *, error: bool = False, rich: bool = False) -> None:
        self._message_from_analysis = False
        plain = _plain(text) if rich else text
        self._message = plain
        if not text:
            self.message_label.clear()
            self.message_label.setVisible(False)
        else:
            body = text if rich else html.escape(text)
            self.message_label.setText(f'<span style="color:#c62828">{body}</span>'
                                       if error else body)
            self.message_label.setVisible(True)
        self.message_changed.emit(plain)

    def _on_message_link(self, _link: str) -> None:
        if self._error_position is None:
            return
        line, column = self._error_position
        block = self.editor.document().findBlockByNumber(max(0, line - 1))
        if not block.isValid():
            return
        cursor = QTextCursor(block)
        cursor.movePosition(QTextCursor.MoveOperation.Right, QTextCursor.MoveMode.MoveAnchor,
                            max(0, min(column - 1, block.length() - 1)))
        self.editor.setTextCursor(cursor)
        self.editor.setFocus()


def _plain(rich: str) -> str:
    """The text of a rich-text message (for `message_changed`)."""
    return html.unescape(re.sub(r"<[^>]+>", "", rich))
