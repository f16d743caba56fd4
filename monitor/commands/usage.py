"""`token-monitor usage`: requests, tokens and dollars for a period, by source and grouping.

Periods: `today` / `yesterday` (calendar days in the `today_timezone` setting), `cycle` (the
current billing cycle, the default), `previous-cycle`, `YYYY-MM` (a UTC month), `YYYY-MM-DD` (a
UTC day) and `YYYY-MM-DD..YYYY-MM-DD` (UTC days, both included). UTC because OpenAI's usage and
cost buckets are UTC days. The hidden `--now` flag pins the clock (tests, reproducible reports).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from monitor.commands._output import num, print_json, table, usd
from monitor.context import AppContext
from monitor.core import money
from monitor.core.budget import crossing_phrase
from monitor.core.limit_share import percent_text
from monitor.services.periods import PERIOD_HELP, PeriodError, parse_period
from monitor.services.usage_report import GROUPINGS, SOURCES, Figures, UsageReport, build_report

if TYPE_CHECKING:
    from monitor.services.reprice import Reprice


def parse_now(text: str | None, ctx: AppContext) -> datetime:
    """`--now` if given (what-if and tests), else the app's clock."""
    if text is None:
        return ctx.now()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"--now {text!r} is not an ISO-8601 date-time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "usage", help="requests, tokens and dollars for a period",
        description="Show usage and spend for a period. Org usage (from `sync`) is "
        "authoritative where it exists; proxy records fill in after it. Dollars are the Costs "
        "API's billed amounts for whole past UTC days, tokens x price otherwise.",
    )
    p.add_argument("--period", default="cycle", metavar="PERIOD",
                   help=f"{PERIOD_HELP} (default: cycle; ranges and months are UTC days)")
    p.add_argument("--source", default="all", choices=SOURCES,
                   help="org usage, proxy records, or both without double counting (default)")
    p.add_argument("--by", choices=GROUPINGS, help="group by model, UTC day, project or key")
    p.add_argument("--reprice", metavar="MODEL",
                   help="also show what the period would have cost on MODEL: the same tokens "
                   "(service tier kept) at MODEL's rates in force at each usage's time")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: AppContext) -> int:
    try:
        now = parse_now(args.now, ctx)
        period = parse_period(args.period, now, ctx.settings)
    except PeriodError as exc:
        print(f"error: --period: {exc}", file=sys.stderr)
        return 2
    report = build_report(ctx.store(), ctx.prices(), ctx.settings, period, args.source,
                          args.by, now)
    what_if = None
    if args.reprice is not None:
        from monitor.services.reprice import UnknownModelError, reprice

        try:
            what_if = reprice(ctx.store(), ctx.prices(), report, args.reprice)
        except UnknownModelError:
            print(f"error: --reprice: unknown model {args.reprice!r}: no price in the table "
                  f"(`token-monitor price` lists the known models)", file=sys.stderr)
            return 2
    if args.json:
        out = report.to_json()
        if what_if is not None:
            out["reprice"] = what_if.to_json()
        print_json(out)
    else:
        print(render(report, args.period))
        if what_if is not None:
            print(render_reprice(what_if))
    return 0


def render_reprice(r: Reprice) -> str:
    """`On gpt-5-mini: $12.34 (actual $48.10, -$35.76)` and one line per group."""
    signed = money.signed_usd

    name = r.model if r.model == r.resolved else f"{r.model} ({r.resolved})"
    lines = ["", f"On {name}: {usd(r.cost_usd)} (actual {usd(r.actual_cost_usd)}, "
                 f"{signed(r.difference_usd)})"
             + (" · long context estimated for some org buckets"
                if r.long_context == "estimated" else "")]
    for g in r.groups:
        key = g.key.isoformat() if isinstance(g.key, date) else (g.key or "-")
        lines.append(f"  {key}: {usd(g.cost_usd)} (actual {usd(g.actual_cost_usd)}, "
                     f"{signed(g.cost_usd - g.actual_cost_usd)})")
    lines.append("Same tokens, service tier kept; usage without tokens (images by count, "
                 "tools, storage) is not repriced.")
    return "\n".join(lines)


def _pct(fraction: Decimal | None) -> str:
    return percent_text(fraction, none="n/a")


def days_text(days: Decimal | None) -> str:
    """15.50 → "15.5", 30.00 → "30"."""
    return "?" if days is None else f"{days.normalize():f}"


