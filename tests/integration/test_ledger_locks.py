"""Several stores in one process keep their SQLite locks while another process comes and goes.

Issue 21: each store construction opened and closed the database file outside SQLite, which
drops every POSIX lock the process holds on it; the next CLI process to close its connection
then believed it was the last, checkpointed and unlinked -wal/-shm under the tray app, whose
later writes went into deleted files. Real SQLite file, real second process.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from monitor.core.records import ProxyRecord
from monitor.core.usage import TokenUsage
from monitor.services.store import UsageStore

T0 = datetime(2026, 11, 10, 12, tzinfo=UTC)
_FD_DIR = Path("/proc/self/fd")

pytestmark = pytest.mark.skipif(not _FD_DIR.is_dir(), reason="needs /proc/self/fd (Linux)")


def rec(i: int) -> ProxyRecord:
    return ProxyRecord(
        time=T0 + timedelta(seconds=i), endpoint="/chat/completions", model="gpt-4o",
        service_tier=None, key_label="k", usage=TokenUsage(input_tokens=10, output_tokens=1),
        cost_usd=Decimal("0.0001"), price_as_of=None, status=200, latency_ms=1.0,
        request_id=f"req_{i}",
    )


def held_files(db: Path) -> dict[str, int]:
    """This process's open descriptors on the database's files: target -> st_nlink."""
    held = {}
    for fd in os.listdir(_FD_DIR):
        try:
            target = os.readlink(_FD_DIR / fd)
            links = os.fstat(int(fd)).st_nlink
        except OSError:  # the listing's own descriptor, closed by now
            continue
        if target.startswith(str(db)):
            held[target] = links
    return held


def other_process(code: str, db: Path) -> str:
    out = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True,
                         text=True, timeout=60, check=True)
    return out.stdout.strip()


_OPEN_AND_CLOSE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT COUNT(*) FROM proxy_records").fetchall()
conn.close()
"""

_COUNT = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
print(conn.execute("SELECT COUNT(*) FROM proxy_records").fetchone()[0])
conn.close()
"""


def test_a_second_process_closing_its_connection_leaves_our_wal_linked(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    # As the tray app does: the context's store, the proxy's writer, the metrics exporter,
    # the ledger guard's; each one writes, so each holds connections to db, -wal and -shm.
    stores = [UsageStore(db) for _ in range(4)]
    for i, store in enumerate(stores):
        store.add_proxy_record(rec(i))
    before = held_files(db)
    assert f"{db}-wal" in before and f"{db}-shm" in before

    other_process(_OPEN_AND_CLOSE, db)

    after = held_files(db)
    assert not [t for t in after if t.endswith("(deleted)")], after
    assert all(links > 0 for links in after.values()), after
    assert (tmp_path / "usage.sqlite3-wal").exists()
    for i, store in enumerate(stores, start=len(stores)):
        store.add_proxy_record(rec(i))
    assert other_process(_COUNT, db) == str(2 * len(stores))  # a fresh process sees them all
    for store in stores:
        store.close()
    assert other_process(_COUNT, db) == str(2 * len(stores))


_CREATE_UNDER_LOOSE_UMASK = """
import os, sys
from pathlib import Path
os.umask(0o022)
from monitor.services.store import UsageStore
store = UsageStore(Path(sys.argv[1]))
print(oct(os.umask(0o022)))  # the store left the process's umask as it was
store.close()
"""


def test_the_database_and_its_companions_are_owner_only_whatever_the_umask(
    tmp_path: Path,
) -> None:
    db = tmp_path / "usage.sqlite3"
    assert other_process(_CREATE_UNDER_LOOSE_UMASK, db) == "0o22"
    assert db.stat().st_mode & 0o777 == 0o600
    with UsageStore(db) as store:
        store.add_proxy_record(rec(0))
        for name in ("usage.sqlite3-wal", "usage.sqlite3-shm"):
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o600


def test_an_existing_loose_database_is_made_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    sqlite3.connect(db).close()
    db.chmod(0o644)
    UsageStore(db).close()
    assert db.stat().st_mode & 0o777 == 0o600
