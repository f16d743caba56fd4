"""The tokenizer pane (a dashboard tab, or its own window via `token-monitor tokenizer`)."""

from monitor.gui.tokenizer.pane import PaneLimits, TokenizerPane

__all__ = ["PaneLimits", "TokenizerPane"]
