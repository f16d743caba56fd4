"""The records of a usage report: figures of a total or a group, groups, unpriced models,
each source's part, per-day spend, and the report itself, with their `usage --json` shapes.

Money in the JSON has MONEY_PLACES decimals (rounded once, half up, by `core.money`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from monitor.core.budget import Period
from monitor.core.money import JSON_PLACES, json_usd
from monitor.core.usage import TokenUsage

_ZERO = Decimal(0)


MONEY_PLACES = JSON_PLACES
"""Decimal places of every dollar figure in the JSON (exact sums are rounded half-up once)."""


money = json_usd  # a dollar figure for the JSON (monitor.core.money)


BILL_DIFFERENCE_THRESHOLD = Decimal("0.01")
"""Billed and tokens x price differing by more than this fraction is shown per model."""


@dataclass(frozen=True)
class Figures:
    """Requests, tokens and dollars of a total or a group.

    `cost_usd` = `billed_usd` + `apportioned_usd` + `estimated_usd`. Billed dollars are the
    Costs API's own (a day total, or line items that name the group's model); apportioned
    dollars are a share of a day's bill the Costs API did not attribute to this group,
    shared out in proportion to tokens x price. Requests of unknown price are counted in
    `requests` and tokens but not in dollars (`unpriced_requests`). `long_context` is
    "estimated" when some org bucket could not prove which rates applied; `cost_low_usd` /
    `cost_high_usd` then bound `cost_usd` (see `Priced`). `bill_estimate_usd` is tokens x
    price over the days whose bill names this model (None when none does).
    """

    requests: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: Decimal = _ZERO
    billed_usd: Decimal = _ZERO
    estimated_usd: Decimal = _ZERO
    has_billed: bool = False
    has_estimated: bool = False
    unpriced_requests: int = 0
    apportioned_usd: Decimal = _ZERO
    has_apportioned: bool = False
    long_context: str = "exact"
    cost_low_usd: Decimal = _ZERO
    cost_high_usd: Decimal = _ZERO
    line_item_billed_usd: Decimal = _ZERO
    bill_estimate_usd: Decimal | None = None

    @property
    def cost_basis(self) -> str:
        """"billed", "apportioned", "estimated" or "mixed" (more than one of them)."""
        kinds = [k for k, has in (("billed", self.has_billed),
                                  ("apportioned", self.has_apportioned),
                                  ("estimated", self.has_estimated)) if has]
        if len(kinds) > 1:
            return "mixed"
        return kinds[0] if kinds else "estimated"

    @property
    def bill_difference_usd(self) -> Decimal | None:
        """Billed line items minus tokens x price for them, when they differ by more than 1 %
        (it usually means a price in the table is wrong); None otherwise."""
        est = self.bill_estimate_usd
        if est is None:
            return None
        diff = self.line_item_billed_usd - est
        base = max(abs(est), abs(self.line_item_billed_usd))
        if base == 0 or abs(diff) <= BILL_DIFFERENCE_THRESHOLD * base:
            return None
        return diff

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cost_usd": money(self.cost_usd),
            "cost_basis": self.cost_basis,
            "billed_usd": money(self.billed_usd),
            "apportioned_usd": money(self.apportioned_usd),
            "estimated_usd": money(self.estimated_usd),
            "unpriced_requests": self.unpriced_requests,
            "long_context": self.long_context,
        }
        if self.long_context == "estimated":
            out["long_context_bounds_usd"] = {"low": money(self.cost_low_usd),
                                              "high": money(self.cost_high_usd)}
        diff = self.bill_difference_usd
        if diff is not None:
            out["bill_difference"] = {
                "billed_usd": money(self.line_item_billed_usd),
                "estimated_usd": money(self.bill_estimate_usd),
                "difference_usd": money(diff),
            }
        return out


@dataclass(frozen=True)
class Group:
    """One line of a grouped report. `key` is the model, UTC date, project id, API key id
    (org) or key label (proxy); None = no such dimension / unattributed. `kind` is "line_item"
    for a Costs API line item that names no model with usage (audio, images, tools, storage,
    an unknown label): billed dollars of their own, never spread over the models."""

    key: str | date | None
    name: str
    figures: Figures
    kind: str = "group"

    def to_json(self) -> dict[str, Any]:
        key = self.key.isoformat() if isinstance(self.key, date) else self.key
        return {"key": key, "name": self.name, "kind": self.kind, **self.figures.to_json()}


@dataclass(frozen=True)
class UnpricedModel:
    """A model with usage the price table cannot price (or non-token usage such as images)."""

    model: str | None
    source: str  # "org" | "proxy"
    requests: int
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    units: int = 0  # images / characters / seconds of token-less endpoints
    endpoints: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model, "source": self.source, "requests": self.requests,
            "input_tokens": self.input_tokens, "cached_input_tokens": self.cached_input_tokens,
            "output_tokens": self.output_tokens, "units": self.units,
            "endpoints": list(self.endpoints),
        }


@dataclass(frozen=True)
class SourceInfo:
    """Which part of the period one source supplied, and its health."""

    name: str  # "org" | "proxy"
    included: bool
    start: datetime | None  # the part of the period this source counts for
    end: datetime | None
    figures: Figures
    covered_through: datetime | None = None  # org ("all"): proxy records count from here on
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    settled_through: datetime | None = None
    errors: int = 0  # proxy: records with status >= 400

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "included": self.included, "start": self.start, "end": self.end,
            "totals": self.figures.to_json(),
        }
        if self.name == "org":
            out.update(covered_through=self.covered_through, last_success=self.last_success,
                       last_error=self.last_error,
                       last_error_at=self.last_error_at, settled_through=self.settled_through)
        else:
            out["errors"] = self.errors
        return out


@dataclass(frozen=True)
class DaySpend:
    """One UTC day: what counts (billed where billed, else estimated) and both figures."""

    day: date
    cost_usd: Decimal
    basis: str  # "billed" | "estimated"
    billed_usd: Decimal | None  # None: the Costs API has not billed this (whole, closed) day
    estimated_usd: Decimal  # tokens × price (org) + recorded proxy costs, priced requests only
    requests: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)  # its tokens, same source rule


@dataclass(frozen=True)
class UsageReport:
    """Everything `usage --json` prints, plus the per-day series the GUI charts."""

    period: Period
    source: str
    by: str | None
    totals: Figures
    groups: tuple[Group, ...]
    unpriced_models: tuple[UnpricedModel, ...]
    limit_usd: Decimal
    cycle: Period
    cycle_cost_usd: Decimal
    used_fraction: Decimal | None
    projected_cost_usd: Decimal | None
    projection_basis_days: Decimal | None
    limit_crossed_on: date | None
    org_cutoff: datetime | None
    sources: tuple[SourceInfo, ...]
    days: tuple[DaySpend, ...]
    cached_savings_usd: Decimal
    price_table_as_of: date
    notes: tuple[str, ...] = ()
    unmetered_requests: int = 0  # proxy records with no usable usage (ProxyRecord.unmetered)
    estimated_requests: int = 0  # of those, input tokens counted from the request body
    spooled_records: int = 0  # proxy records waiting in the spool for the database

    def to_json(self) -> dict[str, Any]:
        """The `usage --json` contract (Decimals and dates are encoded by print_json)."""
        return {
            "period": {"start": self.period.start.isoformat(),
                       "end": self.period.end.isoformat()},
            "source": self.source,
            "by": self.by,
            "totals": self.totals.to_json(),
            "groups": [g.to_json() for g in self.groups],
            "unpriced_models": [u.to_json() for u in self.unpriced_models],
            "limit_usd": money(self.limit_usd),
            "used_fraction": self.used_fraction,
            "projected_cost_usd": money(self.projected_cost_usd),
            "cycle": {
                "start": self.cycle.start.isoformat(), "end": self.cycle.end.isoformat(),
                "cost_usd": money(self.cycle_cost_usd),
                "projection_basis_days": self.projection_basis_days,
                "limit_crossed_on": self.limit_crossed_on,
            },
            "sources": {s.name: s.to_json() for s in self.sources},
            "org_cutoff": self.org_cutoff,
            "cached_savings_usd": money(self.cached_savings_usd),
            "price_table_as_of": self.price_table_as_of,
            "notes": list(self.notes),
            "unmetered_requests": self.unmetered_requests,
            "estimated_requests": self.estimated_requests,
            "spooled_records": self.spooled_records,
        }

