"""The dashboard snapshot: every number the tray and dashboard show, built from the store.

Qt-free and frozen: built off the GUI thread by `build_snapshot`, carried by AppState's
`snapshot_changed` signal, and rendered by widgets that do no queries of their own.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from monitor.core.money import is_nil_difference
from monitor.core.money import plain as money
from monitor.core.usage import TokenUsage

if TYPE_CHECKING:  # the builder imports these itself: the GUI loads this module at start-up
    from monitor.core.budget import BudgetStatus, Period
    from monitor.core.prices import PriceTable
    from monitor.core.settings import Settings
    from monitor.services.reprice import RepriceGroup
    from monitor.services.store import UsageStore
    from monitor.services.usage_report import DaySpend, Group, UsageReport


@dataclass(frozen=True)
class GroupRow:
    """One line of a by-model / by-project / by-key table."""

    key: str  # the id (model name, project id, key id or proxy label)
    name: str  # what the user reads ("Project Alpha", "ci-key")
    requests: int
    usage: TokenUsage
    cost_usd: Decimal | None  # None: price unknown
    basis: str = "estimated"  # "billed" | "estimated" | "mixed"


@dataclass(frozen=True)
class DayPoint:
    """Spend of one day of the cycle (UTC days, as OpenAI bills)."""

    day: date
    cost_usd: Decimal  # what the dashboard counts: billed where billed, else estimated
    billed_usd: Decimal | None = None
    estimated_usd: Decimal | None = None
    requests: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)


@dataclass(frozen=True)
class ShownPeriod:
    """The period of the tables, the what-if and the CSV export: a `usage --period` name
    resolved by services/periods.py (the period picker, issue 25)."""

    name: str  # "cycle", "today", "yesterday", "previous-cycle", "2026-11", "a..b"
    start: datetime  # UTC instants, end exclusive
    end: datetime
    error: str | None = None  # the name asked for could not be read: the cycle is shown

    @property
    def first_day(self) -> date:
        return self.start.astimezone(UTC).date()

    @property
    def last_day(self) -> date:
        return (self.end.astimezone(UTC) - timedelta(microseconds=1)).date()


@dataclass(frozen=True)
class PeriodTables:
    """The shown period's figures: totals, UTC days (with tokens and requests) and groups."""

    period: ShownPeriod
    total: GroupRow
    days: tuple[DayPoint, ...] = ()
    by_model: tuple[GroupRow, ...] = ()
    by_project: tuple[GroupRow, ...] = ()
    by_key: tuple[GroupRow, ...] = ()
    billed_usd: Decimal = Decimal(0)  # of the total: the Costs API's own dollars
    estimated_usd: Decimal = Decimal(0)  # of the total: tokens × price


@dataclass(frozen=True)
class HourPoint:
    """Spend in one UTC hour, from what covers it: org hourly buckets ("org"), proxy records
    ("proxy"), or org up to its cutoff and the proxy after it ("org+proxy")."""

    start: datetime
    cost_usd: Decimal
    source: str


@dataclass(frozen=True)
class RejectedKey:
    """A key label whose latest proxied request in the last day was refused with HTTP 401."""

    key_label: str
    last_at: datetime  # the latest 401
    count: int  # 401s for the label in the window


@dataclass(frozen=True)
class ReconRow:
    """Billed vs estimated for one day and model or line item, with the reason they differ."""

    day: date
    item: str
    billed_usd: Decimal | None
    estimated_usd: Decimal | None
    explanation: str

    @property
    def difference_usd(self) -> Decimal | None:
        if self.billed_usd is None or self.estimated_usd is None:
            return None
        return self.billed_usd - self.estimated_usd


@dataclass(frozen=True)
class RateLimitRow:
    """Latest rate-limit headroom seen by the proxy for a key and model."""

    key_label: str
    model: str
    remaining_requests: int | None
    limit_requests: int | None
    remaining_tokens: int | None
    limit_tokens: int | None
    reset_requests_s: float | None
    reset_tokens_s: float | None
    seen_at: datetime


