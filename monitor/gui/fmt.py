"""How the GUI writes money, token counts, percentages and dates (one place, locale-aware dates)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from PySide6.QtCore import QCoreApplication, QLocale

from monitor.core import money
from monitor.core.limit_share import percent_text


def usd(amount: Decimal | None, *, whole_if_integral: bool = False) -> str:
    """`$1,234.56` by the one money rule (monitor.core.money); `$120` for an integral limit
    when `whole_if_integral`; `?` when unknown."""
    return money.usd(amount, whole_if_integral=whole_if_integral)


def usd_round(amount: Decimal | None) -> str:
    """Whole dollars (projections: `$131`)."""
    return money.usd_whole(amount)


def tokens(n: int) -> str:
    """`1,234,567` below ten million, else `12.3M`."""
    if abs(n) >= 10_000_000:
        return f"{n / 1_000_000:.1f}M"
    return f"{n:,}"


def percent(fraction: float | None) -> str:
    """`40 %`, by the one percent rule (monitor.core.limit_share: whole, rounded down)."""
    return percent_text(fraction)


def _locale() -> QLocale:
    return QLocale()


def month_abbrev(day: date) -> str:
    """`Nov` (or the translated short month name of the current locale)."""
    return _locale().monthName(day.month, QLocale.FormatType.ShortFormat)


def short_date(day: date) -> str:
    """`Nov 27` in English, `11月27日` in Chinese."""
    loc = _locale()
    if loc.language() == QLocale.Language.Chinese:
        return f"{day.month}月{day.day}日"
    return f"{month_abbrev(day)} {day.day}"


def month_year(day: date) -> str:
    """`Nov 2026` in English, `2026年11月` in Chinese (the period picker's months)."""
    if _locale().language() == QLocale.Language.Chinese:
        return f"{day.year}年{day.month}月"
    return f"{month_abbrev(day)} {day.year}"


def time_hm(when: datetime) -> str:
    """`14:05` in the local zone of `when` (aware datetimes are converted to local time)."""
    local = when.astimezone() if when.tzinfo is not None else when
    return f"{local:%H:%M}"


def when_text(when: datetime | None, now: datetime) -> str:
    """`14:05`, `yesterday 14:05` or `Nov 20 14:05`; `never` for None."""
    if when is None:
        return QCoreApplication.translate("fmt", "never")
    local = when.astimezone()
    today = now.astimezone().date()
    if local.date() == today:
        return time_hm(local)
    if (today - local.date()).days == 1:
        return QCoreApplication.translate("fmt", "yesterday %1").replace("%1", time_hm(local))
    return f"{short_date(local.date())} {time_hm(local)}"


def duration_s(seconds: float | None) -> str:
    """`45 s`, `3 min`, `2 h 5 min` for rate-limit resets and sync ages."""
    if seconds is None:
        return "–"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    h, rest = divmod(s, 3600)
    return f"{h} h {rest // 60} min" if rest >= 60 else f"{h} h"
