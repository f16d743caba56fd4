"""`token-monitor budget`: show or set the monthly limit, cycle day and alert thresholds.

With no setting flag it only shows the current cycle: spend (all sources, billed where billed),
remaining, share of the limit and the projection. Setting flags are validated by the settings
schema and saved before the status is shown. The hidden `--now` flag pins the clock.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import timedelta
from typing import Any

from monitor.commands._budget_check import EXIT_CODES_HELP, run_check
from monitor.commands._output import print_json, usd
from monitor.commands.usage import days_text, parse_now
from monitor.context import AppContext
from monitor.core.budget import BudgetStatus, billing_cycle, budget_status, crossing_phrase
from monitor.core.limit_share import percent_text
from monitor.core.settings import SettingError
from monitor.services.periods import PeriodError
from monitor.services.usage_report import build_report


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "budget", help="show or set the monthly limit and alert thresholds",
        description="Show this billing cycle's spend against the monthly limit, or change the "
        "limit, the day the cycle starts (UTC, as OpenAI bills) and the alert thresholds.",
    )
    p.add_argument("--limit", metavar="USD", help="monthly limit in US dollars (0 = no limit)")
    p.add_argument("--cycle-day", metavar="N", help="day of the month the cycle starts (1-31; "
                   "clamped to short months)")
    p.add_argument("--thresholds", metavar="PCTS",
                   help="alert thresholds in percent of the limit, e.g. 50,80,90,100")
    p.add_argument("--hard-cap", choices=("on", "off"),
                   help="on: the proxy refuses requests (HTTP 429) once this cycle's spend "
                   "reaches the limit; off: the limit only alerts (default)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--check", action="store_true",
                   help="for scripts: exit 0 under the threshold, 1 at or over it, 3 when there "
                   "is no data or it is stale (prints one line saying which)")
    p.add_argument("--at", metavar="PCT",
                   help="with --check: the threshold in percent of the limit (default 100)")
    p.add_argument("--projected", action="store_true",
                   help="with --check: the month-end projection counts too")
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.epilog = f"--check {EXIT_CODES_HELP}."
    p.set_defaults(func=run)


_AMOUNT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+", re.ASCII)


def _limit_text(text: str) -> str | None:
    """`--limit` as a plain decimal ("$1,000.50" -> "1000.50"), or None when it is not one:
    a comma is only a thousands separator, so `12,5` is refused, never read as 125; an
    exponent (`5e-324`), `inf` or `nan` is refused too."""
    value = text.strip().removeprefix("$").strip()
    if _AMOUNT.fullmatch(value) is None:
        return None
    return value.replace(",", "")


def run(args: argparse.Namespace, ctx: AppContext) -> int:
    changes: dict[str, Any] = {}
    if args.limit is not None:
        limit = _limit_text(args.limit)
        if limit is None:
            print(f"error: --limit {args.limit!r} is not an amount in US dollars: write "
                  "digits with a dot for cents (e.g. 12.50 or 1,000)", file=sys.stderr)
            return 2
        changes["monthly_limit_usd"] = limit
    if args.cycle_day is not None:
        changes["cycle_start_day"] = args.cycle_day.strip()
    if args.thresholds is not None:
        changes["alert_thresholds_pct"] = args.thresholds
    if args.hard_cap is not None:
        changes["hard_cap"] = args.hard_cap == "on"
    try:
        now = parse_now(args.now, ctx)
    except PeriodError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if changes or args.json:
            print("error: --check cannot be combined with setting flags or --json",
                  file=sys.stderr)
            return 2
        return run_check(args, ctx, now)
    if args.at is not None or args.projected:
        print("error: --at and --projected go with --check", file=sys.stderr)
        return 2
    settings = ctx.settings
    if changes:
        try:
            settings = settings.replace(**changes)
        except SettingError as exc:
            flag = {"monthly_limit_usd": "--limit", "cycle_start_day": "--cycle-day",
                    "alert_thresholds_pct": "--thresholds"}
            message = str(exc)
            for key, name in flag.items():
                message = message.replace(key, name)
            print(f"error: {message}", file=sys.stderr)
            return 2
        ctx.save_settings(settings)
        if "monthly_limit_usd" in changes:  # the user chose it: budget alerts may fire
            from monitor.services.limit_choice import mark_limit_chosen

            mark_limit_chosen(ctx.paths.state_file)

    cycle = billing_cycle(now, settings.cycle_start_day)
    report = build_report(ctx.store(), ctx.prices(), settings, cycle, "all", "day", now)
    status = budget_status(report.totals.cost_usd, settings.monthly_limit_usd, cycle, now,
                           [(d.day, d.cost_usd) for d in report.days],
                           data_since=ctx.store().data_since())
    fired = ctx.store().fired_alerts(status.cycle_start)
    if args.json:
        print_json({
            "limit_usd": settings.monthly_limit_usd,
            "cycle_start_day": settings.cycle_start_day,
            "thresholds_pct": list(settings.alert_thresholds_pct),
            "hard_cap": settings.hard_cap,
            "cycle": {"start": cycle.start.isoformat(), "end": cycle.end.isoformat()},
            "spend_usd": status.spend,
            "cost_basis": report.totals.cost_basis,
            "remaining_usd": status.remaining,
            "used_fraction": status.used_fraction,
            "projected_cost_usd": status.projected_spend,
            "projection_basis_days": status.projection_basis_days,
            "limit_crossed_on": status.crossing_date,
            "over_limit": status.over_limit,
            "alerts_fired": sorted(f"{k}:{t}" for k, t in fired),
            "saved": bool(changes),
        })
    else:
        if changes:
            print("saved.")
        print(render(status, settings.alert_thresholds_pct, settings.cycle_start_day,
                     report.totals.cost_basis, settings.hard_cap))
    return 0


def render(status: BudgetStatus, thresholds: tuple[int, ...], cycle_day: int,
           basis: str, hard_cap: bool = False) -> str:
    limit = status.limit
    shown = f"{usd(limit)}" if limit > 0 else "none (0)"
    if hard_cap and limit > 0:
        shown += " (hard cap: the proxy refuses requests past it)"
    rows: list[tuple[str, str]] = [
        ("Monthly limit", shown),
        ("Alerts at", ", ".join(f"{t} %" for t in thresholds)),
        ("Cycle", f"{status.cycle.start:%Y-%m-%d} → {status.cycle.end:%Y-%m-%d} UTC "
                  f"(starts on day {cycle_day})"),
        ("Spend", f"{usd(status.spend)} ({basis})"),
    ]
    if limit > 0:
        rows.append(("Remaining", usd(status.remaining)) if status.remaining >= 0
                    else ("Over the limit by", usd(-status.remaining)))
        assert status.used_fraction is not None
        rows.append(("Used", percent_text(status.used_fraction)))
    if status.projected_spend is None:
        rows.append(("Projection", "not yet (needs a few hours of this cycle)"))
    else:
        last_day = (status.cycle.end - timedelta(microseconds=1)).date()
        text = (f"{usd(status.projected_spend)} by the end of {last_day:%b %d} "
                f"(based on {days_text(status.projection_basis_days)} days)")
        if status.crossing_date is not None:
            text += f" — {crossing_phrase(status.crossing_date, status.over_limit)}"
        rows.append(("Projection", text))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)
