"""Which windows an org sync pass fetches: first-run backfill, later re-fetch with grace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.services.org_sync import plan_windows
from monitor.services.store import SyncState

NOW = datetime(2026, 11, 20, 10, 30, 15, tzinfo=UTC)


def dt(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_first_run_backfills_current_and_previous_cycle() -> None:
    plan = plan_windows(NOW, None, cycle_start_day=1)
    assert plan.first_run
    assert plan.daily == (dt(2026, 10, 1), dt(2026, 11, 19))
    assert plan.hourly == (dt(2026, 11, 19), dt(2026, 11, 20, 11))  # through the open hour
    assert plan.costs == (dt(2026, 10, 1), dt(2026, 11, 21))
    assert plan.settled_through == dt(2026, 11, 20, 10)


def test_first_run_with_mid_month_cycle_and_short_month() -> None:
    plan = plan_windows(dt(2026, 3, 10, 5), SyncState(), cycle_start_day=31)
    # cycle containing Mar 10 starts Feb 28 (clamped); the one before starts Jan 31
    assert plan.first_run and plan.daily is not None
    assert plan.daily[0] == dt(2026, 1, 31)


def test_later_run_refetches_previous_and_current_utc_day_only() -> None:
    state = SyncState(last_success=NOW - timedelta(minutes=5),
                      settled_through=dt(2026, 11, 20, 10))
    plan = plan_windows(NOW, state, cycle_start_day=1)
    assert not plan.first_run
    assert plan.daily is None
    assert plan.hourly == (dt(2026, 11, 19), dt(2026, 11, 20, 11))
    assert plan.costs == (dt(2026, 11, 19), dt(2026, 11, 21))


def test_after_a_gap_refetches_from_settled_minus_grace_as_whole_days() -> None:
    state = SyncState(settled_through=dt(2026, 11, 16, 0, 30))  # grace reaches into Nov 15
    plan = plan_windows(NOW, state, cycle_start_day=1)
    assert plan.daily == (dt(2026, 11, 15), dt(2026, 11, 19))
    assert plan.costs[0] == dt(2026, 11, 15)


def test_a_very_old_state_never_reaches_before_the_previous_cycle() -> None:
    plan = plan_windows(NOW, SyncState(settled_through=dt(2025, 1, 1)), cycle_start_day=1)
    assert plan.daily == (dt(2026, 10, 1), dt(2026, 11, 19))


@pytest.mark.parametrize("minute", [0, 59])
def test_hour_edges(minute: int) -> None:
    now = dt(2026, 11, 20, 0, minute)
    plan = plan_windows(now, SyncState(settled_through=dt(2026, 11, 19, 23)), 1)
    assert plan.hourly == (dt(2026, 11, 19), dt(2026, 11, 20, 1))
    assert plan.settled_through == dt(2026, 11, 20)