@dataclass(frozen=True)
class OrgSourceStatus:
    """The organization Usage/Costs sync."""

    configured: bool  # an admin key is available
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    settled_through: datetime | None = None  # data complete through this UTC instant
    next_sync: datetime | None = None
    syncing: bool = False

    @property
    def failing(self) -> bool:
        if self.last_error is None or self.last_error_at is None:
            return False
        return self.last_success is None or self.last_error_at >= self.last_success

    @property
    def key_lost(self) -> bool:
        """It synced before, but no admin key is available now (the only one was removed)."""
        return not self.configured and self.last_success is not None


@dataclass(frozen=True)
class ProxySourceStatus:
    """The embedded metering proxy."""

    enabled: bool
    address: str | None = None
    error: str | None = None
    requests_today: int = 0
    last_request: datetime | None = None
    rate_limits: tuple[RateLimitRow, ...] = ()
    unmetered_cycle: int = 0  # requests this cycle whose response had no usable usage
    estimated_cycle: int = 0  # of those, input estimated from the request body
    spooled_records: int = 0  # records waiting in the spool for the database
    notice: str | None = None  # running, but a configured exporter is off (why); not failing
    metrics_url: str | None = None  # where the running proxy serves /metrics ("Expose metrics")


@dataclass(frozen=True)
class CreditStatus:
    """Prepaid credit the user entered, minus spend since the purchase."""

    amount_usd: Decimal
    purchased: date | None
    expires: date | None
    spent_usd: Decimal
    remaining_usd: Decimal
    days_to_expiry: int | None

    @property
    def remaining_fraction(self) -> float:
        return float(self.remaining_usd / self.amount_usd) if self.amount_usd > 0 else 0.0


@dataclass(frozen=True)
class CycleFigures:
    """This billing cycle against the monthly limit."""

    start: date  # first UTC day of the cycle
    end: date  # first UTC day of the next cycle
    cost_usd: Decimal
    limit_usd: Decimal
    fraction: float | None  # cost / limit; None when the limit is 0
    remaining_usd: Decimal
    projected_usd: Decimal | None  # None: too little data to project
    projection_basis_days: float | None
    over_limit_on: date | None  # the day the pace crosses the limit, if it does this cycle
    basis: str  # "billed" | "estimated" | "mixed"
    billed_usd: Decimal = Decimal(0)
    estimated_usd: Decimal = Decimal(0)
    cached_savings_usd: Decimal = Decimal(0)
    unpriced_requests: int = 0  # requests whose dollars the cycle's figure leaves out
    state: str = "ok"  # limit_state of the share with the user's thresholds: every colour

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


@dataclass(frozen=True)
class TodayFigures:
    """Today, in the user's "today" time zone."""

    day: date
    cost_usd: Decimal
    requests: int
    usage: TokenUsage
    basis: str = "estimated"
    unpriced_requests: int = 0  # requests whose dollars today's figure leaves out


