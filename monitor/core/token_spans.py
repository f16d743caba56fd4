"""Token spans: which characters of a text each token covers, for the tokenizer's shaded view."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import tiktoken

from monitor.core.encodings import get_encoding
from monitor.core.tokens import cut_at_or_before, encode_ordinary_exact, has_surrogate

_CONTINUATION_BYTES = bytes(range(0x80, 0xC0))


def _lead_counts(enc: tiktoken.Encoding, tokens: list[int]) -> list[int]:
    """Per token, the number of characters it starts: its UTF-8 bytes that are not
    continuation bytes (10xxxxxx). Asked of the tokens at hand (~0.2 µs each) rather than
    tabled for the whole vocabulary: a table took 30-80 ms to build, which the first count
    of a paste waited for."""
    decode = enc.decode_single_token_bytes
    continuation = _CONTINUATION_BYTES
    return [len(decode(t).translate(None, continuation)) for t in tokens]


@dataclass(frozen=True, slots=True)
class TokenSpan:
    """One token and the characters `text[start:end]` it covers (code point offsets).

    Spans tile the text: each starts where the previous one ended. A character whose UTF-8
    bytes are split over several tokens belongs to the token holding its first byte; a token
    made only of the remaining bytes of such a character gets an empty span (start == end)
    just after it.
    """

    token_id: int
    start: int
    end: int


def _fixup_with_origins(text: str) -> tuple[str, list[int]]:
    """`_utf16_fixup(text)` plus, per character of the result, its offset in `text`."""
    out: list[str] = []
    origin: list[int] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        o = ord(c)
        if 0xD800 <= o <= 0xDBFF and i + 1 < n and 0xDC00 <= ord(text[i + 1]) <= 0xDFFF:
            out.append(chr(0x10000 + ((o - 0xD800) << 10) + (ord(text[i + 1]) - 0xDC00)))
            origin.append(i)
            i += 2
            continue
        out.append("\ufffd" if 0xD800 <= o <= 0xDFFF else c)
        origin.append(i)
        i += 1
    origin.append(n)
    return "".join(out), origin


def _safe_prefixes(text: str, limit: int) -> Iterator[str]:
    """Growing prefixes of text, each ending at a safe cut, then the whole text.

    The tokens of a prefix cut safely are exactly the first tokens of the whole text.
    """
    size = max(limit * 8, 4096)
    while size < len(text):
        cut = cut_at_or_before(text, size // 2, size)
        if cut:
            yield text[:cut]
        size *= 2
    yield text


def token_spans(text: str, encoding: str, limit: int | None = None) -> list[TokenSpan]:
    """The tokens of `text` (at most `limit`) with their character offsets, in linear time.

    With a limit only a prefix of the text a little longer than needed is encoded.
    """
    if limit is not None and limit <= 0:
        return []
    enc = get_encoding(encoding)
    tokens: list[int] = []
    origin: list[int] | None = None
    for piece in [text] if limit is None else _safe_prefixes(text, limit):
        work, origin = piece, None
        if has_surrogate(piece):
            work, origin = _fixup_with_origins(piece)
        tokens = encode_ordinary_exact(enc, work)
        if limit is None or len(tokens) >= limit:
            tokens = tokens if limit is None else tokens[:limit]
            break
    ends = itertools.accumulate(_lead_counts(enc, tokens))
    spans: list[TokenSpan] = []
    append = spans.append
    start = 0
    if origin is None:
        for t, end in zip(tokens, ends, strict=True):
            append(TokenSpan(t, start, end))
            start = end
    else:
        for t, end in zip(tokens, ends, strict=True):
            append(TokenSpan(t, origin[start], origin[end]))
            start = end
    return spans
