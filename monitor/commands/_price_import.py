"""`token-monitor price import FILE [--apply] [--json]`: new and changed prices from a file.

Reads LiteLLM's `model_prices_and_context_window.json` (its OpenAI rows) or this app's own
table format, shows the difference against the current table, and with `--apply` writes one
row per new or changed model into the user's override (`prices.json` in the config dir),
effective from the import date (the app's clock, UTC): usage before that date keeps the prices
it had. Rows that are malformed are reported and never applied; the user's other override
entries are kept as they were. A user override that does not load is never rewritten; one that
is replaced is kept first as `prices.json.bak` (as settings.json.bak is), and the output says so.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from monitor.commands._output import print_json
from monitor.context import AppContext
from monitor.core.json_limits import loads_bounded
from monitor.core.local_files import decode_text, read_local_file, read_local_text
from monitor.core.price_import import (
    Change,
    ImportResult,
    apply_to_override,
    diff,
    dump_table,
    read_import,
)
from monitor.services.price_files import bundled_document


def _import_day(args: argparse.Namespace, ctx: AppContext) -> date:
    if getattr(args, "now", None):
        value = datetime.fromisoformat(args.now)
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        return value.astimezone(UTC).date()
    return ctx.now().date()


def run_import(args: argparse.Namespace, ctx: AppContext) -> int:
    path = Path(args.file)
    try:
        text = read_local_text(path)  # a regular file of a sane size: no FIFO, no /dev/zero
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {path}: {getattr(exc, 'strerror', None) or exc}",
              file=sys.stderr)
        return 1
    try:
        result = read_import(text, str(path))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    table = ctx.prices()
    day = _import_day(args, ctx)
    changes, unchanged = diff(result, table, day)
    override_path = ctx.paths.prices_override
    applied = False
    backup: Path | None = None
    if args.apply and changes:
        if table.warnings:
            print(f"error: not applied: your price override does not load "
                  f"({'; '.join(table.warnings)}); fix it first, it is never rewritten",
                  file=sys.stderr)
            return 1
        try:
            previous = read_local_file(override_path) if override_path.exists() else None
            current: dict[str, Any] = (loads_bounded(decode_text(previous),
                                                     parse_float=Decimal)
                                       if previous is not None else {})
            new = apply_to_override(current, result, changes, table, day,
                                    f"import: {path.name} ({result.format})",
                                    bundled=bundled_document())
        except (OSError, ValueError) as exc:
            print(f"error: not applied: {exc}", file=sys.stderr)
            return 1
        backup = _replace_keeping_backup(override_path, previous, dump_table(new))
        applied = True
    if args.json:
        print_json(_json(result, changes, unchanged, day, applied, override_path, path)
                   | {"backup": None if backup is None else str(backup)})
    else:
        text = _text(result, changes, unchanged, day, applied, override_path, path, args.apply)
        if backup is not None:
            text += f"\nThe previous override is kept as {backup}."
        print(text)
    return 0


def _replace_keeping_backup(path: Path, previous: bytes | None, text: str) -> Path | None:
    """Write `text` to the override; its previous bytes go to `<name>.bak` first, the way
    settings.json.bak is kept (a symlinked override stays a link: its target is written).
    Returns the backup's path, or None when there was no previous file."""
    from monitor.atomic import atomic_write_bytes, atomic_write_text
    from monitor.services.settings_file import BACKUP_SUFFIX

    backup = None
    if previous is not None:
        backup = path.with_name(path.name + BACKUP_SUFFIX)
        atomic_write_bytes(backup, previous)
    atomic_write_text(path.resolve() if path.is_symlink() else path, text)
    return backup


def _rates_text(rates: dict[str, Decimal | None]) -> str:
    return " · ".join(f"{k.replace('_', ' ')} {'—' if v is None else format(v, 'f')}"
                      for k, v in rates.items())


def _value(v: Decimal | None) -> str:
    return "—" if v is None else format(Decimal(v).normalize(), "f")


def _text(result: ImportResult, changes: list[Change], unchanged: int, day: date,
          applied: bool, override: Path, path: Path, asked: bool) -> str:
    new = [c for c in changes if c.kind == "new"]
    changed = [c for c in changes if c.kind == "changed"]
    fmt = "LiteLLM" if result.format == "litellm" else "price table"
    lines = [f"Import from {path} ({fmt} format): {len(result.models)} models read, "
             f"{len(new)} new, {len(changed)} changed, {unchanged} unchanged, "
             f"{len(result.problems)} bad" + (f", {result.skipped} not OpenAI (skipped)"
                                               if result.skipped else "") + "."]
    by_name = {m.name: m for m in result.models}
    for c in new:
        lines.append(f"  new      {c.model}: {_rates_text(by_name[c.model].tiers['standard'])}")
    for c in changed:
        detail = ", ".join(f"{f.removeprefix('standard.')} {_value(old)} → {_value(new_)}"
                           for f, old, new_ in c.fields)
        lines.append(f"  changed  {c.model}: {detail}")
    for problem in result.problems:
        lines.append(f"  bad      {problem} (not applied)")
    if not changes:
        lines.append("Nothing to apply: the table already has these prices."
                     if result.models else "Nothing to apply.")
    elif applied:
        lines.append(f"Applied: {len(changes)} models written to {override} effective from "
                     f"{day.isoformat()}; usage before that keeps its old prices.")
    elif not asked:
        lines.append(f"Run again with --apply to write them to {override} effective from "
                     f"{day.isoformat()}.")
    return "\n".join(lines)


def _json(result: ImportResult, changes: list[Change], unchanged: int, day: date,
          applied: bool, override: Path, path: Path) -> dict[str, Any]:
    by_name = {m.name: m for m in result.models}
    return {
        "file": str(path),
        "format": result.format,
        "models_read": len(result.models),
        "new": [{"model": c.model, **by_name[c.model].tiers} for c in changes
                if c.kind == "new"],
        "changed": [c.to_json() for c in changes if c.kind == "changed"],
        "unchanged": unchanged,
        "problems": result.problems,
        "skipped": result.skipped,
        "effective_from": day,
        "applied": applied,
        "override": str(override),
    }
