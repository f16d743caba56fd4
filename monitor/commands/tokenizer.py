"""`token-monitor tokenizer [FILE]`: the tokenizer pane in its own window (Qt imported lazily)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.context import AppContext

if TYPE_CHECKING:
    from monitor.gui.tasks import TaskRunner
    from monitor.gui.tokenizer.pane import TokenizerPane
    from monitor.gui.tokenizer.window import TokenizerWindow


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "tokenizer", help="open the tokenizer window (tokens, ids, cost of a text)",
        description="Open the tokenizer window: paste, type or drop text and see its tokens, "
        "token ids, cost per model and share of the monthly budget. For scripts, use "
        "`token-monitor count`.",
    )
    p.add_argument("file", nargs="?", type=Path, metavar="FILE",
                   help="a UTF-8 text file to load at start")
    p.set_defaults(func=run)


def build_window(
    ctx: AppContext, file: Path | None = None
) -> tuple[TokenizerWindow, TokenizerPane, TaskRunner]:
    """The window, its pane and the runner (a QApplication must exist)."""
    from monitor.gui.tasks import TaskRunner
    from monitor.gui.tokenizer.window import TokenizerWindow

    runner = TaskRunner()
    window = TokenizerWindow(ctx, runner)
    runner.setParent(window)
    from monitor.gui.window_state import TOKENIZER_MODEL_PREF, remember_combo

    remember_combo(window.pane.model_combo, ctx.paths.state_file, TOKENIZER_MODEL_PREF)
    if file is not None:
        window.pane.open_file(file)
    return window, window.pane, runner


def run(args: argparse.Namespace, ctx: AppContext) -> int:
    from PySide6.QtWidgets import QApplication

    from monitor.gui.tokenizer.compat import protect_none

    protect_none()
    app = QApplication.instance() or QApplication(["token-monitor"])
    app.setApplicationName("token-monitor")
    window, pane, runner = build_window(ctx, args.file)
    window.show()
    try:
        return app.exec()
    finally:
        pane.shutdown()
        runner.wait(5000)
