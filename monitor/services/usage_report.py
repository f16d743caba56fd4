"""The numbers `token-monitor usage` and the dashboard show: totals, groups, costs and their basis.

Rules (issue 3, CONTRACTS.md):
- Sources. Org usage (the admin Usage API) is authoritative for everything it covers; proxy
  records count only from `UsageStore.org_cutoff()` on (source "all"), so no request is counted
  twice. `--source org|proxy` shows one side alone.
- Dollars. A UTC day that lies wholly in the period, is over, and (source "all") is wholly
  covered by org data uses the Costs API's billed dollars when the Costs API has rows for it.
  Every other day is estimated: org tokens × the price table (model, service tier, batch, price
  in force that day), proxy records at the cost recorded when they were made. `cost_basis` says
  "billed", "apportioned", "estimated" or "mixed".
- Groups. Billed dollars carry project and API key ids when the sync grouped costs by them. By
  model, a Costs line item whose label names a model (`line_item_model`) is that model's bill;
  line items naming no model (images, tools, storage, unknown labels) are rows of their own
  (`Group.kind` "line_item"), never spread over the models. Only what the bill leaves
  unattributed is shared out in proportion to the day's estimated dollars per group, and it is
  labelled "apportioned" (a day with no priced usage goes to the group None, "unattributed").
  Where a model's billed line items and its tokens × price differ by more than 1 %, the group
  says so (`bill_difference`). Project and key groups show names from `store.names()`.
- Unknown prices are never a silent $0: those requests are left out of the dollars and their
  models listed in `unpriced_models` with their tokens (non-token usage such as images, too).
- Reasoning tokens: the org Usage API has no reasoning field, so org rows contribute 0; only
  proxy records carry them.
- Aggregated org usage (per UTC day, model, tier and batch) cannot say which requests were
  long-context: exact where the row proves it (one request, or total input within the
  threshold), otherwise an estimate flagged `long_context: "estimated"` with bounds (`Priced`).
  Proxy records were priced per request when recorded. Money in the JSON has MONEY_PLACES
  decimals.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from monitor.core.budget import Period, billing_cycle, budget_status
from monitor.core.money import JSON_PLACES, json_usd
from monitor.core.pricing import PriceTable, Rates, charge, normalize_tier
from monitor.core.settings import Settings
from monitor.core.usage import TokenUsage
from monitor.services.record_spool import RecordSpool, spool_path_for
from monitor.services.store import (
    ORG_SOURCE,
    CostRow,
    OrgUsageRow,
    ProxyUsageRow,
    UsageStore,
)

SOURCES = ("org", "proxy", "all")
GROUPINGS = ("model", "day", "project", "key")
UNATTRIBUTED = "(unattributed)"
_ZERO = Decimal(0)
_DAY = timedelta(days=1)


# --------------------------------------------------------------------------------------------
# Result records
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Pricing aggregated usage
# --------------------------------------------------------------------------------------------


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time(), UTC)


class Priced(NamedTuple):
    """The price of aggregated usage (a tuple: one is made for every priced row).

    `usd` None = the price is unknown. `long_context` is "none" (the model has no long-context
    rates), "exact" (the bucket proves which rates apply: one request, or total input at most
    the threshold so no request can be long) or "estimated" (which requests were long cannot
    be known from a bucket): then `low` prices every request at standard-context rates and
    `high` at long-context rates, and `usd` is the estimate between them (see `Pricer.price`).
    `savings` is what cached input saved: cached x (input rate - cached rate), standard context.
    """

    usd: Decimal | None
    low: Decimal | None = None
    high: Decimal | None = None
    long_context: str = "none"
    savings: Decimal = _ZERO


_UNKNOWN = Priced(None)


class Pricer:
    """Prices aggregated usage with `PriceTable.rates()` and the one `charge` function.

    A bucket of many requests cannot say which were long-context, so the long-context rule
    (pricing-sources.md §6.4) is applied per bucket as `Priced` documents: exact where the
    bucket proves it, else an estimate with its bounds. Rates are cached per (model, price
    row, tier, long context).
    """

    def __init__(self, prices: PriceTable) -> None:
        self.prices = prices
        self.threshold = prices.long_context_threshold
        self._rates: dict[tuple[str, date, str], tuple[Rates, Rates | None] | None] = {}

    def rates(self, model: str, day: date, tier: str) -> tuple[Rates, Rates | None] | None:
        """(standard-context rates, long-context rates or None) of `model` on table tier
        `tier` in force on UTC `day`; None when the model has no price."""
        key = (model, day, tier)
        hit = self._rates.get(key, False)
        if hit is not False:
            return hit  # type: ignore[return-value]
        info = self.prices.resolve(model).info
        row = info.price_at(day) if info is not None else None
        value: tuple[Rates, Rates | None] | None = None
        if row is not None:
            std = self.prices.rates(model, at=day, tier=tier)
            assert std is not None
            long = (self.prices.rates(model, at=day, tier=tier, long_context=True)
                    if row.long_context is not None else None)
            value = (std, long)
        self._rates[key] = value
        return value

    def cost(
        self,
        model: str | None,
        usage: TokenUsage,
        requests: int,
        day: date,
        service_tier: str | None = None,
        batch: bool = False,
    ) -> Decimal | None:
        """USD of `usage` made by `requests` requests on UTC `day`; None = unknown price."""
        return self.price(model, usage, requests, day, service_tier, batch).usd

    def price(
        self,
        model: str | None,
        usage: TokenUsage,
        requests: int,
        day: date,
        service_tier: str | None = None,
        batch: bool = False,
    ) -> Priced:
        """Price `usage` made by `requests` requests on UTC `day`.

        Long context: with a total input of T tokens over n requests and threshold t, a bucket
        with n <= 1 or T <= t is exact. Otherwise the estimate is standard-context pricing when
        T <= n x t (every request may be short: the lower bound), else it moves the share
        (T - (n - 1) x t) / T of the bucket - the least input that must sit in a long request -
        to long-context rates. Bounds: all standard (low), all long-context (high).
        """
        if usage.is_zero():
            return Priced(_ZERO, _ZERO, _ZERO)
        if model is None:
            return _UNKNOWN
        tier, _ = normalize_tier(service_tier, batch)
        rates = self.rates(model, day, tier)
        if rates is None:
            return _UNKNOWN
        std, long_rates = rates
        savings = _ZERO
        if usage.cached_input_tokens > 0:
            cached = min(usage.cached_input_tokens, max(usage.input_tokens, 0))
            cached_rate = std.cached_input if std.cached_input is not None else std.input
            savings = (cached * (std.input - cached_rate)).scaleb(-6)
        low = charge(usage, std).usd
        if long_rates is None or usage.input_tokens <= self.threshold:
            return Priced(low, low, low, "none" if long_rates is None else "exact", savings)
        high = charge(usage, long_rates).usd
        n = max(requests, 1)
        if n == 1:
            return Priced(high, high, high, "exact", savings)
        total_in = Decimal(usage.input_tokens)
        must_be_long = total_in - (n - 1) * self.threshold
        share = must_be_long / total_in if total_in > n * self.threshold else _ZERO
        return Priced(low + share * (high - low), low, high, "estimated", savings)


_PRICERS: dict[int, tuple[weakref.ref[PriceTable], Pricer]] = {}


def pricer_for(prices: PriceTable) -> Pricer:
    """A Pricer shared by every report on the same price table (its probes are cached)."""
    hit = _PRICERS.get(id(prices))
    if hit is not None and hit[0]() is prices:
        return hit[1]
    for key, (ref, _) in list(_PRICERS.items()):
        if ref() is None:
            del _PRICERS[key]
    pricer = Pricer(prices)
    _PRICERS[id(prices)] = (weakref.ref(prices), pricer)
    return pricer


# --------------------------------------------------------------------------------------------
# Building the report
# --------------------------------------------------------------------------------------------


@dataclass
class _Acc:
    requests: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    billed: Decimal = _ZERO
    apportioned: Decimal = _ZERO
    estimated: Decimal = _ZERO
    has_billed: bool = False
    has_apportioned: bool = False
    has_estimated: bool = False
    unpriced_requests: int = 0
    lc_estimated: bool = False
    below: Decimal = _ZERO  # how far the long-context low bound lies under `estimated`
    above: Decimal = _ZERO
    line_item_billed: Decimal = _ZERO
    bill_estimate: Decimal | None = None
    kind: str = "group"

    def add_usage(self, requests: int, usage: TokenUsage) -> None:
        self.requests += requests
        self.input_tokens += usage.input_tokens
        self.cached_input_tokens += usage.cached_input_tokens
        self.output_tokens += usage.output_tokens
        self.reasoning_tokens += usage.reasoning_tokens

    def add_estimate(self, priced: Priced) -> None:
        assert priced.usd is not None
        self.estimated += priced.usd
        self.has_estimated = True
        if priced.long_context == "estimated":
            assert priced.low is not None and priced.high is not None
            self.lc_estimated = True
            self.below += priced.usd - priced.low
            self.above += priced.high - priced.usd

    def merge(self, other: _Acc) -> None:
        for name in ("requests", "input_tokens", "cached_input_tokens", "output_tokens",
                     "reasoning_tokens", "billed", "apportioned", "estimated",
                     "unpriced_requests", "below", "above", "line_item_billed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("has_billed", "has_apportioned", "has_estimated", "lc_estimated"):
            setattr(self, name, getattr(self, name) or getattr(other, name))
        if other.bill_estimate is not None:
            self.bill_estimate = (self.bill_estimate or _ZERO) + other.bill_estimate
        if other.kind != "group":
            self.kind = other.kind

    def freeze(self) -> Figures:
        cost = self.billed + self.apportioned + self.estimated
        return Figures(
            requests=self.requests, input_tokens=self.input_tokens,
            cached_input_tokens=self.cached_input_tokens, output_tokens=self.output_tokens,
            reasoning_tokens=self.reasoning_tokens, cost_usd=cost,
            billed_usd=self.billed, estimated_usd=self.estimated, has_billed=self.has_billed,
            has_estimated=self.has_estimated, unpriced_requests=self.unpriced_requests,
            apportioned_usd=self.apportioned, has_apportioned=self.has_apportioned,
            long_context="estimated" if self.lc_estimated else "exact",
            cost_low_usd=cost - self.below, cost_high_usd=cost + self.above,
            line_item_billed_usd=self.line_item_billed, bill_estimate_usd=self.bill_estimate,
        )


_ORG_DIM = {"model": "model", "day": "day", "project": "project_id", "key": "api_key_id"}
_COST_DIM = {"project": "project_id", "key": "api_key_id"}


@dataclass
class _Part:
    """One source's contribution: accumulators per group key and per day."""

    groups: dict[Any, _Acc] = field(default_factory=dict)
    days: dict[date, _Acc] = field(default_factory=dict)
    day_estimates: dict[date, Decimal] = field(default_factory=dict)  # incl. billed days
    unpriced: dict[str | None, list[Any]] = field(default_factory=dict)
    savings: Decimal = _ZERO
    errors: int = 0

    def acc(self, key: Any) -> _Acc:
        a = self.groups.get(key)
        if a is None:
            a = self.groups[key] = _Acc()
        return a

    def day(self, d: date) -> _Acc:
        a = self.days.get(d)
        if a is None:
            a = self.days[d] = _Acc()
        return a

    def total(self) -> _Acc:
        out = _Acc()
        for a in self.days.values():
            out.merge(a)
        return out


