""""What would this period have cost on MODEL": the same token counts at another model's rates.

Same source rule as the usage report (org usage where it is authoritative, proxy records after
it), same token counts (input, cached, cache write, audio, image, output; reasoning is output),
service tier and batch flag kept, MODEL's rates in force at each usage's time. Org buckets
follow the long-context bucket rule of `core.prices.buckets.Pricer` (refined by the stored buckets,
`price_by_bucket`); proxy records are priced one
request at a time (each knows its own size). Usage without tokens (images by count, tools,
storage) has nothing to reprice and adds 0; `actual_cost_usd` is the report's own figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from monitor.core.prices import PriceTable, pricer_for
from monitor.services.store import UsageStore
from monitor.services.usage_figures import UsageReport, money
from monitor.services.usage_parts import price_by_bucket

_ZERO = Decimal(0)
_ORG_DIM = {"model": "model", "day": "day", "project": "project_id", "key": "api_key_id"}


class UnknownModelError(ValueError):
    """The model to reprice on has no price in the table."""


@dataclass(frozen=True)
class RepriceGroup:
    """One group of the report (same key and name), actual and repriced."""

    key: Any
    name: str
    actual_cost_usd: Decimal
    cost_usd: Decimal

    def to_json(self) -> dict[str, Any]:
        key = self.key.isoformat() if isinstance(self.key, date) else self.key
        return {"key": key, "name": self.name, "cost_usd": money(self.cost_usd),
                "actual_cost_usd": money(self.actual_cost_usd),
                "difference_usd": money(self.cost_usd - self.actual_cost_usd)}


@dataclass(frozen=True)
class Reprice:
    """The `reprice` object of `usage --reprice MODEL --json`."""

    model: str
    resolved: str
    cost_usd: Decimal
    actual_cost_usd: Decimal
    groups: tuple[RepriceGroup, ...] = ()
    long_context: str = "exact"  # "estimated" when an org bucket could not prove its rates

    @property
    def difference_usd(self) -> Decimal:
        return self.cost_usd - self.actual_cost_usd

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "resolved": self.resolved,
                "cost_usd": money(self.cost_usd),
                "actual_cost_usd": money(self.actual_cost_usd),
                "difference_usd": money(self.difference_usd),
                "long_context": self.long_context,
                "groups": [g.to_json() for g in self.groups]}


def reprice(store: UsageStore, prices: PriceTable, report: UsageReport, model: str) -> Reprice:
    """Reprice `report`'s usage (its period, source and grouping) on `model`.

    Raises:
        UnknownModelError: `model` has no price in the table.
    """
    res = prices.resolve(model)
    if res.info is None:
        raise UnknownModelError(model)
    pricer = pricer_for(prices)
    by = report.by
    sums: dict[Any, Decimal] = {}
    lc_estimated = False

    def add(key: Any, amount: Decimal) -> None:
        sums[key] = sums.get(key, _ZERO) + amount

    org = next((s for s in report.sources if s.name == "org" and s.included), None)
    if org is not None:
        dim = _ORG_DIM.get(by) if by else None
        dims = ["day", "service_tier", "batch"] + ([dim] if dim and dim != "day" else [])
        for row in store.org_usage(report.period.start, report.period.end, dims):
            assert row.day is not None
            priced = pricer.price(model, row.usage, row.requests, row.day, row.service_tier,
                                  bool(row.batch))
            if priced.long_context == "estimated":  # the stored buckets may prove more
                priced = price_by_bucket(store, pricer, report.period, row, dims[1:], model)
            lc_estimated |= priced.long_context == "estimated"
            add(getattr(row, dim) if dim else None, priced.usd or _ZERO)
    proxy = next((s for s in report.sources if s.name == "proxy" and s.included), None)
    if proxy is not None and proxy.start is not None and proxy.end is not None:
        for rec in store.proxy_records(proxy.start, proxy.end):
            if rec.status >= 400 or rec.usage.is_zero():
                continue
            cost = prices.cost(model, rec.usage, at=rec.time, service_tier=rec.service_tier)
            key = {"model": rec.model, "day": rec.time.date(), "key": rec.key_label}.get(
                by or "")
            add(key, cost.usd or _ZERO)
    total = sum(sums.values(), _ZERO)
    groups = tuple(RepriceGroup(g.key, g.name, g.figures.cost_usd, sums.pop(g.key, _ZERO))
                   for g in report.groups)
    return Reprice(model, res.info.name, total, report.totals.cost_usd, groups,
                   "estimated" if lc_estimated else "exact")
