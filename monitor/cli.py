"""The `token-monitor` command: global flags, then one subcommand module from monitor.commands.

argparse (stdlib) is enough: subcommands, typed flags and --help cover what we need,
and it keeps start-up fast for scripts. GUI modules are imported only when the GUI starts.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from monitor import __version__
from monitor.context import AppContext
from monitor.errors import KnownError
from monitor.log import setup_logging
from monitor.paths import resolve_paths


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="token-monitor",
        description="See what the OpenAI API costs you, live, against your monthly limit. "
        "With no command, starts the tray app.",
    )
    parser.add_argument("--version", action="version", version=f"token-monitor {__version__}")
    parser.add_argument(
        "--home", metavar="DIR", help="keep config, data, logs and cache under DIR "
        "(also $MONITOR_HOME)",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="level of the log file (default INFO)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import monitor.commands as commands_pkg

    for info in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"monitor.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    paths = resolve_paths(args.home).ensure()
    setup_logging(paths.log_file, getattr(logging, args.log_level))
    ctx = AppContext(paths)
    try:
        if args.command is None:
            from monitor.gui.app import run_app

            return run_app(ctx)
        result: int = args.func(args, ctx)
        return result
    except KnownError as exc:
        print(f"error: {exc.text()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        ctx.close()
