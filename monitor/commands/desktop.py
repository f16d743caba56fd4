"""`token-monitor desktop install|uninstall|status`: the entry in the desktop's application menu."""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor.commands._output import print_json
from monitor.context import AppContext
from monitor.services import desktop_entry


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "desktop", help="add Token Monitor to (or remove it from) the application menu",
        description="Write or remove the XDG application entry "
        "(~/.local/share/applications/token-monitor.desktop) and the app icon in the hicolor "
        "theme. The entry starts this installation's app (and keeps --home / MONITOR_HOME).")
    p.add_argument("action", choices=("install", "uninstall", "status"))
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: AppContext) -> int:  # noqa: ARG001 - the CLI contract
    home = getattr(args, "home", None)
    launcher = desktop_entry.default_launcher()
    if home:  # --home: the menu entry opens the same folder
        launcher = desktop_entry.Launcher(launcher.argv, str(Path(home).expanduser().resolve()))
    if args.action == "install":
        path = desktop_entry.install(launcher)
        out = {"action": "install", "installed": True, "entry": str(path)}
        text = f"added to the application menu: {path}"
    elif args.action == "uninstall":
        removed = desktop_entry.uninstall()
        out = {"action": "uninstall", "installed": False, "removed": [str(p) for p in removed]}
        text = (f"removed {len(removed)} file(s) from the application menu and icon theme"
                if removed else "nothing to remove: no application-menu entry was installed")
    else:
        installed = desktop_entry.is_installed()
        out = {"action": "status", "installed": installed,
               "entry": str(desktop_entry.entry_file())}
        text = f"{'installed' if installed else 'not installed'}: {desktop_entry.entry_file()}"
    if args.json:
        print_json(out)
    else:
        print(text)
    return 0
