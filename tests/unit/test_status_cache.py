"""The `status` cache: a repeated `status` prints what a full run would, without its imports.

The full path runs through monitor.cli.main with the hidden `--now` (it computes and caches);
the cached path is `run_quick` with a pinned clock. Every instant derives from NOW.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.commands._status_quick import run_quick
from monitor.core.clock import fixed_clock
from monitor.core.settings import Settings
from monitor.paths import Paths
from monitor.services import status_cache
from monitor.services.settings_file import save_settings
from monitor.services.status_format import FORMATS
from monitor.services.store import UsageStore
from monitor.services.store.backup import backup_now, restore
from monitor.services.store.schema import DERIVED_TABLES, REVISION_TABLE
from tests.e2e.seed import seed_month, seed_proxy_spend

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=7)  # same UTC date, day and cycle; the data is still fresh


@pytest.fixture
def month(paths: Paths, ctx: Any) -> Paths:
    save_settings(paths.settings_file, Settings(monthly_limit_usd=Decimal(120),
                                                today_timezone="UTC"))
    seed_month(ctx.store(), ctx.prices(), NOW)
    ctx.close()
    return paths


def full(capsys: pytest.CaptureFixture[str], *argv: str, now: datetime = NOW) -> str:
    assert main(["status", *argv, "--now", now.isoformat()]) == 0
    return capsys.readouterr().out


def quick(*argv: str, now: datetime = LATER) -> str | None:
    out = io.StringIO()
    code = run_quick(["status", *argv], clock=fixed_clock(now), out=out)
    if code is None:
        return None
    assert code == 0
    return out.getvalue()


def add_spend(paths: Paths, at: datetime, usd: str) -> None:
    store = UsageStore(paths.db_file)
    try:
        seed_proxy_spend(store, [(at, Decimal(usd))])
    finally:
        store.close()


@pytest.mark.parametrize("fmt", FORMATS)
def test_cached_output_equals_a_full_run_at_the_same_instant(
    month: Paths, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    full(capsys, "--format", fmt)  # computes at NOW and keeps the basis
    cached = quick("--format", fmt, now=LATER)
    assert cached is not None, "a run on an unchanged store must come from the cache"
    # The projection moved with the clock: the cached run recomputed it, as a full run does.
    assert cached == full(capsys, "--format", fmt, now=LATER)


def test_template_is_served_from_the_cache_too(month: Paths,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    full(capsys)
    template = "{today_usd}|{pct}|{state}"
    assert quick("--template", template) == full(capsys, "--template", template, now=LATER)
    assert quick("--template", "{nope}") is None  # the full path explains the error


def test_a_store_write_from_another_connection_is_a_miss(
    month: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    before = json.loads(full(capsys, "--format", "json"))
    assert quick("--format", "json") is not None
    add_spend(month, NOW - timedelta(minutes=2), "2.50")
    assert quick("--format", "json") is None
    after = json.loads(full(capsys, "--format", "json", now=LATER))
    assert Decimal(str(after["today_usd"])) == Decimal(str(before["today_usd"])) + Decimal("2.5")
    assert quick("--format", "json") is not None  # the full run cached the new basis


def test_a_write_by_another_tool_is_a_miss(month: Paths,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The revision is kept by triggers: even plain SQL from the sqlite3 shell counts."""
    full(capsys)
    assert quick() is not None  # a hit first, so the miss below is the write's doing
    conn = sqlite3.connect(month.db_file)
    conn.execute("DELETE FROM proxy_records WHERE rowid = (SELECT MAX(rowid) FROM "
                 "proxy_records)")
    conn.commit()
    conn.close()
    assert quick() is None


