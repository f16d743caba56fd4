"""The tokenizer's text area, plus the two helpers that keep huge texts from stalling the GUI.

Measured with a 10 MB mixed text on the reference machine (QPlainTextEdit, offscreen):
`setPlainText`/`insertPlainText` block for ~0.6 s and `insertFromMimeData` for ~1.3 s, while
inserting 64 k-character slices one per event-loop turn with the editor's updates off blocks
~8 ms (15 ms worst); `toPlainText()` takes ~58 ms, while reading 512 k-character slices takes
~7 ms each; `QMimeData.text()` of a 10 MB paste takes 20-40 ms just to become a Python string,
while `data("text/plain")` stays a QByteArray until a worker decodes it. Hence
`SlicedInserter`, `DocumentReader` and the bytes hand-off in `InputEdit`. Lines longer than
~50 k characters make *every* keystroke in QPlainTextEdit slow (~0.45 ms per 1 000
characters of the line), which no slicing fixes; the pane keeps such texts out of the editor.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, QObject, QTimer, Signal
from PySide6.QtGui import QTextCursor, QTextDocument
from PySide6.QtWidgets import QPlainTextEdit, QWidget

# Pasted or dropped text above this many characters is loaded in slices by the pane.
DIRECT_INSERT_MAX_CHARS = 200_000
INSERT_SLICE_CHARS = 64 * 1024
READ_SLICE_CHARS = 512 * 1024
_PARAGRAPH_SEPARATOR = "\u2029"


class InputEdit(QPlainTextEdit):
    """Plain-text input that hands file drops and very large pastes to its owner.

    Signals:
        files_dropped(object): a `list[Path]` of local files dropped or pasted (nothing inserted).
        large_text_inserted(object): the UTF-8 `QByteArray` of a text pasted or dropped that is
            longer than `direct_insert_max_chars` bytes; not inserted (the owner decodes it off
            the GUI thread and loads it in slices).
    """

    files_dropped = Signal(object)
    large_text_inserted = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenizer-input")
        self.direct_insert_max_chars = DIRECT_INSERT_MAX_CHARS

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return source.hasUrls() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        if source.hasUrls():
            paths = [Path(url.toLocalFile()) for url in source.urls() if url.isLocalFile()]
            if paths:
                self.files_dropped.emit(paths)
                return
        if source.hasText():
            raw = source.data("text/plain")  # UTF-8, converted in C++; no Python string yet
            if raw.size() > self.direct_insert_max_chars:
                self.large_text_inserted.emit(raw)
                return
        super().insertFromMimeData(source)


class SlicedInserter(QObject):
    """Inserts a long text into an editor one slice per event-loop turn (one undo step).

    The editor is read-only, and does not repaint, while this runs.

    Signals:
        progressed(int, int): characters inserted so far, and the total.
        finished(): everything is in; the editor's cursor sits after the inserted text.
    """

    progressed = Signal(int, int)
    finished = Signal()

    def __init__(self, editor: QPlainTextEdit, slice_chars: int = INSERT_SLICE_CHARS) -> None:
        super().__init__(editor)
        self._editor = editor
        self.slice_chars = slice_chars
        self._text = ""
        self._pos = 0
        self._cursor: QTextCursor | None = None
        self._join = False
        self._was_read_only = False
        self._timer = QTimer(self)
        self._timer.setObjectName("tokenizer-insert-timer")
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._step)

    @property
    def active(self) -> bool:
        return self._cursor is not None

    def start(self, text: str, *, replace_all: bool) -> None:
        """Begin inserting `text` at the editor's cursor (over its selection), or over
        everything when `replace_all`."""
        self.cancel()
        cursor = QTextCursor(self._editor.document())
        if replace_all:
            cursor.select(QTextCursor.SelectionType.Document)
        else:
            own = self._editor.textCursor()
            cursor.setPosition(own.selectionStart())
            cursor.setPosition(own.selectionEnd(), QTextCursor.MoveMode.KeepAnchor)
        self._join = cursor.hasSelection()  # the insertion joins the removal's undo step
        if self._join:
            cursor.beginEditBlock()
            cursor.removeSelectedText()
            cursor.endEditBlock()
        self._cursor = cursor
        self._text = text
        self._pos = 0
        self._was_read_only = self._editor.isReadOnly()
        self._editor.setReadOnly(True)
        self._editor.setUpdatesEnabled(False)  # halves the cost of each slice
        self._timer.start()

    def cancel(self) -> None:
        """Stop where it is (what is inserted stays)."""
        if self._cursor is not None:
            self._timer.stop()
            self._cursor = None
            self._text = ""
            self._editor.setReadOnly(self._was_read_only)
            self._editor.setUpdatesEnabled(True)

    def finish_now(self) -> None:
        """Insert the rest at once (tests)."""
        while self._cursor is not None:
            self._step()

    def _step(self) -> None:
        cursor = self._cursor
        if cursor is None:
            return
        piece = self._text[self._pos : self._pos + self.slice_chars]
        if self._join:
            cursor.joinPreviousEditBlock()
        else:
            cursor.beginEditBlock()
            self._join = True
        cursor.insertText(piece)
        cursor.endEditBlock()
        self._pos += len(piece)
        total = len(self._text)
        self.progressed.emit(self._pos, total)
        if self._pos < total:
            self._timer.start()
            return
        self._cursor = None
        self._text = ""
        self._editor.setReadOnly(self._was_read_only)
        self._editor.setUpdatesEnabled(True)
        self._editor.setTextCursor(cursor)
        self.finished.emit()


class DocumentReader(QObject):
    """Reads a document's text (exactly, unlike toPlainText, which turns NBSP into a space)
    in slices cut at block starts, one slice per event-loop turn; small documents at once.

    No signals: `read(on_done)` calls `on_done(text)` on the GUI thread when complete, unless
    `cancel()` (or another `read`) came first.
    """

    def __init__(self, document: QTextDocument, parent: QObject,
                 slice_chars: int = READ_SLICE_CHARS) -> None:
        super().__init__(parent)
        self._doc = document
        self.slice_chars = slice_chars
        self._pieces: list[str] = []
        self._pos = 0
        self._end = 0
        self._on_done: Callable[[str], None] | None = None
        self._timer = QTimer(self)
        self._timer.setObjectName("tokenizer-read-timer")
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._step)

    @property
    def active(self) -> bool:
        return self._on_done is not None

    def read(self, on_done: Callable[[str], None]) -> None:
        self.cancel()
        end = self._doc.characterCount() - 1  # the last paragraph separator is not text
        if end <= self.slice_chars:
            on_done(self._doc.toRawText().replace(_PARAGRAPH_SEPARATOR, "\n"))
            return
        self._pieces = []
        self._pos = 0
        self._end = end
        self._on_done = on_done
        self._timer.start()

    def cancel(self) -> None:
        self._timer.stop()
        self._on_done = None
        self._pieces = []

    def _cut(self) -> int:
        """The next block start at least one slice ahead (never inside a surrogate pair)."""
        target = self._pos + self.slice_chars
        if target >= self._end:
            return self._end
        block = self._doc.findBlock(target)
        cut = block.position()
        if cut <= self._pos:  # one block longer than a slice: take all of it
            cut = block.position() + block.length()
        return min(cut, self._end)

    def _step(self) -> None:
        if self._on_done is None:
            return
        cut = self._cut()
        cursor = QTextCursor(self._doc)
        cursor.setPosition(self._pos)
        cursor.setPosition(cut, QTextCursor.MoveMode.KeepAnchor)
        self._pieces.append(cursor.selectedText().replace(_PARAGRAPH_SEPARATOR, "\n"))
        self._pos = cut
        if cut < self._end:
            self._timer.start()
            return
        on_done, text = self._on_done, "".join(self._pieces)
        self._on_done = None
        self._pieces = []
        on_done(text)