@dataclass(frozen=True)
class DashboardSnapshot:
    """Everything the GUI shows at one instant. Plain data; safe to pass between threads."""

    generated_at: datetime
    has_data: bool
    today: TodayFigures
    cycle: CycleFigures
    by_model: tuple[GroupRow, ...] = ()
    by_project: tuple[GroupRow, ...] = ()
    by_key: tuple[GroupRow, ...] = ()
    daily: tuple[DayPoint, ...] = ()
    recon: tuple[ReconRow, ...] = ()
    unpriced_models: tuple[str, ...] = ()
    org: OrgSourceStatus = field(default_factory=lambda: OrgSourceStatus(False))
    proxy: ProxySourceStatus = field(default_factory=lambda: ProxySourceStatus(False))
    credit: CreditStatus | None = None
    complete_through: datetime | None = None  # org data settled through (UTC)
    provisional_from: datetime | None = None  # the still-growing current bucket starts here
    prices_override: str = ""  # the file where unpriced models can be priced
    spend_history: tuple[DayPoint, ...] = ()  # the 14 UTC days before today (spike baseline)
    # Covered UTC hours of the 14 days before the last full hour, then that hour and the
    # current one (always present): the hourly spike baseline. See `_hourly_spend`.
    hourly_spend: tuple[HourPoint, ...] = ()
    rejected_keys: tuple[RejectedKey, ...] = ()  # proxy keys now refused with 401
    budget: BudgetStatus | None = None  # what threshold/projection alerts are computed from
    warnings: tuple[str, ...] = ()
    price_models: tuple[str, ...] = ()  # the price table's models (the what-if choices)
    what_if: WhatIf | None = None  # on the shown period's usage
    shown: PeriodTables | None = None  # the picked period (None: only in hand-made snapshots)

    @property
    def tables(self) -> PeriodTables:
        """The shown period's tables; the cycle's when none was built."""
        if self.shown is not None:
            return self.shown
        cycle = ShownPeriod("cycle", datetime.combine(self.cycle.start, time(), UTC),
                            datetime.combine(self.cycle.end, time(), UTC))
        total = GroupRow("", "cycle", 0, TokenUsage(), self.cycle.cost_usd, self.cycle.basis)
        return PeriodTables(cycle, total, self.daily, self.by_model, self.by_project,
                            self.by_key, self.cycle.billed_usd, self.cycle.estimated_usd)

    @property
    def failing(self) -> bool:
        return self.org.failing or self.org.key_lost or self.proxy.error is not None


@dataclass(frozen=True)
class RuntimeStatus:
    """What only the running app knows about its sources (not in the store)."""

    org_configured: bool = True
    org_syncing: bool = False
    next_sync: datetime | None = None
    proxy_enabled: bool = False
    proxy_address: str | None = None
    proxy_error: str | None = None
    proxy_notice: str | None = None  # MeteringProxy.notices: running with an exporter off
    what_if_model: str | None = None  # the By-model tab's "What if everything ran on" choice
    period: str = "cycle"  # the period picker's choice, a `usage --period` name


@dataclass(frozen=True)
class WhatIf:
    """This cycle's usage repriced on one model (`services.reprice`), for the By-model tab."""

    model: str
    resolved: str
    cost_usd: Decimal
    actual_cost_usd: Decimal
    long_context_estimated: bool = False
    by_model: tuple[RepriceGroup, ...] = ()  # per model, as `usage --reprice MODEL --by model`

    @property
    def difference_usd(self) -> Decimal:
        return self.cost_usd - self.actual_cost_usd


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------

SPIKE_HISTORY_DAYS = 14
REJECTED_KEY_WINDOW = timedelta(days=1)
REJECTED_KEY_SCAN = 5000  # newest proxy records read when looking for 401s
_DAY = timedelta(days=1)
_HOUR = timedelta(hours=1)


def _row(group: Group, unpriced: frozenset[str] = frozenset()) -> GroupRow:
    f = group.figures
    unknown = f.cost_usd == 0 and (
        (f.unpriced_requests > 0 and f.unpriced_requests >= f.requests)
        or (isinstance(group.key, str) and group.key in unpriced))
    usage = TokenUsage(input_tokens=f.input_tokens, cached_input_tokens=f.cached_input_tokens,
                       output_tokens=f.output_tokens, reasoning_tokens=f.reasoning_tokens)
    key = group.key.isoformat() if isinstance(group.key, date) else (group.key or "")
    return GroupRow(key, group.name, f.requests, usage, None if unknown else f.cost_usd,
                    f.cost_basis)


def _mark_virtual_keys(store: UsageStore, rows: tuple[GroupRow, ...]) -> tuple[GroupRow, ...]:
    """Name the proxy's virtual keys as such (`notes-bot (virtual key → team)`)."""
    from monitor.services.virtual_keys import VirtualKeys

    virtual = {k.label: k.for_label for k in VirtualKeys(store).list()}
    if not virtual:
        return rows
    return tuple(
        replace(r, name=f"{r.name} (virtual key → {virtual[r.key]})")
        if r.key in virtual else r for r in rows
    )


