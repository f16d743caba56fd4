"""Ledger safety: daily online backups (last 7), integrity check, clear damage message, restore."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.core.clock import ManualClock
from monitor.paths import Paths
from monitor.services.store import UsageStore
from monitor.services.store import backup as ledger
from tests.integration.test_no_record_lost import rec

T0 = datetime(2027, 1, 31, 23, 30, tzinfo=UTC)


def seeded(db: Path, n: int) -> None:
    with UsageStore(db) as store:
        store.add_proxy_records([rec(i) for i in range(n)])


def damage(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(db.read_bytes())
    page = 4096  # every page after the schema page is overwritten (a disk gone bad)
    data[page:] = os.urandom(len(data) - page)
    db.write_bytes(bytes(data))


def test_one_backup_a_day_by_the_clock_and_only_the_last_7_kept(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    seeded(db, 3)
    clock = ManualClock(T0)
    made = []
    for _ in range(10):
        made.append(ledger.backup_if_due(db, clock))
        assert ledger.backup_if_due(db, clock) is None  # once per UTC day
        clock.advance(days=1)
    assert made[0] is not None and made[0].name == "usage-2027-01-31.sqlite3"
    kept = ledger.backups(db)
    assert [p.name for p in kept] == [p.name for p in reversed(made[-7:]) if p is not None]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in kept)
    with UsageStore(kept[0]) as copy:  # a real, complete database
        assert len(copy.proxy_records()) == 3


def test_a_damaged_database_is_detected_and_never_backed_up(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    seeded(db, 500)
    assert ledger.quick_check(db) is None
    damage(db)
    assert ledger.quick_check(db) is not None
    assert ledger.backup_if_due(db, ManualClock(T0)) is None


def test_damage_gives_a_clear_message_and_db_restore_puts_the_backup_back(
    paths: Paths, capsys: pytest.CaptureFixture[str],
) -> None:
    db = paths.db_file
    seeded(db, 500)
    assert main(["db", "backup"]) == 0
    [backup] = ledger.backups(db)
    capsys.readouterr()
    damage(db)

    assert main(["db", "check"]) == 1
    err = capsys.readouterr().err
    assert str(db) in err and str(backup) in err and "db restore" in err

    rc = main(["usage", "--source", "proxy", "--period", "2026-11", "--json"])
    err = capsys.readouterr().err
    assert rc not in (0, 70)  # a clear error, not an internal one
    assert str(db) in err and "damaged" in err and str(backup) in err

    damaged_bytes = db.read_bytes()
    assert main(["db", "restore"]) == 0
    out = capsys.readouterr().out
    [aside] = [p for p in db.parent.iterdir() if p.name.startswith("usage.sqlite3.damaged-")]
    assert aside.read_bytes() == damaged_bytes and str(aside) in out  # kept, never deleted
    assert main(["db", "check"]) == 0
    with UsageStore(db) as store:
        assert len(store.proxy_records()) == 500


def test_restoring_a_damaged_backup_is_refused(paths: Paths, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    seeded(paths.db_file, 10)
    bad = tmp_path / "bad.sqlite3"
    seeded(bad, 500)
    damage(bad)
    before = paths.db_file.read_bytes()
    assert main(["db", "restore", str(bad)]) == 1
    assert "not usable" in capsys.readouterr().err
    assert paths.db_file.read_bytes() == before
