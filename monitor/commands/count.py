"""`token-monitor count [FILE|-]`: offline token count of a text or chat request, with its cost.

Files are streamed: read in 4 MiB blocks, decoded incrementally (UTF-8; a UTF-8/16/32 byte
order mark is honoured and not counted) and counted as they go, so a file is never held
twice. Invalid UTF-8 is replaced by U+FFFD (one per bad sequence) with a warning; a file that
looks binary (many NUL bytes or mostly invalid UTF-8 at its start) is refused with a message.
`--chat` reads the whole input as one JSON request and counts it by the cookbook's rules
(its `characters`/`words` are those of the JSON text as read; without --model/--encoding a
"model" field in the request picks the model).

JSON extras beyond the contract: `encoding_assumed` (no source names the model's tokenizer),
`estimate` (assumed encoding, or chat overheads the cookbook does not verify for the model),
`resolved_model`, `prices_as_of`, and for --chat a `chat` breakdown.
"""

from __future__ import annotations

import argparse
import codecs
import contextvars
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from monitor.commands._output import num, print_json, usd
from monitor.context import AppContext
from monitor.core.tokenizer_model import text_costs
from monitor.core.tokens import (
    AVAILABLE_ENCODINGS,
    TokenCounter,
    check_shipped,
    encoding_for_model,
    text_stats,
)
from monitor.errors import KnownError

if TYPE_CHECKING:
    from monitor.core.chat_tokens import ChatCount
    from monitor.core.prices import PriceTable

BLOCK_BYTES = 4 * 1024 * 1024
# A first block with more NUL bytes than this share is binary (or UTF-16 without a BOM).
BINARY_NUL_SHARE = 0.10
# ... or with more invalid UTF-8 sequences than this share of its bytes.
BINARY_INVALID_SHARE = 0.30
_SNIFF_BYTES = 64 * 1024


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "count",
        help="count the tokens of a text file or stdin (offline) and what they would cost",
        description="Count tokens offline with the model's tokenizer and show what that many "
        "tokens cost as input and as output. Reads FILE, or stdin when FILE is - or missing. "
        "Default model: the price table's default.",
    )
    p.add_argument("file", nargs="?", default="-", metavar="FILE",
                   help="UTF-8 text file to count, or - for stdin (default)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--model", "-m", metavar="MODEL",
                       help="model whose tokenizer and prices to use (e.g. gpt-4o)")
    which.add_argument("--encoding", "-e", choices=AVAILABLE_ENCODINGS,
                       help="count with this encoding instead of a model's (no cost shown)")
    p.add_argument("--chat", action="store_true",
                   help='input is a Chat Completions JSON request: a list of messages or '
                   '{"messages": [...], "tools": [...]}; counted with the OpenAI cookbook rules')
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


# --- reading -------------------------------------------------------------------------------------

_invalid_sequences: contextvars.ContextVar[list[int]] = contextvars.ContextVar("invalid_sequences")
_ERROR_HANDLER = "token-monitor-count-replace"


