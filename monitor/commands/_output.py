"""Shared output helpers for commands: JSON printing (encoder: monitor.core.json_text) and
aligned human tables."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from monitor.core import money
from monitor.core.json_text import to_json, to_json_line

__all__ = ["num", "print_json", "table", "to_json", "to_json_line", "usd"]


def print_json(obj: Any) -> None:
    sys.stdout.write(to_json(obj) + "\n")


def usd(amount: Decimal | None) -> str:
    """`$1,234.57`: `core.money.usd` itself (no rule of its own), with the CLI's word for a
    missing amount, `unknown`."""
    return money.usd(amount, unknown="unknown")


def num(n: int) -> str:
    return f"{n:,}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """An aligned text table; `right[i]` right-aligns column i (numbers)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)
        ).rstrip()

    lines = [fmt(headers), fmt(["-" * w for w in widths])]
    lines.extend(fmt(row) for row in rows)
    return "\n".join(lines)
