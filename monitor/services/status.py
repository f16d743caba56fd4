"""The glance figures: today's and this cycle's spend, the state they put the budget in, freshness.

What `token-monitor status`, `budget --check` and the tray's number icon show. The figures are
the usage report's own (`build_report` for this billing cycle by model and for "today"), so
they always equal `token-monitor usage` for the same period; this module only adds the
verdicts a status bar needs:

- `state`: `no_data` (nothing synced or proxied yet), `stale` (no source updated within two
  poll intervals), else by the share of the monthly limit spent this cycle: `over` at or past
  the limit, `critical` from the next-to-last alert threshold, `warn` from the first, `ok`
  below (with the default 50/80/90/100: warn from 50 %, critical from 90 %). With no limit set
  (0) the state is `ok`.
- `as_of`: when a source last brought news: the latest successful org sync, the running
  proxy's latest heartbeat (every `PROXY_HEARTBEAT_S`, so an idle proxy is not stale) or the
  newest proxy record, whichever is later; `stale` when that is older than 2 ×
  `poll_interval_s`.

Qt-free and network-free; it imports neither tiktoken nor aiohttp, so a status bar can run it
every few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from monitor.core.budget import Period, billing_cycle, budget_status, today_period
from monitor.core.limit_share import limit_state, whole_percent
from monitor.core.money import json_usd

if TYPE_CHECKING:
    from monitor.core.prices import PriceTable
    from monitor.core.settings import Settings
    from monitor.services.store import UsageStore

STALE_AFTER_POLLS = 2


@dataclass(frozen=True)
class ModelSpend:
    """One model's spend this cycle (a tooltip line); `cost_usd` None: no price known."""

    model: str
    cost_usd: Decimal | None
    tokens: int


@dataclass(frozen=True)
class StatusFigures:
    """Everything `status` prints, at one instant."""

    now: datetime
    today: Period
    cycle: Period
    today_usd: Decimal
    today_tokens: int  # input + output tokens (cached and reasoning are parts of those)
    cycle_usd: Decimal
    limit_usd: Decimal
    used_fraction: Decimal | None  # None: no limit set
    projected_usd: Decimal | None  # None: too little of the cycle observed to project
    cost_basis: str  # of the cycle's dollars: "billed" | "estimated" | "mixed"
    state: str
    as_of: datetime | None
    stale: bool
    models: tuple[ModelSpend, ...] = ()

    @property
    def percent(self) -> int:
        """Used share of the limit in whole percent, by the one rule (0 with no limit)."""
        return whole_percent(self.used_fraction) or 0

    def to_json(self) -> dict[str, Any]:
        """The `status --format json` contract (Decimals become numbers in print_json)."""
        return {
            "today_usd": json_usd(self.today_usd),
            "today_tokens": self.today_tokens,
            "cycle_usd": json_usd(self.cycle_usd),
            "limit_usd": json_usd(self.limit_usd),
            "used_fraction": self.used_fraction,
            "projected_usd": json_usd(self.projected_usd),
            "cost_basis": self.cost_basis,
            "state": self.state,
            "as_of": self.as_of.isoformat() if self.as_of is not None else None,
            "stale": self.stale,
        }


def state_for(
    used_fraction: Decimal | None,
    thresholds_pct: tuple[int, ...],
    *,
    has_data: bool,
    stale: bool,
) -> str:
    """The one-word state (see the module docstring for the order of the rules)."""
    if not has_data:
        return "no_data"
    if stale:
        return "stale"
    return limit_state(used_fraction, thresholds_pct)


def last_update(store: UsageStore) -> datetime | None:
    """When a source last brought news: the latest successful org sync, proxy heartbeat (a
    running proxy that saw no request still vouches that none went unmetered) or proxy
    record."""
    from monitor.services.store import ORG_SOURCE, PROXY_SOURCE

    found: list[datetime] = []
    for source in (ORG_SOURCE, PROXY_SOURCE):
        state = store.get_sync_state(source)
        if state is not None and state.last_success is not None:
            found.append(state.last_success)
    latest = store.proxy_records(limit=1)
    if latest:
        found.append(latest[0].time)
    return max(found) if found else None


def is_stale(as_of: datetime | None, now: datetime, poll_interval_s: int) -> bool:
    """True when no source updated within `STALE_AFTER_POLLS` poll intervals of `now`."""
    if as_of is None:
        return True
    return now - as_of > timedelta(seconds=STALE_AFTER_POLLS * poll_interval_s)