def _note_unpriced(part: _Part, model: str | None, requests: int, usage: TokenUsage,
                   units: int, endpoint: str | None) -> None:
    cur = part.unpriced.setdefault(model, [0, 0, 0, 0, 0, set()])
    cur[0] += requests
    cur[1] += usage.input_tokens
    cur[2] += usage.cached_input_tokens
    cur[3] += usage.output_tokens
    cur[4] += units
    if endpoint:
        cur[5].add(endpoint)


def _allocate(amount: Decimal, weights: Mapping[Any, Decimal]) -> dict[Any, Decimal]:
    """Share `amount` in proportion to `weights` (exactly: the last share takes the rest)."""
    positive = {k: w for k, w in weights.items() if w > 0}
    total = sum(positive.values(), _ZERO)
    if total <= 0:
        return {None: amount}
    out: dict[Any, Decimal] = {}
    given = _ZERO
    keys = sorted(positive, key=lambda k: (k is None, str(k)))
    for key in keys[:-1]:
        share = amount * positive[key] / total
        out[key] = share
        given += share
    out[keys[-1]] = amount - given
    return out


def line_item_model(label: str | None, models: Iterable[str | None],
                    prices: PriceTable) -> str | None:
    """The model a Costs line item names, or None.

    Labels are unspecified (openai-api.md §2: "gpt-4o, input", "Image models", "input_tokens",
    "Web search tool calls"); a label names a model when its part before the first comma is
    a model with usage (`models`, case-insensitive) or one the price table resolves. A model
    with usage is preferred: the usage's own name (a dated snapshot, say) when exactly one
    usage model resolves to the same table entry as the label.
    """
    if not label:
        return None
    head = label.split(",", 1)[0].strip().lower()
    if not head or " " in head:
        return None
    named = {m.lower(): m for m in models if m}
    if head in named:
        return named[head]
    entry = prices.resolve(head).info
    if entry is None:
        return None
    same = [m for key, m in named.items() if prices.resolve(key).info is entry]
    return same[0] if len(same) == 1 else head


