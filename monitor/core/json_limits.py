"""JSON from files the user can edit, with a bound on nesting.

`json.loads` recurses once per level: `[` repeated 100,000 times raises RecursionError, which
is no ValueError, so callers that set a corrupt file aside missed it and every later run
failed the same way. Here over-deep input is a ValueError like any other corrupt JSON. No
file of ours nests more than a handful of levels.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64


class JsonTooDeep(ValueError):  # noqa: N818 - reads as what it is
    """The document nests objects/arrays deeper than we accept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nested too deeply (more than {limit} levels)")


def _depth_exceeds(doc: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


def loads_bounded(text: str | bytes, *, max_depth: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """`json.loads(text, **kwargs)`; raises JsonTooDeep (a ValueError) past `max_depth`
    levels, json.JSONDecodeError for invalid JSON."""
    try:
        doc = json.loads(text, **kwargs)
    except RecursionError:
        raise JsonTooDeep(max_depth) from None
    if _depth_exceeds(doc, max_depth):
        raise JsonTooDeep(max_depth)
    return doc
