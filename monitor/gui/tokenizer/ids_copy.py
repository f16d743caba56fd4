"""Copy the token IDs of the counted text: at once for the shaded sample, off the GUI thread
when the text has more tokens than the sample holds."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication

from monitor.core.tokenizer_model import Generation, Superseded, TextAnalysis, token_ids_text
from monitor.gui.tasks import TaskRunner

log = logging.getLogger(__name__)


class IdsCopier(QObject):
    """Puts "[1, 2, …]" on the clipboard; a newer copy makes an older one stale.

    Signals:
        status(str): the pane's status line ("" when done).
        message(str, bool): the outcome for the pane's message line, and whether it is an error.
    """

    status = Signal(str)
    message = Signal(str, bool)

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.generation = Generation()

    def copy(self, result: TextAnalysis, read_text: Callable[[Callable[[str], None]], None]
             ) -> None:
        """Copy `result`'s ids; `read_text` hands the whole text to its callback when needed."""
        if not result.shading_truncated:
            self._put(self.generation.advance(), len(result.sample),
                      "[" + ", ".join(map(str, result.sample.ids)) + "]")
            return
        gen = self.generation.advance()
        encoding = result.encoding
        count = result.tokens
        self.status.emit(self.tr("Preparing {n} token IDs…").format(n=f"{count:,}"))

        def with_text(text: str) -> None:
            self._runner.run(
                partial(token_ids_text, text, encoding,
                        cancelled=self.generation.canceller(gen)),
                on_done=partial(self._put, gen, count),
                on_error=partial(self._failed, gen),
            )

        read_text(with_text)

    def _put(self, gen: int, count: int, ids: object) -> None:
        if not shiboken6.isValid(self) or not self.generation.is_current(gen):
            return
        QGuiApplication.clipboard().setText(str(ids))
        self.status.emit("")
        self.message.emit(self.tr("Copied {n} token IDs.").format(n=f"{count:,}"), False)

    def _failed(self, gen: int, exc: BaseException) -> None:
        if not shiboken6.isValid(self) or isinstance(exc, Superseded):
            return
        if self.generation.is_current(gen):
            log.error("preparing token ids failed", exc_info=exc)
            self.status.emit("")
            self.message.emit(self.tr("Copying the token IDs failed: {problem}").format(
                problem=f"{type(exc).__name__}: {exc}"), True)
