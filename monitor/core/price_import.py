"""Price updates without a release: read a price file, diff it against the table, and build the
override rows that apply it from a date (`token-monitor price import FILE [--apply]`).

Two formats are read:
- LiteLLM's `model_prices_and_context_window.json`: its OpenAI rows (`litellm_provider`
  "openai"), USD per token (`input_cost_per_token`, `cache_read_input_token_cost`,
  `output_cost_per_token`, audio/image keys, `_batches` / `_flex` / `_priority` /
  `_above_272k_tokens` variants) -> our USD per 1M tokens. Other providers' rows are skipped;
  provider-prefixed duplicates ("openai/gpt-4o") too.
- The app's own table format (`resources/prices.json`, or an override file): each model's
  latest price row.

Every imported model is checked on its own against the table's rules (`merged_table`); a row
that is malformed (not an object, a price that is not a number >= 0, no input or output price)
is reported and never applied. Applying writes one dated row per new or changed model into the
user's override, so usage before that date keeps the prices it had (history is kept).
Numbers are read as exact decimals (`parse_float=Decimal`); nothing here rounds.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from monitor.core.json_limits import JsonTooDeep, loads_bounded
from monitor.core.prices import (
    RATE_FIELDS,
    PriceRow,
    PriceTable,
    Rates,
    check_model_entry,
    merged_table,
)

__all__ = ["Change", "ImportResult", "ImportedModel", "apply_to_override", "diff",
           "dump_table", "read_import"]

_PER_TOKEN_TO_PER_1M = Decimal(1_000_000)
MAX_IMPORT_MODELS = 2_000
"""More OpenAI models than this in one file is refused: LiteLLM's whole table has a few
hundred, and every model added to the override costs every later `status` time."""
MAX_OVERRIDE_MODELS = 5_000
"""An import that would leave the user's override with more models than this is not applied
(repeated imports of new names would otherwise grow it without bound)."""
MAX_MODEL_NAME = 200
LITELLM_RATES: dict[str, str] = {
    "input_cost_per_token": "input",
    "cache_read_input_token_cost": "cached_input",
    "cache_creation_input_token_cost": "cache_write",
    "output_cost_per_token": "output",
    "input_cost_per_audio_token": "audio_input",
    "cache_read_input_audio_token_cost": "audio_cached_input",
    "output_cost_per_audio_token": "audio_output",
    "input_cost_per_image_token": "image_input",
    "output_cost_per_image_token": "image_output",
}
"""LiteLLM per-token keys -> our rate fields."""
LITELLM_TIERS: dict[str, str] = {
    "": "standard", "_batches": "batch", "_flex": "flex", "_priority": "priority",
    "_above_272k_tokens": "long_context",
}
"""LiteLLM key suffixes -> our tiers."""
_TIER_ORDER = ("standard", "batch", "flex", "priority", "long_context")


@dataclass(frozen=True)
class ImportedModel:
    """One model's prices as the file gives them (USD per 1M tokens, exact)."""

    name: str
    tiers: dict[str, dict[str, Decimal | None]]  # "standard" always; others when given
    context_window: int | None = None
    max_input: int | None = None
    max_output: int | None = None


@dataclass(frozen=True)
class Change:
    """A new model, or a model whose prices in force on the import date differ."""

    model: str
    kind: str  # "new" | "changed"
    fields: tuple[tuple[str, Decimal | None, Decimal | None], ...] = ()  # (tier.field, old, new)

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "kind": self.kind,
                "changes": {f: {"old": old, "new": new} for f, old, new in self.fields}}


@dataclass
class ImportResult:
    """What a file held: usable models, rows reported as bad, rows not for us."""

    format: str  # "litellm" | "table"
    models: list[ImportedModel] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: int = 0


# -- reading -------------------------------------------------------------------------------------


def read_import(text: str, name: str) -> ImportResult:
    """Parse `text` (LiteLLM's JSON or our table format) and check every model by the table's
    rules.

    Raises:
        ValueError: the file is not JSON, or neither format (the message says why).
    """
    try:
        doc = loads_bounded(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name}: line {exc.lineno}, column {exc.colno}: invalid JSON "
                         f"({exc.msg})") from None
    except JsonTooDeep as exc:
        raise ValueError(f"{name}: invalid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{name}: expected a JSON object (LiteLLM's model map or a price "
                         "table)")
    result = _read_table(doc) if isinstance(doc.get("models"), dict) else _read_litellm(doc)
    rows = len(result.models) + len(result.problems)
    if rows > MAX_IMPORT_MODELS:
        raise ValueError(f"{name}: {rows:,} models to import, more than the "
                         f"{MAX_IMPORT_MODELS:,} accepted; nothing was imported")
    if not result.models and not result.problems:
        raise ValueError(f"{name}: no OpenAI prices found (expected LiteLLM's "
                         "model_prices_and_context_window.json or this app's price table)")
    good = []
    for model in result.models:
        problem = _check(model)
        if problem:
            result.problems.append(f"{model.name}: {shown(problem)}")
        else:
            good.append(model)
    result.models = good
    return result


