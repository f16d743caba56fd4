"""The tokenizer pane (a dashboard tab, or its own window via `token-monitor tokenizer`).

Names are loaded on first use: importing a submodule such as `compat` (the app does at
start) must not import the pane and, through it, tiktoken.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.gui.tokenizer.intake import PaneLimits
    from monitor.gui.tokenizer.pane import TokenizerPane
    from monitor.gui.tokenizer.window import TokenizerWindow

__all__ = ["PaneLimits", "TokenizerPane", "TokenizerWindow"]
_WHERE = {"PaneLimits": "intake", "TokenizerPane": "pane", "TokenizerWindow": "window"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