def _replace_and_count(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    counter = _invalid_sequences.get(None)
    if counter is not None:
        counter[0] += 1
    return "\ufffd", exc.end


codecs.register_error(_ERROR_HANDLER, _replace_and_count)


@dataclass
class _Decoded:
    """What reading found out besides the text."""

    codec: str = "utf-8"
    invalid: int = 0
    bytes_read: int = 0
    nul_chars: int = 0
    notes: list[str] = field(default_factory=list)


def _pick_codec(head: bytes) -> str:
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if head.startswith(bom):
            return codec
    return "utf-8"


def _read_blocks(stream: IO[bytes], name: str, info: _Decoded) -> Iterator[str]:
    """Decoded text of `stream` in pieces of about BLOCK_BYTES; refuses binary input."""
    first = stream.read(BLOCK_BYTES)
    info.codec = _pick_codec(first[:4])
    if info.codec == "utf-8":
        sniff = first[:_SNIFF_BYTES]
        nul_share = sniff.count(0) / len(sniff) if sniff else 0.0
        bad_share = _invalid_share(sniff)
        if nul_share > BINARY_NUL_SHARE or bad_share > BINARY_INVALID_SHARE:
            what = (f"{nul_share:.0%} NUL bytes" if nul_share > BINARY_NUL_SHARE
                    else f"{bad_share:.0%} invalid UTF-8")
            raise KnownError(
                f"{name} looks like a binary file ({what} in its first {len(sniff):,} bytes); "
                "count reads UTF-8 text (or UTF-16/32 with a byte order mark)."
            )
    decoder = codecs.getincrementaldecoder(info.codec)(errors=_ERROR_HANDLER)
    counter = [0]
    token = _invalid_sequences.set(counter)
    try:
        block = first
        while block:
            info.bytes_read += len(block)
            text = decoder.decode(block)
            if text:
                info.nul_chars += text.count("\x00")
                yield text
            block = stream.read(BLOCK_BYTES)
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail
    finally:
        info.invalid = counter[0]
        _invalid_sequences.reset(token)


def _invalid_share(sample: bytes) -> float:
    if not sample:
        return 0.0
    # The sample may end inside a character: decode incrementally without final=True.
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(sample)
    replaced = text.count("\ufffd") - sample.count(b"\xef\xbf\xbd")
    return max(replaced, 0) / len(sample)


def _open(path: str) -> tuple[IO[bytes], str, bool]:
    """(binary stream, display name, whether we opened it)."""
    if path == "-":
        if sys.stdin.isatty():
            print("reading text from standard input (end with Ctrl-D)…", file=sys.stderr)
        return sys.stdin.buffer, "standard input", False
    p = Path(path)
    try:
        return p.open("rb"), str(p), True
    except FileNotFoundError:
        raise KnownError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise KnownError(f"{p} is a directory, not a text file") from None
    except OSError as exc:
        raise KnownError(f"cannot read {p}: {exc.strerror or exc}") from None


# --- the command ---------------------------------------------------------------------------------


@dataclass
class _Result:
    model: str | None
    resolved: str | None
    encoding: str
    encoding_assumed: bool
    tokens: int
    characters: int
    words: int
    input_cost: Decimal | None
    output_cost: Decimal | None
    context_window: int | None
    estimate: bool
    chat: ChatCount | None = None
    price_as_of: str | None = None


def run(args: argparse.Namespace, ctx: AppContext) -> int:
    table = ctx.prices()
    model: str | None = args.model.strip() if args.model is not None else None
    if model == "":
        raise KnownError("--model needs a model name")
    stream, name, owned = _open(args.file)
    try:
        info = _Decoded()
        if args.chat:
            result = _count_chat(stream, name, info, args, model, table)
        else:
            result = _count_text(stream, name, info, args, model, table)
    finally:
        if owned:
            stream.close()
    if info.invalid:
        ctx.warn(
            f"{name}: {info.invalid:,} invalid UTF-8 byte sequence(s) were counted as U+FFFD "
            "(is the file in another encoding?)"
        )
    if info.nul_chars:
        ctx.warn(f"{name}: contains {info.nul_chars:,} NUL character(s), counted as text")
    if result.model is not None and result.resolved is None:
        ctx.warn(f"{result.model!r} is not in the price table (as of {table.as_of}): cost "
                 f"unknown; counted with {result.encoding}"
                 f"{' (assumed)' if result.encoding_assumed else ''}")
    if args.json:
        print_json(_as_json(result))
    else:
        print(_as_text(result, name))
    return 0


def _model_and_encoding(args: argparse.Namespace, model: str | None,
                        table: PriceTable) -> tuple[str | None, str, bool]:
    if args.encoding:
        return None, args.encoding, False
    model = model or table.default_model
    choice = encoding_for_model(model, table)
    check_shipped(choice.name)  # a clear error now for encodings we do not ship
    return model, choice.name, choice.assumed


def _count_text(stream: IO[bytes], name: str, info: _Decoded, args: argparse.Namespace,
                model: str | None, table: PriceTable) -> _Result:
    model, enc, assumed = _model_and_encoding(args, model, table)
    counter = TokenCounter(enc)
    for piece in _read_blocks(stream, name, info):
        counter.feed(piece)
    counted = counter.finish()
    return _priced(model, enc, assumed, counted.tokens, counted.characters, counted.words,
                   table, estimate=assumed)


def _count_chat(stream: IO[bytes], name: str, info: _Decoded, args: argparse.Namespace,
                model: str | None, table: PriceTable) -> _Result:
    from monitor.core.chat_tokens import ChatFormatError, count_chat, parse_chat_json

    text = "".join(_read_blocks(stream, name, info))
    payload: Any = parse_chat_json(text)
    if isinstance(payload, str):  # count_chat would take a JSON string as JSON text again
        raise ChatFormatError(
            "expected a JSON list of messages, or an object with a \"messages\" list, "
            "not a JSON string"
        )
    if model is None and not args.encoding and isinstance(payload, dict):
        named = payload.get("model")
        if isinstance(named, str) and named.strip():
            model = named.strip()  # the request says which model it is for
    model, _, assumed = _model_and_encoding(args, model, table)
    chat = count_chat(payload, model or "", table, encoding=args.encoding)
    stats = text_stats(text)
    result = _priced(model, chat.encoding, assumed, chat.total, stats.characters, stats.words,
                     table, estimate=chat.estimate or assumed)
    result.chat = chat
    return result


def _priced(model: str | None, enc: str, assumed: bool, tokens: int, characters: int,
            words: int, table: PriceTable, *, estimate: bool) -> _Result:
    resolved = None
    input_cost = output_cost = None
    window = None
    if model is not None:
        info = table.resolve(model).info
        if info is not None:  # priced as the tokenizer pane prices a text: one cost function
            costs = text_costs(table, model, tokens)
            resolved = info.name
            window = info.context_window
            input_cost = costs.input.usd if costs.input is not None else None
            output_cost = costs.output.usd if costs.output is not None else None
    return _Result(
        model=model, resolved=resolved, encoding=enc, encoding_assumed=assumed, tokens=tokens,
        characters=characters, words=words, input_cost=input_cost, output_cost=output_cost,
        context_window=window, estimate=estimate,
        price_as_of=table.as_of.isoformat() if model is not None else None,
    )


def _as_json(r: _Result) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": r.model,
        "encoding": r.encoding,
        "tokens": r.tokens,
        "characters": r.characters,
        "words": r.words,
        "input_cost_usd": r.input_cost,
        "output_cost_usd": r.output_cost,
        "context_window": r.context_window,
        "encoding_assumed": r.encoding_assumed,
        "estimate": r.estimate,
        "resolved_model": r.resolved,
        "prices_as_of": r.price_as_of,
    }
    if r.chat is not None:
        out["chat"] = {
            "messages": len(r.chat.per_message),
            "per_message": list(r.chat.per_message),
            "message_overhead": r.chat.message_overhead,
            "tools_tokens": r.chat.tools_tokens,
            "reply_priming": r.chat.reply_priming,
            "images_not_counted": r.chat.images,
            "notes": list(r.chat.notes),
        }
    return out


