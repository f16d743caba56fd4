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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from monitor.core.budget import Period, billing_cycle, budget_status
from monitor.core.prices import PriceTable
from monitor.core.prices.buckets import Pricer, pricer_for
from monitor.core.settings import Settings
from monitor.core.usage import TokenUsage
from monitor.services.record_spool import RecordSpool, spool_path_for
from monitor.services.store import ORG_SOURCE, UsageStore
from monitor.services.usage_figures import (
    BILL_DIFFERENCE_THRESHOLD,
    MONEY_PLACES,
    DaySpend,
    Figures,
    Group,
    SourceInfo,
    UnpricedModel,
    UsageReport,
    money,
)
from monitor.services.usage_parts import (
    Acc,
    Part,
    line_item_model,
    org_part,
    price_by_bucket,
    proxy_part,
)

__all__ = [  # the report's records and helpers, so callers need one import path
    "BILL_DIFFERENCE_THRESHOLD", "GROUPINGS", "MONEY_PLACES", "SOURCES", "DaySpend", "Figures",
    "Group", "SourceInfo", "UnpricedModel", "UsageReport", "build_report", "line_item_model",
    "money", "price_by_bucket", "pricer_for",
]

SOURCES = ("org", "proxy", "all")
GROUPINGS = ("model", "day", "project", "key")
UNATTRIBUTED = "(unattributed)"
_ZERO = Decimal(0)


def _resolve_source(source: str) -> str:
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r} (use org, proxy or all)")
    return source


@dataclass(frozen=True)
class Parts:
    org: Part | None
    proxy: Part | None
    cutoff: datetime | None
    proxy_start: datetime | None


def _parts(store: UsageStore, pricer: Pricer, period: Period, source: str, by: str | None,
           now: datetime) -> Parts:
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
        org = org_part(store, pricer, period, by, now, billed_until)
    if source in ("proxy", "all"):
        proxy_start = period.start
        if source == "all" and cutoff is not None and cutoff > proxy_start:
            proxy_start = min(cutoff, period.end)
        proxy = proxy_part(store, pricer, proxy_start, period.end, by)
    return Parts(org, proxy, cutoff, proxy_start)


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

    totals = Acc()
    groups: dict[Any, Acc] = {}
    days: dict[date, Acc] = {}
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
            groups.setdefault(key, Acc()).merge(acc)
        for d, acc in part.days.items():
            days.setdefault(d, Acc()).merge(acc)
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


def _group_order(by: str, key: Any, acc: Acc) -> tuple[Any, ...]:
    if by == "day":
        return (key is None, key or date.min)
    # Biggest spenders first, then by tokens, then by name.
    return (-(acc.billed + acc.apportioned + acc.estimated),
            -(acc.input_tokens + acc.output_tokens),
            key is None, str(key))
