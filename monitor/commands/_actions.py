"""A command whose actions are subcommands (`keys add`, `keys virtual list`): without an
action it prints its help and exits 2 (a usage error), as argparse does for a bad one."""

from __future__ import annotations

import argparse

from monitor.context import AppContext


def action_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
                  dest: str, *, help: str, description: str
                  ) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Add the command `name` to `sub`; returns its actions, to add each one to. The chosen
    action's name lands in `args.<dest>`."""
    p = sub.add_parser(name, help=help, description=description)

    def show_help(_args: argparse.Namespace, _ctx: AppContext) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=show_help)
    return p.add_subparsers(dest=dest, metavar="ACTION")
