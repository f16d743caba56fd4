"""Response bytes to events: a Content-Encoding decoder and an SSE framer (pure, Qt-free).

Both keep bounded state while a body streams through the proxy: the decoder inflates at most
_DECODE_PIECE at a time, the parser holds one event (up to MAX_EVENT_BYTES). metering.py
reads the events; the bytes the client gets are never changed here.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAX_EVENT_BYTES = 16 * 1024 * 1024
"""An SSE event larger than this is forwarded but not metered."""

_DECODE_PIECE = 1024 * 1024
"""Decompress at most this much at a time (a small compressed chunk can expand a lot)."""


# ---------------------------------------------------------------------------------------
# content decoding


class BodyDecoder:
    """Undo a response's Content-Encoding incrementally (identity, gzip, deflate, br).

    `failed` is set (and nothing more is produced) if the encoding is unknown, the
    optional `brotli` module is missing for br, or the data is corrupt.
    """

    def __init__(self, content_encoding: str | None) -> None:
        enc = (content_encoding or "").strip().lower()
        self.encoding = enc
        self.failed = False
        self._zlib: Any = None
        self._brotli: Any = None
        self._deflate_probe = False
        if enc in ("", "identity"):
            return
        if enc in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif enc == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
            self._deflate_probe = True  # some servers send raw deflate: retry as raw once
        elif enc == "br":
            try:
                import brotli  # type: ignore[import-not-found,import-untyped,unused-ignore]
            except ImportError:
                self.failed = True
            else:
                self._brotli = brotli.Decompressor()
        else:
            self.failed = True

    @property
    def identity(self) -> bool:
        return self.encoding in ("", "identity")

    def decode(self, chunk: bytes) -> Iterator[bytes]:
        """Decoded pieces of `chunk` (each at most about 1 MiB)."""
        if self.failed or not chunk:
            return
        if self.identity:
            yield chunk
            return
        try:
            if self._brotli is not None:
                yield self._brotli.process(chunk)
                return
            yield from self._inflate(chunk)
        except Exception:
            self.failed = True

    def _inflate(self, chunk: bytes) -> Iterator[bytes]:
        data = chunk
        while data:
            try:
                out = self._zlib.decompress(data, _DECODE_PIECE)
            except zlib.error:
                if not self._deflate_probe:
                    raise
                self._deflate_probe = False
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._deflate_probe = False
            if out:
                yield out
            data = self._zlib.unconsumed_tail
            if self._zlib.eof:
                return


def _brotli_available() -> bool:
    try:
        import brotli  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


DECODABLE_CODINGS = frozenset(
    {"gzip", "x-gzip", "deflate", "identity"} | ({"br"} if _brotli_available() else set())
)


def decodable_accept_encoding(value: str) -> str:
    """The client's Accept-Encoding limited to codings the meter can read.

    The upstream then answers in a coding the client accepts *and* the proxy can decode,
    so bytes still pass unchanged. Unchanged if every coding is decodable; `*` becomes
    the decodable codings; "identity" if nothing decodable is left.
    """
    kept: list[str] = []
    changed = False
    for item in value.split(","):
        token = item.strip()
        if not token:
            continue
        coding = token.split(";", 1)[0].strip().lower()
        if coding in DECODABLE_CODINGS:
            kept.append(token)
        elif coding == "*":
            params = token[token.index(";") :] if ";" in token else ""
            kept += [f"{c}{params}" for c in ("gzip", "deflate") if c not in value.lower()]
            changed = True
        else:
            changed = True
    if not changed:
        return value
    return ", ".join(kept) if kept else "identity"


# ---------------------------------------------------------------------------------------
# server-sent events


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched event: its `event:` name ("" if none) and joined `data:` lines."""

    name: str
    data: bytes


@dataclass(frozen=True)
class SSEPiece:
    """A run of the input: its exact bytes (if kept) and the event they end, if any."""

    raw: bytes
    event: SSEEvent | None


_BLANK_LINE = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)")
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def parse_event_block(block: bytes) -> SSEEvent | None:
    """The event in one block of lines (no terminating blank line); None if it has no data."""
    name = b""
    data: list[bytes] = []
    for line in _LINE_BREAK.split(block):
        if not line or line[:1] == b":":
            continue
        fname, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if fname == b"data":
            data.append(value)
        elif fname == b"event":
            name = value
    if not data:
        return None
    return SSEEvent(name.decode("utf-8", errors="replace"), b"\n".join(data))


class SSEParser:
    """Incremental `text/event-stream` framing; holds at most one partial event.

    With `keep_raw`, the pieces returned by `feed` and `finish` concatenate to exactly
    the input, so a caller can forward all but chosen events byte for byte. An event
    larger than `max_event_bytes` is passed through as raw bytes with no event.
    """

    def __init__(self, *, keep_raw: bool = False, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._buf = bytearray()
        self._scan = 0
        self._keep_raw = keep_raw
        self._max = max_event_bytes
        self._oversized = False

    def feed(self, chunk: bytes) -> list[SSEPiece]:
        self._buf += chunk
        pieces: list[SSEPiece] = []
        buf = self._buf
        start = 0
        while True:
            m = _BLANK_LINE.search(buf, self._scan)
            if m is None or (m.end() == len(buf) and buf[-1] == 0x0D):
                # no terminator yet (or a CR that may be half of CRLF): wait for more
                self._scan = max(start, len(buf) - 4 if m is None else m.start())
                break
            end = m.end()
            if self._oversized:
                self._oversized = False
                pieces.append(SSEPiece(bytes(buf[start:end]) if self._keep_raw else b"", None))
            else:
                event = parse_event_block(bytes(buf[start : m.start()]))
                raw = bytes(buf[start:end]) if self._keep_raw else b""
                pieces.append(SSEPiece(raw, event))
            start = end
            self._scan = end
        if start:
            del buf[:start]
            self._scan -= start
        if len(buf) > self._max:
            # hand the oversized partial event on unparsed; keep 3 bytes to find its end
            keep = 3
            cut = len(buf) - keep
            pieces.append(SSEPiece(bytes(buf[:cut]) if self._keep_raw else b"", None))
            del buf[:cut]
            self._scan = 0
            self._oversized = True
        return pieces

    def finish(self) -> list[SSEPiece]:
        """Whatever is left at end of stream (an event without its blank line is tolerated)."""
        buf = bytes(self._buf)
        self._buf.clear()
        self._scan = 0
        if not buf:
            return []
        if self._oversized:
            return [SSEPiece(buf if self._keep_raw else b"", None)]
        return [SSEPiece(buf if self._keep_raw else b"", parse_event_block(buf))]
