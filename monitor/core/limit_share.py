"""How much of the monthly limit is used, said one way on every surface.

The tray icon (gauge and number), its tooltip and menu, the dashboard, `status`, the status-bar
formats, `budget`, `usage` and the alerts all read the share of the limit through these
functions, so no two of them can disagree:

- **Percent** is whole and rounded **down**: 79.6 % reads `79 %`, and `100 %` appears only once
  the limit is actually reached (99.9 % is still `99 %`). Past the limit the real figure shows
  (`929 %`), never a capped one.
- **State** comes from the user's alert thresholds: `warn` from the first threshold, `critical`
  from the next-to-last, `over` at or past the limit (defaults 50/80/90/100: warn from 50 %,
  critical from 90 %). Every colour — gauge, header bar, number icon, status-bar classes — is
  `STATE_COLOURS[state]`.
"""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, Decimal

STATE_COLOURS: dict[str, str] = {
    # Every state, with its colour on every surface (tray gauge and number icon, dashboard
    # header, status-bar formats).
    "ok": "#2EA043",
    "warn": "#F2A900",
    "critical": "#E02E24",
    "over": "#FF1744",
    "no_data": "#8A8F94",
    "stale": "#8A8F94",
}

LIMIT_STATES = ("ok", "warn", "critical", "over")  # the states the share alone decides


def _decimal(fraction: Decimal | float) -> Decimal | None:
    if isinstance(fraction, Decimal):
        return fraction if fraction.is_finite() else None
    if not math.isfinite(fraction):
        return None
    return Decimal(repr(fraction))


def whole_percent(fraction: Decimal | float | None) -> int | None:
    """The used share in whole percent, rounded down (never below 0); None with no limit."""
    if fraction is None:
        return None
    d = _decimal(fraction)
    if d is None:
        return None
    return max(0, int((d * 100).to_integral_value(rounding=ROUND_FLOOR)))


def percent_text(fraction: Decimal | float | None, *, none: str = "–") -> str:
    """`79 %` (a space before %, as the tray tooltip is specified); `none` with no limit."""
    pct = whole_percent(fraction)
    return none if pct is None else f"{pct} %"


def alert_levels(thresholds_pct: tuple[int, ...]) -> tuple[int, int]:
    """(warn, critical) percentages: the first and the next-to-last alert threshold (one
    threshold only: it is both)."""
    ordered = sorted(thresholds_pct) or [100]
    warn = ordered[0]
    critical = ordered[-2] if len(ordered) >= 2 else ordered[0]
    return warn, critical


def limit_state(fraction: Decimal | float | None, thresholds_pct: tuple[int, ...]) -> str:
    """`ok`, `warn`, `critical` or `over` for a used share (`ok` with no limit set)."""
    if fraction is None:
        return "ok"
    d = _decimal(fraction)
    if d is None:
        return "over"  # an infinite share: spend with a zero-sized limit
    warn, critical = alert_levels(thresholds_pct)
    pct = d * 100
    if pct >= 100:
        return "over"
    if pct >= critical:
        return "critical"
    if pct >= warn:
        return "warn"
    return "ok"