def price_by_bucket(store: UsageStore, pricer: Pricer, period: Period, row: OrgUsageRow,
                    dims: Iterable[str], model: str | None = None) -> Priced:
    """Price an org day row bucket by bucket: a stored bucket within the long-context
    threshold proves its requests short, where the day's total cannot. The buckets are those
    of the row's day matching it on `dims` (and batch; the row's endpoint and model narrow the
    read when it has them), with the store's rule that an endpoint's hourly rows win over its
    daily ones; `model` reprices them on another model."""
    assert row.day is not None
    start = max(_day_start(row.day), period.start)
    day = store.usage_buckets(start, min(_day_start(row.day) + _DAY, period.end),
                              endpoint=row.endpoint, model=row.model)
    hourly = {b.endpoint for b in day if b.width == "1h"}
    keys = tuple(dims)
    parts = [pricer.price(model or b.model, b.usage, b.requests, row.day, b.service_tier,
                          bool(b.batch))
             for b in day
             if b.width == ("1h" if b.endpoint in hourly else "1d")
             and bool(b.batch) == bool(row.batch)
             and all(getattr(b, d) == getattr(row, d) for d in keys)]
    if not parts or any(p.usd is None for p in parts):
        return pricer.price(model or row.model, row.usage, row.requests, row.day,
                            row.service_tier, bool(row.batch))

    def total(values: Iterable[Decimal | None]) -> Decimal:
        return sum((v or _ZERO for v in values), _ZERO)

    estimated = any(p.long_context == "estimated" for p in parts)
    return Priced(total(p.usd for p in parts), total(p.low for p in parts),
                  total(p.high for p in parts), "estimated" if estimated else "exact",
                  total(p.savings for p in parts))


