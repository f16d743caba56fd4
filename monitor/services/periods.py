"""Which instants a period name means: the one owner of `usage --period` and the dashboard's
period picker (issue 25), so both show the same figures for the same name.

Periods: `today` / `yesterday` (calendar days in the `today_timezone` setting), `cycle` (the
current billing cycle), `previous-cycle`, `YYYY-MM` (a UTC month), `YYYY-MM-DD` (a UTC day)
and `YYYY-MM-DD..YYYY-MM-DD` (UTC days, both included). UTC because OpenAI's usage and cost
buckets are UTC days.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from monitor.core.budget import (
    Period,
    billing_cycle,
    days_period,
    month_period,
    previous_cycle,
    today_period,
    yesterday_period,
)
from monitor.core.settings import Settings

PERIOD_HELP = "today|yesterday|cycle|previous-cycle|YYYY-MM|YYYY-MM-DD|YYYY-MM-DD..YYYY-MM-DD"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PeriodError(ValueError):
    """A period value that cannot be understood; the message says what is accepted."""


def _date(text: str) -> date:
    if not _DAY.match(text):
        raise PeriodError(f"{text!r} is not a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{text!r} is not a valid date") from None


def parse_period(text: str, now: datetime, settings: Settings) -> Period:
    """Turn a period value into UTC instants; raises PeriodError with a readable reason."""
    try:
        return _parse_period(text, now, settings)
    except PeriodError:
        raise
    except (OverflowError, ValueError):  # e.g. 9999-12-31: its end is past year 9999
        raise PeriodError(f"{text!r} is outside the dates this app can handle") from None


def _parse_period(text: str, now: datetime, settings: Settings) -> Period:
    value = text.strip().lower()
    if value == "today":
        return today_period(now, settings.today_timezone)
    if value == "yesterday":
        return yesterday_period(now, settings.today_timezone)
    if value == "cycle":
        return billing_cycle(now, settings.cycle_start_day)
    if value in ("previous-cycle", "last-cycle"):
        return previous_cycle(now, settings.cycle_start_day)
    if ".." in value:
        first, _, last = value.partition("..")
        a, b = _date(first.strip()), _date(last.strip())
        if b < a:
            raise PeriodError(f"the range {text!r} ends before it starts")
        return days_period(a, b)
    month = _MONTH.match(value)
    if month:
        year, mon = int(month.group(1)), int(month.group(2))
        if not 1 <= mon <= 12:
            raise PeriodError(f"{text!r}: month must be 01..12")
        return month_period(year, mon)
    if _DAY.match(value):
        d = _date(value)
        return days_period(d, d)
    raise PeriodError(f"unknown period {text!r}; use {PERIOD_HELP}")
