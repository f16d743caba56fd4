"""Find what a request cost in tokens in the bytes of an OpenAI response (pure, Qt-free).

Everything here sees bodies as they stream and keeps bounded state: one SSE event at a
time, or the head and tail of a large JSON body. Shapes follow openai-api.md §4: chat
completions (JSON, SSE chunks and the `choices: []` usage chunk), the Responses API (JSON,
and `response.completed` / `response.incomplete` / `response.failed` events), embeddings,
and any JSON carrying `usage`. Missing details count as 0; unknown keys are ignored.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from monitor.core.usage import TokenUsage

MAX_EVENT_BYTES = 16 * 1024 * 1024
"""An SSE event larger than this is forwarded but not metered."""

FULL_JSON_BYTES = 256 * 1024
"""JSON bodies up to this size are parsed whole; larger ones by their head and tail."""

HEAD_TAIL_BYTES = 64 * 1024

_DECODE_PIECE = 1024 * 1024
"""Decompress at most this much at a time (a small compressed chunk can expand a lot)."""

TERMINAL_RESPONSE_EVENTS = frozenset(
    {"response.completed", "response.incomplete", "response.failed"}
)

# ---------------------------------------------------------------------------------------
# usage objects


def _count(value: Any) -> int:
    """A token count from an int, a float or a numeric string; anything else is 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float):
        return max(int(value), 0)
    if isinstance(value, str):
        try:
            return max(int(float(value)), 0)
        except ValueError:
            return 0
    return 0


def _details(usage: Mapping[str, Any], *names: str) -> Mapping[str, Any]:
    for name in names:
        value = usage.get(name)
        if isinstance(value, Mapping):
            return value
    return {}


# The usage shapes, tried in order: (input key, output key, names of the input details object,
# names of the output details object). Chat/embeddings first, then Responses and audio/realtime.
_USAGE_SHAPES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("prompt_tokens", "completion_tokens", ("prompt_tokens_details",),
     ("completion_tokens_details",)),
    ("input_tokens", "output_tokens", ("input_tokens_details", "input_token_details"),
     ("output_tokens_details", "output_token_details")),
)


def usage_from_dict(usage: Mapping[str, Any]) -> TokenUsage | None:
    """TokenUsage from any OpenAI `usage` object, or None if it carries no token counts.

    Chat/embeddings (`prompt_tokens`, `completion_tokens`, `*_tokens_details`), Responses
    (`input_tokens`, `output_tokens`, `input_tokens_details`, `output_tokens_details`) and
    audio/realtime (`input_token_details`) shapes are all accepted. Image tokens
    (`image_tokens` in the details) and cached audio (`cached_tokens_details.audio_tokens`)
    are read so they are priced at their own rates.
    """
    for in_key, out_key, in_details, out_details in _USAGE_SHAPES:
        if in_key in usage or out_key in usage:
            inp = _details(usage, *in_details)
            out = _details(usage, *out_details)
            # Realtime-style details split the cached part by modality; the uncached audio
            # and image input is what is left of each modality's total.
            cached_split = _details(inp, "cached_tokens_details")
            cached_audio = _count(cached_split.get("audio_tokens"))
            cached_image = _count(cached_split.get("image_tokens"))
            return TokenUsage(
                input_tokens=_count(usage.get(in_key)),
                cached_input_tokens=_count(inp.get("cached_tokens")),
                cache_write_tokens=_count(inp.get("cache_write_tokens")),
                output_tokens=_count(usage.get(out_key)),
                reasoning_tokens=_count(out.get("reasoning_tokens")),
                audio_input_tokens=max(_count(inp.get("audio_tokens")) - cached_audio, 0),
                audio_output_tokens=_count(out.get("audio_tokens")),
                audio_cached_input_tokens=cached_audio,
                image_input_tokens=max(_count(inp.get("image_tokens")) - cached_image, 0),
                image_output_tokens=_count(out.get("image_tokens")),
            )
    if "total_tokens" in usage:  # a bare total (some embeddings-like shapes): all input
        return TokenUsage(input_tokens=_count(usage.get("total_tokens")))
    return None


