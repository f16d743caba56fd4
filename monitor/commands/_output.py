"""Shared output helpers for commands: the JSON contract encoder and aligned human tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Numbers, not strings, per the JSON contract; repr of a float round-trips exactly
        # for the few significant digits money and per-1M prices have.
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(
            value
        )
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(obj: Any) -> str:
    return json.dumps(obj, default=_default, indent=2, ensure_ascii=False)


def to_json_line(obj: Any) -> str:
    """The same encoding on one line (status bars and `--watch` read a line per update)."""
    return json.dumps(obj, default=_default, ensure_ascii=False, separators=(",", ":"))


def print_json(obj: Any) -> None:
    sys.stdout.write(to_json(obj) + "\n")


def usd(amount: Decimal | None, places: int = 2) -> str:
    """`$1,234.56`; amounts under a cent keep four places so they do not read as zero."""
    if amount is None:
        return "unknown"
    if amount != 0 and abs(amount) < Decimal("0.01"):
        places = max(places, 4)
    return f"${amount:,.{places}f}"


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
