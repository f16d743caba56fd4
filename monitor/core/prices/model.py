"""The price table's data: rates per tier, price rows, model entries, resolutions and costs.

Frozen records and the rules that belong to a single value (a tier name, a row in force on a
day, rates scaled by a factor). Money is `Decimal` throughout and nothing here rounds
(display rounding is `core.money`'s).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from decimal import Decimal

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


# The priced parts in order: (rate field, fallback rate fields).
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
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
            factor = factor_out if f.name in OUTPUT_FIELDS else factor_in
            values[f.name] = None if v is None else v * factor
        return Rates(**values)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, Decimal | None]:
        return {f.name: getattr(self, f.name) for f in fields(Rates)}

    @functools.cached_property
    def parts(self) -> tuple[tuple[str, Decimal], ...]:
        """(rate field used, rate) per part `charge` prices, in `PARTS` order: a rate the
        model lacks falls back (computed once per Rates)."""
        out = []
        for name, fallbacks in PARTS:
            for candidate in (name, *fallbacks):
                value: Decimal | None = getattr(self, candidate)
                if value is not None:
                    out.append((candidate, value))
                    break
        return tuple(out)


RATE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Rates))
OUTPUT_FIELDS = frozenset({"output", "audio_output", "image_output"})


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

