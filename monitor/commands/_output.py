"""Shared output helpers for commands: the JSON contract encoder and aligned human tables."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from monitor.core import money
from monitor.core.money import json_number


def _plain(value: Any, numbers: list[str], mark: str) -> Any:
    """`value` with every Decimal and float replaced by a placeholder string holding the index
    of its plain-notation text in `numbers` (None for NaN/infinity, written as `null`)."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float | Decimal):
        text = json_number(Decimal(repr(value)) if isinstance(value, float) else value)
        if text is None:
            return None
        numbers.append(text)
        return f"{mark}{len(numbers) - 1}{mark}"
    if isinstance(value, dict):
        return {k: _plain(v, numbers, mark) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v, numbers, mark) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(obj: Any, *, one_line: bool = False) -> str:
    """The JSON contract: money and prices are exact numbers in plain notation (`0.0000025`,
    never `2.5e-06`, `Infinity` or `NaN`; a non-finite value is `null`), dates ISO 8601.
    `one_line`: compact, for readers that take a line per update (status bars, `--watch`)."""
    numbers: list[str] = []
    # unguessable: no string in `obj` can forge one. os.urandom is what secrets.token_hex
    # reads, without importing secrets (hmac, hashlib: start-up time of `status`).
    mark = f"@{os.urandom(8).hex()}@"
    layout: dict[str, Any] = {"separators": (",", ":")} if one_line else {"indent": 2}
    text = json.dumps(_plain(obj, numbers, mark), ensure_ascii=False, **layout)
    return re.sub(f'"{mark}([0-9]+){mark}"', lambda m: numbers[int(m.group(1))], text)


def to_json_line(obj: Any) -> str:
    """The same encoding on one line (status bars and `--watch` read a line per update)."""
    return to_json(obj, one_line=True)


def print_json(obj: Any) -> None:
    sys.stdout.write(to_json(obj) + "\n")


def usd(amount: Decimal | None, places: int = 2) -> str:
    """`$1,234.57` by the one money rule (monitor.core.money); `unknown` when None."""
    return money.usd(amount, places=places, unknown="unknown")


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
