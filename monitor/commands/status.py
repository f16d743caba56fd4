"""`token-monitor status`: today's and this cycle's spend in one line, for status bars and scripts.

Reads the local store only (no network; no tiktoken, aiohttp or Qt import), so waybar, i3blocks,
polybar or tmux can run it every few seconds. Formats: `text` (one line, `--template` picks the
fields), `json` (the contract in `StatusFigures.to_json`), `waybar` (custom-module JSON),
`i3blocks` (full text, short text, colour lines; one JSON object per line with `--watch`, for
`format=json` persistent blocks) and `tmux` (text wrapped in `#[fg=…]`).

`--watch` prints a new line whenever the output changes: it checks the store revision (the status
cache's change token, `status_cache.read_revision`) and the settings and price files at most
once a second (a sleeping loop, no busy polling), and
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
from datetime import datetime
from types import FrameType
from typing import Any, TextIO

from monitor.commands.usage import parse_now
from monitor.context import AppContext
from monitor.core.clock import Clock, fixed_clock
from monitor.errors import KnownError
from monitor.services import status_cache
from monitor.services.file_tag import content_tag
from monitor.services.periods import PeriodError
from monitor.services.status import (
    StatusBasis,
    StatusFigures,
    build_basis,
    build_status,
    figures_at,
    next_change,
)
from monitor.services.status_format import (
    FORMATS,
    TEMPLATE_FIELDS,
    TOOLTIP_MODELS,
    renderer,
    template_problem,
)
from monitor.stdout_guard import OutputClosed, reader_gone

__all__ = ["FORMATS", "TEMPLATE_FIELDS", "TOOLTIP_MODELS", "register", "run", "watch"]

WATCH_CHECK_S = 1.0  # the store is checked at most this often


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
    figures = figures_at(_basis(ctx, clock()), clock())
    sys.stdout.write(render(figures) + "\n")
    return 0


def _basis(ctx: AppContext, now: datetime) -> StatusBasis:
    """The figures' basis at `now`, kept in the status cache for the next run when nothing
    made this run say a warning (those must show on every run, so they are not cached)."""
    key = status_cache.cache_key(ctx.paths)  # before reading: a later write is then a miss
    basis = build_basis(ctx.store(), ctx.prices(), ctx.settings, now)
    if key is not None and not ctx.warnings and status_cache.cache_key(ctx.paths) == key:
        status_cache.save(ctx.paths, key, basis)
    return basis


# --------------------------------------------------------------------------------------------
# --watch
# --------------------------------------------------------------------------------------------


class _StopError(Exception):
    """SIGTERM/SIGHUP arrived: leave the loop."""


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
                # The status cache's own change token: file identity + store revision (every
                # commit to a table of record, from any process), then the files' contents.
                store = ctx.store()
                key = (status_cache.read_revision(ctx.paths.db_file),
                       *(content_tag(p) for p in files))
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
            if reader_gone(out):  # `| head -c1` went away while nothing changed
                raise OutputClosed
            time.sleep(check_s)
    except _StopError:
        return 0
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
