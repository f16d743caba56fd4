"""`token-monitor status`: today's and this cycle's spend in one line, for status bars and scripts.

Reads the local store only (no network; no tiktoken, aiohttp or Qt import), so waybar, i3blocks,
polybar or tmux can run it every few seconds. Formats: `text` (one line, `--template` picks the
fields), `json` (the contract in `StatusFigures.to_json`), `waybar` (custom-module JSON),
`i3blocks` (full text, short text, colour lines; one JSON object per line with `--watch`, for
`format=json` persistent blocks) and `tmux` (text wrapped in `#[fg=…]`).

`--watch` prints a new line whenever the output changes: it checks the store's data_version and
the settings and price files at most once a second (a sleeping loop, no busy polling), and
recomputes at the instants the figures change by themselves (midnight of "today", the cycle's
end, the data turning stale). It exits 0 on SIGTERM/SIGHUP and quietly with 141 when the reader
goes away (EPIPE, as every command does). The hidden `--now` flag pins the clock.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from monitor.commands._output import to_json_line, usd
from monitor.commands.usage import PeriodError, parse_now
from monitor.context import AppContext
from monitor.core import money
from monitor.core.clock import Clock, fixed_clock
from monitor.errors import KnownError
from monitor.services.status import STATE_COLOURS, StatusFigures, build_status, next_change

FORMATS = ("text", "json", "waybar", "i3blocks", "tmux")
TEMPLATE_FIELDS = ("today_usd", "cycle_usd", "limit_usd", "pct", "projected_usd",
                   "today_tokens", "state", "cost_basis")
WATCH_CHECK_S = 1.0  # the store is checked at most this often
TOOLTIP_MODELS = 8


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "status", help="today's and this cycle's spend in one line (status bars, scripts)",
        description="Print today's spend and this billing cycle's spend against the limit from "
        "the local store (no network), for status bars. States: ok, warn (first alert "
        "threshold), critical (next-to-last threshold), over (the limit), no_data, stale (no "
        "source updated within two poll intervals).",
    )
    p.add_argument("--format", default="text", choices=FORMATS,
                   help="output format (default text)")
    p.add_argument("--template", metavar="TEXT",
                   help="the line's text, with fields among "
                   + " ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
                   + " (text, waybar, i3blocks and tmux formats)")
    p.add_argument("--watch", action="store_true",
                   help="keep running; print a new line whenever the figures change")
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: AppContext) -> int:
    clock: Clock = ctx.clock
    if args.now is not None:
        try:
            clock = fixed_clock(parse_now(args.now, ctx))
        except PeriodError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.template is not None:
        problem = template_problem(args.template)
        if problem:
            print(f"error: --template: {problem}", file=sys.stderr)
            return 2
    render = renderer(args.format, args.template, watch=args.watch)
    if args.watch:
        return watch(ctx, clock, render, sys.stdout)
    figures = build_status(ctx.store(), ctx.prices(), ctx.settings, clock())
    sys.stdout.write(render(figures) + "\n")
    return 0


# --------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------


def whole_usd(amount: Decimal) -> str:
    """`$120` for whole dollars, `$120.50` otherwise (limits read better without cents)."""
    return money.usd(amount, whole_if_integral=True)


def compact_count(n: int) -> str:
    """812, 12.3k, 1.2M, 3.4B: token counts in a few characters."""
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "k")):
        if n >= size:
            value = n / size
            return f"{value:.1f}{suffix}" if value < 100 else f"{value:.0f}{suffix}"
    return str(n)


def template_fields(f: StatusFigures) -> dict[str, str]:
    """The `--template` fields as the user reads them."""
    return {
        "today_usd": usd(f.today_usd),
        "cycle_usd": usd(f.cycle_usd),
        "limit_usd": whole_usd(f.limit_usd) if f.limit_usd > 0 else "no limit",
        "pct": str(f.percent) if f.used_fraction is not None else "-",
        "projected_usd": usd(f.projected_usd) if f.projected_usd is not None else "-",
        "today_tokens": compact_count(f.today_tokens),
        "state": f.state,
        "cost_basis": f.cost_basis,
    }


def template_problem(template: str) -> str | None:
    """Why `template` cannot be used (an unknown field, a stray brace), or None."""
    sample = {k: "" for k in TEMPLATE_FIELDS}
    try:
        template.format_map(sample)
    except KeyError as exc:
        return (f"unknown field {{{exc.args[0]}}}; use "
                + ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS))
    except (ValueError, IndexError, AttributeError) as exc:
        return f"{exc} (write a literal brace as {{{{ or }}}})"
    return None


def line(f: StatusFigures, template: str | None = None) -> str:
    """The one-line summary: `$1.61 today · $13.24 of $120 (11 %)`."""
    v = template_fields(f)
    if template is not None:
        return template.format_map(v)
    if f.state == "no_data":
        return "no usage data yet"
    text = f"{v['today_usd']} today · {v['cycle_usd']}"
    text += f" of {v['limit_usd']} ({v['pct']} %)" if f.limit_usd > 0 else " this cycle"
    if f.stale:
        text += " · stale"
    return text


def short_line(f: StatusFigures) -> str:
    """The narrow form (i3blocks short_text): `$1.61 · 11 %`."""
    if f.state == "no_data":
        return "no data"
    text = usd(f.today_usd)
    if f.used_fraction is not None:
        text += f" · {f.percent} %"
    return text


def _when(dt: datetime | None) -> str:
    return "never" if dt is None else f"{dt:%Y-%m-%d %H:%M} UTC"


def tooltip(f: StatusFigures) -> str:
    """Several lines: today, the cycle, the projection, spend per model, freshness."""
    lines = [f"Today: {usd(f.today_usd)} · {compact_count(f.today_tokens)} tokens"]
    last_day = (f.cycle.end - timedelta(microseconds=1)).date()
    cycle = f"Cycle {f.cycle.start:%b %d} → {last_day:%b %d}: {usd(f.cycle_usd)}"
    if f.limit_usd > 0:
        cycle += f" of {whole_usd(f.limit_usd)} ({f.percent} %)"
    lines.append(f"{cycle} ({f.cost_basis})")
    if f.projected_usd is not None:
        lines.append(f"At this pace: {usd(f.projected_usd)} by the end of the cycle")
    for m in f.models[:TOOLTIP_MODELS]:
        cost = usd(m.cost_usd) if m.cost_usd is not None else "price unknown"
        tokens = f" · {compact_count(m.tokens)} tokens" if m.tokens else ""
        lines.append(f"  {m.model}: {cost}{tokens}")
    if len(f.models) > TOOLTIP_MODELS:
        lines.append(f"  … {len(f.models) - TOOLTIP_MODELS} more")
    if f.state == "no_data":
        lines.append("No usage data yet: run `token-monitor sync` or the proxy")
    else:
        lines.append(("Stale: no source updated since " if f.stale else "Updated ")
                     + _when(f.as_of))
    return "\n".join(lines)


def _pango(text: str) -> str:
    """waybar parses text and tooltip as Pango markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def renderer(fmt: str, template: str | None, *, watch: bool = False,
             ) -> Callable[[StatusFigures], str]:
    """A function turning figures into the output of `fmt` (one line, except i3blocks)."""
    def render(f: StatusFigures) -> str:
        colour = STATE_COLOURS[f.state]
        if fmt == "json":
            return to_json_line(f.to_json())
        if fmt == "waybar":
            return to_json_line({"text": _pango(line(f, template)),
                                 "tooltip": _pango(tooltip(f)), "class": f.state,
                                 "alt": f.state, "percentage": f.percent})
        if fmt == "i3blocks":
            full, short = line(f, template), short_line(f)
            if watch:  # persistent blocks read one JSON object per line (format=json)
                return to_json_line({"full_text": full, "short_text": short,
                                     "color": colour, "urgent": f.state == "over"})
            return f"{full}\n{short}\n{colour}"
        if fmt == "tmux":
            bold = ",bold" if f.state == "over" else ""
            return f"#[fg={colour.lower()}{bold}]{line(f, template)}#[default]"
        return line(f, template)

    return render