def _org_part(
    store: UsageStore, pricer: Pricer, period: Period, by: str | None, now: datetime,
    billed_until: datetime | None,
) -> _Part:
    """Org usage in `period`; billed dollars for whole, closed days before `billed_until`."""
    part = _Part()
    group_dim = _ORG_DIM.get(by) if by else None
    dims = ["day", "endpoint", "model", "service_tier", "batch"]
    if group_dim and group_dim not in dims:
        dims.append(group_dim)
    rows = store.org_usage(period.start, period.end, dims)

    # Which days are billed: whole days inside the period, over, with Costs API rows.
    first = period.start.date() if period.start.time() == time() else (
        period.start.date() + _DAY)
    last_excl = period.end.date()
    limit_end = min(now, billed_until) if billed_until is not None else now
    billed_days = {
        d for d in store.billed_days(first, last_excl) if _day_start(d) + _DAY <= limit_end
    } if first < last_excl else set()

    # Estimated dollars per day and group (the weights that share out unattributed bills).
    est: dict[date, dict[Any, Decimal]] = {}
    day_models: dict[date, set[str | None]] = {}
    for row in rows:
        assert row.day is not None
        key = getattr(row, group_dim) if group_dim else None
        day_models.setdefault(row.day, set()).add(row.model)
        priced = pricer.price(row.model, row.usage, row.requests, row.day,
                              row.service_tier, bool(row.batch))
        if priced.long_context == "estimated":  # the stored buckets may prove more
            dims = ["endpoint", "model", "service_tier"] + (
                [group_dim] if group_dim and group_dim != "day" else [])
            priced = price_by_bucket(store, pricer, period, row, dims)
        part.savings += priced.savings
        unknown = priced.usd is None or (row.units > 0 and not (row.usage.input_tokens
                                                                 or row.usage.output_tokens))
        if unknown:
            _note_unpriced(part, row.model, row.requests, row.usage, row.units, row.endpoint)
        g, dacc = part.acc(key), part.day(row.day)
        for a in (g, dacc):
            a.add_usage(row.requests, row.usage)
        if not unknown:
            assert priced.usd is not None
            part.day_estimates[row.day] = part.day_estimates.get(row.day, _ZERO) + priced.usd
            weights = est.setdefault(row.day, {})
            weights[key] = weights.get(key, _ZERO) + priced.usd
        if row.day in billed_days:
            continue
        for a in (g, dacc):
            if unknown:
                a.unpriced_requests += row.requests
            else:
                a.add_estimate(priced)

    if not billed_days:
        return part
    # Billed days: direct attribution by the cost dimension where present; line items that
    # name a model are that model's bill; the rest is apportioned (and says so).
    cost_dim = {"model": "line_item", **_COST_DIM}.get(by) if by else None
    by_day: dict[date, list[CostRow]] = {}
    for r in store.cost_rows(first, last_excl, ["day", cost_dim] if cost_dim else ["day"]):
        assert r.day is not None
        if r.day in billed_days:
            by_day.setdefault(r.day, []).append(r)
    for d in sorted(billed_days):
        cost_rows = by_day.get(d, [])
        day_total = sum((r.amount for r in cost_rows), _ZERO)
        dacc = part.day(d)
        dacc.billed += day_total
        dacc.has_billed = True
        if by is None or by == "day":
            a = part.acc(None if by is None else d)
            a.billed += day_total
            a.has_billed = True
            continue
        unattributed = _ZERO
        shares: dict[Any, Decimal] = {}
        own_rows: set[Any] = set()
        for r in cost_rows:
            key = getattr(r, cost_dim) if cost_dim else None
            if key is not None and by == "model":
                model = line_item_model(key, day_models.get(d, ()), pricer.prices)
                if model is None:
                    own_rows.add(key)
                else:
                    key = model
            if key is None:
                unattributed += r.amount
            else:
                shares[key] = shares.get(key, _ZERO) + r.amount
        for key, amount in shares.items():
            a = part.acc(key)
            a.billed += amount
            a.has_billed = True
            if key in own_rows:
                a.kind = "line_item"
            elif by == "model":
                a.line_item_billed += amount
                a.bill_estimate = (a.bill_estimate or _ZERO) + est.get(d, {}).get(key, _ZERO)
        if unattributed:
            for key, amount in _allocate(unattributed, est.get(d, {})).items():
                a = part.acc(key)
                a.apportioned += amount
                a.has_apportioned = True
    return part