def build_snapshot(
    store: UsageStore,
    prices: PriceTable,
    settings: Settings,
    runtime: RuntimeStatus,
    now: datetime,
    *,
    prices_override: str = "",
) -> DashboardSnapshot:
    """Every figure of the dashboard at `now` (blocking: run it off the GUI thread)."""
    from monitor.core.budget import billing_cycle, budget_status, local_date, today_period
    from monitor.core.limit_share import limit_state
    from monitor.services.store import ORG_SOURCE
    from monitor.services.usage_report import Group, build_report

    now = now.astimezone(UTC)
    cycle = billing_cycle(now, settings.cycle_start_day)
    by_model = build_report(store, prices, settings, cycle, "all", "model", now)
    by_project = build_report(store, prices, settings, cycle, "all", "project", now)
    by_key = build_report(store, prices, settings, cycle, "all", "key", now)
    today_p = today_period(now, settings.today_timezone)
    # The other periods' limit figures reuse this cycle report instead of rebuilding it.
    today_r = build_report(store, prices, settings, today_p, "all", None, now,
                           cycle_report=by_model)
    t = today_r.totals

    state = store.get_sync_state(ORG_SOURCE)
    status = budget_status(
        by_model.cycle_cost_usd, settings.monthly_limit_usd, cycle, now,
        [(d.day, d.cost_usd) for d in by_model.days],
        data_since=store.data_since(),
    )
    totals = by_model.totals
    cycle_fig = CycleFigures(
        start=cycle.start.date(),
        end=cycle.end.date(),
        cost_usd=by_model.cycle_cost_usd,
        limit_usd=settings.monthly_limit_usd,
        fraction=float(status.used_fraction) if status.used_fraction is not None else None,
        remaining_usd=status.remaining,
        projected_usd=status.projected_spend,
        projection_basis_days=float(status.projection_basis_days)
        if status.projection_basis_days is not None else None,
        over_limit_on=status.crossing_date,
        basis=totals.cost_basis,
        billed_usd=totals.billed_usd,
        estimated_usd=totals.estimated_usd,
        cached_savings_usd=by_model.cached_savings_usd,
        unpriced_requests=totals.unpriced_requests,
        state=limit_state(status.used_fraction, settings.alert_thresholds_pct),
    )

    proxy_today = store.proxy_usage(today_p.start, today_p.end)
    latest_proxy = store.proxy_records(limit=1)
    limits = tuple(
        RateLimitRow(r.key_label, r.model, r.remaining_requests, r.limit_requests,
                     r.remaining_tokens, r.limit_tokens, r.reset_requests_s, r.reset_tokens_s,
                     r.time)
        for r in sorted(store.latest_rate_limits(), key=lambda r: (r.key_label, r.model))
    )
    proxy = ProxySourceStatus(
        enabled=runtime.proxy_enabled,
        address=runtime.proxy_address,
        error=runtime.proxy_error,
        requests_today=sum(r.requests for r in proxy_today),
        last_request=latest_proxy[0].time if latest_proxy else None,
        rate_limits=limits,
        unmetered_cycle=by_model.unmetered_requests,
        estimated_cycle=by_model.estimated_requests,
        spooled_records=by_model.spooled_records,
        notice=runtime.proxy_notice,
        # The embedded proxy serves /metrics on loopback at the setting's port while it runs
        # (services/proxy/exporters.py: export_options without command-line overrides).
        metrics_url=f"http://127.0.0.1:{settings.metrics_port}/metrics"
        if runtime.proxy_enabled and runtime.proxy_address and settings.metrics_enabled
        else None,
    )
    org = OrgSourceStatus(
        configured=runtime.org_configured,
        last_success=state.last_success if state else None,
        last_error=state.last_error if state else None,
        last_error_at=state.last_error_at if state else None,
        settled_through=state.settled_through if state else None,
        next_sync=runtime.next_sync,
        syncing=runtime.org_syncing,
    )
    latest_end = store.latest_usage_end()
    has_data = bool(
        (state is not None and state.last_success is not None)
        or latest_end is not None
        or latest_proxy
        or totals.requests
    )
    provisional = None
    if latest_end is not None and latest_end > now - timedelta(hours=1):
        provisional = now.replace(minute=0, second=0, microsecond=0)

    history_start = datetime.combine(now.date() - timedelta(days=SPIKE_HISTORY_DAYS), time(),
                                     UTC)
    history_end = datetime.combine(now.date(), time(), UTC)
    from monitor.core.budget import Period

    history = build_report(store, prices, settings, Period(history_start, history_end), "all",
                           None, now, cycle_report=by_model)
    by_day = {d.day: d.cost_usd for d in history.days}
    spend_history = tuple(
        DayPoint(history_start.date() + timedelta(days=i),
                 by_day.get(history_start.date() + timedelta(days=i), Decimal(0)))
        for i in range(SPIKE_HISTORY_DAYS)
    ) if (state is not None and state.last_success is not None
          and state.last_success - history_start >= timedelta(0)) or history.days else ()

    unpriced = tuple(dict.fromkeys(u.model or "(no model)" for u in by_model.unpriced_models))
    shown, (shown_model, shown_project, shown_key) = _shown_reports(
        store, prices, settings, runtime.period, now, cycle, (by_model, by_project, by_key))
    return DashboardSnapshot(
        generated_at=now,
        has_data=has_data,
        today=TodayFigures(
            day=local_date(now, settings.today_timezone),
            cost_usd=t.cost_usd,
            requests=t.requests,
            usage=TokenUsage(input_tokens=t.input_tokens,
                             cached_input_tokens=t.cached_input_tokens,
                             output_tokens=t.output_tokens, reasoning_tokens=t.reasoning_tokens),
            basis=t.cost_basis,
            unpriced_requests=t.unpriced_requests,
        ),
        cycle=cycle_fig,
        by_model=tuple(_row(g, frozenset(unpriced)) for g in by_model.groups),
        by_project=tuple(_row(g) for g in by_project.groups),
        by_key=_mark_virtual_keys(store, tuple(_row(g) for g in by_key.groups)),
        daily=_day_points(by_model.days),
        recon=_recon(store, prices, by_model, cycle, now),
        unpriced_models=unpriced,
        org=org,
        proxy=proxy,
        credit=_credit(store, prices, settings, now, by_model),
        complete_through=state.settled_through if state else None,
        provisional_from=provisional,
        prices_override=prices_override,
        warnings=tuple(prices.warnings),
        spend_history=spend_history,
        hourly_spend=_hourly_spend(store, prices, now),
        rejected_keys=_rejected_keys(store, now),
        budget=status,
        price_models=tuple(prices.models),
        what_if=_what_if(store, prices, shown_model, runtime.what_if_model),
        shown=PeriodTables(
            shown,
            _row(Group(None, shown.name, shown_model.totals)),
            _day_points(shown_model.days),
            tuple(_row(g, frozenset(u.model or "(no model)"
                                    for u in shown_model.unpriced_models))
                  for g in shown_model.groups),
            tuple(_row(g) for g in shown_project.groups),
            _mark_virtual_keys(store, tuple(_row(g) for g in shown_key.groups)),
            shown_model.totals.billed_usd,
            shown_model.totals.estimated_usd,
        ),
    )