# --------------------------------------------------------------------------------------------
# --watch
# --------------------------------------------------------------------------------------------


class _StopError(Exception):
    """SIGTERM/SIGHUP arrived: leave the loop."""


def _file_signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def watch(ctx: AppContext, clock: Clock, render: Callable[[StatusFigures], str],
          out: TextIO, *, check_s: float = WATCH_CHECK_S) -> int:
    """Print `render(figures)` now and whenever it changes, until a signal or a closed pipe."""
    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise _StopError

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        files = (ctx.paths.settings_file, ctx.paths.prices_override)
        seen: tuple[Any, ...] | None = None
        shown: str | None = None
        due: datetime | None = None
        reported: str | None = None
        while True:
            text: str | None = None
            try:
                # data_version sees every commit through SQLite (writes, backup-API restores).
                store = ctx.store()
                key = (store.data_version(), *(_file_signature(p) for p in files))
                now = clock()
                if key != seen or (due is not None and now >= due):
                    if seen is not None and key[1:] != seen[1:]:
                        ctx.reload_files()
                    figures = build_status(store, ctx.prices(), ctx.settings, now)
                    seen, reported = key, None
                    due = next_change(figures, ctx.settings.poll_interval_s)
                    text = render(figures)
            except (KnownError, sqlite3.Error) as exc:  # e.g. locked for long: say so, retry
                problem = exc.text() if isinstance(exc, KnownError) else f"usage store: {exc}"
                if problem != reported:
                    print(f"error: {problem}", file=sys.stderr)
                    reported = problem
            if text is not None and text != shown:
                # A closed pipe ends the command here (main exits quietly with 141).
                out.write(text + "\n")
                out.flush()
                shown = text
            time.sleep(check_s)
    except _StopError:
        return 0
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
