"""The merged price table: its entries, name resolution and the cost of one request.

Built from the bundled table and the user's override by `schema.build_table` (the files are
read in `monitor.services.price_files`); Qt-free, no file I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from monitor.core.clock import Clock, system_clock
from monitor.core.prices.charge import charge, is_long_request, rates_for
from monitor.core.prices.model import TIERS, Cost, ModelInfo, Rates, Resolution, normalize_tier
from monitor.core.prices.resolve import NameResolver
from monitor.core.usage import TokenUsage

__all__ = ["PriceTable"]


@dataclass
class PriceTable:
    """The merged price table. Built by `schema`; loaded from
    the files by `services.price_files.load_price_table`."""

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
    _names: NameResolver = field(init=False, repr=False, compare=False)
    _bucket_rates: dict[tuple[str, date, str], tuple[Rates, Rates | None] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._names = NameResolver(self.models, self.aliases)

    def resolve(self, model: str) -> Resolution:
        """Map a model name as the API reports it to a table entry (the order of the rules:
        `NameResolver.resolve`)."""
        return self._names.resolve(model)

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
            long_context = is_long_request(usage.input_tokens, self.long_context_threshold)
        long_context = long_context and row.long_context is not None
        rates, used_tier, derived_tiers = rates_for(row, tier, long_context)
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
        return rates_for(row, table_tier, long_context and row.long_context is not None)[0]

    def bucket_rates(self, model: str, day: date, tier: str) -> tuple[Rates, Rates | None] | None:
        """(standard-context rates, long-context rates or None) of `model` on table tier
        `tier` in force on UTC `day`, None when the model has no price: what a bucket of
        aggregated usage is priced at (cached: every report asks for the same few)."""
        key = (model, day, tier)
        hit = self._bucket_rates.get(key, False)
        if hit is not False:
            return hit  # type: ignore[return-value]
        info = self.resolve(model).info
        row = info.price_at(day) if info is not None else None
        value: tuple[Rates, Rates | None] | None = None
        if row is not None:
            std = self.rates(model, at=day, tier=tier)
            assert std is not None
            long = (self.rates(model, at=day, tier=tier, long_context=True)
                    if row.long_context is not None else None)
            value = (std, long)
        self._bucket_rates[key] = value
        return value
