"""The tokenizer pane's controller: paste, type or drop text and see tokens, ids, costs and
budget live.

The pane is put together from three views, each only widgets and how they show things:
`EditorSide` (editor_side.py: mode, editor, message, shaded tokens or chat messages),
`ResultsPanel` (results_panel.py: model/encoding, count, status, context window) and
`CostPanel` (cost_panel.py: costs and the budget calculator). This module decides what to
count and when, runs it off the GUI thread and hands results to those views.

Responsiveness design (numbers from tests/bench/bench_tokenizer_pane.py and editor.py):

* every edit advances a `Generation` and restarts a named single-shot debounce timer (at 0 ms
  for a paste); when it fires the document is read (in slices if large), and
  `analyze_text`/`analyze_chat` run on the TaskRunner. Workers stop between chunks once their
  generation is stale, and a result whose generation is no longer current is dropped on
  arrival, so a slow count of old text never overwrites a newer one;
* the encoding loads on a worker when the pane opens (its first, empty count), never before:
  the app does not pay for one until the tokenizer is used;
* the count is always exact for the whole text; only the shading is limited to the first
  `shade_tokens` tokens (with a note), and the token view lays that out in slices;
* large pastes and file loads are normalised off-thread and inserted in slices; texts with
  very long lines or beyond `editor_max_chars` are counted without being put in the editor.
"""

from __future__ import annotations

import html
import logging
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from monitor.core.chat_tokens import ChatFormatError
from monitor.core.tokenizer_model import (
    Analysis,
    ChatAnalysis,
    Generation,
    PreparedText,
    Superseded,
    TextAnalysis,
    TextCosts,
    analyze_chat,
    analyze_text,
)
from monitor.core.tokens import ENCODING_NAMES, encoding_for_model
from monitor.errors import KnownError
from monitor.gui.tokenizer.cost_panel import CostPanel
from monitor.gui.tokenizer.editor import DocumentReader, SlicedInserter
from monitor.gui.tokenizer.editor_side import EditorSide
from monitor.gui.tokenizer.ids_copy import IdsCopier
from monitor.gui.tokenizer.intake import (
    Detached,
    PaneLimits,
    advance_all,
    load_failure_text,
    prepare_for_editor,
    read_text_file,
)
from monitor.gui.tokenizer.results_panel import FittingPanel, ResultsPanel

if TYPE_CHECKING:
    from monitor.context import AppContext
    from monitor.core.prices import PriceTable
    from monitor.gui.tasks import TaskRunner

