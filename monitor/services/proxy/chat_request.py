"""What the proxy reads from a chat request before forwarding it (pure, Qt-free): its model,
and whether `stream_options.include_usage` must be added so the stream reports its usage.

A body is scanned for its top-level members without parsing it whole (FULL_PARSE_BYTES);
only the small members that matter are parsed, so a 16 MB prompt costs one scan.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# ---------------------------------------------------------------------------------------
# requests


@dataclass(frozen=True)
class ChatRequestPlan:
    """What the proxy learned from (and did to) a chat-completions request body."""

    body: bytes
    model: str | None
    stream: bool
    added_include_usage: bool


FULL_PARSE_BYTES = 1024 * 1024
"""Chat requests up to this size are checked with json.loads; larger ones (inline images)
with `top_level_members`, which skips long strings with one `find` each."""

_STRUCTURE = re.compile(rb'["{}\[\],:]')
_WS = b" \t\r\n"


def _string_end(body: bytes, quote: int) -> int:
    """Index just past the string that opens at `quote`."""
    j = quote + 1
    while True:
        k = body.find(b'"', j)
        if k < 0:
            raise ValueError("unterminated string")
        m = k - 1
        while m >= j and body[m] == 0x5C:  # backslashes before the quote
            m -= 1
        if (k - 1 - m) % 2 == 0:
            return k + 1
        j = k + 1


def top_level_members(
    body: bytes, max_tokens: int = 200_000
) -> dict[bytes, tuple[int, int]] | None:
    """Byte spans of the values of a JSON object's top-level members, keyed by raw key.

    Cheap for bodies made of a few huge strings (base64 images): each string is skipped
    with one `find`. None if `body` is not an object, is cut short, or has more than
    `max_tokens` structural tokens (then it is not worth scanning on the event loop).
    """
    start = len(body) - len(body.lstrip(_WS))
    if body[start : start + 1] != b"{":
        return None
    members: dict[bytes, tuple[int, int]] = {}
    depth = 0
    key: bytes | None = None
    value_at: int | None = None
    pos = start
    try:
        for _ in range(max_tokens):
            m = _STRUCTURE.search(body, pos)
            if m is None:
                return None
            k = m.start()
            c = body[k]
            if c == 0x22:  # "
                end = _string_end(body, k)
                if depth == 1 and key is None:
                    key = body[k + 1 : end - 1]
                pos = end
                continue
            pos = k + 1
            if c in (0x7B, 0x5B):  # { [
                depth += 1
            elif c in (0x7D, 0x5D):  # } ]
                depth -= 1
                if depth == 0:
                    if key is not None and value_at is not None:
                        members[key] = _trim(body, value_at, k)
                    return members
            elif depth == 1 and c == 0x3A:  # :
                value_at = k + 1
            elif depth == 1 and c == 0x2C:  # ,
                if key is not None and value_at is not None:
                    members[key] = _trim(body, value_at, k)
                key = value_at = None
    except ValueError:
        return None
    return None


def _trim(body: bytes, a: int, b: int) -> tuple[int, int]:
    while a < b and body[a] in _WS:
        a += 1
    while b > a and body[b - 1] in _WS:
        b -= 1
    return a, b


def _small_json(body: bytes, span: tuple[int, int] | None) -> Any:
    if span is None or span[1] - span[0] > 64 * 1024:
        return None
    try:
        return json.loads(body[span[0] : span[1]])
    except ValueError:
        return None


def plan_chat_request(body: bytes) -> ChatRequestPlan | None:
    """Read a chat request; if it streams without `stream_options.include_usage`, add it.

    The rewrite is a splice, never a re-serialisation: without `stream_options` the member
    is inserted after the opening brace; otherwise just its value is replaced. Every other
    byte stays as the client sent it. None if the body is not a JSON object.
    """
    spans: dict[bytes, tuple[int, int]] | None = None
    if len(body) <= FULL_PARSE_BYTES:
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(doc, dict):
            return None
        model, stream, opts = doc.get("model"), doc.get("stream"), doc.get("stream_options")
        has_opts = "stream_options" in doc
    else:
        spans = top_level_members(body)
        if spans is None:
            return None
        model = _small_json(body, spans.get(b"model"))
        stream = _small_json(body, spans.get(b"stream"))
        opts = _small_json(body, spans.get(b"stream_options"))
        has_opts = b"stream_options" in spans
    model = model if isinstance(model, str) else None
    streaming = stream is True
    if not streaming or (isinstance(opts, dict) and opts.get("include_usage") is True):
        return ChatRequestPlan(body, model, streaming, False)
    if not has_opts:  # the object has "stream", so the splice leaves valid JSON
        brace = body.index(b"{") + 1
        view = memoryview(body)
        new = b"".join((view[:brace], b'"stream_options":{"include_usage":true},', view[brace:]))
        return ChatRequestPlan(new, model, streaming, True)
    if spans is None:
        spans = top_level_members(body)
    span = None if spans is None else spans.get(b"stream_options")
    if span is None:
        return None
    merged = dict(opts) if isinstance(opts, dict) else {}
    merged["include_usage"] = True
    value = json.dumps(merged, ensure_ascii=False, separators=(",", ":")).encode()
    view = memoryview(body)
    return ChatRequestPlan(
        b"".join((view[: span[0]], value, view[span[1] :])), model, streaming, True
    )


_REQ_MODEL_RE = re.compile(rb'"model"\s*:\s*"((?:[^"\\]|\\.){1,256})"')


def sniff_model(head: bytes) -> str | None:
    """The first `"model": "..."` in the start of a JSON request body, if any."""
    m = _REQ_MODEL_RE.search(head)
    if m is None:
        return None
    try:
        value = json.loads(b'"' + m.group(1) + b'"')
    except ValueError:
        return None
    return value if isinstance(value, str) else None
