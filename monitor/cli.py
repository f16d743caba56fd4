"""The `token-monitor` command: global flags, then one subcommand module from monitor.commands.

argparse (stdlib) is enough: subcommands, typed flags and --help cover what we need, and it
keeps start-up fast for scripts. Subcommands are listed in the static table `COMMANDS`
(monitor/command_table.py: name → module, one-line help), so `--help` and dispatch import no
subcommand module; only the module of the command actually run is imported (its
`register(sub)` then adds its real parser). `count` therefore never pays for aiohttp, nor
`usage` for tiktoken (tests/unit/test_cli_imports.py).
GUI modules are imported only when the GUI starts. The parser itself (argparse) lives in
monitor/cli_parser.py, imported after `main` has tried the cached `status` that a status bar
runs every few seconds (monitor/commands/_status_quick.py), which needs none of it.

Adding a subcommand is one line in monitor/command_table.py plus its module:
  1. write `monitor/commands/NAME.py` with `register(sub)` calling `sub.add_parser("NAME",
     help=...)` and `set_defaults(func=run)`, and `run(args, ctx) -> int`;
  2. add `"NAME": Command("monitor.commands.NAME", "the same one-line help"),` to COMMANDS
     (keep it sorted; tests/unit/test_cli_imports.py checks the help matches the module's).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import exit_codes

if TYPE_CHECKING:
    import argparse

    from monitor.errors import CannotWriteError, KnownError
    from monitor.paths import Paths


def load_command_parser(name: str, prog: str = "token-monitor") -> argparse.ArgumentParser:
    """Import the subcommand's module and return the parser its `register` builds."""
    from monitor import cli_parser

    return cli_parser.load_command_parser(name, prog)


def build_parser() -> argparse.ArgumentParser:
    """The `token-monitor` parser (monitor/cli_parser.py; argparse is imported only here, so
    a cached `status` never pays for it)."""
    from monitor import cli_parser

    return cli_parser.build_parser()


# sysexits.h EX_SOFTWARE: an internal error (a bug), as opposed to 1 = a problem the user can fix.
# Every exit code is in monitor/exit_codes.py and README.md.
EXIT_INTERNAL_ERROR = exit_codes.INTERNAL


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `token-monitor` command; its exit code (monitor/exit_codes.py)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl+C at any point (start-up imports too): 130, no traceback
        return exit_codes.INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if "status" in arguments:  # a status bar's call: from the cache when it can (no imports)
        from monitor.commands._status_quick import run_quick

        quick = run_quick(arguments)
        if quick is not None:
            return quick
    # Imported here, not above: the cached `status` above never needs them (start-up time).
    import logging

    from monitor.context import AppContext
    from monitor.core import rank_cache
    from monitor.errors import KnownError
    from monitor.log import setup_logging
    from monitor.paths import resolve_paths
    from monitor.stdout_guard import OutputClosed, OutputError, discard_stdout, guarded_stdout

    parser = build_parser()
    args = parser.parse_args(arguments)
    paths = resolve_paths(args.home)
    try:
        paths.ensure()
        setup_logging(paths.log_file, getattr(logging, args.log_level))
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot create the app's folders or log file{where}: "
              f"{exc.strerror or exc} (check --home / $MONITOR_HOME)", file=sys.stderr)
        return exit_codes.CANNOT_WRITE if _is_permission(exc) else exit_codes.ERROR
    rank_cache.use_directory(paths.cache_dir)  # tiktoken ranks parsed once, then cached
    ctx = AppContext(paths)
    try:
        if args.command is None:
            from monitor.display import missing_display, no_display_message

            no_display = missing_display()
            if no_display is not None:  # before Qt, which would abort with a core dump
                print(no_display_message(no_display), file=sys.stderr)
                return exit_codes.NO_DISPLAY
            from monitor.gui.app import run_app

            return run_app(ctx)
        with guarded_stdout():
            result: int = args.func(args, ctx)
        return result
    except OutputClosed:
        discard_stdout()  # the reader had enough: end quietly, as `cat` would
        return exit_codes.PIPE_CLOSED
    except KnownError as exc:
        if isinstance(exc, OutputError):
            discard_stdout()
        return _known_error(exc)
    except OSError as exc:
        refused = _write_refused(exc, paths)
        if refused is None:
            return _internal_error(exc, args.command or "gui", paths.log_file)
        return _known_error(refused)
    except KeyboardInterrupt:
        return exit_codes.INTERRUPTED
    except (SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # a bug (or a Rust panic, which is no Exception)
        sqlite3 = sys.modules.get("sqlite3")  # not imported: not an SQLite error (no cost)
        if sqlite3 is not None and isinstance(exc, sqlite3.DatabaseError):
            from monitor.services.store.errors import is_database_failure, store_error

            if is_database_failure(exc):  # damaged pages, a lock, a full disk: not a bug
                return _known_error(store_error(exc, paths.db_file))
        return _internal_error(exc, args.command or "gui", paths.log_file)
    finally:
        ctx.close()


def _write_refused(exc: OSError, paths: Paths) -> CannotWriteError | None:
    """A write to one of our folders that the system refused (permissions, read-only or full
    disk), as a message naming the folder; None for anything else (a bug)."""
    from monitor.errors import CannotWriteError

    if exc.filename is None or not (_is_permission(exc) or exc.errno in _DISK_FULL):
        return None
    target = Path(os.fsdecode(exc.filename))
    ours = (paths.config_dir, paths.data_dir, paths.log_dir, paths.cache_dir)
    if not any(target == d or target.is_relative_to(d) for d in ours):
        return None
    return CannotWriteError(f"cannot write to {target.parent}: {exc.strerror or exc} (check "
                            "the folder's permissions and the disk's free space)")


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _is_permission(exc: OSError) -> bool:
    return isinstance(exc, PermissionError) or exc.errno == errno.EROFS


def _known_error(exc: KnownError) -> int:
    """One `error: …` line on stderr (never a secret: KnownError texts hold none)."""
    from monitor.log import redact

    with contextlib.suppress(OSError):  # stderr itself may be gone
        print(f"error: {redact(exc.text())}", file=sys.stderr)
    return exc.exit_code


def _internal_error(exc: BaseException, command: str, log_file: Path) -> int:
    """Log the traceback (redacted) to the log file only; one line on stderr."""
    import logging

    from monitor.log import redact

    logger = logging.getLogger("monitor")
    record = logger.makeRecord(
        logger.name, logging.ERROR, __file__, 0, "internal error in command %r",
        (command,), (type(exc), exc, exc.__traceback__),
    )
    logged = False
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler):  # not the stderr handler
            handler.handle(record)
            logged = True
    first = redact(str(exc)).strip().splitlines()
    detail = f": {first[0][:200]}" if first else ""
    where = f"; see {log_file}" if logged else ""
    print(f"error: internal error in `{command}` ({type(exc).__name__}{detail}){where}",
          file=sys.stderr)
    return EXIT_INTERNAL_ERROR
