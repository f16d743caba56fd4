"""Each source's part of a usage report: org usage priced per bucket or billed by the Costs
API (line items attributed, the rest apportioned), proxy records at their recorded cost.

The rules are the usage report's (`monitor.services.usage_report`'s docstring); this module
reconciles billed and estimated dollars day by day and group by group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from monitor.core.budget import Period
from monitor.core.prices import PriceTable
from monitor.core.prices.buckets import Priced, Pricer
from monitor.core.usage import TokenUsage
from monitor.services.store import CostRow, OrgUsageRow, ProxyUsageRow, UsageStore
from monitor.services.usage_figures import Figures

_ZERO = Decimal(0)
_DAY = timedelta(days=1)


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time(), UTC)


@dataclass
class Acc:
    """Running figures of a group, a day or a total while a report is built (`freeze` makes
    the report's `Figures`)."""

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

    def merge(self, other: Acc) -> None:
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
class Part:
    """One source's contribution: accumulators per group key and per day."""

    groups: dict[Any, Acc] = field(default_factory=dict)
    days: dict[date, Acc] = field(default_factory=dict)
    day_estimates: dict[date, Decimal] = field(default_factory=dict)  # incl. billed days
    unpriced: dict[str | None, list[Any]] = field(default_factory=dict)
    savings: Decimal = _ZERO
    errors: int = 0

    def acc(self, key: Any) -> Acc:
        a = self.groups.get(key)
        if a is None:
            a = self.groups[key] = Acc()
        return a

    def day(self, d: date) -> Acc:
        a = self.days.get(d)
        if a is None:
            a = self.days[d] = Acc()
        return a

    def total(self) -> Acc:
        out = Acc()
        for a in self.days.values():
            out.merge(a)
        return out


def _note_unpriced(part: Part, model: str | None, requests: int, usage: TokenUsage,
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


def org_part(
    store: UsageStore, pricer: Pricer, period: Period, by: str | None, now: datetime,
    billed_until: datetime | None,
) -> Part:
    """Org usage in `period`; billed dollars for whole, closed days before `billed_until`."""
    part = Part()
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


def proxy_part(
    store: UsageStore, pricer: Pricer, start: datetime, end: datetime, by: str | None
) -> Part:
    """Proxy records in [start, end) at the cost recorded with each (cached savings by the
    bucket rules)."""
    part = Part()
    if start >= end:
        return part

    def fold(a: Acc, row: ProxyUsageRow) -> None:
        a.add_usage(row.made, row.usage)
        a.estimated += row.cost
        a.has_estimated |= row.made > row.unpriced_requests
        a.unpriced_requests += row.unpriced_requests

    rows: Iterable[ProxyUsageRow] = store.proxy_usage(
        start, end, ["day", "model", "service_tier", "endpoint"]
    )
    for row in rows:
        assert row.day is not None
        part.errors += row.errors
        if row.only_errors:  # a refusal or a failure is counted as such, never as a model row
            continue
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
            if not row.only_errors:
                fold(part.acc(row.key_label), row)
    return part

