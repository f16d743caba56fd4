"""Building the dashboard snapshot from the store: reports, sources, history, credit, what-if.

Blocking (SQLite and the usage report): `build_snapshot` runs on the TaskRunner, off the GUI
thread. The records it fills are in `snapshot`; billed vs estimated rows in
`billed_vs_estimated`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from monitor.core.usage import TokenUsage
from monitor.services.billed_vs_estimated import recon_rows
from monitor.services.snapshot import (
    CreditStatus,
    CycleFigures,
    DashboardSnapshot,
    DayPoint,
    GroupRow,
    HourPoint,
    OrgSourceStatus,
    PeriodTables,
    ProxySourceStatus,
    RateLimitRow,
    RejectedKey,
    RuntimeStatus,
    ShownPeriod,
    TodayFigures,
    WhatIf,
)

if TYPE_CHECKING:
    from monitor.core.budget import Period
    from monitor.core.prices import PriceTable
    from monitor.core.settings import Settings
    from monitor.services.store import UsageStore
    from monitor.services.usage_report import DaySpend, Group, UsageReport


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
        requests_today=sum(r.made for r in proxy_today),
        refused_or_failed_today=sum(r.errors for r in proxy_today),
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
        recon=recon_rows(store, prices, by_model, cycle, now),
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