def _money(amount: Decimal | None) -> str:
    """By the one money rule, as the GUI shows it (`$1.39`, `$0.0042`)."""
    return "unknown (no price for this model)" if amount is None else usd(amount)


def _as_text(r: _Result, name: str) -> str:
    rows: list[tuple[str, str]] = [("input", name)]
    if r.model is not None:
        shown = r.model if r.resolved in (None, r.model) else f"{r.model} (priced as {r.resolved})"
        rows.append(("model", shown))
    rows.append(("encoding", r.encoding + (" (assumed)" if r.encoding_assumed else "")))
    rows.append(("tokens", num(r.tokens) + (" (estimate)" if r.estimate else "")))
    if r.chat is not None:
        c = r.chat
        rows.append(("  messages", f"{num(sum(c.per_message))} in {num(len(c.per_message))} "
                     f"message(s), {num(c.message_overhead)} of them overhead"))
        if c.tools_tokens:
            rows.append(("  tools", num(c.tools_tokens)))
        rows.append(("  reply priming", num(c.reply_priming)))
    rows.append(("characters", num(r.characters)))
    rows.append(("words", num(r.words)))
    if r.model is not None:
        rows.append(("input cost", _money(r.input_cost)))
        rows.append(("output cost", _money(r.output_cost)))
        if r.context_window:
            share = r.tokens / r.context_window
            over = "  exceeds it!" if share > 1 else ""
            rows.append(("context window", f"{num(r.context_window)} tokens "
                         f"({share:.1%} used){over}"))
        else:
            rows.append(("context window", "unknown"))
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    if r.price_as_of and r.input_cost is not None:
        lines.append(f"(standard-tier prices as of {r.price_as_of})")
    if r.chat is not None:
        lines.extend(f"note: {n}" for n in r.chat.notes)
    return "\n".join(lines)
