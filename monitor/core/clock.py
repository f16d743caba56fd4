"""The one place that reads the wall clock.

Everything that decides by date or time (cycles, "today", projection, alerts, freshness,
key and credit expiry, record timestamps, polling) takes a `Clock` from the composition root
(`AppContext.clock`), so tests pin time everywhere by passing one. Monotonic timers for
timeouts are not decisions and may use `time.monotonic()` directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
"""Returns the current instant as an aware UTC datetime."""


def system_clock() -> datetime:
    """The real wall clock, aware UTC."""
    return datetime.fromtimestamp(time.time(), UTC)


def fixed_clock(at: datetime) -> Clock:
    """A clock stopped at `at` (naive values are taken as UTC)."""
    pinned = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    pinned = pinned.astimezone(UTC)
    return lambda: pinned


class ManualClock:
    """A clock tests move by hand: `clock.advance(minutes=5)`."""

    def __init__(self, at: datetime) -> None:
        self._at = (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC)

    def __call__(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self._at += timedelta(**delta)