def _shown_reports(store: UsageStore, prices: PriceTable, settings: Settings, name: str,
                   now: datetime, cycle: Period,
                   cycle_reports: tuple[UsageReport, UsageReport, UsageReport],
                   ) -> tuple[ShownPeriod, tuple[UsageReport, UsageReport, UsageReport]]:
    """The picked period and its by-model, by-project and by-key reports (the cycle's own
    when it is the cycle); a name that cannot be read shows the cycle and says why."""
    from monitor.services.periods import PeriodError, parse_period
    from monitor.services.usage_report import build_report

    error = None
    try:
        period = parse_period(name, now, settings)
    except PeriodError as exc:
        period, error, name = cycle, str(exc), "cycle"
    shown = ShownPeriod(name, period.start, period.end, error)
    if period == cycle:
        return shown, cycle_reports
    model, project, key = (build_report(store, prices, settings, period, "all", by, now,
                                        cycle_report=cycle_reports[0])
                           for by in ("model", "project", "key"))
    return shown, (model, project, key)


def _day_points(days: tuple[DaySpend, ...]) -> tuple[DayPoint, ...]:
    return tuple(DayPoint(d.day, d.cost_usd, d.billed_usd, d.estimated_usd, d.requests, d.usage)
                 for d in days)


def _what_if(store: UsageStore, prices: PriceTable, report: UsageReport,
             model: str | None) -> WhatIf | None:
    from monitor.services.reprice import UnknownModelError, reprice

    if not model:
        return None
    try:
        r = reprice(store, prices, report, model)
    except UnknownModelError:
        return None
    return WhatIf(r.model, r.resolved, r.cost_usd, r.actual_cost_usd,
                  r.long_context == "estimated", r.groups)


