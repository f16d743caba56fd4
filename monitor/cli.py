"""The `token-monitor` command: global flags, then one subcommand module from monitor.commands.

argparse (stdlib) is enough: subcommands, typed flags and --help cover what we need, and it
keeps start-up fast for scripts. Subcommands are listed in the static table `COMMANDS` (name →
module, one-line help), so `--help` and dispatch import no subcommand module; only the module of
the command actually run is imported (its `register(sub)` then adds its real parser). `count`
therefore never pays for aiohttp, nor `usage` for tiktoken (tests/unit/test_cli_imports.py).
GUI modules are imported only when the GUI starts.

Adding a subcommand is one line here plus its module:
  1. write `monitor/commands/NAME.py` with `register(sub)` calling `sub.add_parser("NAME",
     help=...)` and `set_defaults(func=run)`, and `run(args, ctx) -> int`;
  2. add `"NAME": Command("monitor.commands.NAME", "the same one-line help"),` to COMMANDS
     (keep it sorted; tests/unit/test_cli_imports.py checks the help matches the module's).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from monitor import __version__
from monitor.context import AppContext
from monitor.core import rank_cache
from monitor.errors import KnownError
from monitor.log import redact, setup_logging
from monitor.paths import resolve_paths


class Command(NamedTuple):
    """Where a subcommand lives and the help line `token-monitor --help` shows for it."""

    module: str
    help: str


# The one list of subcommands (see the module docstring to add one). Sorted by name.
COMMANDS: dict[str, Command] = {
    "budget": Command("monitor.commands.budget",
                      "show or set the monthly limit and alert thresholds"),
    "count": Command("monitor.commands.count",
                     "count the tokens of a text file or stdin (offline) and what they would "
                     "cost"),
    "desktop": Command("monitor.commands.desktop",
                       "add Token Monitor to (or remove it from) the application menu"),
    "keys": Command("monitor.commands.keys", "manage API keys (kept in the OS keyring)"),
    "price": Command("monitor.commands.price",
                     "show the price table or one model's prices (USD per 1M tokens)"),
    "proxy": Command("monitor.commands.proxy",
                     "run the local metering proxy (live per-request usage and cost)"),
    "status": Command("monitor.commands.status",
                      "today's and this cycle's spend in one line (status bars, scripts)"),
    "sync": Command("monitor.commands.sync",
                    "fetch organization usage and costs (needs an Admin key)"),
    "tokenizer": Command("monitor.commands.tokenizer",
                         "open the tokenizer window (tokens, ids, cost of a text)"),
    "usage": Command("monitor.commands.usage", "requests, tokens and dollars for a period"),
}


class _LazySubcommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subparsers that are placeholders until chosen: the chosen command's module is imported
    then, and its own `register` builds the real parser, which replaces the placeholder."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: set[str] = set()

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        name = values[0] if values else None
        if name in COMMANDS and name not in self._loaded:
            self._name_parser_map[name] = load_command_parser(name, parser.prog)
            self._loaded.add(name)
        super().__call__(parser, namespace, values, option_string)


def load_command_parser(name: str, prog: str = "token-monitor") -> argparse.ArgumentParser:
    """Import the subcommand's module and return the parser its `register` builds."""
    module = importlib.import_module(COMMANDS[name].module)
    scratch = argparse.ArgumentParser(prog=prog)
    sub = scratch.add_subparsers()
    module.register(sub)
    built: argparse.ArgumentParser = sub.choices[name]
    return built


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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", action=_LazySubcommands)
    for name, command in COMMANDS.items():
        sub.add_parser(name, help=command.help, add_help=False)
    return parser


# sysexits.h EX_SOFTWARE: an internal error (a bug), as opposed to 1 = a problem the user can fix.
EXIT_INTERNAL_ERROR = 70


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    paths = resolve_paths(args.home)
    try:
        paths.ensure()
        setup_logging(paths.log_file, getattr(logging, args.log_level))
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot create the app's folders or log file{where}: "
              f"{exc.strerror or exc} (check --home / $MONITOR_HOME)", file=sys.stderr)
        return 1
    rank_cache.use_directory(paths.cache_dir)  # tiktoken ranks parsed once, then cached
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
    except (SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # a bug (or a Rust panic, which is no Exception)
        return _internal_error(exc, args.command or "gui", paths.log_file)
    finally:
        ctx.close()


def _internal_error(exc: BaseException, command: str, log_file: Path) -> int:
    """Log the traceback (redacted) to the log file only; one line on stderr."""
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
