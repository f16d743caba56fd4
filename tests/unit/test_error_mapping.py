"""Real SQLite failures, over-deep JSON and the private log file, below the CLI."""

from __future__ import annotations

import json
import logging
import sqlite3
import stat
from pathlib import Path

import pytest

from monitor import exit_codes
from monitor.core.json_limits import MAX_DEPTH, JsonTooDeep, loads_bounded
from monitor.log import PrivateRotatingFileHandler
from monitor.services.store.errors import is_database_failure, store_error


def _raised(run: object) -> sqlite3.DatabaseError:
    with pytest.raises(sqlite3.DatabaseError) as info:
        run()  # type: ignore[operator]
    return info.value


def test_a_lock_held_elsewhere_is_busy_not_damage(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(db, timeout=0, isolation_level=None)
    exc = _raised(lambda: other.execute("BEGIN IMMEDIATE"))
    holder.rollback()
    holder.close()
    other.close()
    assert is_database_failure(exc)
    err = store_error(exc, db)
    assert err.exit_code == exit_codes.DATABASE_BUSY and str(db) in err.text()


def test_a_file_that_is_not_a_database_is_damaged(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    db.write_bytes(b"\x00garbage" * 1000)
    conn = sqlite3.connect(db)
    exc = _raised(lambda: conn.execute("SELECT * FROM sqlite_master").fetchall())
    conn.close()
    err = store_error(exc, db)
    assert err.exit_code == exit_codes.DATABASE_UNUSABLE
    assert str(db) in err.text() and "damaged" in err.text()


def test_a_read_only_database_cannot_be_written(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    exc = _raised(lambda: conn.execute("INSERT INTO t VALUES (1)"))
    conn.close()
    assert store_error(exc, db).exit_code == exit_codes.CANNOT_WRITE


def test_misuse_of_sqlite_stays_an_internal_error(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.sqlite3")
    conn.execute("CREATE TABLE t (x UNIQUE)")
    conn.execute("INSERT INTO t VALUES (1)")
    exc = _raised(lambda: conn.execute("INSERT INTO t VALUES (1)"))  # IntegrityError: a bug
    conn.close()
    assert not is_database_failure(exc)


def test_json_depth_is_bounded() -> None:
    assert loads_bounded("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    for text in ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "[" * 100_000,
                 '{"a": ' * 100_000):
        with pytest.raises(JsonTooDeep, match="nested too deeply"):
            loads_bounded(text)
    with pytest.raises(json.JSONDecodeError):
        loads_bounded("{")
    assert issubclass(JsonTooDeep, ValueError)  # callers treat it as any corrupt file


def test_log_file_and_its_rotations_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "token-monitor.log"
    path.write_text("from an older version\n")
    path.chmod(0o644)
    handler = PrivateRotatingFileHandler(path, maxBytes=200, backupCount=2, encoding="utf-8")
    logger = logging.getLogger("test.private.log")
    logger.addHandler(handler)
    try:
        for i in range(20):
            logger.warning("line %d %s", i, "x" * 40)
    finally:
        logger.removeHandler(handler)
        handler.close()
    files = sorted(tmp_path.glob("token-monitor.log*"))
    assert len(files) == 3  # the file and two rotations
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
