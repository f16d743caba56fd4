"""The price table (bundled + user override) and the cost engine: model name + usage -> exact USD.

Qt-free and stdlib-only. Money is `Decimal` throughout; the JSON is parsed with
`parse_float=Decimal`, so `0.075` is exactly 0.075.

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
import functools
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, NamedTuple

from monitor.core.clock import Clock, system_clock
from monitor.core.json_limits import JsonTooDeep, loads_bounded
from monitor.core.local_files import read_local_text
from monitor.core.money import MAX_PRICE_PER_M
from monitor.core.usage import TokenUsage
from monitor.errors import BugError

__all__ = [
    "LAUNCH",
    "TIERS",
    "Charged",
    "Cost",
    "ModelInfo",
    "PriceRow",
    "PriceTable",
    "Rates",
    "Resolution",
    "charge",
    "check_model_entry",
    "load_price_table",
    "merged_table",
    "normalize_tier",
    "quantize_usd",
]

PER_TOKENS = 1_000_000
TIERS = ("standard", "batch", "flex", "priority")
TIER_FACTORS: Mapping[str, Decimal] = {
    "batch": Decimal("0.5"),
    "flex": Decimal("0.5"),
    "priority": Decimal(2),
}
CACHE_WRITE_FACTOR = Decimal("1.25")
LONG_CONTEXT_INPUT_FACTOR = Decimal(2)
LONG_CONTEXT_OUTPUT_FACTOR = Decimal("1.5")
LAUNCH = date.min
"""`effective_from` of a first price row whose start is not known ("since launch")."""

_STANDARD_TIER_NAMES = frozenset({"", "default", "auto", "scale", "standard"})
_PRIORITY_TIER_NAMES = frozenset({"priority", "fast"})
_SNAPSHOT_RE = re.compile(r"^(?P<base>.+)-\d{4}-\d{2}-\d{2}$")
_MODALITY_RE = re.compile(r"-(transcribe|tts|audio|realtime|search|image)(-|$)")
"""A suffix naming another modality: such a name never falls through to a family prefix."""
_DERIVED = "derived"


# The priced parts in order: (rate field, fallback rate fields).
_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cached_input", ("input",)),
    ("audio_cached_input", ("cached_input", "input")),
    ("cache_write", ("input",)),
    ("audio_input", ("input",)),
    ("image_input", ("input",)),
    ("input", ()),
    ("audio_output", ("output",)),
    ("image_output", ("output",)),
    ("output", ()),
)


@dataclass(frozen=True)
class Rates:
    """USD per 1M tokens for one tier; None = not offered (see the cost rules for fallbacks)."""

    input: Decimal
    cached_input: Decimal | None
    cache_write: Decimal | None
    output: Decimal
    audio_input: Decimal | None = None
    audio_cached_input: Decimal | None = None
    audio_output: Decimal | None = None
    image_input: Decimal | None = None
    image_output: Decimal | None = None

    def scaled(self, factor_in: Decimal, factor_out: Decimal) -> Rates:
        """Every input-side rate times `factor_in`, every output-side rate times `factor_out`."""
        values: dict[str, Decimal | None] = {}
        for f in fields(Rates):
            v: Decimal | None = getattr(self, f.name)
            factor = factor_out if f.name in _OUTPUT_FIELDS else factor_in
            values[f.name] = None if v is None else v * factor
        return Rates(**values)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, Decimal | None]:
        return {f.name: getattr(self, f.name) for f in fields(Rates)}

    @functools.cached_property
    def parts(self) -> tuple[tuple[str, Decimal], ...]:
        """(rate field used, rate) per part `charge` prices, in `_PARTS` order: a rate the
        model lacks falls back (computed once per Rates)."""
        out = []
        for name, fallbacks in _PARTS:
            for candidate in (name, *fallbacks):
                value: Decimal | None = getattr(self, candidate)
                if value is not None:
                    out.append((candidate, value))
                    break
        return tuple(out)


RATE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Rates))
_OUTPUT_FIELDS = frozenset({"output", "audio_output", "image_output"})


@dataclass(frozen=True)
class PriceRow:
    """The rates in force from `effective_from` until the next row's date."""

    effective_from: date
    standard: Rates
    batch: Rates | None
    flex: Rates | None
    priority: Rates | None
    long_context: Rates | None
    derived: frozenset[str]
    source: str = ""
    note: str = ""

    def tier(self, name: str) -> Rates | None:
        """The rates of tier `name` (one of TIERS); None = not offered."""
        if name == "standard":
            return self.standard
        if name in ("batch", "flex", "priority"):
            rates: Rates | None = getattr(self, name)
            return rates
        raise ValueError(f"unknown tier {name!r}")

    def is_derived(self, tier: str, field_name: str | None = None) -> bool:
        """True if `tier` (or its `field_name`) was computed by rule rather than from a source."""
        if tier in self.derived:
            return True
        if field_name is None:
            return any(d.startswith(tier + ".") for d in self.derived)
        return f"{tier}.{field_name}" in self.derived