def test_settings_edit_in_place_is_a_miss(month: Paths,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    text = '{"monthly_limit_usd": 120, "today_timezone": "UTC"}\n'
    month.settings_file.write_text(text)
    full(capsys)
    assert quick() is not None
    # Same length, same inode, likely the same mtime tick: only the content tells.
    month.settings_file.write_text(text.replace('"monthly_limit_usd": 120',
                                                '"monthly_limit_usd": 130'))
    assert quick() is None
    assert "of $130" in full(capsys, now=LATER)


def test_price_override_is_part_of_the_key(month: Paths,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    full(capsys)
    assert quick() is not None
    month.prices_override.write_text('{"models": {}}\n')
    assert quick() is None


@pytest.mark.parametrize("later", [
    NOW - timedelta(seconds=1),                 # before the basis was computed
    NOW.replace(hour=23, minute=59) + timedelta(minutes=2),  # the next (UTC) day
    datetime(2026, 12, 1, 0, 30, tzinfo=UTC),  # the next billing cycle
])
def test_an_instant_outside_the_basis_is_a_miss(
    month: Paths, capsys: pytest.CaptureFixture[str], later: datetime
) -> None:
    full(capsys)
    assert quick(now=LATER) is not None
    assert quick(now=later) is None


def test_a_restored_database_is_a_miss(month: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    """A backup has the same lineage and maybe the same revision: the file identity differs."""
    copy = backup_now(month.db_file, fixed_clock(NOW))
    full(capsys)
    assert quick() is not None
    restore(month.db_file, copy, fixed_clock(NOW))
    assert quick() is None


@pytest.mark.parametrize("damage", ["garbage", "world-writable", "other key"])
def test_an_untrusted_or_damaged_cache_is_ignored(
    month: Paths, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    full(capsys)
    assert quick() is not None
    target = status_cache.cache_file(month)
    assert target.stat().st_mode & 0o777 == 0o600
    if damage == "garbage":
        target.write_text("{not json")
    elif damage == "world-writable":
        target.chmod(0o666)
    else:
        data = json.loads(target.read_text())
        data["key"]["version"] = "0.0.0"
        target.write_text(json.dumps(data))
    assert quick() is None
    assert full(capsys, now=LATER)  # the full path still works and mends the cache
    assert quick() is not None


def test_a_run_that_warned_is_not_cached(month: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    """Warnings (here: a malformed price override) must show on every run."""
    month.prices_override.write_text("{broken")
    assert main(["status", "--now", NOW.isoformat()]) == 0
    assert "warning:" in capsys.readouterr().err
    assert quick() is None
    assert not status_cache.cache_file(month).exists()


def test_other_forms_take_the_full_path(month: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    full(capsys)
    assert quick() is not None
    for argv in (["--watch"], ["--now", LATER.isoformat()], ["--format"], ["--format", "xml"],
                 ["--help"], ["--format", "json", "--format", "text"], ["extra"]):
        assert quick(*argv) is None, argv
    out = io.StringIO()
    assert run_quick(["usage"], clock=fixed_clock(LATER), out=out) is None
    assert run_quick(["--home", str(month.config_dir.parent), "status"],
                     clock=fixed_clock(LATER), out=out) == 0
    assert out.getvalue() == full(capsys, now=LATER)


def test_the_quick_path_serves_exactly_the_value_flags_argparse_defines() -> None:
    """The quick path's flag tables are the parsers' own: every global and `status` option
    that takes one value and is documented (not `--now`), nothing else."""
    from monitor.cli import build_parser, load_command_parser
    from monitor.commands import _status_quick

    def value_flags(parser: Any) -> set[str]:
        return {opt for a in parser._actions if a.nargs is None and a.option_strings
                and a.help != argparse.SUPPRESS and a.const is None
                and type(a).__name__ == "_StoreAction" for opt in a.option_strings}

    assert value_flags(build_parser()) == set(_status_quick._GLOBAL_FLAGS)
    assert value_flags(load_command_parser("status")) == set(_status_quick._STATUS_FLAGS)


def test_every_table_of_record_bumps_the_revision(paths: Paths) -> None:
    store = UsageStore(paths.db_file)
    try:
        tables = {r[0] for r in store.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
        triggers = {(r[0], r[1]) for r in store.query(
            "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")}
        records = tables - set(DERIVED_TABLES) - {REVISION_TABLE}
        assert "proxy_records" in records and "usage_buckets" in records
        for table in sorted(records):
            for op in ("insert", "update", "delete"):
                assert (table, f"revision_{table}_{op}") in triggers, (table, op)
        lineage, first = store.revision()
        seed_proxy_spend(store, [(NOW, Decimal("1"))])
        assert store.revision() == (lineage, first + 1)
    finally:
        store.close()
    other = UsageStore(paths.db_file.with_name("other.sqlite3"))
    try:
        assert other.revision()[0] != lineage  # each database has its own lineage
    finally:
        other.close()


_PROBE = """
import json, sys
from monitor.cli import main
code = main(["status", "--format", "waybar"])
sys.stdout.write("\\nPROBE " + json.dumps({"code": code, "modules": sorted(sys.modules)}) + "\\n")
"""


def _probe(home: Path) -> dict[str, Any]:
    env = {**os.environ, "MONITOR_HOME": str(home)}
    run = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         env=env, timeout=120)
    line = [x for x in run.stdout.splitlines() if x.startswith("PROBE ")]
    assert line, run.stderr[-2000:]
    result: dict[str, Any] = json.loads(line[-1].removeprefix("PROBE "))
    return result


def test_a_cached_run_imports_none_of_the_machinery(paths: Paths, ctx: Any) -> None:
    """The point of the cache: the second run of a status bar skips the report's imports."""
    save_settings(paths.settings_file, Settings(monthly_limit_usd=Decimal(120)))
    now = ctx.now()  # a subprocess runs on the real clock: seed around it
    add_spend(paths, now - timedelta(seconds=5), "1.25")
    ctx.close()
    heavy = ("argparse", "logging", "monitor.services.usage_report", "monitor.core.prices",
             "monitor.services.store", "monitor.context", "monitor.commands.status")
    first = _probe(paths.config_dir.parent)
    assert first["code"] == 0
    assert all(m in first["modules"] for m in heavy)  # the full path: the probe sees them
    second = _probe(paths.config_dir.parent)
    assert second["code"] == 0
    assert not [m for m in second["modules"] if m.startswith(heavy)], second["modules"]
