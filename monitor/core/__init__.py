"""Qt-free core: pricing, tokens, settings, budgets. Never imports PySide6."""
