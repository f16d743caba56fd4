"""The numbers `token-monitor usage` and the dashboard show: totals, groups, costs and their basis.

Rules (issue 3, CONTRACTS.md):
- Sources. Org usage (the admin Usage API) is authoritative for everything it covers; proxy
  records count only from `UsageStore.org_cutoff()` on (source "all"), so no request is counted
  twice. `--source org|proxy` shows one side alone.
- Dollars. A UTC day that lies wholly in the period, is over, and (source "all") is wholly
  covered by org data uses the Costs API's billed dollars when the Costs API has rows for it.
  Every other day is estimated: org tokens × the price table (model, service tier, batch, price
  in force that day), proxy records at the cost recorded when they were made. `cost_basis` says
  "billed", "estimated" or "mixed".
- Groups. Billed dollars carry project and API key ids when the sync grouped costs by them; the
  rest of a billed day (and every model split, as the Costs API has no model) is shared out in
  proportion to the day's estimated dollars per group (a day with no priced usage goes to the
  group None, "unattributed"). Project and key groups show names from `store.names()`.
- Unknown prices are never a silent $0: those requests are left out of the dollars and their
  models listed in `unpriced_models` with their tokens (non-token usage such as images, too).
- Reasoning tokens: the org Usage API has no reasoning field, so org rows contribute 0; only
  proxy records carry them.
- Aggregated org usage (per UTC day, model, tier and batch) is priced per token at the
  standard-context rates unless its average request is over the price table's long-context
  threshold: pricing a day of many requests as one would wrongly switch to long-context rates,
  and which single requests were long cannot be known from buckets.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from monitor.core.budget import Period, billing_cycle, budget_status
from monitor.core.pricing import PriceTable, normalize_tier
from monitor.core.settings import Settings
from monitor.core.usage import TokenUsage
from monitor.services.usage_store import ORG_SOURCE, CostRow, ProxyUsageRow, UsageStore

SOURCES = ("org", "proxy", "all")
GROUPINGS = ("model", "day", "project", "key")
UNATTRIBUTED = "(unattributed)"
_ZERO = Decimal(0)
_DAY = timedelta(days=1)


# --------------------------------------------------------------------------------------------
# Result records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """Requests, tokens and dollars of a total or a group.

    `cost_usd` = `billed_usd` + `estimated_usd`; requests of unknown price are counted in
    `requests` and tokens but not in dollars (`unpriced_requests`).
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

    @property
    def cost_basis(self) -> str:
        if self.has_billed and self.has_estimated:
            return "mixed"
        return "billed" if self.has_billed else "estimated"

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cost_usd": self.cost_usd,
            "cost_basis": self.cost_basis,
            "billed_usd": self.billed_usd,
            "estimated_usd": self.estimated_usd,
            "unpriced_requests": self.unpriced_requests,
        }


@dataclass(frozen=True)
class Group:
    """One line of a grouped report. `key` is the model, UTC date, project id, API key id
    (org) or key label (proxy); None = no such dimension / unattributed."""

    key: str | date | None
    name: str
    figures: Figures

    def to_json(self) -> dict[str, Any]:
        key = self.key.isoformat() if isinstance(self.key, date) else self.key
        return {"key": key, "name": self.name, **self.figures.to_json()}


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
            "limit_usd": self.limit_usd,
            "used_fraction": self.used_fraction,
            "projected_cost_usd": self.projected_cost_usd,
            "cycle": {
                "start": self.cycle.start.isoformat(), "end": self.cycle.end.isoformat(),
                "cost_usd": self.cycle_cost_usd,
                "projection_basis_days": self.projection_basis_days,
                "limit_crossed_on": self.limit_crossed_on,
            },
            "sources": {s.name: s.to_json() for s in self.sources},
            "org_cutoff": self.org_cutoff,
            "cached_savings_usd": self.cached_savings_usd,
            "price_table_as_of": self.price_table_as_of,
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------------------------
# Pricing aggregated usage
# --------------------------------------------------------------------------------------------


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time(), UTC)


