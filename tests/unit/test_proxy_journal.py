"""The proxy's write-ahead journal (services/proxy/journal.py): what a killed proxy journaled is
stored exactly once at the next start; a live proxy's journal is never imported by another;
a clean stop leaves no journal and no remembered ids behind."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

from monitor.services.price_files import load_price_table
from monitor.services.proxy.journal import JOURNAL_PREFIX, Journal, encode_entry
from monitor.services.proxy.record_writer import RecordWriter
from monitor.services.record_spool import RecordSpool, spool_path_for
from monitor.services.store import UsageStore
from tests.unit.test_record_writer import finished


def _rows(db: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def _journals(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{JOURNAL_PREFIX}*"))


def test_a_killed_proxys_journal_is_stored_once_at_the_next_start(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    prices = load_price_table()
    dead = Journal(tmp_path)
    lines = [dead.append(finished(i)) for i in range(4)]
    assert all(lines)
    # one of them was stored before the kill, one spooled: neither may be stored again
    store = UsageStore(db)
    first = RecordWriter(db, prices).to_record(finished(0))
    store.add_proxy_records([first])
    store.remember_spool_ids([lines[0][0]])  # type: ignore[index]
    RecordSpool(spool_path_for(db)).append_entries(
        [(lines[1][0], RecordWriter(db, prices).to_record(finished(1)))])  # type: ignore[index]
    store.close()
    seg = lines[0][1]  # type: ignore[index]
    with open(seg.path, "ab") as fh:  # the line a kill cut short
        fh.write(encode_entry("x.1.99", finished(99))[:40])
    dead.close(all_kept=False)  # the fds go as at a kill: the flock with them

    writer = RecordWriter(db, prices)
    writer.start()
    writer.close()
    ids = sorted(str(r[0]) for r in _rows(db, "SELECT request_id FROM proxy_records"))
    assert ids == ["req_0", "req_1", "req_2", "req_3"]
    assert _journals(tmp_path) == []
    assert _rows(db, "SELECT id FROM replayed_spool WHERE id LIKE ?",
                 seg.prefix + "%") == []  # forgotten with their segment
    assert not RecordSpool(spool_path_for(db)).has_pending()


def test_a_live_proxys_journal_is_not_imported_by_another(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    live = Journal(tmp_path)
    assert live.append(finished(1)) is not None
    other = RecordWriter(db, load_price_table())
    other.start()
    other.close()
    assert _rows(db, "SELECT COUNT(*) FROM proxy_records") == [(0,)]
    assert len(_journals(tmp_path)) == 1
    live.close(all_kept=False)


def test_stored_records_leave_no_journal_and_no_ids_after_a_clean_stop(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    writer = RecordWriter(db, load_price_table())
    writer.start()
    try:
        for i in range(5):
            item = finished(i)
            line = writer.journal.append(item)
            assert line is not None
            writer.submit(dataclasses.replace(item, journal_id=line[0],
                                              journal_segment=line[1]))
        assert writer.flush()
        assert len(_rows(db, "SELECT id FROM replayed_spool")) == 5  # remembered meanwhile
        assert len(_journals(tmp_path)) == 1
    finally:
        writer.close()
    assert _rows(db, "SELECT COUNT(*) FROM proxy_records") == [(5,)]
    assert _journals(tmp_path) == []
    assert _rows(db, "SELECT COUNT(*) FROM replayed_spool") == [(0,)]