@dataclass(frozen=True)
class ModelInfo:
    """One entry of the price table: limits, encoding, provenance and price history."""

    name: str
    encoding: str
    encoding_assumed: bool
    context_window: int | None
    max_input: int | None
    max_output: int | None
    source: str
    uncertain: bool
    note: str
    prices: tuple[PriceRow, ...]
    covers_suffixes: bool = False

    def price_at(self, when: date | datetime) -> PriceRow | None:
        """The row in force on `when` (aware datetimes are taken in UTC, naive ones as UTC).

        Before the first row's date the first row applies (its price is the earliest known).
        None only if the model has no rows at all.
        """
        day = _as_utc_date(when)
        chosen: PriceRow | None = self.prices[0] if self.prices else None
        for row in self.prices:
            if row.effective_from <= day:
                chosen = row
        return chosen


@dataclass(frozen=True)
class Resolution:
    """How a requested model name maps to a table entry.

    `how` is "exact", "alias", "snapshot" (a trailing -YYYY-MM-DD was dropped), "fine-tune"
    (ft:BASE:... priced by the table's own ``ft:BASE`` rates), "fine-tune-base" (no fine-tune
    rate is published for BASE: priced at BASE's rates, an estimate), "prefix" (the longest
    family that declares `covers_suffixes`) or "unknown" (info None). `estimate` is the reason
    the resolution makes any price an estimate, "" when it does not.
    """

    requested: str
    info: ModelInfo | None
    how: str
    estimate: str = ""


@dataclass(frozen=True)
class Cost:
    """The price of some usage. `usd` None = price unknown (never silently 0).

    `tier` is the tier whose rates were used (a tier the model does not offer falls back to
    "standard"); `derived` is True when any rate that priced a non-zero token count was
    computed by rule (tier %, long-context multipliers, cache-write 1.25x) or the requested
    tier was not priced. `as_of` is the table's date. `estimate` is True when the figure is
    known to be approximate; `reasons` says why (a fine-tune priced at its base rate, token
    counts that had to be clamped because a subset exceeded its total, ...).
    """

    usd: Decimal | None
    model: str
    resolved: str | None
    tier: str
    long_context: bool
    derived: bool
    as_of: date
    reasons: tuple[str, ...] = ()

    @property
    def estimate(self) -> bool:
        return bool(self.reasons)


def quantize_usd(amount: Decimal, places: int = 2) -> Decimal:
    """Round an exact cost for display (half-up); the engine itself never rounds."""
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def normalize_tier(service_tier: str | None, batch: bool = False) -> tuple[str, bool]:
    """Map the API's `service_tier` to a table tier; the bool says the name was not recognised.

    "default"/"auto"/"scale"/None -> standard, "flex" -> flex, "priority"/"fast" -> priority;
    `batch=True` (a Batch API job) wins over any service tier. Unknown names -> standard.
    """
    if batch:
        return "batch", False
    name = (service_tier or "").strip().lower()
    if name in _STANDARD_TIER_NAMES:
        return "standard", False
    if name == "flex":
        return "flex", False
    if name in _PRIORITY_TIER_NAMES:
        return "priority", False
    return "standard", True


def _as_utc_date(when: date | datetime) -> date:
    if isinstance(when, datetime):
        if when.tzinfo is not None:
            when = when.astimezone(UTC)
        return when.date()
    return when


