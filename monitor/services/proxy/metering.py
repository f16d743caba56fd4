"""Find what a request cost in tokens in the bytes of an OpenAI response (pure, Qt-free).

Everything here sees bodies as they stream and keeps bounded state: one SSE event at a
time, or the head and tail of a large JSON body. Shapes follow openai-api.md §4: chat
completions (JSON, SSE chunks and the `choices: []` usage chunk), the Responses API (JSON,
and `response.completed` / `response.incomplete` / `response.failed` events), embeddings,
and any JSON carrying `usage`. Missing details count as 0; unknown keys are ignored.
The bytes become events in streams.py (Content-Encoding, SSE framing); what is read from a
request before forwarding is in chat_request.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from monitor.core.usage import TokenUsage
from monitor.services.proxy.streams import BodyDecoder, SSEEvent, SSEParser, SSEPiece

FULL_JSON_BYTES = 256 * 1024
"""JSON bodies up to this size are parsed whole; larger ones by their head and tail."""

HEAD_TAIL_BYTES = 64 * 1024

TERMINAL_RESPONSE_EVENTS = frozenset(
    {"response.completed", "response.incomplete", "response.failed"}
)

# ---------------------------------------------------------------------------------------
# usage objects


MAX_TOKENS = 10_000_000
"""The most tokens of one kind a single request is believed to use (context windows are a few
hundred thousand to a few million); larger counts are clamped to it and flagged malformed."""


def _count_checked(value: Any) -> tuple[int, bool]:
    """A token count from an int, a float or a numeric string, and whether it was sound.

    Unsound values (negative, NaN, infinite, beyond MAX_TOKENS, not a number) are clamped
    into [0, MAX_TOKENS] (NaN and non-numbers to 0) and reported, never raised.
    """
    if value is None:
        return 0, True
    if isinstance(value, bool):
        return 0, False
    number: float | int
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return 0, False
    else:
        return 0, False
    if isinstance(number, float):
        if number != number:  # NaN
            return 0, False
        if number in (float("inf"), float("-inf")):
            return (MAX_TOKENS if number > 0 else 0), False
    if number < 0:
        return 0, False
    if number > MAX_TOKENS:
        return MAX_TOKENS, False
    return int(number), True


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
    return checked_usage_from_dict(usage)[0]


def checked_usage_from_dict(usage: Mapping[str, Any]) -> tuple[TokenUsage | None, bool]:
    """`usage_from_dict`, and whether every count in it was sound (see `_count_checked`)."""
    sound = True

    def count(value: Any) -> int:
        nonlocal sound
        n, ok = _count_checked(value)
        sound = sound and ok
        return n

    for in_key, out_key, in_details, out_details in _USAGE_SHAPES:
        if in_key in usage or out_key in usage:
            inp = _details(usage, *in_details)
            out = _details(usage, *out_details)
            # Realtime-style details split the cached part by modality; the uncached audio
            # and image input is what is left of each modality's total.
            cached_split = _details(inp, "cached_tokens_details")
            cached_audio = count(cached_split.get("audio_tokens"))
            cached_image = count(cached_split.get("image_tokens"))
            parsed = TokenUsage(
                input_tokens=count(usage.get(in_key)),
                cached_input_tokens=count(inp.get("cached_tokens")),
                cache_write_tokens=count(inp.get("cache_write_tokens")),
                output_tokens=count(usage.get(out_key)),
                reasoning_tokens=count(out.get("reasoning_tokens")),
                audio_input_tokens=max(count(inp.get("audio_tokens")) - cached_audio, 0),
                audio_output_tokens=count(out.get("audio_tokens")),
                audio_cached_input_tokens=cached_audio,
                image_input_tokens=max(count(inp.get("image_tokens")) - cached_image, 0),
                image_output_tokens=count(out.get("image_tokens")),
            )
            return parsed, sound
    if "total_tokens" in usage:  # a bare total (some embeddings-like shapes): all input
        return TokenUsage(input_tokens=count(usage.get("total_tokens"))), sound
    return None, False


@dataclass
class Metered:
    """What one response said about itself; None = not (yet) known."""

    model: str | None = None
    service_tier: str | None = None
    usage: TokenUsage | None = None
    complete: bool = False
    """True once the body ended as the API ends it ([DONE], a terminal Responses event, or
    a whole JSON document)."""
    malformed: bool = False
    """True when a `usage` member was there but unusable: not an object, no token counts, or
    counts that are negative, NaN, infinite or beyond MAX_TOKENS (those are clamped)."""

    def take(self, doc: Mapping[str, Any], *, first_model: bool = True) -> None:
        """Merge `model`, `service_tier` and `usage` from one JSON object."""
        model = doc.get("model")
        if isinstance(model, str) and model and (self.model is None or not first_model):
            self.model = model
        tier = doc.get("service_tier")
        if isinstance(tier, str) and tier:
            self.service_tier = tier
        if "usage" not in doc:
            return
        usage = doc.get("usage")
        if isinstance(usage, Mapping):
            parsed, sound = checked_usage_from_dict(usage)
            if parsed is not None:
                self.usage = parsed
            self.malformed = not sound
        elif usage is not None:  # a stream's chunks carry "usage": null until the last
            self.malformed = True


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
            result.usage, sound = checked_usage_from_dict(obj)
            result.malformed = not sound
            break
    result.complete = result.usage is not None
    return result


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
