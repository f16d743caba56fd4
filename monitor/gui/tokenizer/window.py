"""The tokenizer pane in a window of its own (tray menu item, `token-monitor tokenizer`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMainWindow, QWidget

from monitor.gui.tokenizer.pane import TokenizerPane

if TYPE_CHECKING:
    from monitor.context import AppContext
    from monitor.gui.tasks import TaskRunner


class TokenizerWindow(QMainWindow):
    """A top-level window holding one `TokenizerPane` (as `.pane`).

    No signals of its own; connect to `window.pane.analysis_updated` and friends. The owner
    keeps the window (closing only hides it) and calls `pane.shutdown()` before quitting.
    """

    def __init__(self, ctx: AppContext, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenizer-window")
        self.setWindowTitle(self.tr("Tokenizer — Token Monitor"))
        self.pane = TokenizerPane(ctx, runner, self)
        self.setCentralWidget(self.pane)
        self.resize(1200, 800)