def _proxy_part(
    store: UsageStore, pricer: Pricer, start: datetime, end: datetime, by: str | None
) -> _Part:
    part = _Part()
    if start >= end:
        return part

    def fold(a: _Acc, row: ProxyUsageRow) -> None:
        a.add_usage(row.requests - row.errors, row.usage)
        a.estimated += row.cost
        a.has_estimated |= row.requests - row.errors > row.unpriced_requests
        a.unpriced_requests += row.unpriced_requests

    rows: Iterable[ProxyUsageRow] = store.proxy_usage(
        start, end, ["day", "model", "service_tier", "endpoint"]
    )
    for row in rows:
        assert row.day is not None
        part.errors += row.errors
        if row.usage.cached_input_tokens:
            part.savings += pricer.price(row.model, row.usage, row.requests, row.day,
                                         row.service_tier).savings
        fold(part.day(row.day), row)
        if by != "key":  # by key: from the key roll-up below
            fold(part.acc({"model": row.model, "day": row.day}.get(by or "")), row)
        part.day_estimates[row.day] = part.day_estimates.get(row.day, _ZERO) + row.cost
        if row.unpriced_requests:
            _note_unpriced(part, row.model, row.unpriced_requests, row.unpriced_usage, 0,
                           row.endpoint)
    if by == "key":
        for row in store.proxy_usage(start, end, ["key_label"]):
            fold(part.acc(row.key_label), row)
    return part