def _hourly_spend(store: UsageStore, prices: PriceTable, now: datetime) -> tuple[HourPoint, ...]:
    """Dollars per UTC hour over the 14 days before the last full hour, plus that hour and the
    current one (so far), under the source rule of the usage report.

    An hour is covered, and listed, when org hourly (`1h`) buckets exist for its UTC day (the
    sync keeps those for yesterday and today) and either for the hour itself or the org data
    is complete past it (an hour without buckets there cost nothing): its org buckets'
    dollars (tokens × price) plus proxy records after the org cutoff, as the usage report
    counts them. On days with
    only daily org rows (or no org data) an hour is listed only when the proxy recorded a
    request in it: an hour with no record may be one the proxy was not running. The last full
    hour and the current hour are always listed, with whatever is known of them.
    """
    from monitor.services.usage_report import pricer_for

    current = now.replace(minute=0, second=0, microsecond=0)
    start = current - _HOUR - timedelta(days=SPIKE_HISTORY_DAYS)
    cutoff = store.org_cutoff()
    pricer = pricer_for(prices)
    org: dict[datetime, Decimal] = {}
    org_days: set[date] = set()
    for b in store.usage_buckets(start, current + _HOUR):
        if b.width != "1h":
            continue
        org_days.add(b.start.date())
        cost = pricer.cost(b.model, b.usage, b.requests, b.start.date(), b.service_tier,
                           bool(b.batch))
        org[b.start] = org.get(b.start, Decimal(0)) + (cost or Decimal(0))
    proxy_days = {r.day for r in store.proxy_usage(start, now, ["day"]) if r.requests}
    out: list[HourPoint] = []
    hour = start
    while hour <= current:
        end = min(hour + _HOUR, now)
        by_org = hour.date() in org_days and (
            hour in org or (cutoff is not None and hour < cutoff))
        cost = org.get(hour, Decimal(0)) if by_org else Decimal(0)
        proxy_from = max(hour, cutoff) if by_org and cutoff is not None else hour
        seen = False
        if hour.date() in proxy_days and proxy_from < end:
            for r in store.proxy_usage(proxy_from, end):
                if r.requests:
                    seen = True
                    cost += r.cost
        if by_org or seen or hour >= current - _HOUR:
            source = ("org+proxy" if by_org and seen else "org" if by_org else "proxy")
            out.append(HourPoint(hour, cost, source))
        hour += _HOUR
    return tuple(out)


def _rejected_keys(store: UsageStore, now: datetime) -> tuple[RejectedKey, ...]:
    """Proxy key labels whose latest request in the last day, other than failures of other
    kinds, got HTTP 401 (a later success means the key was fixed)."""
    since = now - REJECTED_KEY_WINDOW
    failing = {r.key_label for r in store.proxy_usage(since, now, ["key_label"]) if r.errors}
    if not failing:
        return ()
    decided: dict[str, bool] = {}  # label -> rejected (decided by its newest 401 or success)
    last: dict[str, datetime] = {}
    count: dict[str, int] = {}
    for rec in store.proxy_records(since, now, limit=REJECTED_KEY_SCAN):  # newest first
        label = rec.key_label
        if label not in failing:
            continue
        if rec.status == 401:
            count[label] = count.get(label, 0) + 1
            last.setdefault(label, rec.time)
            decided.setdefault(label, True)
        elif rec.status < 400:
            decided.setdefault(label, False)
    return tuple(RejectedKey(label, last[label], count[label])
                 for label in sorted(decided) if decided[label])