@dataclass
class Metered:
    """What one response said about itself; None = not (yet) known."""

    model: str | None = None
    service_tier: str | None = None
    usage: TokenUsage | None = None
    complete: bool = False
    """True once the body ended as the API ends it ([DONE], a terminal Responses event, or
    a whole JSON document)."""

    def take(self, doc: Mapping[str, Any], *, first_model: bool = True) -> None:
        """Merge `model`, `service_tier` and `usage` from one JSON object."""
        model = doc.get("model")
        if isinstance(model, str) and model and (self.model is None or not first_model):
            self.model = model
        tier = doc.get("service_tier")
        if isinstance(tier, str) and tier:
            self.service_tier = tier
        usage = doc.get("usage")
        if isinstance(usage, Mapping):
            parsed = usage_from_dict(usage)
            if parsed is not None:
                self.usage = parsed


def meter_document(doc: Any) -> Metered:
    """Metering of one whole JSON response body (chat, Responses, embeddings, anything)."""
    result = Metered()
    if isinstance(doc, Mapping):
        inner = doc.get("response")
        if isinstance(inner, Mapping) and str(doc.get("type", "")).startswith("response."):
            doc = inner
        result.take(doc)
        result.complete = True
    return result


# ---------------------------------------------------------------------------------------
# large JSON bodies: head and tail only

_MODEL_RE = re.compile(r'"model"\s*:\s*"((?:[^"\\]|\\.){1,256})"')
_TIER_RE = re.compile(r'"service_tier"\s*:\s*"([^"\\]{1,64})"')
_USAGE_KEY_RE = re.compile(r'"usage"\s*:\s*(?=\{)')


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    found = None
    for found in pattern.finditer(text):  # noqa: B007 - want the last one
        pass
    return found


def meter_head_tail(head: bytes, tail: bytes) -> Metered:
    """Best-effort metering of a JSON body too large to parse: its first and last bytes.

    `model` is taken from the head (chat, Responses) or else the tail (embeddings put it
    last); `usage` is the last `"usage": {...}` object in the tail.
    """
    result = Metered()
    head_text = head.decode("utf-8", errors="replace")
    tail_text = tail.decode("utf-8", errors="replace")
    m = _MODEL_RE.search(head_text) or _last(_MODEL_RE, tail_text)
    if m is not None:
        try:
            result.model = json.loads(f'"{m.group(1)}"')
        except ValueError:
            result.model = m.group(1)
    t = _last(_TIER_RE, tail_text) or _TIER_RE.search(head_text)
    if t is not None:
        result.service_tier = t.group(1)
    decoder = json.JSONDecoder()
    for u in reversed(list(_USAGE_KEY_RE.finditer(tail_text))):
        try:
            obj, _ = decoder.raw_decode(tail_text, u.end())
        except ValueError:
            continue
        if isinstance(obj, Mapping):
            result.usage = usage_from_dict(obj)
            break
    result.complete = result.usage is not None
    return result


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


class Observer(Protocol):
    """Meters a response body while the proxy forwards it unchanged."""

    @property
    def result(self) -> Metered: ...

    @property
    def undecodable(self) -> bool: ...

    def observe(self, chunk: bytes) -> None: ...

    def finish(self) -> None: ...


class SSEMeter:
    """Metering of a chat-completions or Responses event stream, one event at a time.

    Only the events that can carry model or usage are JSON-decoded: the first chat chunk,
    chunks mentioning `"usage"`, `response.created` and the terminal Responses events.
    """

    def __init__(self) -> None:
        self.result = Metered()

    def on_event(self, event: SSEEvent) -> bool:
        """Meter one event; True if it is the chat `choices: []` usage-only chunk."""
        data = event.data
        if data == b"[DONE]":
            self.result.complete = True
            return False
        name = event.name
        if name:
            if name in TERMINAL_RESPONSE_EVENTS:
                wanted = True
            elif name in ("response.created", "response.in_progress"):
                wanted = self.result.model is None
            else:
                wanted = b'"usage"' in data
        else:
            wanted = self.result.model is None or b'"usage"' in data
        if not wanted or data[:1] != b"{":
            return False
        try:
            doc = json.loads(data)
        except ValueError:
            return False
        if not isinstance(doc, dict):
            return False
        kind = doc.get("type")
        inner = doc.get("response")
        if isinstance(kind, str) and kind.startswith("response.") and isinstance(inner, dict):
            self.result.take(inner, first_model=False)
            if kind in TERMINAL_RESPONSE_EVENTS or name in TERMINAL_RESPONSE_EVENTS:
                self.result.complete = True
            return False
        self.result.take(doc)
        choices = doc.get("choices")
        return isinstance(choices, list) and not choices and isinstance(doc.get("usage"), dict)


