"""`token-monitor status` from the status cache, before the CLI's own machinery is imported.

A status bar calls `status` every few seconds; most calls find the store as the last one left
it. `monitor.cli.main` tries this first: for the plain forms (`[--home DIR] [--log-level L]
status [--format F] [--template T]`) with a cache entry whose key still matches
(monitor/services/status_cache.py), it prints `figures_at(basis, now)` through the same
renderer as the full command and returns the exit code. Anything else (another command or
flag, `--watch`, `--now`, a bad template, a miss) returns None and the full path runs, which
also refreshes the cache. This module imports no argparse, logging, store, price table or usage
report: that is the point of it (tests/unit/test_cli_imports.py).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from monitor import exit_codes
from monitor.core.clock import Clock, system_clock

_GLOBAL_FLAGS = ("--home", "--log-level")
_STATUS_FLAGS = ("--format", "--template")


def _options(argv: Sequence[str]) -> dict[str, str] | None:
    """The flags of a plain `status` call, or None for anything this path does not serve."""
    found: dict[str, str] = {}
    command_seen = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "status" and not command_seen:
            command_seen = True
            i += 1
            continue
        name, eq, value = arg.partition("=")
        allowed = _STATUS_FLAGS if command_seen else _GLOBAL_FLAGS
        if name not in allowed or name in found:
            return None
        if not eq:
            if i + 1 >= len(argv):
                return None
            value = argv[i + 1]
            i += 1
        found[name] = value
        i += 1
    return found if command_seen else None


def run_quick(argv: Sequence[str], *, clock: Clock = system_clock,
              out: TextIO | None = None) -> int | None:
    """Print `status` from the cache and return 0, or return None: take the full path."""
    options = _options(argv)
    if options is None:
        return None
    from monitor.paths import resolve_paths
    from monitor.services import status_cache
    from monitor.services.status import figures_at
    from monitor.services.status_format import FORMATS, renderer, template_problem

    fmt = options.get("--format", "text")
    template = options.get("--template")
    if fmt not in FORMATS or (template is not None and template_problem(template)):
        return None  # the full path says what is wrong
    paths = resolve_paths(options.get("--home"))
    key = status_cache.cache_key(paths)
    if key is None:
        return None
    basis = status_cache.load(paths, key)
    now = clock()
    if basis is None or not basis.holds_at(now):
        return None
    text = renderer(fmt, template)(figures_at(basis, now)) + "\n"
    from monitor.errors import KnownError
    from monitor.stdout_guard import OutputClosed, discard_stdout, guarded_stdout

    try:
        with guarded_stdout():
            (sys.stdout if out is None else out).write(text)
    except OutputClosed:  # the reader had enough: end quietly, as the full path does
        discard_stdout()
        return exit_codes.PIPE_CLOSED
    except KnownError as exc:  # e.g. a full disk: the same one line as the full path
        discard_stdout()
        print(f"error: {exc.text()}", file=sys.stderr)
        return exc.exit_code
    return 0
