"""Billing cycles, "today" across DST, budget status/projection and once-per-cycle alerts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from monitor.core.alert_rules import Alert
from monitor.core.alert_rules import budget as budget_alerts
from monitor.core.alert_texts import english
from monitor.core.budget import (
    BudgetStatus,
    Period,
    billing_cycle,
    budget_status,
    day_period,
    days_period,
    month_period,
    previous_cycle,
    today_period,
    yesterday_period,
)
from monitor.services.store import UsageStore

D = Decimal


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# ---- billing cycles ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "day", "start", "end"),
    [
        (utc(2026, 11, 23, 12), 1, utc(2026, 11, 1), utc(2026, 12, 1)),
        (utc(2026, 11, 1), 1, utc(2026, 11, 1), utc(2026, 12, 1)),  # exactly at the start
        (utc(2026, 10, 31, 23, 59, 59), 1, utc(2026, 10, 1), utc(2026, 11, 1)),
        (utc(2026, 11, 14, 23), 15, utc(2026, 10, 15), utc(2026, 11, 15)),
        (utc(2026, 11, 15), 15, utc(2026, 11, 15), utc(2026, 12, 15)),
        (utc(2026, 12, 20), 15, utc(2026, 12, 15), utc(2027, 1, 15)),  # across the year end
        (utc(2027, 1, 3), 15, utc(2026, 12, 15), utc(2027, 1, 15)),
        # day 31 clamps to short months
        (utc(2026, 2, 10), 31, utc(2026, 1, 31), utc(2026, 2, 28)),
        (utc(2026, 2, 28), 31, utc(2026, 2, 28), utc(2026, 3, 31)),
        (utc(2026, 3, 30, 23), 31, utc(2026, 2, 28), utc(2026, 3, 31)),
        (utc(2026, 4, 30, 1), 31, utc(2026, 4, 30), utc(2026, 5, 31)),
        # leap years
        (utc(2028, 2, 29, 5), 31, utc(2028, 2, 29), utc(2028, 3, 31)),
        (utc(2028, 2, 28, 5), 31, utc(2028, 1, 31), utc(2028, 2, 29)),
        (utc(2028, 2, 29), 29, utc(2028, 2, 29), utc(2028, 3, 29)),
        (utc(2027, 3, 1), 29, utc(2027, 2, 28), utc(2027, 3, 29)),
        (utc(2027, 2, 27), 30, utc(2027, 1, 30), utc(2027, 2, 28)),
    ],
)
def test_billing_cycle(now: datetime, day: int, start: datetime, end: datetime) -> None:
    assert billing_cycle(now, day) == Period(start, end)


def test_billing_cycle_uses_utc_not_the_callers_zone() -> None:
    from zoneinfo import ZoneInfo

    # 2026-11-01 00:30 in Berlin is still October 31 in UTC.
    now = datetime(2026, 11, 1, 0, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert billing_cycle(now, 1).start == utc(2026, 10, 1)


def test_billing_cycle_rejects_bad_day_and_naive_now() -> None:
    with pytest.raises(ValueError):
        billing_cycle(utc(2026, 1, 1), 0)
    with pytest.raises(ValueError):
        billing_cycle(utc(2026, 1, 1), 32)
    with pytest.raises(ValueError):
        billing_cycle(datetime(2026, 1, 1), 1)


def test_cycles_tile_the_timeline_without_gaps() -> None:
    for day in (1, 15, 28, 29, 30, 31):
        cycle = billing_cycle(utc(2027, 12, 20), day)
        for _ in range(30):
            prev = previous_cycle(cycle.start, day)
            assert prev.end == cycle.start
            assert billing_cycle(prev.start, day) == prev
            cycle = prev


def test_previous_cycle() -> None:
    assert previous_cycle(utc(2026, 3, 5), 31) == Period(utc(2026, 1, 31), utc(2026, 2, 28))
    assert previous_cycle(utc(2026, 1, 10), 1) == Period(utc(2025, 12, 1), utc(2026, 1, 1))


def test_month_and_day_ranges() -> None:
    assert month_period(2026, 12) == Period(utc(2026, 12, 1), utc(2027, 1, 1))
    assert days_period(date(2026, 2, 27), date(2026, 3, 1)) == Period(
        utc(2026, 2, 27), utc(2026, 3, 2)
    )
    with pytest.raises(ValueError):
        days_period(date(2026, 3, 2), date(2026, 3, 1))


# ---- "today" ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "now", "start", "hours"),
    [
        ("UTC", utc(2026, 3, 29, 12), utc(2026, 3, 29), 24),
        # Berlin: spring forward 2026-03-29 02:00 CET → 03:00 CEST (23 h day)
        ("Europe/Berlin", utc(2026, 3, 29, 12), utc(2026, 3, 28, 23), 23),
        # Berlin: fall back 2026-10-25 03:00 CEST → 02:00 CET (25 h day)
        ("Europe/Berlin", utc(2026, 10, 25, 12), utc(2026, 10, 24, 22), 25),
        # 23:30 UTC on Oct 24 is already Oct 25 in Berlin
        ("Europe/Berlin", utc(2026, 10, 24, 22, 30), utc(2026, 10, 24, 22), 25),
        # New York: 2026-03-08 (23 h), 2026-11-01 (25 h)
        ("America/New_York", utc(2026, 3, 8, 15), utc(2026, 3, 8, 5), 23),
        ("America/New_York", utc(2026, 11, 1, 15), utc(2026, 11, 1, 4), 25),
        # 02:00 UTC on Nov 2 is still Nov 1 in New York
        ("America/New_York", utc(2026, 11, 2, 2), utc(2026, 11, 1, 4), 25),
        ("Asia/Kolkata", utc(2026, 6, 1, 20), utc(2026, 6, 1, 18, 30), 24),
    ],
)
def test_today_period(zone: str, now: datetime, start: datetime, hours: int) -> None:
    today = today_period(now, zone)
    assert today.start == start
    assert today.duration == timedelta(hours=hours)
    assert today.contains(now)


def test_yesterday_period_across_dst() -> None:
    y = yesterday_period(utc(2026, 3, 30, 12), "Europe/Berlin")
    assert y.start == utc(2026, 3, 28, 23)
    assert y.duration == timedelta(hours=23)
    assert y.end == today_period(utc(2026, 3, 30, 12), "Europe/Berlin").start


@pytest.fixture
def tz_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_today_local_follows_the_process_zone(tz_env: None) -> None:
    today = today_period(utc(2026, 11, 1, 15), "local")
    assert today.start == utc(2026, 11, 1, 4)
    assert today.duration == timedelta(hours=25)
    assert day_period(date(2026, 3, 8), "local").duration == timedelta(hours=23)


# ---- budget status ---------------------------------------------------------------------------

NOV = Period(utc(2026, 11, 1), utc(2026, 12, 1))  # 30 days


def test_status_half_way() -> None:
    s = budget_status(D("30"), D("100"), NOV, utc(2026, 11, 11))  # 10 of 30 days
    assert s.remaining == D("70")
    assert s.used_fraction == D("0.3")
    assert s.projected_spend == D("90")
    assert s.projection_basis_days == D("10.00")
    assert s.crossing_date is None  # 90 < 100: not crossed within the cycle
    assert not s.over_limit and not s.projected_over


def test_status_crossing_date_at_this_pace() -> None:
    s = budget_status(D("50"), D("100"), NOV, utc(2026, 11, 11))  # $5/day
    assert s.projected_spend == D("150")
    assert s.projected_over
    assert s.crossing_date == date(2026, 11, 21)


def test_projection_uses_only_the_time_the_sources_watched() -> None:
    # Proxy started on Nov 10: $20 over 1 observed day → $20/day for the 20 days left.
    s = budget_status(D("20"), D("100"), NOV, utc(2026, 11, 11), data_since=utc(2026, 11, 10))
    assert s.projection_basis_days == D("1.00")
    assert s.projected_spend == D("420")
    assert s.crossing_date == date(2026, 11, 15)
    # Data older than the cycle counts from the cycle start.
    s = budget_status(D("20"), D("100"), NOV, utc(2026, 11, 11), data_since=utc(2026, 9, 1))
    assert s.projected_spend == D("60") and s.projection_basis_days == D("10.00")


def test_no_data_at_all_gives_no_projection() -> None:
    s = budget_status(D("0"), D("100"), NOV, utc(2026, 11, 20), data_since=None)
    assert s.projected_spend is None and s.projection_basis_days is None
    assert s.crossing_date is None and not s.projected_over
    s = budget_status(D("1"), D("100"), NOV, utc(2026, 11, 20),
                      data_since=utc(2026, 11, 20) - timedelta(hours=2))
    assert s.projected_spend is None  # two hours of data is too little to project from


def test_no_projection_from_a_few_hours() -> None:
    s = budget_status(D("5"), D("100"), NOV, utc(2026, 11, 1, 5, 59))
    assert s.projected_spend is None and s.projection_basis_days is None
    assert s.crossing_date is None
    s = budget_status(D("5"), D("100"), NOV, utc(2026, 11, 1, 6))
    assert s.projected_spend == D("600")
    assert s.projection_basis_days == D("0.25")


def test_limit_zero_means_no_limit() -> None:
    s = budget_status(D("12.5"), D("0"), NOV, utc(2026, 11, 11))
    assert s.used_fraction is None
    assert s.remaining == D("-12.5")
    assert s.crossing_date is None and not s.over_limit and not s.projected_over
    assert s.projected_spend == D("37.5")
    assert due_alerts(s, (50, 80, 100), set()) == []


def test_over_limit_dates_the_crossing_from_history() -> None:
    daily = [(date(2026, 11, d), D("20")) for d in range(1, 8)]  # 140 by Nov 7
    s = budget_status(D("140"), D("100"), NOV, utc(2026, 11, 8), daily)
    assert s.over_limit and s.remaining == D("-40")
    assert s.crossing_date == date(2026, 11, 5)
    assert budget_status(D("140"), D("100"), NOV, utc(2026, 11, 8)).crossing_date is None


def test_now_after_the_cycle_is_clamped() -> None:
    s = budget_status(D("60"), D("100"), NOV, utc(2026, 12, 5))
    assert s.projected_spend == D("60")
    assert s.projection_basis_days == D("30.00")


def test_negative_limit_rejected() -> None:
    with pytest.raises(ValueError):
        budget_status(D("1"), D("-1"), NOV, utc(2026, 11, 5))


# ---- alerts ----------------------------------------------------------------------------------


LATE = utc(2026, 11, 30)  # late in the cycle: the projection (× 30/29) stays below the limit


def due_alerts(status: BudgetStatus, thresholds: tuple[int, ...],
               fired: set[tuple[str, str]]) -> list[Alert]:
    """The budget rule (core/alert_rules), as the engine calls it."""
    return budget_alerts(status, thresholds, fired)


def _status(spend: str, limit: str, now: datetime = LATE) -> BudgetStatus:
    return budget_status(D(spend), D(limit), NOV, now)


def test_thresholds_fire_once_lowest_first() -> None:
    events = due_alerts(_status("85", "100"), (90, 50, 80, 100), set())
    assert [(e.kind, e.key) for e in events] == [("threshold", "50"), ("threshold", "80")]
    assert all(e.period == date(2026, 11, 1) for e in events)
    assert english(events[1]).body == "Spent $85.00 of $100.00 this cycle."
    assert english(events[1]).title == "85 % of your monthly limit used"  # the actual share
    fired = {(e.kind, e.key) for e in events}
    assert due_alerts(_status("89.99", "100"), (50, 80, 90, 100), fired) == []
    later = due_alerts(_status("90", "100"), (50, 80, 90, 100), fired)
    assert [(e.kind, e.key) for e in later] == [("threshold", "90")]


def test_projection_alert_once_and_not_when_already_over() -> None:
    s = _status("60", "100", utc(2026, 11, 16))  # half-way: projects 120
    events = due_alerts(s, (80,), set())
    assert [(e.kind, e.key) for e in events] == [("projection", "limit")]
    assert "over the $100.00 limit" in english(events[0]).body
    assert due_alerts(s, (80,), {("projection", "limit")}) == []
    over = due_alerts(_status("120", "100", utc(2026, 11, 16)), (80,), set())
    assert [(e.kind, e.key) for e in over] == [("threshold", "80")]


def test_limit_changed_mid_cycle() -> None:
    fired: set[tuple[str, str]] = set()
    first = due_alerts(_status("45", "50"), (50, 80, 90, 100), fired)  # 90 %
    fired |= {(e.kind, e.key) for e in first}
    assert fired >= {("threshold", "50"), ("threshold", "80"), ("threshold", "90")}
    # Raised to 200: 45 is 22.5 %; nothing new, and nothing un-fires.
    assert due_alerts(_status("45", "200"), (50, 80, 90, 100), fired) == []
    # Spend grows to 100 = 50 % of the new limit: "50" already fired this cycle.
    assert due_alerts(_status("100", "200"), (50, 80, 90, 100), fired) == []
    # Lowered to 40: 45 is past 100 % of the current limit.
    events = due_alerts(_status("45", "40"), (50, 80, 90, 100), fired)
    assert [e.key for e in events] == ["100"]


def test_alerts_persist_across_restart_and_reset_each_cycle(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    store = UsageStore(db)
    s = _status("85", "100")
    for e in due_alerts(s, (50, 80), store.fired_alerts(s.cycle_start)):
        assert store.record_alert(e.kind, e.key, e.period)
    assert not store.record_alert("threshold", "50", s.cycle_start)  # duplicate
    store.close()

    store = UsageStore(db)  # "restart"
    fired = store.fired_alerts(s.cycle_start)
    assert fired == {("threshold", "50"), ("threshold", "80")}
    assert due_alerts(s, (50, 80), fired) == []
    # The next cycle starts with nothing fired.
    dec = Period(utc(2026, 12, 1), utc(2027, 1, 1))
    nxt = budget_status(D("55"), D("100"), dec, utc(2026, 12, 2))
    assert store.fired_alerts(nxt.cycle_start) == set()
    assert [(e.kind, e.key) for e in due_alerts(nxt, (50, 80), set())] == [
        ("threshold", "50"), ("projection", "limit")
    ]
    store.close()
