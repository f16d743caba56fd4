"""Pure computations behind the tokenizer pane: cancellable chunked counts, token samples, costs.

Qt-free zone: the pane runs `analyze_text` / `analyze_chat` on a worker thread and shows the
frozen result on the GUI thread. Nothing here touches a widget.

Why the chunking: one `encode_ordinary` call on a 10 MB text keeps the GIL for ~75 ms while
tiktoken builds the 2.5 M-element result list, which freezes the GUI thread for that long.
Counting in ~200 k-character chunks bounds every GIL hold to a few milliseconds, lets a
superseded request stop between chunks, and costs nothing measurable in throughput
(tests/bench/bench_tokenizer_pane.py prints the ratio).
"""

from __future__ import annotations

import codecs
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from monitor.core.chat_tokens import ChatCount, count_chat
from monitor.core.token_spans import token_spans
from monitor.core.tokens import (
    DEFAULT_ENCODING,
    EncodingError,
    chunk_bounds,
    count_tokens,
    encode,
    encoding_for_model,
    encoding_ready,
    get_encoding,
    load_encoding,
    safe_cut_after,
    special_tokens_in,
    text_stats,
)
from monitor.core.usage import TokenUsage
from monitor.errors import KnownError

if TYPE_CHECKING:
    from monitor.core.prices import Cost, PriceRow, PriceTable

# About this many characters per counting chunk; below it a text is counted in one call.
CHUNK_CHARS = 200_000
# How many tokens the token view shades (the exact count always covers the whole text).
SHADE_LIMIT_TOKENS = 20_000
# Characters of prefix handed to token_spans per wanted token (generous: ~4 chars/token is usual).
_PREFIX_CHARS_PER_TOKEN = 10

SERVICE_TIERS = ("standard", "batch", "flex", "priority")
DAYS_PER_MONTH = 30