def _credit(store: UsageStore, prices: PriceTable, settings: Settings,
            now: datetime, cycle_report: UsageReport | None = None) -> CreditStatus | None:
    from monitor.core.budget import Period, billing_cycle, local_date
    from monitor.services.usage_report import build_report

    amount = settings.prepaid_credit_usd
    if amount is None or amount <= 0:
        return None
    since = settings.prepaid_purchased
    start = (datetime.combine(since, time(), UTC) if since is not None
             else billing_cycle(now, settings.cycle_start_day).start)
    spent = Decimal(0)
    if start < now:
        spent = build_report(store, prices, settings, Period(start, now), "all", None,
                             now, cycle_report=cycle_report).totals.cost_usd
    today = local_date(now, settings.today_timezone)
    expires = settings.prepaid_expires
    return CreditStatus(
        amount_usd=amount, purchased=since, expires=expires, spent_usd=spent,
        remaining_usd=amount - spent,
        days_to_expiry=(expires - today).days if expires is not None else None,
    )


def _recon(store: UsageStore, prices: PriceTable, report: UsageReport, cycle: Period,
           now: datetime) -> tuple[ReconRow, ...]:
    """Billed vs estimated per UTC day, per model (billed where a Costs line item names the
    model) and per line item that names no model."""
    from monitor.services.usage_report import BILL_DIFFERENCE_THRESHOLD, line_item_model, pricer_for

    pricer = pricer_for(prices)  # shared with the reports: its per-model probes are cached
    rows = store.org_usage(cycle.start, min(cycle.end, now + _DAY),
                           ["day", "model", "service_tier", "batch"])
    per_day: dict[date, dict[str, dict[str, Any]]] = {}
    for r in rows:
        assert r.day is not None
        cost = pricer.cost(r.model, r.usage, r.requests, r.day, r.service_tier, bool(r.batch))
        info = per_day.setdefault(r.day, {}).setdefault(
            r.model or "(no model)",
            {"est": Decimal(0), "unpriced": False, "tiers": set(), "input": 0, "cached": 0})
        if (cost is None and not r.usage.is_zero()) or (
                r.units > 0 and not (r.usage.input_tokens or r.usage.output_tokens)):
            info["unpriced"] = True  # as the report: images/audio by count have no price
        elif cost is not None:
            info["est"] += cost
        if r.service_tier not in (None, "default", "auto") or r.batch:
            info["tiers"].add("batch" if r.batch else str(r.service_tier))
        info["input"] += r.usage.input_tokens
        info["cached"] += r.usage.cached_input_tokens
    line_items: dict[date, list[tuple[str | None, Decimal]]] = {}  # day -> (item, amount)
    for c in store.cost_rows(cycle.start.date(), cycle.end.date(), ["day", "line_item"]):
        if c.day is not None:
            line_items.setdefault(c.day, []).append((c.line_item, c.amount))
    today = now.date()
    out: list[ReconRow] = []
    for d in report.days:
        models = per_day.get(d.day, {})
        reasons: list[str] = []
        unpriced = sorted(m for m, i in models.items() if i["unpriced"])
        tiers = sorted({t for i in models.values() for t in i["tiers"]})
        inp = sum(i["input"] for i in models.values())
        cached = sum(i["cached"] for i in models.values())
        items = line_items.get(d.day, [])
        day_billed = d.billed_usd
        if day_billed is None and items:  # the Costs API's running figure for an open day
            day_billed = sum((a for _, a in items), Decimal(0))
        diff = None if day_billed is None else day_billed - d.estimated_usd
        if d.billed_usd is None:
            reasons.append(BILLED_SO_FAR if items else
                           "not billed yet: today's costs are still open"
                           if d.day >= today else
                           "not billed yet: the Costs API reports days late")
        elif diff is not None and is_nil_difference(diff):
            reasons.append("matches")
        else:
            if unpriced:
                reasons.append(f"unpriced models not in the estimate: {', '.join(unpriced)}")
            if tiers:
                reasons.append(f"service tiers used: {', '.join(tiers)}")
            if inp and cached:
                reasons.append(f"cached input {cached * 100 // inp} % of input")
            if diff is not None and diff > 0 and not unpriced:
                reasons.append("billed includes items without token usage (tools, storage, "
                               "images) or usage not yet synced")
            elif diff is not None and diff < 0:
                reasons.append("usage revised or billed at lower rates than the price table")
        out.append(ReconRow(d.day, ALL_MODELS, day_billed, d.estimated_usd,
                            "; ".join(reasons)))
        billed_by: dict[str, Decimal] = {}  # model -> its line items
        own_rows: dict[str, Decimal] = {}  # line items that name no model
        for label, amount in items:
            model = line_item_model(label, models, prices)
            into, key = (billed_by, model) if model is not None else (
                own_rows, label or "(no label)")
            into[key] = into.get(key, Decimal(0)) + amount
        for model, info in sorted(models.items(), key=lambda kv: -kv[1]["est"]):
            billed = billed_by.pop(model, None)
            est = None if info["unpriced"] and not info["est"] else info["est"]
            if billed is None:
                why = ("price unknown" if info["unpriced"] else
                       "per-model dollars are estimated: no line item names this model")
            elif est is None:
                why = "billed by line item; price unknown"
            elif abs(billed - est) > BILL_DIFFERENCE_THRESHOLD * max(abs(billed), abs(est)):
                why = BILL_DIFFERS
            else:
                why = "billed by line item"
            out.append(ReconRow(d.day, model, billed, est, why))
        for key, amount in sorted({**billed_by, **own_rows}.items()):
            out.append(ReconRow(d.day, key, amount, None, LINE_ITEM_ONLY))
    return tuple(out)


