"""`token-monitor sync`: fetch organization usage and costs into the local store (once or looped).

Exit codes: 0 ok, 3 invalid admin key, 4 key lacks the api.usage.read scope, 5 network error,
6 other API error, 1 no admin key; local problems have their own (monitor/exit_codes.py).
In loop mode only auth failures stop the loop; other failures are printed and retried at the
next interval. Ctrl+C stops cleanly, with exit code 130 (what a pass stored is kept).
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
from datetime import date, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from monitor import exit_codes
from monitor.commands._output import num, print_json, table, to_json
from monitor.commands._progress import TerminalBar
from monitor.context import AppContext
from monitor.errors import KnownError
from monitor.services.admin_http import AdminApiError, InvalidKeyError, MissingScopeError
from monitor.services.openai_admin import AdminClient
from monitor.services.org_sync import OrgSync, SyncResult, WindowResult
from monitor.stdout_guard import OutputClosed, OutputError

if TYPE_CHECKING:
    from monitor.services.key_meta import KeyMeta

NO_KEY = ("no admin key: store one with `token-monitor keys add --label admin --kind admin` "
          "(the key is read from stdin or a hidden prompt), or set OPENAI_ADMIN_KEY")


def no_key_text(unusable: list[KeyMeta], today: date) -> str:
    """Why there is nothing to sync with: no admin key, or none usable (and why not)."""
    if not unusable:
        return NO_KEY
    reasons = "; ".join(r for m in unusable if (r := m.sync_refusal(today)))
    return (f"no usable admin key ({reasons}): add a new one with `token-monitor keys add "
            "--label L --kind admin`, or set OPENAI_ADMIN_KEY")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sync", help="fetch organization usage and costs (needs an Admin key)",
        description="Fetch usage (1h buckets for today and yesterday UTC, 1d before) and daily "
        "costs from the OpenAI organization API into the local store. The first run backfills "
        "the current and previous billing cycle. Loops at the poll interval unless --once.")
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.add_argument("--base-url", metavar="URL", help="API base URL (default from settings)")
    p.add_argument("--json", action="store_true", help="print JSON (one object per pass)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="seconds per request (default 30)")
    p.set_defaults(func=run)


def _print_window(w: WindowResult) -> None:
    print(f"  {w.endpoint:<21} {w.width}  {w.start:%Y-%m-%d %H:%M} → {w.end:%Y-%m-%d %H:%M}  "
          f"{num(w.buckets)} buckets, {num(w.rows)} rows, {w.pages} page"
          f"{'s' if w.pages != 1 else ''}", flush=True)


class _Progress:
    """Prints window lines; a stdout that fails (reader gone, disk full) must not stop the
    sync half-way: the pass is stored, then `check()` ends the command with that failure."""

    def __init__(self) -> None:
        self.failure: OutputClosed | OutputError | None = None

    def __call__(self, w: WindowResult) -> None:
        if self.failure is None:
            try:
                _print_window(w)
            except (OutputClosed, OutputError) as exc:
                self.failure = exc

    def check(self) -> None:
        if self.failure is not None:
            raise self.failure


def _print_result(result: SyncResult) -> None:
    rows = [[endpoint, num(v["buckets"]), num(v["rows"]), num(v["pages"])]
            for endpoint, v in result.per_endpoint().items()]
    print(table(["ENDPOINT", "BUCKETS", "ROWS", "PAGES"], rows, [False, True, True, True]))
    print(f"{'first sync (backfilled two billing cycles)' if result.first_run else 'synced'}: "
          f"{num(result.requests)} API call{'s' if result.requests != 1 else ''}, "
          f"{result.names} project/key names, complete through "
          f"{result.settled_through:%Y-%m-%d %H:%M} UTC")
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)


def _usage_problem(args: argparse.Namespace) -> str | None:
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        return f"--timeout must be a positive number of seconds, got {args.timeout:g}"
    if args.base_url is not None:
        try:
            parts = urlsplit(args.base_url)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
            _ = parts.port  # raises ValueError for a port that is not a number 0-65535
        except ValueError:
            ok = False
        if not ok:
            return f"--base-url must be an http(s) URL like https://api.openai.com/v1, " \
                   f"got {args.base_url!r}"
    return None


def run(args: argparse.Namespace, ctx: AppContext) -> int:
    problem = _usage_problem(args)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    keys = ctx.keys()
    cred = keys.admin_credential(ctx.today())
    if cred is None:
        raise KnownError(no_key_text(keys.unusable_admins(ctx.today()), ctx.today()))
    settings = ctx.settings
    base_url = args.base_url or settings.openai_base_url
    client = AdminClient(cred.secret, base_url, timeout_s=args.timeout)
    # On a terminal a progress bar replaces the per-window lines; elsewhere output is as-is.
    bar = None if args.json else TerminalBar.for_stream(sys.stdout)
    progress = _Progress()
    on_window = None if args.json or bar is not None else progress
    sync = OrgSync(ctx.store(), client, cycle_start_day=settings.cycle_start_day,
                   on_window=on_window, on_progress=bar, key_name=cred.describe(),
                   now=ctx.clock)
    if not args.json:
        print(f"syncing {base_url} with {cred.describe()}", flush=True)
    stop = threading.Event()
    try:
        while True:
            try:
                try:
                    result = sync.sync_once()
                finally:
                    if bar is not None:
                        bar.clear()
                progress.check()
            except AdminApiError as exc:
                _report_error(exc, args.json, ctx.now())
                if args.once or isinstance(exc, InvalidKeyError | MissingScopeError):
                    return exc.exit_code
            except KnownError as exc:
                if args.once:
                    raise
                _report_error(exc, args.json, ctx.now())
            else:
                if args.json:
                    print(to_json(result.to_json()), flush=True)
                else:
                    _print_result(result)
                if args.once:
                    return 0
            if not args.json:
                print(f"next sync in {settings.poll_interval_s} s (Ctrl+C stops)", flush=True)
            stop.wait(settings.poll_interval_s)
    except KeyboardInterrupt:  # what a pass stored is kept; 130 says it was cut short
        if not args.json:
            print("\nstopped", file=sys.stderr)
        return exit_codes.INTERRUPTED


def _report_error(exc: KnownError, as_json: bool, at: datetime) -> None:
    if as_json:
        print_json({"ok": False, "error": exc.text(), "kind": type(exc).__name__,
                    "at": at})
    print(f"error: sync failed: {exc.text()}", file=sys.stderr, flush=True)