class Superseded(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The request was replaced by a newer one before it finished; its result is not wanted."""


Cancelled = Callable[[], bool]


class Generation:
    """Tags requests with increasing numbers so results of superseded requests can be dropped.

    `advance()` on the GUI thread whenever the input changes; a worker asks `is_current(n)`
    between chunks and the GUI thread asks it again before showing a result.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0

    def advance(self) -> int:
        with self._lock:
            self._value += 1
            return self._value

    @property
    def current(self) -> int:
        return self._value

    def is_current(self, generation: int) -> bool:
        return generation == self._value

    def canceller(self, generation: int) -> Cancelled:
        """A callable for workers: True once `generation` is no longer the current one."""
        return lambda: generation != self._value


def safe_prefix_end(text: str, min_chars: int) -> int:
    """A safe cut at or after `min_chars` (or len(text)): tokens of text[:p] are a prefix."""
    if len(text) <= min_chars:
        return len(text)
    return safe_cut_after(text, min_chars)


_STATS_PIECE_CHARS = 40_000
_WHITESPACE = re.compile(r"\s")


def _stats_pieces(chunk: str) -> Iterator[str]:
    """`chunk` cut before whitespace into ~40 k-character pieces: word counts add up exactly,
    and each `text_stats` call (regex + split in C) holds the GIL only ~1 ms."""
    n = len(chunk)
    pos = 0
    while n - pos > _STATS_PIECE_CHARS:
        m = _WHITESPACE.search(chunk, pos + _STATS_PIECE_CHARS)
        if m is None:
            break
        yield chunk[pos : m.start()]
        pos = m.start()
    yield chunk[pos:]


def _check(cancelled: Cancelled | None) -> None:
    if cancelled is not None and cancelled():
        raise Superseded


def count_chunked(
    text: str, encoding: str, *, cancelled: Cancelled | None = None,
    chunk_chars: int = CHUNK_CHARS,
) -> int:
    """Exactly `count_tokens(text, encoding)`, in chunks, stopping early once `cancelled()`."""
    total = 0
    for start, end in chunk_bounds(text, chunk_chars):
        _check(cancelled)
        total += count_tokens(text[start:end], encoding)
    return total


def token_ids_text(
    text: str, encoding: str, *, cancelled: Cancelled | None = None,
    chunk_chars: int = CHUNK_CHARS,
) -> str:
    """All token ids of `text` as ``[1, 2, 3]``, built chunk by chunk (for the copy button)."""
    parts: list[str] = []
    for start, end in chunk_bounds(text, chunk_chars):
        _check(cancelled)
        ids = encode(text[start:end], encoding)
        if ids:
            parts.append(", ".join(map(str, ids)))
    return "[" + ", ".join(parts) + "]"


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class TokenSample:
    """The first tokens of a text, for the shaded view (parallel tuples, cheap to build).

    `texts[i]` is the text the token covers (empty for a token holding only the trailing
    bytes of a character the previous token started); `byte_lengths[i]` its UTF-8 size.
    """

    ids: tuple[int, ...] = ()
    texts: tuple[str, ...] = ()
    byte_lengths: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class TextAnalysis:
    """Counts of one text with one encoding, plus the sample the token view shades."""

    encoding: str
    tokens: int
    characters: int
    words: int
    sample: TokenSample
    elapsed_s: float  # counting only
    load_s: float = 0.0  # loading the encoding first (0 when it was ready)
    special_tokens: tuple[str, ...] = ()  # special-token strings in it, counted as text

    @property
    def tokens_per_word(self) -> float | None:
        return self.tokens / self.words if self.words else None

    @property
    def shading_truncated(self) -> bool:
        return len(self.sample) < self.tokens


@dataclass(frozen=True)
class ChatMessageRow:
    """One message of a chat prompt: its position (1-based), role, optional name, tokens."""

    index: int
    role: str
    name: str
    tokens: int


@dataclass(frozen=True)
class ChatAnalysis:
    """The engine's chat count plus what the pane lists per message."""

    chat: ChatCount
    rows: tuple[ChatMessageRow, ...]
    characters: int
    words: int
    elapsed_s: float  # counting only
    load_s: float = 0.0  # loading the encoding first (0 when it was ready)
    special_tokens: tuple[str, ...] = ()  # special-token strings in it, counted as text

    @property
    def tokens(self) -> int:
        return self.chat.total

    @property
    def encoding(self) -> str:
        return self.chat.encoding


Analysis = TextAnalysis | ChatAnalysis


def token_sample(text: str, encoding: str, limit: int = SHADE_LIMIT_TOKENS) -> TokenSample:
    """The first `limit` tokens (or fewer: only a safe prefix of about 10 chars/token is read)."""
    if limit <= 0 or not text:
        return TokenSample()
    end = safe_prefix_end(text, limit * _PREFIX_CHARS_PER_TOKEN)
    spans = token_spans(text[:end], encoding, limit=limit)
    enc = get_encoding(encoding)
    ids = tuple(s.token_id for s in spans)
    return TokenSample(
        ids=ids,
        texts=tuple(text[s.start : s.end] for s in spans),
        byte_lengths=tuple(len(enc.decode_single_token_bytes(t)) for t in ids),
    )


def ensure_encoding(encoding: str) -> float:
    """Load `encoding` unless it is ready; the seconds that took (0.0 when it was ready).

    Includes waiting for another thread that is loading it already, so a count never
    reports load time as counting time."""
    if encoding_ready(encoding):
        return 0.0
    t0 = time.perf_counter()
    load_encoding(encoding)
    return time.perf_counter() - t0


def analyze_text(
    text: str, encoding: str, *, shade_limit: int = SHADE_LIMIT_TOKENS,
    cancelled: Cancelled | None = None, chunk_chars: int = CHUNK_CHARS,
) -> TextAnalysis:
    """Exact token count, characters and words of the whole text, and a sample of its tokens.

    One thread, chunk by chunk. (Encoding chunks on a helper thread while this one counts
    words was measured slower on the 2-core reference machine: 0.55-0.76 of raw tiktoken
    against 0.81 this way, and it took CPU from the GUI thread.)

    Raises:
        Superseded: `cancelled()` turned true between two chunks.
        EncodingError: the encoding is not shipped or its file is broken.
    """
    load_s = ensure_encoding(encoding)
    t0 = time.perf_counter()
    tokens = characters = words = 0
    for start, end in chunk_bounds(text, chunk_chars):
        _check(cancelled)
        chunk = text[start:end]
        tokens += count_tokens(chunk, encoding)
        for piece in _stats_pieces(chunk):
            stats = text_stats(piece)
            characters += stats.characters
            words += stats.words
    _check(cancelled)
    sample = token_sample(text, encoding, shade_limit)
    return TextAnalysis(
        encoding=encoding, tokens=tokens, characters=characters, words=words, sample=sample,
        elapsed_s=time.perf_counter() - t0, load_s=load_s,
        special_tokens=special_tokens_in(text, encoding),
    )


def _message_rows(payload: Any, per_message: Sequence[int]) -> tuple[ChatMessageRow, ...]:
    messages = payload.get("messages") if isinstance(payload, dict) else payload
    if not isinstance(messages, list):
        messages = []
    rows = []
    for i, tokens in enumerate(per_message):
        msg = messages[i] if i < len(messages) and isinstance(messages[i], dict) else {}
        role, name = msg.get("role", ""), msg.get("name", "")
        rows.append(
            ChatMessageRow(
                index=i + 1,
                role=role if isinstance(role, str) else "",
                name=name if isinstance(name, str) else "",
                tokens=tokens,
            )
        )
    return tuple(rows)


def analyze_chat(
    text: str, model: str, table: PriceTable | None, *, encoding: str | None = None,
    cancelled: Cancelled | None = None,
) -> ChatAnalysis:
    """Count a JSON chat prompt with the engine's `count_chat` and list its messages.

    Raises:
        ChatFormatError: not JSON, or not a messages list / {"messages", "tools"} object
            (carries line and column).
    """
    try:
        load_s = ensure_encoding(encoding or encoding_for_model(model.strip(), table).name
                                 if model.strip() or encoding else DEFAULT_ENCODING)
    except EncodingError:  # count_chat reports it (after any problem with the JSON itself)
        load_s = 0.0
    t0 = time.perf_counter()
    chat = count_chat(text, model, table, encoding=encoding)
    _check(cancelled)
    try:
        payload = json.loads(text)
    except ValueError:  # count_chat accepted it, so this does not happen; rows stay unnamed
        payload = None
    stats = text_stats(text)
    return ChatAnalysis(
        chat=chat, rows=_message_rows(payload, chat.per_message), characters=stats.characters,
        words=stats.words, elapsed_s=time.perf_counter() - t0, load_s=load_s,
        special_tokens=special_tokens_in(text, chat.encoding),
    )


# --------------------------------------------------------------------------------------------
# Costs


@dataclass(frozen=True)
class TextCosts:
    """What `tokens` tokens of text cost with one model; None where the model has no such price.

    `known` is False when the model is not in the price table (then every cost is None).
    """

    model: str
    resolved: str | None
    tokens: int
    input: Cost | None
    output: Cost | None
    cached_input: Cost | None
    batch_input: Cost | None
    batch_output: Cost | None

    @property
    def known(self) -> bool:
        return self.input is not None and self.input.usd is not None


def _row(table: PriceTable, model: str) -> PriceRow | None:
    """The model's prices in force now (as `PriceTable.cost` picks them), None if unknown."""
    info = table.resolve(model).info
    if info is None:
        return None
    return info.price_at(table.clock())


def text_costs(table: PriceTable, model: str, tokens: int) -> TextCosts:
    """The text priced as input, as output, as cached input and in the Batch API."""
    row = _row(table, model)
    if row is None:
        return TextCosts(model, None, tokens, None, None, None, None, None)
    as_input = TokenUsage(input_tokens=tokens)
    as_output = TokenUsage(output_tokens=tokens)
    inp = table.cost(model, as_input)
    cached = (
        table.cost(model, TokenUsage(input_tokens=tokens, cached_input_tokens=tokens))
        if row.standard.cached_input is not None else None
    )
    has_batch = row.batch is not None
    return TextCosts(
        model=model,
        resolved=inp.resolved,
        tokens=tokens,
        input=inp,
        output=table.cost(model, as_output),
        cached_input=cached,
        batch_input=table.cost(model, as_input, batch=True) if has_batch else None,
        batch_output=table.cost(model, as_output, batch=True) if has_batch else None,
    )


@dataclass(frozen=True)
class BudgetEstimate:
    """Monthly cost of sending a text `calls_per_day` times a day at one service tier.

    `monthly_usd` is None when the tier is not offered for the model or the price is unknown
    (`offered` tells which). `share_of_remaining` is monthly / remaining (None if no remaining
    amount is known; Decimal("Infinity") when nothing remains).
    """

    tier: str
    offered: bool
    calls_per_month: int
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    monthly_usd: Decimal | None
    per_call_usd: Decimal | None
    cached_price_known: bool
    share_of_remaining: Decimal | None


def budget_estimate(
    table: PriceTable, model: str, *, tokens_per_call: int, calls_per_day: int, tier: str,
    cached_share_pct: int = 0, output_tokens_per_call: int = 0,
    remaining_usd: Decimal | None = None, days: int = DAYS_PER_MONTH,
) -> BudgetEstimate:
    """This text × calls/day × `days` at `tier`, with `cached_share_pct` % of input cached."""
    if tier not in SERVICE_TIERS:
        raise ValueError(f"unknown service tier {tier!r}; expected one of {SERVICE_TIERS}")
    calls = max(0, calls_per_day) * days
    inp = max(0, tokens_per_call) * calls
    cached = inp * min(100, max(0, cached_share_pct)) // 100
    out = max(0, output_tokens_per_call) * calls
    row = _row(table, model)
    offered = row is not None and row.tier(tier) is not None
    cached_known = row is not None and row.standard.cached_input is not None
    monthly: Decimal | None = None
    if offered:
        usage = TokenUsage(input_tokens=inp, cached_input_tokens=cached, output_tokens=out)
        if tier == "batch":
            cost = table.cost(model, usage, batch=True)
        elif tier == "standard":
            cost = table.cost(model, usage)
        else:
            cost = table.cost(model, usage, service_tier=tier)
        monthly = cost.usd
    per_call = monthly / calls if monthly is not None and calls else None
    share: Decimal | None = None
    if monthly is not None and remaining_usd is not None:
        share = monthly / remaining_usd if remaining_usd > 0 else Decimal("Infinity")
    return BudgetEstimate(
        tier=tier, offered=offered, calls_per_month=calls, input_tokens=inp,
        cached_input_tokens=cached, output_tokens=out, monthly_usd=monthly, per_call_usd=per_call,
        cached_price_known=cached_known, share_of_remaining=share,
    )


# --------------------------------------------------------------------------------------------
# Text coming in from files, drops and pastes


class TextFileError(KnownError):
    """A dropped or opened file is not UTF-8 text (or too big); `reason` says which.

    reason: "utf16" | "utf32" | "binary" | "too_big"; `offset`/`byte` locate the first bad
    byte for "binary".
    """

    def __init__(self, message: str, reason: str, offset: int = 0, byte: int = 0) -> None:
        super().__init__(message)
        self.reason = reason
        self.offset = offset
        self.byte = byte


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf32"), (codecs.BOM_UTF32_BE, "utf32"),
    (codecs.BOM_UTF16_LE, "utf16"), (codecs.BOM_UTF16_BE, "utf16"),
)
ENCODING_TITLES = {"utf16": "UTF-16", "utf32": "UTF-32"}