def _resolve_source(source: str) -> str:
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r} (use org, proxy or all)")
    return source


@dataclass(frozen=True)
class _Parts:
    org: _Part | None
    proxy: _Part | None
    cutoff: datetime | None
    proxy_start: datetime | None


def _parts(store: UsageStore, pricer: Pricer, period: Period, source: str, by: str | None,
           now: datetime) -> _Parts:
    cutoff = store.org_cutoff() if source == "all" else None
    org = None
    proxy = None
    proxy_start = None
    if source in ("org", "all"):
        # Source "all": billed dollars only for days org wholly covers (proxy records count
        # after the cutoff and would otherwise add to a billed day); "org" is org data alone.
        billed_until = None
        if source == "all":
            billed_until = period.start if cutoff is None else cutoff
        org = _org_part(store, pricer, period, by, now, billed_until)
    if source in ("proxy", "all"):
        proxy_start = period.start
        if source == "all" and cutoff is not None and cutoff > proxy_start:
            proxy_start = min(cutoff, period.end)
        proxy = _proxy_part(store, pricer, proxy_start, period.end, by)
    return _Parts(org, proxy, cutoff, proxy_start)


def _name_for(by: str | None, key: Any, names: Mapping[str, str]) -> str:
    if key is None:
        return UNATTRIBUTED
    if isinstance(key, date):
        return key.isoformat()
    if by in ("project", "key"):
        return names.get(str(key), str(key))
    return str(key)