log = logging.getLogger(__name__)

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
        self._result: Analysis | None = None
        self._costs: TextCosts | None = None
        self._detached: Detached | None = None
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
        self.ids_copier = IdsCopier(runner, self)
        self.ids_copier.status.connect(self._set_status)
        self.ids_copier.message.connect(lambda text, error: self._show_message(text, error=error))
        self._connect()
        # A pane deleted mid-count: its workers stop at the next chunk.
        self.destroyed.connect(partial(
            advance_all, (self._generation, self._load_generation, self.ids_copier.generation)))
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
            partial(read_text_file, path, limits.max_file_bytes, limits.long_line_chars),
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
        self.ids_copier.generation.advance()

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
        self.side = EditorSide(self.limits.direct_insert_chars, self)
        self.results = ResultsPanel(self)
        self.costs = CostPanel(self)
        panel = FittingPanel(self)
        pv = QVBoxLayout(panel)
        pv.setContentsMargins(4, 0, 4, 0)
        pv.addWidget(self.results)
        pv.addWidget(self.costs)
        pv.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidget(panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(330)
        scroll.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        main = QSplitter(Qt.Orientation.Horizontal, self)
        main.addWidget(self.side)
        main.addWidget(scroll)
        main.setStretchFactor(0, 1)
        main.setStretchFactor(1, 0)
        main.setChildrenCollapsible(False)
        outer = QVBoxLayout(self)
        outer.addWidget(self.side.toolbar)
        outer.addWidget(main, 1)

        # The widgets callers and tests reach through the pane (one name each, kept stable).
        side, results, costs = self.side, self.results, self.costs
        self.editor = side.editor
        self.text_radio, self.chat_radio = side.text_radio, side.chat_radio
        self.open_button, self.clear_button = side.open_button, side.clear_button
        self.message_label, self.token_view = side.message_label, side.token_view
        self.whitespace_check, self.ids_check = side.whitespace_check, side.ids_check
        self.copy_ids_button, self.shading_note = side.copy_ids_button, side.shading_note
        self.chat_table, self.chat_summary = side.chat_table, side.chat_summary
        self.lower_stack = side.lower_stack
        self.model_combo, self.encoding_combo = results.model_combo, results.encoding_combo
        self.encoding_label, self.tokens_label = results.encoding_label, results.tokens_label
        self.copy_count_button, self.status_label = (results.copy_count_button,
                                                     results.status_label)
        self.characters_label, self.words_label = (results.characters_label,
                                                   results.words_label)
        self.per_word_label = results.per_word_label
        self.context_bar, self.context_label = results.context_bar, results.context_label
        self.cost_labels, self.cost_note = costs.cost_labels, costs.cost_note
        self.budget = costs.budget

    def _connect(self) -> None:
        self.editor.document().contentsChange.connect(self._on_contents_change)
        self.editor.files_dropped.connect(self._on_files_dropped)
        self.editor.large_text_inserted.connect(self._on_large_text)
        self._inserter.progressed.connect(self._on_insert_progress)
        self._inserter.finished.connect(self._on_insert_finished)
        self.model_combo.currentIndexChanged.connect(self._on_model_changed)
        self.encoding_combo.currentIndexChanged.connect(lambda _i: self._request_now())
        self.chat_radio.toggled.connect(self._on_mode_changed)
        self.message_label.linkActivated.connect(self._on_message_link)
        self.copy_count_button.clicked.connect(self._copy_count)
        self.copy_ids_button.clicked.connect(self._copy_ids)
        self.open_button.clicked.connect(self._ask_open_file)
        self.clear_button.clicked.connect(self._clear)

    def _populate_models(self) -> None:
        self.results.populate_models(
            self._table, self._table.default_model if self._table is not None else None)
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
        # Typing is debounced; a paste or drop (several characters at once) counts at once.
        self._debounce.start(0 if added > 1 else self.limits.debounce_ms)

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
        self.side.clear_chat()

    def _show_unknown_figures(self) -> None:
        self._result = None
        self._costs = None
        self.results.show_unknown()
        self.costs.show_unknown()
        self.side.clear_sample()
        self._update_budget()

    def _show_result(self, result: Analysis) -> None:
        self.results.show_counts(result)
        if isinstance(result, TextAnalysis):
            self._set_status(self._timing_text(
                self.tr("{encoding} · counted in {seconds}"), result))
            self.side.show_sample(result)
        else:
            self._set_status(self._timing_text(
                self.tr("{encoding} · chat prompt · counted in {seconds}"), result))
            self.side.show_chat(result)
        self._update_costs()

    def _timing_text(self, template: str, result: Analysis) -> str:
        """"counted in 3 ms", plus how long loading the encoding took when this count did."""
        text = template.format(encoding=result.encoding, seconds=_duration(result.elapsed_s))
        if result.load_s > 0:
            text += " · " + self.tr("loaded the encoding first ({seconds})").format(
                seconds=_duration(result.load_s))
        return text

    # ------------------------------------------------------------------------------------
    # costs, context window, budget

    def _update_costs(self) -> None:
        model = self.model()
        result = self._result
        if self._table is None or not model or result is None:
            self._costs = None
            self.results.show_context(result.tokens if result is not None else None, None)
            self._update_budget()
            return
        self._costs = self.costs.show_costs(self._table, model, result.tokens)
        info = self._table.resolve(model).info
        self.results.show_context(result.tokens, info.context_window if info is not None
                                  else None)
        self._update_budget()

    def _update_budget(self) -> None:
        remaining = self._remaining
        is_limit = False
        if remaining is None:
            remaining = self._ctx.settings.monthly_limit_usd
            is_limit = True
        tokens = self._result.tokens if self._result is not None else None  # None: no count
        self.costs.show_budget(self._table, self.model(), tokens, remaining,
                               remaining_is_limit=is_limit)

    # ------------------------------------------------------------------------------------
    # inputs: model, encoding, mode

    def _update_encoding_label(self) -> None:
        self.results.show_model_encoding(self._table)

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
        self.side.show_chat_page(chat)
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
            partial(prepare_for_editor, text, self.limits.long_line_chars),
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
        text = load_failure_text(exc, path.name if path is not None else "",
                                 self.limits.max_file_bytes)
        self._show_message(f"{text} {note}".strip(), error=True)

    def _on_insert_progress(self, done: int, total: int) -> None:
        self._set_status(self.tr("Loading… {pct} %").format(pct=done * 100 // max(1, total)))

    def _on_insert_finished(self) -> None:
        self._request_now()

    def _enter_detached(self, text: str, label: str, why: str) -> None:
        self._detached = Detached(text, label)
        self._inserter.cancel()
        self.editor.setPlainText("")  # invalidates; the debounced analysis counts the detached text
        self.side.set_detached(
            self.tr("{what} ({n} characters) is counted but not shown here: {why}. Press "
                    "Clear to type again.").format(what=label,
                                                   n=f"{len(text):,}", why=why))
        self._request_now()

    def _leave_detached(self) -> None:
        if self._detached is None:
            return
        self._detached = None
        self.side.set_detached(None)

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
        if self._detached is not None:
            detached = self._detached.text
            self.ids_copier.copy(result, lambda with_text: with_text(detached))
        else:
            self.ids_copier.copy(result, self._reader.read)

    # ------------------------------------------------------------------------------------
    # messages

    def _set_status(self, text: str) -> None:
        self.results.set_status(text)

    def _show_message(self, text: str, *, error: bool = False, rich: bool = False) -> None:
        self._message_from_analysis = False
        self._message = self.side.show_message(text, error=error, rich=rich)
        self.message_changed.emit(self._message)

    def _on_message_link(self, _link: str) -> None:
        if self._error_position is not None:
            self.side.go_to(*self._error_position)


def _duration(seconds: float) -> str:
    """3 ms, 0.42 s: milliseconds read better for the short counts most texts get."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"