@dataclass
class PriceTable:
    """The merged price table. Build it with `load_price_table`."""

    as_of: date
    default_model: str
    models: Mapping[str, ModelInfo]
    warnings: list[str] = field(default_factory=list)
    aliases: Mapping[str, str] = field(default_factory=dict)
    long_context_threshold: int = 272_000
    notes: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)
    origin: str = ""
    clock: Clock = field(default=system_clock, repr=False, compare=False)
    """Picks the prices in force when a caller gives no time (the app's clock)."""
    _resolved: dict[str, tuple[ModelInfo | None, str, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _prefixes: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        families = (name for name, info in self.models.items() if info.covers_suffixes)
        self._prefixes = tuple(sorted(families, key=len, reverse=True))

    # -- resolution ----------------------------------------------------------------------------
    def resolve(self, model: str) -> Resolution:
        """Map a model name as the API reports it to a table entry.

        Order: exact (case-insensitive) -> alias -> drop a trailing -YYYY-MM-DD snapshot date ->
        a fine-tune `ft:BASE:org:suffix:id` by the table's `ft:BASE` rates (or BASE's own rates,
        flagged as an estimate, when no fine-tune rate is published) -> the longest family entry
        that declares `covers_suffixes`, followed by "-" (e.g. gpt-4-0613 -> gpt-4), unless the
        suffix names another modality (-transcribe, -tts, -audio..., -realtime, -search...,
        -image). Nothing -> unknown.
        """
        key = model.strip().lower()
        hit = self._resolved.get(key)
        if hit is None:
            hit = self._lookup(key)
            self._resolved[key] = hit
        return Resolution(model, hit[0], hit[1], hit[2])

    def _direct(self, name: str) -> tuple[ModelInfo | None, str]:
        if name in self.models:
            return self.models[name], "exact"
        target = self.aliases.get(name)
        if target is not None and target in self.models:
            return self.models[target], "alias"
        return None, "unknown"

    def _lookup(self, name: str) -> tuple[ModelInfo | None, str, str]:
        if not name:
            return None, "unknown", ""
        info, how = self._direct(name)
        if info is not None:
            return info, how, ""
        if name.startswith("ft:"):
            return self._fine_tune(name)
        stem = name
        match = _SNAPSHOT_RE.match(name)
        if match is not None:
            stem = match.group("base")
            info, _ = self._direct(stem)
            if info is not None:
                return info, "snapshot", ""
        for prefix in self._prefixes:
            if stem.startswith(prefix + "-") and not _MODALITY_RE.search(stem[len(prefix):]):
                return self.models[prefix], "prefix", ""
        return None, "unknown", ""

    def _fine_tune(self, name: str) -> tuple[ModelInfo | None, str, str]:
        """`ft:BASE[:org:suffix:id]`: the table's `ft:BASE` (or `ft:` + BASE's snapshot stem)
        rates; else BASE's own rates, flagged: OpenAI bills fine-tuned inference higher."""
        base = name[3:].split(":", 1)[0]
        if not base:
            return None, "unknown", ""
        match = _SNAPSHOT_RE.match(base)
        for candidate in (base, match.group("base") if match else None):
            if candidate is None:
                continue
            info, _ = self._direct("ft:" + candidate)
            if info is not None:
                return info, "fine-tune", ""
        info, _, _ = self._lookup(base)
        if info is None:
            return None, "unknown", ""
        return info, "fine-tune-base", (
            f"fine-tune of {base}: no published fine-tune rate, priced at the base model's "
            "rates (OpenAI bills fine-tuned inference higher)")

    # -- cost ----------------------------------------------------------------------------------
    def cost(
        self,
        model: str,
        usage: TokenUsage,
        *,
        at: datetime | None = None,
        service_tier: str | None = None,
        batch: bool = False,
        long_context: bool | None = None,
    ) -> Cost:
        """The exact USD cost of `usage` on `model` (pricing-sources.md §6).

        Args:
            model: the model name as reported (dated snapshots, ft:, aliases resolve).
            usage: token counts; cached/cache-write/audio/image input are subsets of input,
                reasoning/audio/image output subsets of output (reasoning is billed as output
                once). A subset larger than its total is clamped and the cost flagged.
            at: when the usage happened (price in force then); default now.
            service_tier: the response's `service_tier` ("default", "flex", "priority", ...).
            batch: True for Batch API jobs (batch rates; wins over `service_tier`).
            long_context: None = `usage` is one request, long context when its input is over
                the threshold; True/False = the caller knows (aggregates must say).

        Returns:
            A `Cost`; `usd` is None when the model is unknown (never a silent $0).
        """
        tier, unrecognised = normalize_tier(service_tier, batch)
        res = self.resolve(model)
        info = res.info
        row = info.price_at(at if at is not None else self.clock()) if info else None
        if info is None or row is None:
            return Cost(None, model, None, tier, False, False, self.as_of)
        if long_context is None:
            long_context = usage.input_tokens > self.long_context_threshold
        long_context = long_context and row.long_context is not None
        rates, used_tier, derived_tiers = _rates_for(row, tier, long_context)
        charged = charge(usage, rates)
        derived = unrecognised or used_tier != tier
        for field_name, tokens in charged.fields:
            if tokens and any(row.is_derived(t, field_name) for t in derived_tiers):
                derived = True
        if long_context and used_tier != "standard":
            derived = True  # tier rates scaled by the long-context ratio: no source gives them
        reasons = ((res.estimate,) if res.estimate else ()) + charged.reasons
        return Cost(charged.usd, model, info.name, used_tier, long_context, derived,
                    self.as_of, reasons)

    def rates(
        self, model: str, *, at: date | datetime | None = None, tier: str = "standard",
        long_context: bool = False,
    ) -> Rates | None:
        """The rates that would price `model` on `tier` at `at` (None if the model is unknown).

        `tier` may be any service-tier name the API reports ("default", "fast", ...)."""
        info = self.resolve(model).info
        row = info.price_at(at if at is not None else self.clock()) if info else None
        if row is None:
            return None
        table_tier = tier if tier in TIERS else normalize_tier(tier)[0]
        return _rates_for(row, table_tier, long_context and row.long_context is not None)[0]


def _rates_for(row: PriceRow, tier: str, long_context: bool) -> tuple[Rates, str, tuple[str, ...]]:
    """(rates, tier actually used, row tiers whose derivation marks apply)."""
    tier_rates = row.tier(tier)
    used = tier if tier_rates is not None else "standard"
    base = tier_rates if tier_rates is not None else row.standard
    if not long_context or row.long_context is None:
        return base, used, (used,)
    if used == "standard":
        return row.long_context, used, ("long_context",)
    # Long context on a non-standard tier: keep the tier's discount/uplift per field.
    values: dict[str, Decimal | None] = {}
    for name in RATE_FIELDS:
        lc: Decimal | None = getattr(row.long_context, name)
        std: Decimal | None = getattr(row.standard, name)
        t: Decimal | None = getattr(base, name)
        if t is None:
            values[name] = None
        elif lc is None:
            values[name] = t
        elif std:
            values[name] = lc * t / std
        else:
            values[name] = lc
    return Rates(**values), used, (used, "long_context")  # type: ignore[arg-type]


class Charged(NamedTuple):
    """`charge`'s answer: exact USD, the tokens of each priced part, clamp reasons (a tuple:
    it is made for every priced row, and tuples are the cheapest records)."""

    usd: Decimal
    tokens: tuple[int, ...]  # per part of `_PARTS`
    rates: Rates
    reasons: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[tuple[str, int], ...]:
        """(rate field that priced it, tokens) per part."""
        return tuple((name, n) for (name, _), n in zip(self.rates.parts, self.tokens,
                                                        strict=True))


def charge(usage: TokenUsage, rates: Rates) -> Charged:
    """Price `usage` at `rates`: the one place the cost rules live (pricing-sources.md §6).

    Subsets are carved out of their totals: cached input (its audio part at the cached-audio
    rate), cache writes, uncached audio input and image input out of `input_tokens`; audio and
    image output out of `output_tokens`; reasoning is output and never billed twice. A rate
    the model lacks falls back to the text rate of its side (cached audio -> cached -> input).
    A subset larger than what is left of its total is clamped (never a negative charge) and
    the reason returned.
    """
    inp, out = usage.input_tokens, usage.output_tokens
    cached, cached_audio = usage.cached_input_tokens, usage.audio_cached_input_tokens
    written, audio_in = usage.cache_write_tokens, usage.audio_input_tokens
    image_in, audio_out = usage.image_input_tokens, usage.audio_output_tokens
    image_out = usage.image_output_tokens
    consistent = (
        min(inp, out, cached, cached_audio, written, audio_in, image_in, audio_out,
            image_out, usage.reasoning_tokens) >= 0
        and cached_audio <= cached and cached + written + audio_in + image_in <= inp
        and usage.reasoning_tokens <= out and audio_out + image_out <= out
    )
    reasons: tuple[str, ...] = ()
    if consistent:
        text_in = inp - cached - written - audio_in - image_in
        text_out = out - audio_out - image_out
    else:
        (cached, cached_audio, written, audio_in, image_in, text_in, audio_out, image_out,
         text_out), reasons = _clamped(usage)
    tokens = (cached - cached_audio, cached_audio, written, audio_in, image_in, text_in,
              audio_out, image_out, text_out)
    total = Decimal(0)
    for (_, rate), n in zip(rates.parts, tokens, strict=True):
        if n:
            total += rate * n
    return Charged(total.scaleb(-6), tokens, rates, reasons)


def _clamped(usage: TokenUsage) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """`charge`'s parts when a subset exceeds what is left of its total: clamped, with why."""
    reasons: list[str] = []

    def take(tokens: int, left: int, what: str, of: str) -> int:
        if tokens <= 0:
            return 0
        if tokens > left:
            reasons.append(f"{what} ({tokens:,}) exceeded {of} ({left:,}): clamped")
            return left
        return tokens

    left = max(usage.input_tokens, 0)
    cached = take(usage.cached_input_tokens, left, "cached input", "input")
    left -= cached
    cached_audio = take(usage.audio_cached_input_tokens, cached, "cached audio input",
                        "cached input")
    written = take(usage.cache_write_tokens, left, "cache write", "the uncached input left")
    left -= written
    audio_in = take(usage.audio_input_tokens, left, "audio input", "the uncached input left")
    left -= audio_in
    image_in = take(usage.image_input_tokens, left, "image input", "the uncached input left")
    out_left = max(usage.output_tokens, 0)
    take(usage.reasoning_tokens, out_left, "reasoning", "output")
    audio_out = take(usage.audio_output_tokens, out_left, "audio output", "output")
    image_out = take(usage.image_output_tokens, out_left - audio_out, "image output",
                     "the output left")
    return ((cached, cached_audio, written, audio_in, image_in, left - image_in, audio_out,
             image_out, out_left - audio_out - image_out), tuple(reasons))


# ================================================================================================
# Loading, validation and merging
# ================================================================================================


class _TableError(Exception):
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
        raise _TableError(path, f"expected an object, got {_describe(value)}")
    return value


def _keys(value: dict[str, Any], allowed: frozenset[str], path: str) -> None:
    for key in value:
        if key not in allowed:
            hint = ", ".join(sorted(allowed))
            raise _TableError(_join(path, key), f"unknown key (expected one of: {hint})")


_PLAIN_KEY_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def _join(path: str, key: str) -> str:
    # Called for every key of the table on each load: a compiled pattern, not re's cache.
    if _PLAIN_KEY_RE.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _price(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _TableError(path, f"expected a price (a number), got {_describe(value)}")
    d = Decimal(value)
    if not d.is_finite() or d < 0:
        raise _TableError(path, f"expected a price >= 0, got {_describe(value)}")
    if d > MAX_PRICE_PER_M:  # no model costs this; `1e999999999` would overflow the maths
        raise _TableError(path, f"expected a price per 1M tokens of at most "
                                f"${MAX_PRICE_PER_M:,}, got {_describe(value)}")
    return d


def _opt_price(value: Any, path: str) -> Decimal | None:
    return None if value is None else _price(value, path)


def _tokens(value: Any, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _TableError(path, f"expected a positive whole number of tokens or null, got "
                             f"{_describe(value)}")
    return value


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _TableError(path, f"expected a string, got {_describe(value)}")
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _TableError(path, f"expected true or false, got {_describe(value)}")
    return value


def _date(value: Any, path: str) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _TableError(path, f"expected a date YYYY-MM-DD, got {_describe(value)}")


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
            raise _TableError(p, "expected a price (a number), got null")
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
            raise _TableError(_join(path, key), f'expected an object, null or "derived", got '
                                             f"{_describe(v)}")
        _check_rates_shape(v, _join(path, key), allow_derived_cw=False)


def _check_model_shape(value: Any, path: str) -> None:
    entry = _obj(value, path)
    _keys(entry, _MODEL_KEYS, path)
    if "encoding" in entry:
        enc = _str(entry["encoding"], _join(path, "encoding"))
        if enc not in _KNOWN_ENCODINGS:
            known = ", ".join(sorted(_KNOWN_ENCODINGS))
            raise _TableError(_join(path, "encoding"),
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
            raise _TableError(p, f"expected a non-empty list of price rows, got {_describe(rows)}")
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
        raise _TableError("currency", f"only USD prices are supported, got {got}")
    if "notes" in top:
        notes = top["notes"]
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise _TableError("notes", "expected a list of strings")
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
                raise _TableError(path, "empty model name")
            if key in lowered:
                raise _TableError(path, "model listed twice (names are case-insensitive)")
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
                raise _TableError(path, f"missing required price {name!r}")
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
        return {f: LONG_CONTEXT_OUTPUT_FACTOR if f in _OUTPUT_FIELDS else LONG_CONTEXT_INPUT_FACTOR
                for f in RATE_FIELDS}
    return dict.fromkeys(RATE_FIELDS, TIER_FACTORS[name])


def _build_row(raw: dict[str, Any], path: str) -> PriceRow:
    if "standard" not in raw:
        raise _TableError(path, "missing required key 'standard'")
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
        raise _TableError(path, "missing required key 'prices' (a new model needs its prices)")
    rows = [_build_row(r, f"{path}.prices[{i}]") for i, r in enumerate(raw["prices"])]
    rows.sort(key=lambda r: r.effective_from)
    for a, b in itertools.pairwise(rows):
        if a.effective_from == b.effective_from:
            when = "since launch" if a.effective_from == LAUNCH else f"on {a.effective_from}"
            raise _TableError(_join(path, "prices"), f"two rows take effect {when}")
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
            raise _TableError("", f"missing required key {key!r}")
    models = {name: _build_model(name, entry, default_source)
              for name, entry in doc["models"].items()}
    aliases: dict[str, str] = doc.get("aliases", {})
    for alias, target in aliases.items():
        if target not in models:
            raise _TableError(_join("aliases", alias), f"points to unknown model {target!r}")
    if doc["default_model"] not in models:
        raise _TableError("default_model", f"unknown model {doc['default_model']!r}")
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
        raise _TableError("", f"{name}: line {exc.lineno}, column {exc.colno}: invalid JSON "
                           f"({exc.msg})") from None
    except JsonTooDeep as exc:
        raise _TableError("", f"{name}: invalid JSON ({exc})") from None


def _bundled_path() -> Path:
    from monitor import resources

    return resources.file_path("prices.json")


def check_model_entry(name: str, entry: Mapping[str, Any]) -> str:
    """"" when one model entry (as a table file writes it) is valid on its own, else why not
    (naming the JSON path)."""
    try:
        doc = _check_shape({"models": {name: copy.deepcopy(dict(entry))}})
        for key, value in doc["models"].items():
            _build_model(key, value, "")
    except _TableError as exc:
        return str(exc)
    return ""


def merged_table(override: Mapping[str, Any], *, bundled: Path | None = None) -> PriceTable:
    """The bundled table with an override *document* merged over it (price import uses it to
    check rows before writing them).

    Raises:
        ValueError: the override is invalid; the message names the JSON path at fault.
    """
    source = bundled if bundled is not None else _bundled_path()
    doc = _check_shape(_parse_json(source.read_text(encoding="utf-8"), str(source)))
    try:
        over = _check_shape(copy.deepcopy(dict(override)))
        return _build_table(_merge(doc, over), f"{source} + import", "import")
    except _TableError as exc:
        raise ValueError(str(exc)) from None


def load_price_table(override: Path | None = None, *, bundled: Path | None = None,
                     clock: Clock = system_clock) -> PriceTable:
    """The bundled price table, with the user's override file merged over it.

    Args:
        clock: the app's clock; it picks the prices in force when a caller gives no time.
        override: the user's prices.json (may not exist). A malformed override is ignored as a
            whole; `warnings` then names the file and the line/column or JSON path at fault.
        bundled: the table to start from (tests); default `resources/prices.json`.

    Raises:
        BugError: the bundled table is missing or invalid (a packaging bug, not the user's).
    """
    table = _load_table(override, bundled)
    table.clock = clock
    return table


def _load_table(override: Path | None, bundled: Path | None) -> PriceTable:
    source = bundled if bundled is not None else _bundled_path()
    try:
        text = source.read_text(encoding="utf-8")
        doc = _check_shape(_parse_json(text, str(source)))
        table = _build_table(doc, str(source), "")
    except OSError as exc:
        raise BugError(f"bundled price table unreadable: {source}: {exc.strerror or exc}") from exc
    except _TableError as exc:
        where = "" if str(exc).startswith(str(source)) else f"{source}: "
        raise BugError(f"bundled price table is invalid: {where}{exc}") from exc
    if override is None or not override.exists():
        return table
    try:
        over_text = read_local_text(override)  # no FIFO, device or huge file
    except (OSError, UnicodeDecodeError) as exc:
        table.warnings.append(f"price override {override} could not be read ({exc}); "
                              "using the bundled prices")
        return table
    try:
        over = _check_shape(_parse_json(over_text, str(override)))
        merged = _build_table(_merge(doc, over), f"{source} + {override}", "user override")
    except _TableError as exc:
        detail = str(exc)
        if not detail.startswith(str(override)):
            detail = f"{override}: {detail}"
        table.warnings.append(f"price override ignored, using the bundled prices: {detail}")
        return table
    return merged
