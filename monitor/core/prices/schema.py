"""The price table's file format: validation, merging an override over the bundled table, and
building a `PriceTable` from the documents (text in, table out: the files are read by
`monitor.services.price_files`). The JSON is parsed with `parse_float=Decimal`, so `0.075`
is exactly 0.075.

Price-table schema (``resources/prices.json``; the same text sits in its ``"schema"`` key)
-------------------------------------------------------------------------------------------
All prices are USD per 1,000,000 tokens.

Top level::

    as_of                   "YYYY-MM-DD"  date the table was compiled
    default_model           a model name in `models` (what estimates use when none is given)
    long_context_threshold  input tokens above which `long_context` rates price the whole request
    aliases                 {name: model}   e.g. "gpt-5.6" -> "gpt-5.6-sol"
    sources                 {tag: description}  the tags used in `source` fields
    notes                   [str]  how each disagreement between sources was settled, and why
    models                  {name: model entry}

Model entry: ``encoding``, ``encoding_assumed`` (true = tiktoken 0.14 cannot map the name and
o200k_base is assumed), ``context_window``, ``max_input``, ``max_output`` (int or null = unknown),
``source`` (tags), ``uncertain`` (bool), ``note``, ``prices`` (list of price rows), and
``covers_suffixes`` (bool, default false): the entry also prices names that extend it with a
"-suffix" (e.g. ``gpt-4`` prices ``gpt-4-0613``). Only such entries are family prefixes, and a
suffix naming another modality (-transcribe, -tts, -audio, -realtime, -search, -image) never
falls through to them. Fine-tune rates are entries named ``ft:BASE`` (BASE as in the fine-tune
id, e.g. ``ft:gpt-4o-mini-2024-07-18``).

Price row: ``effective_from`` ("YYYY-MM-DD"; null on the first row = since launch), ``source``,
``note``, ``standard`` (rates), and optional ``batch``, ``flex``, ``priority``, ``long_context``.

Rates: ``input`` and ``output`` (required in `standard`), ``cached_input``, ``cache_write``,
``audio_input``, ``audio_cached_input``, ``audio_output``, ``image_input``, ``image_output``
(number, or null = not offered). In `standard` a missing field is null, and ``cache_write`` may
be ``"derived"`` (= 1.25 x input, the GPT-5.6 rule).

Tiers ``batch`` / ``flex`` / ``priority``: missing or ``"derived"`` = derived from standard by
rule (batch and flex 50 %, priority 2x); null = not offered (a request on that tier is priced
at standard, flagged derived); an object gives explicit rates and its missing fields are derived
from standard by the same rule. ``long_context``: missing/null = none; ``"derived"`` = 2x the
input-side rates and 1.5x output; an object gives explicit rates (missing fields by the rule).
`PriceRow.derived` names what was computed: a whole tier ("batch") or one field
("batch.cached_input", "standard.cache_write").

Override file (``prices.json`` in the config dir): the same schema, every key optional, merged
field by field over the bundled table. A price row without ``effective_from`` updates the
model's latest row; one with a date (or null) updates the row with that date or adds a new row.
A malformed override is ignored as a whole and explained in `PriceTable.warnings`.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from monitor.core.json_limits import JsonTooDeep, loads_bounded
from monitor.core.money import MAX_PRICE_PER_M
from monitor.core.prices.model import (
    CACHE_WRITE_FACTOR,
    LAUNCH,
    LONG_CONTEXT_INPUT_FACTOR,
    LONG_CONTEXT_OUTPUT_FACTOR,
    OUTPUT_FIELDS,
    RATE_FIELDS,
    TIER_FACTORS,
    TIERS,
    ModelInfo,
    PriceRow,
    Rates,
)
from monitor.core.prices.table import PriceTable

__all__ = ["TableError", "build_table", "check_model_entry", "merged_table", "read_document",
           "table_with_override"]

_DERIVED = "derived"


class TableError(Exception):
    """A value in a table file is wrong; `path` is its JSON path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


_TOP_KEYS = frozenset({
    "schema", "as_of", "currency", "default_model", "long_context_threshold", "sources",
    "notes", "aliases", "models",
})
_MODEL_KEYS = frozenset({
    "encoding", "encoding_assumed", "context_window", "max_input", "max_output", "source",
    "uncertain", "note", "prices", "covers_suffixes",
})
_ROW_KEYS = frozenset({"effective_from", "source", "note", "standard", "long_context", *TIERS})
_KNOWN_ENCODINGS = frozenset({"o200k_base", "cl100k_base"})  # the encodings we ship offline
_MISSING: Any = object()


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TableError(path, f"expected an object, got {_describe(value)}")
    return value