def shown(text: str) -> str:
    """`text` safe to print: control and other invisible characters (a newline, ESC) as
    `\\x1b`-style escapes, so a file cannot write to the terminal through a model name."""
    return "".join(c if c.isprintable() else
                   (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
                   for c in text)


def _name_problem(key: str) -> str:
    """Why `key` cannot be a model name, or ""."""
    if not key.isprintable():
        return "the model name holds control or invisible characters: not imported"
    if len(key) > MAX_MODEL_NAME:
        return f"the model name is longer than {MAX_MODEL_NAME} characters: not imported"
    return ""


def _check(model: ImportedModel) -> str:
    """"" if the model's prices pass the table's own validation, else why not."""
    problem = check_model_entry(model.name, _entry_doc(model, None, date(2000, 1, 1), ""))
    return problem.removeprefix("models.")


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return Decimal(value)


def _read_litellm(doc: dict[str, Any]) -> ImportResult:
    result = ImportResult("litellm")
    for key, row in doc.items():
        if key == "sample_spec":
            continue
        if not isinstance(row, dict):
            result.problems.append(f"{shown(key)}: expected an object, got "
                                   f"{type(row).__name__}")
            continue
        if row.get("litellm_provider") != "openai" or "/" in key:
            result.skipped += 1
            continue
        if bad_name := _name_problem(key):
            result.problems.append(f"{shown(key)}: {bad_name}")
            continue
        tiers: dict[str, dict[str, Decimal | None]] = {}
        bad = ""
        for suffix, tier in LITELLM_TIERS.items():
            for ll_key, rate in LITELLM_RATES.items():
                if ll_key + suffix not in row:
                    continue
                value = row[ll_key + suffix]
                number = _number(value)
                if value is not None and (number is None or not number.is_finite()
                                          or number < 0):
                    bad = f"{ll_key + suffix}: expected a number >= 0, got {value!r}"
                    break
                tiers.setdefault(tier, {})[rate] = (
                    None if number is None else (number * _PER_TOKEN_TO_PER_1M).normalize())
            if bad:
                break
        if bad:
            result.problems.append(f"{key}: {shown(bad)}")
            continue
        std = tiers.get("standard", {})
        if std.get("input") is None or std.get("output") is None:
            result.problems.append(f"{key}: no per-token input and output price (priced per "
                                   "image, second or character?): not imported")
            continue
        result.models.append(ImportedModel(
            key.strip().lower(), tiers,
            # LiteLLM's max_input_tokens is the context window; its max_tokens is legacy
            context_window=_tokens(row.get("max_input_tokens")),
            max_output=_tokens(row.get("max_output_tokens")),
        ))
    return result


def _tokens(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _read_table(doc: dict[str, Any]) -> ImportResult:
    result = ImportResult("table")
    for key, entry in doc["models"].items():
        if bad_name := _name_problem(key):
            result.problems.append(f"{shown(key)}: {bad_name}")
            continue
        rows = entry.get("prices") if isinstance(entry, dict) else None
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            result.problems.append(f"{key}: expected an entry with a list of price rows")
            continue
        latest = max(rows, key=lambda r: str(r.get("effective_from") or ""))
        tiers: dict[str, dict[str, Decimal | None]] = {}
        for tier in _TIER_ORDER:
            value = latest.get(tier)
            if isinstance(value, dict):
                # "derived" stays derived (not imported); anything else that is not a number
                # is kept as written, for the check against the table rules to report
                tiers[tier] = {k: _number(v) if _number(v) is not None else v
                               for k, v in value.items() if v != "derived"}
        if "standard" not in tiers:
            result.problems.append(f"{key}: its latest price row has no standard rates")
            continue
        result.models.append(ImportedModel(
            key.strip().lower(), tiers,
            context_window=_tokens(entry.get("context_window")),
            max_input=_tokens(entry.get("max_input")),
            max_output=_tokens(entry.get("max_output")),
        ))
    return result


# -- diff ----------------------------------------------------------------------------------------


def _current(row: PriceRow, tier: str) -> Rates | None:
    return row.long_context if tier == "long_context" else row.tier(tier)


def diff(result: ImportResult, table: PriceTable, day: date) -> tuple[list[Change], int]:
    """(new and changed models, how many are unchanged) against the prices in force on `day`.

    Only the fields the file gives are compared; a model is "new" when the table has no entry
    or alias of that exact name (a dated snapshot the table prices by its alias is new too:
    the file gives it its own row).
    """
    changes: list[Change] = []
    unchanged = 0
    for model in result.models:
        info = table.models.get(model.name)
        if info is None:
            changes.append(Change(model.name, "new"))
            continue
        row = info.price_at(day)
        assert row is not None
        fields_: list[tuple[str, Decimal | None, Decimal | None]] = []
        for tier, rates in model.tiers.items():
            current = _current(row, tier)
            for name, new in rates.items():
                old = None if current is None else getattr(current, name)
                if old != new:
                    fields_.append((f"{tier}.{name}", old, new))
        if fields_:
            changes.append(Change(model.name, "changed", tuple(fields_)))
        else:
            unchanged += 1
    return changes, unchanged


# -- applying ------------------------------------------------------------------------------------


def _row_doc(row: PriceRow) -> dict[str, Any]:
    """A price row as the override would write it: explicit rates only (derived ones stay
    derived, a tier not offered stays null)."""
    out: dict[str, Any] = {"standard": {f: getattr(row.standard, f) for f in RATE_FIELDS
                                        if getattr(row.standard, f) is not None
                                        or f in ("cached_input",)}}
    if row.is_derived("standard", "cache_write"):
        out["standard"]["cache_write"] = "derived"
    for tier in ("batch", "flex", "priority", "long_context"):
        rates = _current(row, tier)
        if rates is None:
            if tier != "long_context":
                out[tier] = None
            continue
        if tier in row.derived:
            if tier == "long_context":
                out[tier] = "derived"
            continue
        explicit = {f: getattr(rates, f) for f in RATE_FIELDS
                    if getattr(rates, f) is not None and not row.is_derived(tier, f)}
        if explicit:
            out[tier] = explicit
    return out


def _entry_doc(model: ImportedModel, current: PriceRow | None, day: date,
               source: str) -> dict[str, Any]:
    row: dict[str, Any] = _row_doc(current) if current is not None else {}
    for tier in _TIER_ORDER:
        given = model.tiers.get(tier)
        if given:
            base = row.get(tier)
            row[tier] = {**(base if isinstance(base, dict) else {}), **given}
    row = {"effective_from": day.isoformat(), "source": source,
           **{t: row[t] for t in _TIER_ORDER if t in row}}
    entry: dict[str, Any] = {"prices": [row]}
    if current is None:  # a new model: its limits and encoding too
        encoding, assumed = _encoding_for(model.name)
        entry = {"encoding": encoding, "encoding_assumed": assumed,
                 "context_window": model.context_window, "max_input": model.max_input,
                 "max_output": model.max_output, "source": source,
                 "note": f"Added by price import on {day.isoformat()}.", **entry}
    return entry


def _encoding_for(model: str) -> tuple[str, bool]:
    try:
        import tiktoken.model

        name = tiktoken.model.encoding_name_for_model(model.removeprefix("ft:"))
    except (KeyError, ImportError):
        return "o200k_base", True
    return (name, False) if name in ("o200k_base", "cl100k_base") else ("o200k_base", True)


def apply_to_override(override: dict[str, Any], result: ImportResult, changes: list[Change],
                      table: PriceTable, day: date, source: str, *,
                      bundled: dict[str, Any]) -> dict[str, Any]:
    """`override` (the user's override document, unchanged) with one row per change dated
    `day`; the user's other entries, rows and keys are kept as they were. `bundled` is the
    bundled table's document (`services.price_files.bundled_document`), to check the result.

    Raises:
        ValueError: the result would not load (the message names the JSON path).
    """
    out: dict[str, Any] = copy.deepcopy(override)
    models: dict[str, Any] = out.setdefault("models", {})
    by_name = {m.name: m for m in result.models}
    for change in changes:
        model = by_name[change.model]
        info = table.models.get(model.name)
        current = info.price_at(day) if info is not None else None
        entry = _entry_doc(model, current, day, source)
        have = models.get(model.name)
        if isinstance(have, dict):
            rows = [r for r in have.get("prices", [])
                    if not (isinstance(r, dict) and r.get("effective_from") == day.isoformat())]
            have["prices"] = [*rows, *entry.pop("prices")]
            for key, value in entry.items():
                have.setdefault(key, value)
        else:
            models[model.name] = entry
    if len(models) > MAX_OVERRIDE_MODELS:
        raise ValueError(f"the override would hold {len(models):,} models, more than the "
                         f"{MAX_OVERRIDE_MODELS:,} accepted; remove models it no longer needs")
    merged_table(bundled, out)  # raises ValueError if anything would not load
    return out


# -- writing -------------------------------------------------------------------------------------

_INLINE = frozenset({"standard", "batch", "flex", "priority", "long_context"})


def dump_table(doc: Any) -> str:
    """A price table document as the bundled file is laid out (rates one line each, exact
    decimals written as they are)."""
    return _dump(doc, 0, None) + "\n"


def _dump(value: Any, indent: int, key: str | None) -> str:
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        if key in _INLINE:
            one = "{" + ", ".join(f"{json.dumps(k)}: {_dump(v, 0, k)}"
                                  for k, v in value.items()) + "}"
            if len(pad) + len(key) + 6 + len(one) <= 118:
                return one
        items = [f"{pad}  {json.dumps(k, ensure_ascii=False)}: {_dump(v, indent + 1, k)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{pad}  {_dump(v, indent + 1, None)}" for v in value) + (
            "\n" + pad + "]")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    return json.dumps(value, ensure_ascii=False)

