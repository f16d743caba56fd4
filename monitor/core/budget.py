"""Billing cycles, "today" and budget status with projection (pure; alerts: core/alert_rules).

Conventions:
- A `Period` is half-open [start, end) between aware UTC datetimes.
- The billing cycle follows OpenAI's invoices: it starts on `cycle_start_day` at 00:00 UTC, clamped
  to the month's last day (day 31 → Feb 28/29, Apr 30, …), and ends where the next one starts.
- "Today" is the calendar day in the user's zone ("local", "UTC" or an IANA name), returned as UTC
  instants; a DST change makes it 23 or 25 hours long.
- A limit of 0 means "no limit set": no fraction (None) and no projection crossing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal

MIN_PROJECTION_HOURS = 6
"""No projection from less data than this: a few early requests would extrapolate wildly."""


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Period needs timezone-aware datetimes")
        if self.end < self.start:
            raise ValueError(f"Period ends ({self.end}) before it starts ({self.start})")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def contains(self, when: datetime) -> bool:
        return self.start <= when < self.end

def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    return now.astimezone(UTC)


def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return (nxt - date(year, month, 1)).days


def _cycle_anchor(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, min(day, _days_in_month(year, month)), tzinfo=UTC)


def _zone(tz: str) -> tzinfo:
    """The zone of an IANA name ("UTC" included); zoneinfo is imported on first use, as only
    a named "today" zone needs it (start-up time of `status`)."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


def billing_cycle(now: datetime, cycle_start_day: int) -> Period:
    """The billing cycle containing `now` (UTC, clamped to short months)."""
    if not 1 <= cycle_start_day <= 31:
        raise ValueError(f"cycle_start_day must be 1..31, got {cycle_start_day}")
    now = _utc(now)
    start = _cycle_anchor(now.year, now.month, cycle_start_day)
    if start > now:
        y, m = _add_months(now.year, now.month, -1)
        start = _cycle_anchor(y, m, cycle_start_day)
    y, m = _add_months(start.year, start.month, 1)
    return Period(start, _cycle_anchor(y, m, cycle_start_day))


def previous_cycle(now: datetime, cycle_start_day: int) -> Period:
    """The billing cycle before the one containing `now`."""
    current = billing_cycle(now, cycle_start_day)
    return billing_cycle(current.start - timedelta(microseconds=1), cycle_start_day)


def _local_midnight(d: date) -> datetime:
    # Naive datetimes' timestamp() follows the C library's local zone, DST included.
    ts = datetime.combine(d, time()).timestamp()
    return datetime.fromtimestamp(ts, UTC)


def day_period(day: date, tz: str) -> Period:
    """The calendar day `day` in zone `tz` ("local", "UTC" or IANA), as UTC instants."""
    nxt = day + timedelta(days=1)
    if tz == "local":
        return Period(_local_midnight(day), _local_midnight(nxt))
    zone = UTC if tz == "UTC" else _zone(tz)
    # fold=0 on a skipped midnight maps to the first instant that exists that day.
    return Period(datetime.combine(day, time(), zone), datetime.combine(nxt, time(), zone))


def local_date(now: datetime, tz: str) -> date:
    """The calendar date of `now` in zone `tz`."""
    now = _utc(now)
    if tz == "local":
        return datetime.fromtimestamp(now.timestamp()).date()
    return now.astimezone(UTC if tz == "UTC" else _zone(tz)).date()


def today_period(now: datetime, tz: str) -> Period:
    """"Today" in `tz` as UTC instants (23 or 25 hours long on DST change days)."""
    return day_period(local_date(now, tz), tz)


def yesterday_period(now: datetime, tz: str) -> Period:
    return day_period(local_date(now, tz) - timedelta(days=1), tz)


def month_period(year: int, month: int) -> Period:
    """A calendar month in UTC (how OpenAI's usage and costs buckets are aligned)."""
    y, m = _add_months(year, month, 1)
    return Period(datetime(year, month, 1, tzinfo=UTC), datetime(y, m, 1, tzinfo=UTC))