_DECODE_BLOCK_BYTES = 1 << 20


def _yield_gil() -> None:
    """Let a waiting thread (the GUI's) take the GIL now.

    A worker that keeps the GIL busy with back-to-back C calls only hands it over when a
    waiting thread asks after the 5 ms switch interval; a GUI thread that needs it for many
    short callbacks in a row then waits 5 ms each time (measured: one ~75 ms stall while a
    10 MB paste was decoded). `sleep(0)` releases the GIL at once.
    """
    time.sleep(0)


def decode_text(data: bytes | bytearray, name: str, *, lenient: bool = False) -> str:
    """`data` as UTF-8 text, or TextFileError saying why not (UTF-16/32 BOM, invalid byte).

    `lenient` (pasted text, which the clipboard already gave as UTF-8) replaces invalid bytes
    with U+FFFD instead. Decodes 1 MB at a time so a worker thread never holds the GIL for long
    on a 50 MB file.
    """
    if lenient:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        view = memoryview(data)
        out = []
        for i in range(0, len(data), _DECODE_BLOCK_BYTES):
            out.append(decoder.decode(view[i : i + _DECODE_BLOCK_BYTES]))
            _yield_gil()
        out.append(decoder.decode(b"", final=True))
        return "".join(out)
    for bom, reason in _BOMS:
        if data.startswith(bom):
            raise TextFileError(
                f"{name} is {ENCODING_TITLES[reason]} text; save it as UTF-8 to count it", reason
            )
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    view = memoryview(data)
    pieces: list[str] = []
    pos = 0
    pending = 0  # bytes of a character split over the previous block, held by the decoder
    try:
        while pos < len(data):
            pending = len(decoder.getstate()[0])
            pieces.append(decoder.decode(view[pos : pos + _DECODE_BLOCK_BYTES]))
            pos += _DECODE_BLOCK_BYTES
            _yield_gil()
        pending = len(decoder.getstate()[0])
        pieces.append(decoder.decode(b"", final=True))
    except UnicodeDecodeError as exc:
        offset = min(pos, len(data)) - pending + exc.start
        bad = data[offset] if 0 <= offset < len(data) else 0
        raise TextFileError(
            f"{name} is not UTF-8 text (byte 0x{bad:02x} at offset {offset})",
            "binary", offset=offset, byte=bad,
        ) from None
    return "".join(pieces)