class StreamObserver:
    """Meter an SSE response while its bytes are forwarded unchanged (any Content-Encoding)."""

    def __init__(self, content_encoding: str | None = None) -> None:
        self._decoder = BodyDecoder(content_encoding)
        self._parser = SSEParser()
        self._meter = SSEMeter()

    @property
    def result(self) -> Metered:
        return self._meter.result

    @property
    def undecodable(self) -> bool:
        return self._decoder.failed

    def observe(self, chunk: bytes) -> None:
        for piece in self._decoder.decode(chunk):
            for p in self._parser.feed(piece):
                if p.event is not None:
                    self._meter.on_event(p.event)

    def finish(self) -> None:
        for p in self._parser.finish():
            if p.event is not None:
                self._meter.on_event(p.event)


class JsonObserver:
    """Meter a JSON response while its bytes are forwarded unchanged (any Content-Encoding).

    Keeps the whole decoded body only up to `full_limit` bytes; past that, its head and
    tail (`meter_head_tail`).
    """

    def __init__(
        self,
        content_encoding: str | None = None,
        *,
        full_limit: int = FULL_JSON_BYTES,
        head_tail: int = HEAD_TAIL_BYTES,
    ) -> None:
        self._decoder = BodyDecoder(content_encoding)
        self._full_limit = full_limit
        self._head_tail = head_tail
        self._body = bytearray()
        self._head = b""
        self._tail = bytearray()
        self._large = False
        self.result = Metered()

    @property
    def undecodable(self) -> bool:
        return self._decoder.failed

    def observe(self, chunk: bytes) -> None:
        for piece in self._decoder.decode(chunk):
            if not self._large:
                self._body += piece
                if len(self._body) > self._full_limit:
                    self._large = True
                    self._head = bytes(self._body[: self._head_tail])
                    self._tail = bytearray(self._body[-self._head_tail :])
                    self._body = bytearray()
            else:
                self._tail += piece
                if len(self._tail) > 2 * self._head_tail:
                    del self._tail[: -self._head_tail]

    def finish(self) -> None:
        if self._decoder.failed:
            return
        if self._large:
            self.result = meter_head_tail(self._head, bytes(self._tail[-self._head_tail :]))
            return
        try:
            doc = json.loads(self._body)
        except ValueError:
            return
        finally:
            self._body = bytearray()
        self.result = meter_document(doc)
        self.result.complete = True  # a whole JSON document, whatever its shape


_USAGE_NULL_AFTER = re.compile(rb'\s*,\s*"usage"\s*:\s*null(?=\s*[,}])')
_USAGE_NULL_FIRST = re.compile(rb'"usage"\s*:\s*null\s*(?:,\s*)?(?=["}])')


class UsageChunkStripper:
    """Meter a chat stream whose request we changed to ask for usage, and undo the change.

    `feed` returns the bytes to forward: the input minus the `choices: []` usage-only chunk
    event, and minus the `"usage": null` keys a spec-following server adds to every other
    chunk when `include_usage` is on. Everything else passes byte for byte. Only for
    identity-encoded bodies.
    """

    def __init__(self) -> None:
        self._parser = SSEParser(keep_raw=True)
        self._meter = SSEMeter()
        self.dropped = 0

    @property
    def result(self) -> Metered:
        return self._meter.result

    def _filter(self, pieces: list[SSEPiece]) -> bytes:
        out: list[bytes] = []
        for p in pieces:
            ev = p.event
            if ev is not None:
                if self._meter.on_event(ev):
                    self.dropped += 1
                    continue
                if not ev.name and b'"usage"' in p.raw:
                    out.append(self._drop_null_usage(p.raw))
                    continue
            out.append(p.raw)
        return b"".join(out)

    @staticmethod
    def _drop_null_usage(raw: bytes) -> bytes:
        cleaned, n = _USAGE_NULL_AFTER.subn(b"", raw, count=1)
        if n:
            return cleaned
        return _USAGE_NULL_FIRST.sub(b"", raw, count=1)

    def feed(self, chunk: bytes) -> bytes:
        return self._filter(self._parser.feed(chunk))

    def finish(self) -> bytes:
        return self._filter(self._parser.finish())


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
