"""`token-monitor db`: the usage database's health, backups and restore.

`db check` runs SQLite's quick integrity check (exit 0 sound, 1 damaged); `db backup` makes an
online backup now (the tray app makes one a day and keeps the last 7); `db restore [BACKUP]`
puts a backup back (the newest good one by default), moving the current file aside as
`usage.sqlite3.damaged-<time>`; nothing is deleted. Quit the tray app and any `token-monitor
proxy` before restoring (a running proxy follows the new file, but its last records may be
in the spool until then).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.commands._output import print_json
from monitor.context import AppContext
from monitor.services.store import backup as ledger


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "db", help="check, back up or restore the usage database",
        description="Check the usage database, back it up now, or restore a backup (the "
        "current file is moved aside, never deleted).")
    verbs = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    check = verbs.add_parser("check", help="quick integrity check of the usage database")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(func=run_check)
    backup = verbs.add_parser("backup", help="make an online backup now")
    backup.set_defaults(func=run_backup)
    restore = verbs.add_parser("restore", help="put a backup back (newest good one by default)")
    restore.add_argument("backup", nargs="?", metavar="BACKUP",
                         help="a backup file (default: the newest one that passes the check)")
    restore.set_defaults(func=run_restore)
    listing = verbs.add_parser("backups", help="list the backups, newest first")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=run_list)


def run_check(args: argparse.Namespace, ctx: AppContext) -> int:
    db = ctx.paths.db_file
    problem = ledger.quick_check(db) if db.exists() else None
    if args.json:
        print_json({"database": str(db), "ok": problem is None, "problem": problem,
                    "newest_good_backup": _str(ledger.newest_good_backup(db))})
    elif problem is None:
        print(f"{db}: ok")
    else:
        print(f"error: {ledger.damaged_message(db, problem)}", file=sys.stderr)
    return 0 if problem is None else 1


def run_backup(_args: argparse.Namespace, ctx: AppContext) -> int:
    db = ctx.paths.db_file
    if not db.exists():
        print(f"error: there is no usage database at {db} yet", file=sys.stderr)
        return 1
    problem = ledger.quick_check(db)
    if problem is not None:
        print(f"error: {ledger.damaged_message(db, problem)}", file=sys.stderr)
        return 1
    print(f"backed up to {ledger.backup_now(db, ctx.clock)}")
    return 0


def run_restore(args: argparse.Namespace, ctx: AppContext) -> int:
    db = ctx.paths.db_file
    if args.backup is not None:
        chosen: Path | None = Path(args.backup).expanduser()
    else:
        chosen = ledger.newest_good_backup(db)
        if chosen is None:
            print(f"error: no usable backup in {ledger.backup_dir(db)}", file=sys.stderr)
            return 1
    assert chosen is not None
    try:
        aside = ledger.restore(db, chosen, ctx.clock)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot restore {chosen} to {db}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    kept = f"; the previous file is kept as {aside}" if aside.exists() else ""
    print(f"restored {db} from {chosen}{kept}")
    return 0


def run_list(args: argparse.Namespace, ctx: AppContext) -> int:
    found = ledger.backups(ctx.paths.db_file)
    if args.json:
        print_json({"backups": [str(p) for p in found]})
    else:
        for p in found:
            print(p)
        if not found:
            print(f"no backups in {ledger.backup_dir(ctx.paths.db_file)} yet")
    return 0


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)