@dataclass(frozen=True)
class PreparedText:
    """Text ready for the editor: newlines normalised, and how it was changed or is unusual.

    `long_line` is the length of the first line longer than the editor handles smoothly
    (0 if none); such text is counted but not placed in the editor.
    """

    text: str
    converted_newlines: bool
    long_line: int


def first_long_line(text: str, limit: int) -> int:
    """Length of the first line longer than `limit` characters, 0 if there is none.

    From a line start `pos`, every line that starts at or before the last newline within the
    next `limit + 1` characters is at most `limit` long, so the scan jumps past that newline:
    a few bounded `str.rfind`s per `limit` characters instead of one Python step per line.
    """
    n = len(text)
    pos = 0
    while pos < n:
        k = text.rfind("\n", pos, pos + limit + 1)
        if k < 0:
            if n - pos <= limit:
                return 0
            k = text.find("\n", pos)
            return (n if k < 0 else k) - pos
        pos = k + 1
    return 0


_NEWLINE_BLOCK_CHARS = 1 << 20


def normalize_newlines(text: str) -> tuple[str, bool]:
    """CRLF and CR → LF, 1 M characters at a time (short GIL holds); True if anything changed."""
    if "\r" not in text:
        return text, False
    pieces: list[str] = []
    pos, n = 0, len(text)
    while pos < n:
        end = min(n, pos + _NEWLINE_BLOCK_CHARS)
        if end < n and text[end - 1] == "\r":
            end += 1  # keep a CRLF pair in one block
        pieces.append(text[pos:end].replace("\r\n", "\n").replace("\r", "\n"))
        pos = end
        _yield_gil()
    return "".join(pieces), True


def prepare_text(text: str, long_line_limit: int) -> PreparedText:
    """Newlines normalised (the editor stores paragraphs, so it would do the same) and the
    long-line check."""
    text, converted = normalize_newlines(text)
    return PreparedText(text, converted, first_long_line(text, long_line_limit))