def _keys(value: dict[str, Any], allowed: frozenset[str], path: str) -> None:
    for key in value:
        if key not in allowed:
            hint = ", ".join(sorted(allowed))
            raise TableError(_join(path, key), f"unknown key (expected one of: {hint})")


_PLAIN_KEY_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def _join(path: str, key: str) -> str:
    # Called for every key of the table on each load: a compiled pattern, not re's cache.
    if _PLAIN_KEY_RE.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _price(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TableError(path, f"expected a price (a number), got {_describe(value)}")
    d = Decimal(value)
    if not d.is_finite() or d < 0:
        raise TableError(path, f"expected a price >= 0, got {_describe(value)}")
    if d > MAX_PRICE_PER_M:  # no model costs this; `1e999999999` would overflow the maths
        raise TableError(path, f"expected a price per 1M tokens of at most "
                                f"${MAX_PRICE_PER_M:,}, got {_describe(value)}")
    return d


def _opt_price(value: Any, path: str) -> Decimal | None:
    return None if value is None else _price(value, path)


def _tokens(value: Any, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise TableError(path, f"expected a positive whole number of tokens or null, got "
                             f"{_describe(value)}")
    return value


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise TableError(path, f"expected a string, got {_describe(value)}")
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise TableError(path, f"expected true or false, got {_describe(value)}")
    return value


def _date(value: Any, path: str) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise TableError(path, f"expected a date YYYY-MM-DD, got {_describe(value)}")


def _row_date(value: Any, path: str) -> date:
    return LAUNCH if value is None else _date(value, path)


def _check_rates_shape(value: Any, path: str, *, allow_derived_cw: bool) -> None:
    """Types of a rates object (every key optional here; required keys are checked on build)."""
    rates = _obj(value, path)
    _keys(rates, frozenset(RATE_FIELDS), path)
    for name, v in rates.items():
        p = _join(path, name)
        if name == "cache_write" and v == _DERIVED and allow_derived_cw:
            continue
        if name in ("input", "output") and v is None:
            raise TableError(p, "expected a price (a number), got null")
        _opt_price(v, p)


def _check_row_shape(value: Any, path: str) -> None:
    row = _obj(value, path)
    _keys(row, _ROW_KEYS, path)
    if "effective_from" in row and row["effective_from"] is not None:
        _date(row["effective_from"], _join(path, "effective_from"))
    for key in ("source", "note"):
        if key in row:
            _str(row[key], _join(path, key))
    if "standard" in row:
        _check_rates_shape(row["standard"], _join(path, "standard"), allow_derived_cw=True)
    for key in ("batch", "flex", "priority", "long_context"):
        v = row.get(key, _MISSING)
        if v is _MISSING or v is None or v == _DERIVED:
            continue
        if isinstance(v, str):
            raise TableError(_join(path, key), f'expected an object, null or "derived", got '
                                             f"{_describe(v)}")
        _check_rates_shape(v, _join(path, key), allow_derived_cw=False)


def _check_model_shape(value: Any, path: str) -> None:
    entry = _obj(value, path)
    _keys(entry, _MODEL_KEYS, path)
    if "encoding" in entry:
        enc = _str(entry["encoding"], _join(path, "encoding"))
        if enc not in _KNOWN_ENCODINGS:
            known = ", ".join(sorted(_KNOWN_ENCODINGS))
            raise TableError(_join(path, "encoding"),
                              f"unknown encoding {enc!r} (expected one of: {known})")
    for key in ("encoding_assumed", "uncertain", "covers_suffixes"):
        if key in entry:
            _bool(entry[key], _join(path, key))
    for key in ("context_window", "max_input", "max_output"):
        if key in entry:
            _tokens(entry[key], _join(path, key))
    for key in ("source", "note"):
        if key in entry:
            _str(entry[key], _join(path, key))
    if "prices" in entry:
        rows = entry["prices"]
        p = _join(path, "prices")
        if not isinstance(rows, list) or not rows:
            raise TableError(p, f"expected a non-empty list of price rows, got {_describe(rows)}")
        for i, row in enumerate(rows):
            _check_row_shape(row, f"{p}[{i}]")


def _check_shape(doc: Any) -> dict[str, Any]:
    """Type-check a whole (possibly partial) table document; returns it with lower-case names."""
    top = _obj(doc, "")
    _keys(top, _TOP_KEYS, "")
    if "as_of" in top:
        _date(top["as_of"], "as_of")
    if "default_model" in top:
        top["default_model"] = _str(top["default_model"], "default_model").strip().lower()
    if "long_context_threshold" in top:
        _tokens(top["long_context_threshold"], "long_context_threshold")
    if "currency" in top and str(top["currency"]).upper() != "USD":
        got = _describe(top["currency"])
        raise TableError("currency", f"only USD prices are supported, got {got}")
    if "notes" in top:
        notes = top["notes"]
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise TableError("notes", "expected a list of strings")
    for key in ("sources", "aliases"):
        if key in top:
            mapping = _obj(top[key], key)
            for k, v in mapping.items():
                _str(v, _join(key, k))
    if "aliases" in top:
        top["aliases"] = {k.strip().lower(): v.strip().lower() for k, v in top["aliases"].items()}
    if "models" in top:
        models = _obj(top["models"], "models")
        lowered: dict[str, Any] = {}
        for name, entry in models.items():
            key = name.strip().lower()
            path = _join("models", name)
            if not key:
                raise TableError(path, "empty model name")
            if key in lowered:
                raise TableError(path, "model listed twice (names are case-insensitive)")
            _check_model_shape(entry, path)
            lowered[key] = entry
        top["models"] = lowered
    return top


def _merge_rates(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **over}
    return copy.deepcopy(over)


def _merge_row(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if key in ("standard", "long_context", "batch", "flex", "priority"):
            merged[key] = _merge_rates(base.get(key), value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _merge_model(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = {k: copy.deepcopy(v) for k, v in base.items()}
    for key, value in over.items():
        if key != "prices":
            merged[key] = copy.deepcopy(value)
            continue
        rows: list[dict[str, Any]] = list(merged.get("prices") or [])
        for orow in value:
            if "effective_from" not in orow and rows:
                target = max(range(len(rows)), key=lambda i: _row_date(
                    rows[i].get("effective_from"), ""))
            else:
                when = _row_date(orow.get("effective_from"), "")
                target = next((i for i, r in enumerate(rows)
                               if _row_date(r.get("effective_from"), "") == when), -1)
            if target >= 0:
                rows[target] = _merge_row(rows[target], orow)
            else:
                rows.append(copy.deepcopy(orow))
        merged["prices"] = rows
    return merged


def _merge(bundled: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(bundled)
    for key, value in over.items():
        if key == "schema":
            continue
        if key in ("aliases", "sources"):
            merged[key] = {**merged.get(key, {}), **value}
        elif key == "notes":
            merged[key] = [*merged.get(key, []), *value]
        elif key == "models":
            models: dict[str, Any] = merged.setdefault("models", {})
            for name, entry in value.items():
                models[name] = _merge_model(models[name], entry) if name in models else entry
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _build_rates(raw: dict[str, Any], base: Rates | None, factors: Mapping[str, Decimal],
                 tier: str, path: str, derived: set[str]) -> Rates:
    """Rates from a (partial) object; missing fields come from `base` x factor (marked derived)."""
    values: dict[str, Decimal | None] = {}
    for name in RATE_FIELDS:
        p = _join(path, name)
        v = raw.get(name, _MISSING)
        if base is None:  # standard tier
            if name in ("input", "output") and v is _MISSING:
                raise TableError(path, f"missing required price {name!r}")
            if v == _DERIVED:  # only cache_write passes the shape check
                values[name] = values["input"] * CACHE_WRITE_FACTOR  # type: ignore[operator]
                derived.add(f"{tier}.{name}")
            else:
                values[name] = None if v is _MISSING else _opt_price(v, p)
        elif v is _MISSING:
            b: Decimal | None = getattr(base, name)
            values[name] = None if b is None else b * factors[name]
            if b is not None:
                derived.add(f"{tier}.{name}")
        else:
            values[name] = _opt_price(v, p)
    return Rates(**values)  # type: ignore[arg-type]


def _factors(name: str) -> Mapping[str, Decimal]:
    if name == "long_context":
        return {f: LONG_CONTEXT_OUTPUT_FACTOR if f in OUTPUT_FIELDS else LONG_CONTEXT_INPUT_FACTOR
                for f in RATE_FIELDS}
    return dict.fromkeys(RATE_FIELDS, TIER_FACTORS[name])


def _build_row(raw: dict[str, Any], path: str) -> PriceRow:
    if "standard" not in raw:
        raise TableError(path, "missing required key 'standard'")
    derived: set[str] = set()
    standard = _build_rates(raw["standard"], None, {}, "standard", _join(path, "standard"),
                            derived)
    built: dict[str, Rates | None] = {}
    for name in ("batch", "flex", "priority", "long_context"):
        v = raw.get(name, _MISSING)
        factors = _factors(name)
        if v is None or (v is _MISSING and name == "long_context"):
            built[name] = None
        elif v is _MISSING or v == _DERIVED:
            built[name] = standard.scaled(factors["input"], factors["output"])
            derived.add(name)
        else:
            built[name] = _build_rates(v, standard, factors, name, _join(path, name), derived)
    return PriceRow(
        effective_from=_row_date(raw.get("effective_from"), _join(path, "effective_from")),
        standard=standard,
        batch=built["batch"],
        flex=built["flex"],
        priority=built["priority"],
        long_context=built["long_context"],
        derived=frozenset(derived),
        source=raw.get("source", ""),
        note=raw.get("note", ""),
    )


def _build_model(name: str, raw: dict[str, Any], default_source: str) -> ModelInfo:
    path = _join("models", name)
    if "prices" not in raw:
        raise TableError(path, "missing required key 'prices' (a new model needs its prices)")
    rows = [_build_row(r, f"{path}.prices[{i}]") for i, r in enumerate(raw["prices"])]
    rows.sort(key=lambda r: r.effective_from)
    for a, b in itertools.pairwise(rows):
        if a.effective_from == b.effective_from:
            when = "since launch" if a.effective_from == LAUNCH else f"on {a.effective_from}"
            raise TableError(_join(path, "prices"), f"two rows take effect {when}")
    encoding = raw.get("encoding")
    return ModelInfo(
        name=name,
        encoding=encoding if encoding is not None else "o200k_base",
        encoding_assumed=raw.get("encoding_assumed", encoding is None),
        context_window=raw.get("context_window"),
        max_input=raw.get("max_input"),
        max_output=raw.get("max_output"),
        source=raw.get("source", default_source),
        uncertain=raw.get("uncertain", False),
        note=raw.get("note", ""),
        prices=tuple(rows),
        covers_suffixes=raw.get("covers_suffixes", False),
    )


def _build_table(doc: dict[str, Any], origin: str, default_source: str) -> PriceTable:
    for key in ("as_of", "default_model", "models"):
        if key not in doc:
            raise TableError("", f"missing required key {key!r}")
    models = {name: _build_model(name, entry, default_source)
              for name, entry in doc["models"].items()}
    aliases: dict[str, str] = doc.get("aliases", {})
    for alias, target in aliases.items():
        if target not in models:
            raise TableError(_join("aliases", alias), f"points to unknown model {target!r}")
    if doc["default_model"] not in models:
        raise TableError("default_model", f"unknown model {doc['default_model']!r}")
    return PriceTable(
        as_of=_date(doc["as_of"], "as_of"),
        default_model=doc["default_model"],
        models=models,
        aliases=aliases,
        long_context_threshold=doc.get("long_context_threshold", 272_000),
        notes=tuple(doc.get("notes", ())),
        sources=dict(doc.get("sources", {})),
        origin=origin,
    )


def _parse_json(text: str, name: str) -> Any:
    """JSON with exact decimals; errors name the file, line and column."""
    try:
        return loads_bounded(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise TableError("", f"{name}: line {exc.lineno}, column {exc.colno}: invalid JSON "
                           f"({exc.msg})") from None
    except JsonTooDeep as exc:
        raise TableError("", f"{name}: invalid JSON ({exc})") from None



def read_document(text: str, name: str) -> dict[str, Any]:
    """A table document (bundled or override) parsed and type-checked, names lower-cased.

    Raises:
        TableError: invalid JSON (line, column) or a value of the wrong shape (its JSON path).
    """
    return _check_shape(_parse_json(text, name))


def build_table(doc: dict[str, Any], origin: str, default_source: str = "") -> PriceTable:
    """The table of a whole checked document (the bundled one)."""
    return _build_table(doc, origin, default_source)


def table_with_override(bundled: dict[str, Any], over: dict[str, Any], origin: str,
                        default_source: str) -> PriceTable:
    """The table of `over` (a checked document) merged field by field over `bundled`."""
    return _build_table(_merge(bundled, over), origin, default_source)


def check_model_entry(name: str, entry: Mapping[str, Any]) -> str:
    """"" when one model entry (as a table file writes it) is valid on its own, else why not
    (naming the JSON path)."""
    try:
        doc = _check_shape({"models": {name: copy.deepcopy(dict(entry))}})
        for key, value in doc["models"].items():
            _build_model(key, value, "")
    except TableError as exc:
        return str(exc)
    return ""


def merged_table(bundled: dict[str, Any], override: Mapping[str, Any],
                 origin: str = "bundled + import") -> PriceTable:
    """The bundled table (a checked document) with an override *document* merged over it
    (price import uses it to check rows before writing them).

    Raises:
        ValueError: the override is invalid; the message names the JSON path at fault.
    """
    try:
        over = _check_shape(copy.deepcopy(dict(override)))
        return _build_table(_merge(bundled, over), origin, "import")
    except TableError as exc:
        raise ValueError(str(exc)) from None
