"""`token-monitor price [MODEL] [--json]`: the price table, or one model's resolved prices."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from decimal import Decimal
from typing import Any

from monitor.commands._output import num, print_json, table
from monitor.context import AppContext
from monitor.core.prices import (
    LAUNCH,
    RATE_FIELDS,
    TIERS,
    ModelInfo,
    PriceRow,
    PriceTable,
    Rates,
)

_HOW = {
    "exact": "exact entry",
    "alias": "alias",
    "snapshot": "dated snapshot, priced as its model",
    "fine-tune": "fine-tune, priced at the published fine-tuned inference rates",
    "fine-tune-base": "fine-tune with no published fine-tune rate: ESTIMATE at its base "
                      "model's rates (OpenAI bills fine-tunes higher)",
    "prefix": "a name in a family the table declares, priced as the family",
}
_RULES = ("* derived by rule: batch and flex 50 %, priority 2x, long context 2x input-side and "
          "1.5x output, cache write 1.25x input")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "price",
        help="show the price table or one model's prices (USD per 1M tokens)",
        description="Show the bundled price table (with your override merged in), or the "
        "prices one model name resolves to. Prices are USD per 1M tokens, standard tier, "
        "in force today unless --at is given.",
    )
    p.add_argument("model", nargs="?", metavar="MODEL",
                   help="a model name as the API reports it, e.g. gpt-4o-2024-08-06; or "
                   "`import FILE` to read new prices from LiteLLM's "
                   "model_prices_and_context_window.json or this app's table format")
    p.add_argument("file", nargs="?", metavar="FILE", help=argparse.SUPPRESS)
    p.add_argument("--apply", action="store_true",
                   help="with `import FILE`: write the new and changed prices into your "
                   "override, effective from today (history is kept)")
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--at", type=_iso_date, metavar="YYYY-MM-DD",
                   help="show the prices in force on this date (default: today, UTC)")
    p.set_defaults(func=run)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def run(args: argparse.Namespace, ctx: AppContext) -> int:
    if args.model == "import":
        if args.file is None:
            print("error: price import: give the FILE to import", file=sys.stderr)
            return 2
        from monitor.commands._price_import import run_import

        return run_import(args, ctx)
    if args.file is not None or args.apply:
        print("error: FILE and --apply go with `price import FILE`", file=sys.stderr)
        return 2
    prices = ctx.prices()
    when: date = args.at if args.at is not None else ctx.now().date()
    if args.model is None:
        entries = [_entry(info.name, info, "exact", prices, when)
                   for info in prices.models.values()]
        if args.json:
            print_json(entries)
        else:
            print(_table_text(prices, when))
        return 0
    res = prices.resolve(args.model)
    if res.info is None:
        print(
            f"error: unknown model {args.model!r}: no entry, alias, dated snapshot, fine-tune base "
            f"or model family in the price table (as of {prices.as_of.isoformat()}). "
            f"`token-monitor price` lists the known models; add prices for this one in "
            f"{ctx.paths.prices_override}.",
            file=sys.stderr,
        )
        return 2
    entry = _entry(args.model, res.info, res.how, prices, when)
    entry["estimate"] = bool(res.estimate)
    entry["estimate_reason"] = res.estimate or None
    if args.json:
        print_json(entry)
    else:
        print(_detail_text(args.model, res.info, res.how, prices, when))
    return 0


# -- JSON ----------------------------------------------------------------------------------------
def _rates_json(row: PriceRow, tier: str, rates: Rates | None) -> dict[str, Any] | None:
    if rates is None:
        return None
    out: dict[str, Any] = dict(rates.as_dict())
    out["derived"] = [f for f in RATE_FIELDS
                      if getattr(rates, f) is not None and row.is_derived(tier, f)]
    return out


def _row_json(row: PriceRow) -> dict[str, Any]:
    return {
        "effective_from": None if row.effective_from == LAUNCH else row.effective_from,
        **row.standard.as_dict(),
        "source": row.source,
        "note": row.note,
    }


def _entry(requested: str, info: ModelInfo, how: str, prices: PriceTable,
           when: date) -> dict[str, Any]:
    row = info.price_at(when)
    assert row is not None  # every entry has at least one row (validated on load)
    std = row.standard
    return {
        "model": requested,
        "resolved": info.name,
        "resolved_by": how,
        "input": std.input,
        "cached_input": std.cached_input,
        "cache_write": std.cache_write,
        "output": std.output,
        "audio_input": std.audio_input,
        "audio_cached_input": std.audio_cached_input,
        "audio_output": std.audio_output,
        "image_input": std.image_input,
        "image_output": std.image_output,
        "context_window": info.context_window,
        "max_input": info.max_input,
        "max_output": info.max_output,
        "encoding": info.encoding,
        "encoding_assumed": info.encoding_assumed,
        "as_of": prices.as_of,
        "prices_on": when,
        "effective_from": None if row.effective_from == LAUNCH else row.effective_from,
        "uncertain": info.uncertain,
        "source": info.source,
        "note": info.note,
        "tiers": {t: _rates_json(row, t, row.tier(t)) for t in TIERS},
        "long_context": _rates_json(row, "long_context", row.long_context),
        "long_context_threshold": prices.long_context_threshold,
        "history": [_row_json(r) for r in info.prices],
    }


# -- human text ----------------------------------------------------------------------------------
def _money(value: Decimal | None) -> str:
    if value is None:
        return "—"
    text = format(value.normalize(), "f")
    return text


def _table_text(prices: PriceTable, when: date) -> str:
    rows: list[list[str]] = []
    for info in prices.models.values():
        row = info.price_at(when)
        assert row is not None
        flags = []
        if info.uncertain:
            flags.append("uncertain")
        if len(info.prices) > 1:
            flags.append("price history")
        if row.long_context is not None:
            flags.append("long-context >" + f"{prices.long_context_threshold // 1000}K")
        if row.standard.audio_input is not None or row.standard.audio_output is not None:
            flags.append("audio")
        enc = info.encoding + (" (assumed)" if info.encoding_assumed else "")
        rows.append([
            info.name, _money(row.standard.input), _money(row.standard.cached_input),
            _money(row.standard.output),
            num(info.context_window) if info.context_window else "—", enc, ", ".join(flags),
        ])
    lines = [
        f"Prices in USD per 1M tokens, standard tier, in force on {when.isoformat()} "
        f"(table as of {prices.as_of.isoformat()}; {len(prices.models)} models).",
        "",
        table(["model", "input", "cached", "output", "context", "encoding", "flags"], rows,
              [False, True, True, True, True, False, False]),
    ]
    if prices.aliases:
        lines.append("")
        lines.append("Aliases: " + ", ".join(f"{a} → {t}" for a, t in prices.aliases.items()))
    lines.append("Dated snapshots (-YYYY-MM-DD), fine-tunes (ft:BASE:…) and family names "
                 "resolve too: `token-monitor price MODEL` shows how.")
    return "\n".join(lines)


def _detail_text(requested: str, info: ModelInfo, how: str, prices: PriceTable,
                 when: date) -> str:
    row = info.price_at(when)
    assert row is not None
    head = info.name if how == "exact" else f"{requested} → {info.name} ({_HOW.get(how, how)})"
    lines = [
        head,
        f"Prices in USD per 1M tokens, in force on {when.isoformat()} "
        f"(table as of {prices.as_of.isoformat()}; source: {info.source or '—'})"
        + ("  [uncertain]" if info.uncertain else ""),
        "",
    ]
    audio = any(getattr(r, f) is not None for r in (row.standard,)
                for f in ("audio_input", "audio_output"))
    columns = [("input", "input"), ("cached_input", "cached"), ("cache_write", "cache write"),
               ("output", "output")]
    if audio:
        columns += [("audio_input", "audio in"), ("audio_cached_input", "audio cached"),
                    ("audio_output", "audio out")]
    tier_rows: list[list[str]] = []
    any_derived = False
    not_offered: list[str] = []
    for tier in (*TIERS, "long_context"):
        rates = row.long_context if tier == "long_context" else row.tier(tier)
        label = (f">{prices.long_context_threshold // 1000}K input" if tier == "long_context"
                 else tier)
        if rates is None:
            if tier != "long_context":
                not_offered.append(tier)
                tier_rows.append([label, *(["n/a"] * len(columns))])
            continue
        cells = [label]
        for f, _ in columns:
            value: Decimal | None = getattr(rates, f)
            mark = "*" if value is not None and row.is_derived(tier, f) else ""
            any_derived = any_derived or bool(mark)
            cells.append(_money(value) + mark)
        tier_rows.append(cells)
    lines.append(table(["tier", *(c for _, c in columns)], tier_rows,
                       [False, *([True] * len(columns))]))
    if any_derived:
        lines.append(_RULES)
    if not_offered:
        lines.append(f"n/a: {', '.join(not_offered)} not offered; such requests are priced at "
                     "standard")
    lines.append("")
    lines.append(
        f"context window {num(info.context_window) if info.context_window else '—'} · "
        f"max input {num(info.max_input) if info.max_input else '—'} · "
        f"max output {num(info.max_output) if info.max_output else '—'}"
    )
    lines.append(
        f"encoding {info.encoding}"
        + (" (assumed: tiktoken does not know this model)" if info.encoding_assumed else "")
    )
    if len(info.prices) > 1:
        lines.append("price history:")
        for r in info.prices:
            start = "since launch" if r.effective_from == LAUNCH else f"from {r.effective_from}"
            s = r.standard
            current = "  ← in force" if r is row else ""
            lines.append(
                f"  {start}: input {_money(s.input)}, cached {_money(s.cached_input)}, "
                f"output {_money(s.output)}" + (f" — {r.note}" if r.note else "") + current
            )
    if info.note:
        lines.append(f"note: {info.note}")
    return "\n".join(lines)
