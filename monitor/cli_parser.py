"""The `token-monitor` argument parser: global flags, and one placeholder per subcommand that
becomes the command's own parser only when that command is chosen (see monitor.cli)."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from typing import Any

from monitor import __version__, exit_codes
from monitor.command_table import COMMANDS


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size reads it ($COLUMNS, then the
    terminal, else 80), without importing shutil (and with it bz2 and lzma) on every run."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 80
    except (OSError, ValueError, AttributeError):
        return 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's own formatter, given the width so it does not import shutil for it."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         width if width is not None else _columns() - 2)


class _Parser(argparse.ArgumentParser):
    """argparse's parser with two changes to what it prints (usage errors, --help, --version):

    - a key typed on the command line is masked (`sk-…abcd`, monitor.log.redact), so
      "unrecognized arguments: sk-proj-…" never echoes a secret in full;
    - a write that fails is reported: argparse swallows the OSError and exits 0, so
      `--help > /dev/full` looked like a success. Now: one line and exit 74 (141, quietly,
      when the reader went away), as for any other output.
    """

    def _print_message(self, message: str, file: Any = None) -> None:
        if not message:
            return
        from monitor.log import redact

        stream = file if file is not None else sys.stderr
        if stream is None:
            return
        try:
            stream.write(redact(message))
            stream.flush()
        except BrokenPipeError:
            from monitor.stdout_guard import discard_stdout

            discard_stdout()
            raise SystemExit(exit_codes.PIPE_CLOSED) from None
        except OSError as exc:
            if stream is sys.stdout:
                from monitor.stdout_guard import discard_stdout

                discard_stdout()
            with contextlib.suppress(OSError):
                sys.stderr.write(f"error: cannot write the output: {exc.strerror or exc}\n")
            raise SystemExit(exit_codes.OUTPUT_FAILED) from None


class _Subcommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subparsers that use _HelpFormatter unless the command asks for another."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        parser: argparse.ArgumentParser = super().add_parser(name, **kwargs)
        return parser


class _LazySubcommands(_Subcommands):
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
    scratch = _Parser(prog=prog, formatter_class=_HelpFormatter)
    sub = scratch.add_subparsers(action=_Subcommands)
    module.register(sub)
    built: argparse.ArgumentParser = sub.choices[name]
    return built


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="token-monitor", formatter_class=_HelpFormatter,
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