def days_period(first: date, last: date) -> Period:
    """UTC days `first` through `last`, both included."""
    if last < first:
        raise ValueError(f"{last} is before {first}")
    return Period(
        datetime.combine(first, time(), UTC),
        datetime.combine(last + timedelta(days=1), time(), UTC),
    )


@dataclass(frozen=True)
class BudgetStatus:
    """Spend of one cycle against the limit, and where the current pace leads.

    - `used_fraction`: spend / limit (1 = the whole limit), None when limit is 0 (no limit).
    - `projected_spend`: spend + run-rate × the rest of the cycle; None before
      `MIN_PROJECTION_HOURS` of data. The run-rate is spend over the part of the cycle the
      sources observed (`projection_basis_days` days of data).
    - `crossing_date`: the UTC date the limit is (or was) crossed: the day it happened when
      already over (from the daily history, else None), otherwise the day the pace reaches it,
      None when that is not within this cycle.
    """

    cycle: Period
    now: datetime
    spend: Decimal
    limit: Decimal
    remaining: Decimal
    used_fraction: Decimal | None
    projected_spend: Decimal | None
    projection_basis_days: Decimal | None
    crossing_date: date | None
    over_limit: bool
    projected_over: bool

    @property
    def cycle_start(self) -> date:
        return self.cycle.start.date()


SINCE_EVER = datetime.min.replace(tzinfo=UTC)
"""`data_since` for a source that watched every instant (e.g. after an org backfill)."""


def budget_status(
    spend: Decimal,
    limit: Decimal,
    cycle: Period,
    now: datetime,
    daily: Iterable[tuple[date, Decimal]] | None = None,
    data_since: datetime | None = SINCE_EVER,
) -> BudgetStatus:
    """Spend against `limit` in `cycle` at `now`; `daily` (UTC date, spend) dates a crossing.

    `data_since` is the first instant the sources watched (the whole cycle by default). A
    projection divides spend by the time actually observed, so a proxy started yesterday is
    not averaged over the whole month; None (no data at all) gives no projection.
    """
    now = _utc(now)
    if limit < 0:
        raise ValueError("limit must not be negative")
    at = min(max(now, cycle.start), cycle.end)
    observed_from = cycle.start if data_since is None else max(cycle.start, _utc(data_since))
    elapsed = (at - cycle.start).total_seconds()
    observed = (at - observed_from).total_seconds() if data_since is not None else 0.0
    total = cycle.duration.total_seconds()
    has_limit = limit > 0
    fraction = spend / limit if has_limit else None
    over = has_limit and spend >= limit

    projected: Decimal | None = None
    basis: Decimal | None = None
    rate: Decimal | None = None  # dollars per second
    if observed >= MIN_PROJECTION_HOURS * 3600:
        rate = spend / Decimal(observed)
        projected = spend + rate * Decimal(total - elapsed)
        basis = (Decimal(observed) / Decimal(86_400)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )

    crossing: date | None = None
    if has_limit and over and daily is not None:
        running = Decimal(0)
        for day, amount in sorted(daily):
            running += amount
            if running >= limit:
                crossing = day
                break
    elif has_limit and not over and rate is not None and rate > 0:
        seconds = (limit - spend) / rate
        # Compare before building a datetime: a tiny rate gives a date past year 9999.
        if seconds < Decimal((cycle.end - at).total_seconds()):
            crossing = (at + timedelta(seconds=float(seconds))).date()

    return BudgetStatus(
        cycle=cycle,
        now=now,
        spend=spend,
        limit=limit,
        remaining=limit - spend,
        used_fraction=fraction,
        projected_spend=projected,
        projection_basis_days=basis,
        crossing_date=crossing,
        over_limit=over,
        projected_over=has_limit and projected is not None and projected > limit,
    )


def crossing_phrase(day: date, over_limit: bool) -> str:
    """The CLI's words for `BudgetStatus.crossing_date`: past when the limit is already
    crossed, future (a projection) otherwise: `limit crossed Dec 19` / `will cross the limit
    around Dec 19`."""
    return f"limit crossed {day:%b %d}" if over_limit else \
        f"will cross the limit around {day:%b %d}"