def _row(label: str, name: str, f: Figures) -> list[str]:
    cost = usd(f.cost_usd)
    if f.unpriced_requests:
        cost += "+"
    return [label, name, num(f.requests), num(f.input_tokens), num(f.cached_input_tokens),
            num(f.output_tokens), num(f.reasoning_tokens), cost, f.cost_basis]


def _when(dt: datetime | None) -> str:
    return "never" if dt is None else f"{dt:%Y-%m-%d %H:%M} UTC"


def render(report: UsageReport, label: str) -> str:
    """The human form: a header, an aligned table, the limit line, sources and caveats."""
    lines = [
        f"Usage {label}: {report.period.start:%Y-%m-%d %H:%M} → "
        f"{report.period.end:%Y-%m-%d %H:%M} UTC · source {report.source}",
        "",
    ]
    headers = ["KEY", "NAME", "REQUESTS", "INPUT", "CACHED", "OUTPUT", "REASONING", "COST",
               "BASIS"]
    right = [False, False, True, True, True, True, True, True, False]
    rows = []
    for g in report.groups:
        key = g.key.isoformat() if isinstance(g.key, date) else (g.key or "-")
        rows.append(_row(key, g.name if g.name != key else "", g.figures))
    rows.append(_row("TOTAL", "", report.totals))
    if report.by is None:
        headers, right = headers[2:], right[2:]
        rows = [r[2:] for r in rows]
    lines.append(table(headers, rows, right))
    lines.append("")
    limit = report.limit_usd
    cycle_line = (f"Cycle {report.cycle.start:%Y-%m-%d} → {report.cycle.end:%Y-%m-%d}: "
                  f"{usd(report.cycle_cost_usd)}")
    if limit > 0:
        cycle_line += f" of {usd(limit)} ({_pct(report.used_fraction)})"
    else:
        cycle_line += " (no monthly limit set)"
    if report.projected_cost_usd is not None:
        cycle_line += (f" · at this pace {usd(report.projected_cost_usd)} "
                       f"(based on {days_text(report.projection_basis_days)} days)")
    if report.limit_crossed_on is not None:
        over = limit > 0 and report.cycle_cost_usd >= limit
        cycle_line += f" · {crossing_phrase(report.limit_crossed_on, over)}"
    lines.append(cycle_line)
    t = report.totals
    if t.long_context == "estimated":
        lines.append(f"Long context estimated (org buckets cannot say which requests were over "
                     f"272K input): between {usd(t.cost_low_usd)} and {usd(t.cost_high_usd)}")
    for g in report.groups:
        diff = g.figures.bill_difference_usd
        if diff is not None:
            est = g.figures.bill_estimate_usd
            lines.append(f"Billed vs tokens × price differ for {g.name}: billed "
                         f"{usd(g.figures.line_item_billed_usd)}, estimated "
                         f"{usd(est)} ({money.signed_usd(diff)}); a price "
                         "in the table may be wrong")
    if report.cached_savings_usd > 0:
        lines.append(f"Cached input saved {usd(report.cached_savings_usd)} in this period")
    for info in report.sources:
        if not info.included:
            continue
        if info.name == "org":
            text = f"org usage: last sync {_when(info.last_success)}"
            if info.covered_through is not None and report.source == "all":
                text += f", authoritative through {_when(info.covered_through)}"
            if info.last_error:
                text += f"; last error {_when(info.last_error_at)}: {info.last_error}"
        else:
            text = f"proxy records: from {_when(info.start)}"
            if info.errors:
                text += f", {num(info.errors)} failed requests not counted"
        lines.append(f"Source {text} ({num(info.figures.requests)} requests)")
    if report.unmetered_requests:
        lines.append(f"Without usage: {num(report.unmetered_requests)} proxied requests had no "
                     f"usable usage ({num(report.estimated_requests)} with input estimated "
                     "from the request)")
    if report.spooled_records:
        lines.append(f"Waiting: {num(report.spooled_records)} proxy records in the spool "
                     "(the usage database cannot take writes yet)")
    if report.unpriced_models:
        lines.append("")
        lines.append("Unpriced (not in the dollars above; add them to the price override "
                     "prices.json in the config dir):")
        for u in report.unpriced_models:
            what = (f"{num(u.input_tokens)} input, {num(u.output_tokens)} output tokens"
                    if u.input_tokens or u.output_tokens else f"{num(u.units)} units")
            lines.append(f"  {u.model or '(no model)'} [{u.source}]: {num(u.requests)} requests, "
                         f"{what}")
    return "\n".join(lines)