ALL_MODELS = "(all models)"
BILLED_SO_FAR = "billed so far: the day is still open"
BILL_DIFFERS = ("billed and tokens x price differ by more than 1 %: a price in the table may "
                "be wrong")
LINE_ITEM_ONLY = "billed line item that names no model: its own row, not spread over models"


def snapshot_csv(snap: DashboardSnapshot) -> str:
    """The shown period (the period picker's) as CSV: its total, then one row per UTC day
    (requests and tokens too), model, project and key."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "period_start", "period_end", "key", "name", "requests",
                "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens",
                "cost_usd", "basis", "billed_usd", "estimated_usd"])
    t = snap.tables
    start, end = t.period.first_day.isoformat(), t.period.last_day.isoformat()

    def counts(requests: int, u: TokenUsage) -> list[object]:
        return [requests, u.input_tokens, u.cached_input_tokens, u.output_tokens,
                u.reasoning_tokens]

    total = t.total
    w.writerow(["total", start, end, "", t.period.name, *counts(total.requests, total.usage),
                money(total.cost_usd), total.basis, money(t.billed_usd),
                money(t.estimated_usd)])
    for p in t.days:
        w.writerow(["day", start, end, p.day.isoformat(), p.day.isoformat(),
                    *counts(p.requests, p.usage), money(p.cost_usd),
                    "billed" if p.billed_usd is not None else "estimated",
                    money(p.billed_usd), money(p.estimated_usd)])
    for section, rows in (("model", t.by_model), ("project", t.by_project),
                          ("key", t.by_key)):
        for r in rows:
            w.writerow([section, start, end, r.key, r.name, *counts(r.requests, r.usage),
                        money(r.cost_usd), r.basis if r.cost_usd is not None else "unpriced",
                        "", ""])
    return buf.getvalue()