@dataclass(frozen=True)
class StatusBasis:
    """The part of the figures that only a store write, a settings or price change, or the
    day, cycle or UTC date turning can change (`figures_at` adds what moves with the clock:
    the projection, freshness and state). `status` caches it between runs
    (monitor/services/status_cache.py)."""

    computed_at: datetime
    today: Period
    cycle: Period
    today_usd: Decimal
    today_tokens: int
    cycle_usd: Decimal
    limit_usd: Decimal
    cost_basis: str
    as_of: datetime | None
    has_data: bool
    data_since: datetime | None  # the first instant the sources watched (for the projection)
    poll_interval_s: int
    alert_thresholds_pct: tuple[int, ...]
    cycle_start_day: int
    today_timezone: str
    models: tuple[ModelSpend, ...] = ()

    def holds_at(self, now: datetime) -> bool:
        """Whether the basis still describes `now`: not before it was computed, on the same
        UTC date (org days are billed by UTC date), the same "today" and the same cycle."""
        now = now.astimezone(UTC)
        return (self.computed_at <= now and now.date() == self.computed_at.date()
                and today_period(now, self.today_timezone) == self.today
                and billing_cycle(now, self.cycle_start_day) == self.cycle)


def build_basis(
    store: UsageStore, prices: PriceTable, settings: Settings, now: datetime,
) -> StatusBasis:
    """The time-free figures at `now` (the caller's injected clock), from the usage report."""
    from monitor.services.usage_report import build_report

    now = now.astimezone(UTC)
    cycle = billing_cycle(now, settings.cycle_start_day)
    cycle_r = build_report(store, prices, settings, cycle, "all", "model", now)
    today = today_period(now, settings.today_timezone)
    today_r = build_report(store, prices, settings, today, "all", None, now,
                           cycle_report=cycle_r)
    as_of = last_update(store)
    unpriced = {u.model for u in cycle_r.unpriced_models}
    models = tuple(
        ModelSpend(
            str(g.key) if g.key is not None else "(no model)",
            None if (g.figures.cost_usd == 0 and g.key in unpriced) else g.figures.cost_usd,
            g.figures.input_tokens + g.figures.output_tokens,
        )
        for g in cycle_r.groups
    )
    t = today_r.totals
    return StatusBasis(
        computed_at=now,
        today=today,
        cycle=cycle,
        today_usd=t.cost_usd,
        today_tokens=t.input_tokens + t.output_tokens,
        cycle_usd=cycle_r.cycle_cost_usd,
        limit_usd=cycle_r.limit_usd,
        cost_basis=cycle_r.totals.cost_basis,
        as_of=as_of,
        has_data=as_of is not None or store.latest_usage_end() is not None,
        data_since=store.data_since("all"),
        poll_interval_s=settings.poll_interval_s,
        alert_thresholds_pct=settings.alert_thresholds_pct,
        cycle_start_day=settings.cycle_start_day,
        today_timezone=settings.today_timezone,
        models=models,
    )


def figures_at(basis: StatusBasis, now: datetime) -> StatusFigures:
    """The figures at `now` (within the basis' day): projection, freshness and state follow
    the clock; the projection is the usage report's own (`budget_status`)."""
    now = now.astimezone(UTC)
    budget = budget_status(basis.cycle_usd, basis.limit_usd, basis.cycle, now,
                           data_since=basis.data_since)
    stale = is_stale(basis.as_of, now, basis.poll_interval_s)
    return StatusFigures(
        now=now,
        today=basis.today,
        cycle=basis.cycle,
        today_usd=basis.today_usd,
        today_tokens=basis.today_tokens,
        cycle_usd=basis.cycle_usd,
        limit_usd=basis.limit_usd,
        used_fraction=budget.used_fraction,
        projected_usd=budget.projected_spend,
        cost_basis=basis.cost_basis,
        state=state_for(budget.used_fraction, basis.alert_thresholds_pct,
                        has_data=basis.has_data, stale=stale),
        as_of=basis.as_of,
        stale=stale,
        models=basis.models,
    )


def build_status(
    store: UsageStore, prices: PriceTable, settings: Settings, now: datetime,
) -> StatusFigures:
    """The glance figures at `now` (the caller's injected clock), from the usage report."""
    return figures_at(build_basis(store, prices, settings, now), now)


def next_change(figures: StatusFigures, poll_interval_s: int) -> datetime:
    """The next instant the figures can change without a store write: today or the cycle
    ends, or the data turns stale (for `status --watch`)."""
    edges = [figures.today.end, figures.cycle.end]
    if figures.as_of is not None and not figures.stale:
        edges.append(figures.as_of + timedelta(seconds=STALE_AFTER_POLLS * poll_interval_s,
                                               microseconds=1))
    return min(edges)
