"""The tokenizer pane (a dashboard tab, or its own window via `token-monitor tokenizer`)."""

from monitor.gui.tokenizer.pane import PaneLimits, TokenizerPane
from monitor.gui.tokenizer.window import TokenizerWindow

__all__ = ["PaneLimits", "TokenizerPane", "TokenizerWindow"]
