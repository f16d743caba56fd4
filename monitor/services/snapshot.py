"""The dashboard snapshot: every number the tray and dashboard show, as frozen records.

Qt-free and frozen: built off the GUI thread by `snapshot_build.build_snapshot`, carried by
AppState's `snapshot_changed` signal, and rendered by widgets that do no queries of their own.
Only the records live here, so the GUI can load them at start-up without the builder's imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from monitor.core.usage import TokenUsage

if TYPE_CHECKING:  # the builder imports these itself: the GUI loads this module at start-up
    from monitor.core.budget import BudgetStatus
    from monitor.services.reprice import RepriceGroup


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
    requests_today: int = 0  # answered (status < 400), as `usage` counts requests
    refused_or_failed_today: int = 0  # status >= 400: cap refusals, upstream errors
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
