"""`token-monitor budget --check`: a budget guard for scripts, cron and CI.

Exit codes (a contract, listed in `budget --help` and the README):
  0  under: this cycle's spend (and, with --projected, the month-end projection) is below the
     threshold, or no monthly limit is set
  1  at or over the threshold
  2  bad arguments
  3  unknown: no usage data yet, the data is stale (no source updated within two poll
     intervals), or the store could not be read
The threshold is `--at PCT` percent of the monthly limit (default 100: the limit itself).
One line on stdout says which, with the figures. The figures are `status`'s (the usage
report's), at the injected clock's "now".
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from decimal import Decimal, InvalidOperation

from monitor import exit_codes
from monitor.commands._output import usd
from monitor.context import AppContext
from monitor.errors import KnownError
from monitor.services.status import StatusFigures, build_status

# The contract (0/1/3), listed with the shared codes in monitor/exit_codes.py.
EXIT_UNDER = exit_codes.OK
EXIT_OVER = 1
EXIT_USAGE = exit_codes.USAGE
EXIT_UNKNOWN = 3
EXIT_CODES_HELP = ("exit codes: 0 under the threshold (or no limit set), 1 at or over it, "
                   "2 bad arguments, 3 no data, stale data or an unreadable store")


def parse_pct(text: str) -> Decimal:
    """`80`, `80%` or `92.5` → a percentage in (0, 1000]; ValueError with a reason."""
    try:
        value = Decimal(text.strip().rstrip("%").strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a percentage") from None
    if not value.is_finite() or not 0 < value <= 1000:
        raise ValueError(f"{text!r} must be a percentage above 0 and at most 1000")
    return value


def verdict(f: StatusFigures, at_pct: Decimal, projected: bool) -> tuple[int, str]:
    """(exit code, the one line saying why) for figures `f` and threshold `at_pct`."""
    pct_text = f"{at_pct.normalize():f} %"
    spent = f"{usd(f.cycle_usd)} spent this cycle"
    if f.state == "no_data":
        return EXIT_UNKNOWN, "unknown: no usage data yet (run `token-monitor sync` or the proxy)"
    if f.stale:
        since = "never" if f.as_of is None else f"{f.as_of:%Y-%m-%d %H:%M} UTC"
        return EXIT_UNKNOWN, (f"unknown: the data is stale (no source updated since {since}); "
                              f"last known: {spent}")
    if f.limit_usd <= 0:
        return EXIT_UNDER, f"under: no monthly limit set ({spent})"
    threshold = f.limit_usd * at_pct / 100
    of_limit = f"{pct_text} of the {usd(f.limit_usd)} limit ({usd(threshold)})"
    if f.cycle_usd >= threshold:
        return EXIT_OVER, f"over: {spent}, at or over {of_limit}"
    if projected and f.projected_usd is not None and f.projected_usd >= threshold:
        return EXIT_OVER, (f"over: at this pace the cycle ends at {usd(f.projected_usd)}, at or "
                           f"over {of_limit} ({spent})")
    text = f"under: {spent}, below {of_limit}"
    if projected:
        text += (f"; projected {usd(f.projected_usd)}" if f.projected_usd is not None
                 else "; no projection yet (needs a few hours of data)")
    return EXIT_UNDER, text


def run_check(args: argparse.Namespace, ctx: AppContext, now: datetime) -> int:
    try:
        at_pct = parse_pct(args.at) if args.at is not None else Decimal(100)
    except ValueError as exc:
        print(f"error: --at: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        figures = build_status(ctx.store(), ctx.prices(), ctx.settings, now)
    except KnownError as exc:  # exit 1 would read as "over": the figures are unknown
        print(f"unknown: {exc.text()}")
        return EXIT_UNKNOWN
    code, text = verdict(figures, at_pct, args.projected)
    print(text)
    return code