def build_report(
    store: UsageStore,
    prices: PriceTable,
    settings: Settings,
    period: Period,
    source: str = "all",
    by: str | None = None,
    now: datetime | None = None,
    *,
    cycle_report: UsageReport | None = None,
) -> UsageReport:
    """The usage report for `period` (see the module docstring for every rule).

    The limit figures need this billing cycle's spend from the same source: when `period` is
    not the cycle, that costs a second report. A caller building several reports at one `now`
    can pass one it already has for the cycle (`cycle_report`, any grouping but "project" /
    "key", whose finer rows could price long-context buckets differently); one that does not
    match (another period, source or grouping) is ignored and the cycle is rebuilt.
    """
    source = _resolve_source(source)
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r} (use model, day, project or key)")
    now = prices.clock() if now is None else now.astimezone(UTC)  # the app's clock
    pricer = pricer_for(prices)
    parts = _parts(store, pricer, period, source, by, now)

    totals = _Acc()
    groups: dict[Any, _Acc] = {}
    days: dict[date, _Acc] = {}
    estimates: dict[date, Decimal] = {}
    unpriced: list[UnpricedModel] = []
    savings = _ZERO
    infos: list[SourceInfo] = []
    names = store.names() if by in ("project", "key") else {}
    state = store.get_sync_state(ORG_SOURCE)

    for name, part in (("org", parts.org), ("proxy", parts.proxy)):
        if part is None:
            infos.append(SourceInfo(name, False, None, None, Figures()))
            continue
        part_total = part.total()
        totals.merge(part_total)
        for key, acc in part.groups.items():
            groups.setdefault(key, _Acc()).merge(acc)
        for d, acc in part.days.items():
            days.setdefault(d, _Acc()).merge(acc)
        for d, amount in part.day_estimates.items():
            estimates[d] = estimates.get(d, _ZERO) + amount
        for model, (req, inp, cached, out, units, endpoints) in sorted(
            part.unpriced.items(), key=lambda kv: (kv[0] is None, kv[0] or "")
        ):
            unpriced.append(UnpricedModel(model, name, req, inp, cached, out, units,
                                          tuple(sorted(endpoints))))
        savings += part.savings
        if name == "org":
            infos.append(SourceInfo(
                "org", True, period.start, period.end, part_total.freeze(),
                covered_through=parts.cutoff,
                last_success=state.last_success if state else None,
                last_error=state.last_error if state else None,
                last_error_at=state.last_error_at if state else None,
                settled_through=state.settled_through if state else None,
            ))
        else:
            infos.append(SourceInfo("proxy", True, parts.proxy_start, period.end,
                                    part_total.freeze(), errors=part.errors))

    if by is None:
        group_list: tuple[Group, ...] = ()
    else:
        ordered = sorted(groups.items(), key=lambda kv: _group_order(by, kv[0], kv[1]))
        group_list = tuple(Group(k, _name_for(by, k, names), a.freeze(), a.kind)
                           for k, a in ordered)

    day_list = tuple(
        DaySpend(
            day=d,
            cost_usd=a.billed + a.apportioned + a.estimated,
            basis="billed" if a.has_billed and not a.has_estimated else (
                "mixed" if a.has_billed else "estimated"),
            billed_usd=a.billed if a.has_billed else None,
            estimated_usd=estimates.get(d, _ZERO),
            requests=a.requests,
            usage=TokenUsage(input_tokens=a.input_tokens,
                             cached_input_tokens=a.cached_input_tokens,
                             output_tokens=a.output_tokens, reasoning_tokens=a.reasoning_tokens),
        )
        for d, a in sorted(days.items())
    )

    # The monthly limit: this billing cycle's spend from the same source.
    cycle = billing_cycle(now, settings.cycle_start_day)
    if period == cycle:
        cycle_cost = totals.freeze().cost_usd
        cycle_days = day_list
    else:
        if not _reusable_cycle(cycle_report, cycle, source):
            cycle_report = build_report(store, prices, settings, cycle, source, None, now)
        assert cycle_report is not None
        cycle_cost = cycle_report.totals.cost_usd
        cycle_days = cycle_report.days
    status = budget_status(cycle_cost, settings.monthly_limit_usd, cycle, now,
                           [(d.day, d.cost_usd) for d in cycle_days],
                           data_since=store.data_since(source))

    notes = []
    if parts.org is not None:
        notes.append("org usage has no reasoning-token field: reasoning_tokens counts proxy "
                     "records only")
    if unpriced:
        notes.append("some usage has no price in the price table; add it to the price "
                     "override (prices.json in the config dir)")
    unmetered = estimated = 0
    if parts.proxy_start is not None and parts.proxy_start < period.end:
        unmetered, estimated = store.unmetered_counts(parts.proxy_start, period.end)
    if unmetered:
        notes.append(f"{unmetered} proxied requests had no usable usage in their response "
                     f"({estimated} with input tokens estimated from the request)")
    spooled = RecordSpool(spool_path_for(store.path)).pending()
    if spooled:
        notes.append(f"{spooled} proxy records wait in the spool: the usage database could "
                     "not take them yet; they are stored when it can")

    return UsageReport(
        period=period, source=source, by=by, totals=totals.freeze(), groups=group_list,
        unpriced_models=tuple(unpriced), limit_usd=settings.monthly_limit_usd, cycle=cycle,
        cycle_cost_usd=cycle_cost, used_fraction=status.used_fraction,
        projected_cost_usd=status.projected_spend,
        projection_basis_days=status.projection_basis_days,
        limit_crossed_on=status.crossing_date, org_cutoff=parts.cutoff,
        sources=tuple(infos), days=day_list, cached_savings_usd=savings,
        price_table_as_of=prices.as_of, notes=tuple(notes),
        unmetered_requests=unmetered, estimated_requests=estimated, spooled_records=spooled,
    )


def _reusable_cycle(report: UsageReport | None, cycle: Period, source: str) -> bool:
    """Whether `report` has exactly the cycle figures `build_report(..., cycle, source, None)`
    would give: same period and source, and rows priced at the ungrouped granularity."""
    return (report is not None and report.period == cycle and report.source == source
            and report.by in (None, "model", "day"))


def _group_order(by: str, key: Any, acc: _Acc) -> tuple[Any, ...]:
    if by == "day":
        return (key is None, key or date.min)
    # Biggest spenders first, then by tokens, then by name.
    return (-(acc.billed + acc.apportioned + acc.estimated),
            -(acc.input_tokens + acc.output_tokens),
            key is None, str(key))
