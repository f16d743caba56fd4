"""The JSON contract's encoder: the one way every command and status bar writes JSON.

Numbers (money, prices, fractions) are plain decimal text rounded half up to at most
`money.JSON_PLACES` (nine) decimals — never `2.5e-06`, `Infinity`, `NaN` or the 28 digits of a
Decimal division; a non-finite value is `null`. Dates and datetimes are ISO 8601.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from monitor.core.money import JSON_PLACES, json_number


def _plain(value: Any, numbers: list[str], mark: str) -> Any:
    """`value` with every Decimal and float replaced by a placeholder string holding the index
    of its plain-notation text in `numbers` (None for NaN/infinity, written as `null`)."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float | Decimal):
        exact = Decimal(repr(value)) if isinstance(value, float) else value
        text = json_number(exact, places=JSON_PLACES)
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
    """`obj` as contract JSON; `one_line`: compact, for readers that take a line per update
    (status bars, `--watch`)."""
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