class Pricer:
    """Prices aggregated usage with `PriceTable.cost`, linearly per token.

    `PriceTable.cost` decides long-context rates from the input tokens it is given, which is
    right for one request but not for an hour of many. For a bucket whose average request is
    below the threshold, the per-token rates are probed once per (model, tier, batch, price row)
    with amounts below the threshold, then applied to the bucket's totals (exactly, in Decimal).
    """

    def __init__(self, prices: PriceTable) -> None:
        self.prices = prices
        self.threshold = int(getattr(prices, "long_context_threshold", 272_000))
        self._k = 10 ** max(0, min(5, int(math.log10(max(self.threshold, 1)))))
        self._rows: dict[tuple[str, date], date | None] = {}
        self._vectors: dict[tuple[str, str, date], tuple[Decimal, ...] | None] = {}

    def _row_key(self, model: str, day: date) -> date | None:
        key = (model, day)
        if key not in self._rows:
            info = self.prices.resolve(model).info
            row = info.price_at(day) if info is not None else None
            self._rows[key] = None if row is None else row.effective_from
        return self._rows[key]

    def per_token(
        self, model: str, day: date, service_tier: str | None, batch: bool
    ) -> tuple[Decimal, ...] | None:
        """USD per token: (input, cached input, cache write, audio input, output, audio
        output), or None when the model has no price."""
        eff = self._row_key(model, day)
        if eff is None:
            return None
        tier, unrecognised = normalize_tier(service_tier, batch)
        key = (model, tier + ("?" if unrecognised else ""), eff)
        if key in self._vectors:
            return self._vectors[key]
        k = self._k
        probes = (
            TokenUsage(input_tokens=k),
            TokenUsage(input_tokens=k, cached_input_tokens=k),
            TokenUsage(input_tokens=k, cache_write_tokens=k),
            TokenUsage(input_tokens=k, audio_input_tokens=k),
            TokenUsage(output_tokens=k),
            TokenUsage(output_tokens=k, audio_output_tokens=k),
        )
        at = _day_start(day) + timedelta(hours=12)
        vector: list[Decimal] = []
        for probe in probes:
            usd = self.prices.cost(model, probe, at=at, service_tier=service_tier,
                                   batch=batch).usd
            if usd is None:
                self._vectors[key] = None
                return None
            vector.append(usd / k)
        self._vectors[key] = tuple(vector)
        return self._vectors[key]

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
        return self.price(model, usage, requests, day, service_tier, batch)[0]

    def price(
        self,
        model: str | None,
        usage: TokenUsage,
        requests: int,
        day: date,
        service_tier: str | None = None,
        batch: bool = False,
    ) -> tuple[Decimal | None, Decimal]:
        """(USD or None if the price is unknown, what cached input saved: cached tokens ×
        (input rate − cached rate))."""
        if not (usage.input_tokens or usage.output_tokens or usage.cached_input_tokens
                or usage.cache_write_tokens or usage.audio_input_tokens
                or usage.audio_output_tokens or usage.reasoning_tokens):
            return _ZERO, _ZERO
        if model is None:
            return None, _ZERO
        vector = self.per_token(model, day, service_tier, batch)
        if vector is None:
            return None, _ZERO
        r_in, r_cached, r_write, r_audio_in, r_out, r_audio_out = vector
        cached = max(usage.cached_input_tokens, 0)
        savings = cached * (r_in - r_cached) if cached else _ZERO
        if usage.input_tokens > self.threshold * max(requests, 1):
            # The average request is long-context: price it as such.
            usd = self.prices.cost(model, usage, at=_day_start(day) + timedelta(hours=12),
                                   service_tier=service_tier, batch=batch).usd
            return usd, savings
        written = max(usage.cache_write_tokens, 0)
        audio_in = max(usage.audio_input_tokens, 0)
        audio_out = max(usage.audio_output_tokens, 0)
        text_in = max(usage.input_tokens - cached - written - audio_in, 0)
        text_out = max(usage.output_tokens - audio_out, 0)
        usd = (text_in * r_in + cached * r_cached + written * r_write + audio_in * r_audio_in
               + text_out * r_out + audio_out * r_audio_out)
        return usd, savings

    def cached_savings(
        self, model: str | None, usage: TokenUsage, day: date, service_tier: str | None = None,
        batch: bool = False,
    ) -> Decimal:
        """What the cached input tokens saved: cached × (input rate − cached rate)."""
        return self.price(model, usage, 1, day, service_tier, batch)[1]


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
    estimated: Decimal = _ZERO
    has_billed: bool = False
    has_estimated: bool = False
    unpriced_requests: int = 0

    def add_usage(self, requests: int, usage: TokenUsage) -> None:
        self.requests += requests
        self.input_tokens += usage.input_tokens
        self.cached_input_tokens += usage.cached_input_tokens
        self.output_tokens += usage.output_tokens
        self.reasoning_tokens += usage.reasoning_tokens

    def merge(self, other: _Acc) -> None:
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.cached_input_tokens += other.cached_input_tokens
        self.output_tokens += other.output_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.billed += other.billed
        self.estimated += other.estimated
        self.has_billed |= other.has_billed
        self.has_estimated |= other.has_estimated
        self.unpriced_requests += other.unpriced_requests

    def freeze(self) -> Figures:
        return Figures(
            requests=self.requests, input_tokens=self.input_tokens,
            cached_input_tokens=self.cached_input_tokens, output_tokens=self.output_tokens,
            reasoning_tokens=self.reasoning_tokens, cost_usd=self.billed + self.estimated,
            billed_usd=self.billed, estimated_usd=self.estimated, has_billed=self.has_billed,
            has_estimated=self.has_estimated, unpriced_requests=self.unpriced_requests,
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

    # Estimated dollars per day and group (the weights that share out billed dollars).
    est: dict[date, dict[Any, Decimal]] = {}
    for row in rows:
        assert row.day is not None
        key = getattr(row, group_dim) if group_dim else None
        cost, saved = pricer.price(row.model, row.usage, row.requests, row.day,
                                   row.service_tier, bool(row.batch))
        part.savings += saved
        unknown = cost is None or (row.units > 0 and not (row.usage.input_tokens
                                                           or row.usage.output_tokens))
        if unknown:
            _note_unpriced(part, row.model, row.requests, row.usage, row.units, row.endpoint)
            cost = None
        g, dacc = part.acc(key), part.day(row.day)
        for a in (g, dacc):
            a.add_usage(row.requests, row.usage)
        if cost is not None:
            part.day_estimates[row.day] = part.day_estimates.get(row.day, _ZERO) + cost
            weights = est.setdefault(row.day, {})
            weights[key] = weights.get(key, _ZERO) + cost
        if row.day in billed_days:
            continue
        for a in (g, dacc):
            if cost is None:
                a.unpriced_requests += row.requests
            else:
                a.estimated += cost
                a.has_estimated = True

    if not billed_days:
        return part
    # Billed days: direct attribution by the cost dimension where present, else shares.
    cost_dim = _COST_DIM.get(by) if by else None
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
        if by is None:
            part.acc(None).billed += day_total
            part.acc(None).has_billed = True
            continue
        if by == "day":
            a = part.acc(d)
            a.billed += day_total
            a.has_billed = True
            continue
        unattributed = _ZERO
        shares: dict[Any, Decimal] = {}
        for r in cost_rows:
            key = getattr(r, cost_dim) if cost_dim else None
            if key is None:
                unattributed += r.amount
            else:
                shares[key] = shares.get(key, _ZERO) + r.amount
        if unattributed:
            for key, amount in _allocate(unattributed, est.get(d, {})).items():
                shares[key] = shares.get(key, _ZERO) + amount
        for key, amount in shares.items():
            a = part.acc(key)
            a.billed += amount
            a.has_billed = True
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
            part.savings += pricer.cached_savings(row.model, row.usage, row.day,
                                                  row.service_tier)
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
        group_list = tuple(Group(k, _name_for(by, k, names), a.freeze()) for k, a in ordered)

    day_list = tuple(
        DaySpend(
            day=d,
            cost_usd=a.billed + a.estimated,
            basis="billed" if a.has_billed and not a.has_estimated else (
                "mixed" if a.has_billed else "estimated"),
            billed_usd=a.billed if a.has_billed else None,
            estimated_usd=estimates.get(d, _ZERO),
        )
        for d, a in sorted(days.items())
    )

    # The monthly limit: this billing cycle's spend from the same source.
    cycle = billing_cycle(now, settings.cycle_start_day)
    if period == cycle:
        cycle_cost = totals.billed + totals.estimated
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

    return UsageReport(
        period=period, source=source, by=by, totals=totals.freeze(), groups=group_list,
        unpriced_models=tuple(unpriced), limit_usd=settings.monthly_limit_usd, cycle=cycle,
        cycle_cost_usd=cycle_cost, used_fraction=status.used_fraction,
        projected_cost_usd=status.projected_spend,
        projection_basis_days=status.projection_basis_days,
        limit_crossed_on=status.crossing_date, org_cutoff=parts.cutoff,
        sources=tuple(infos), days=day_list, cached_savings_usd=savings,
        price_table_as_of=prices.as_of, notes=tuple(notes),
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
    return (-(acc.billed + acc.estimated), -(acc.input_tokens + acc.output_tokens),
            key is None, str(key))


def daily_spend(
    store: UsageStore, prices: PriceTable, settings: Settings, period: Period,
    source: str = "all", now: datetime | None = None,
) -> tuple[DaySpend, ...]:
    """Per-UTC-day spend for a chart: billed where billed, else estimated, with both figures."""
    return build_report(store, prices, settings, period, source, "day", now).days


def cached_input_savings(
    store: UsageStore, prices: PriceTable, settings: Settings, period: Period,
    source: str = "all", now: datetime | None = None,
) -> Decimal:
    """What cached input saved in `period`: cached tokens × (input rate − cached rate)."""
    return build_report(store, prices, settings, period, source, None, now).cached_savings_usd
