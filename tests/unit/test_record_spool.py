"""The record spool: append-only, owner-only, replayed exactly once, torn lines kept aside."""

from __future__ import annotations

import json
from pathlib import Path

from monitor.services.record_spool import RecordSpool, record_from_json, spool_path_for
from monitor.services.store import UsageStore
from tests.integration.test_no_record_lost import rec


def test_replay_stores_each_record_once_even_after_a_crash_before_emptying(
    tmp_path: Path,
) -> None:
    db = tmp_path / "usage.sqlite3"
    spool = RecordSpool(spool_path_for(db))
    assert spool.append([rec(i) for i in range(5)]) == 5
    assert spool.path.stat().st_mode & 0o777 == 0o600
    entries = [(json.loads(line)["id"], record_from_json(json.loads(line)["record"]))
               for line in spool.path.read_text().splitlines()]
    with UsageStore(db) as store:
        # A crash right after the replay committed, before the spool was emptied:
        done, refused = store.replay_spooled(entries[:3])
        assert (len(done), refused) == (3, [])
        spool.replay(store)  # replays all five again: three are known
        assert len(store.proxy_records()) == 5
        assert spool.pending() == 0
        assert [r.request_id for r in store.proxy_records()] == [f"req_{i}" for i in
                                                                  range(4, -1, -1)]
        assert spool.replay(store) == 0


def test_a_torn_line_is_kept_aside_and_the_rest_replayed(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    spool = RecordSpool(spool_path_for(db))
    spool.append([rec(1)])
    with open(spool.path, "a", encoding="utf-8") as fh:
        fh.write('{"id": "x", "record": {"time"')  # the process died mid-write
    spool.append([rec(2)])
    with UsageStore(db) as store:
        spool.replay(store)
        assert sorted(r.request_id or "" for r in store.proxy_records()) == ["req_1", "req_2"]
    bad = spool.path.with_name(spool.path.name + ".bad")
    assert '"id": "x"' in bad.read_text()
    assert spool.pending() == 0


def test_a_record_the_store_refuses_stays_in_the_spool(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    spool = RecordSpool(spool_path_for(db))
    spool.append([rec(1), rec(2, tokens=10**30), rec(3)])
    with UsageStore(db) as store:
        spool.replay(store)
        assert len(store.proxy_records()) == 2
    [kept] = spool.path.read_text().splitlines()
    assert json.loads(kept)["record"]["request_id"] == "req_2"


def test_when_neither_database_nor_spool_can_take_records_they_wait_in_memory(
    tmp_path: Path,
) -> None:
    from monitor.services.proxy.record_keeper import RecordKeeper
    from monitor.services.store import StoreError

    db = tmp_path / "usage.sqlite3"
    spool_path = spool_path_for(db)
    spool_path.mkdir()  # the spool cannot be written (as on a full disk)
    available = False

    def open_store() -> UsageStore:
        if not available:
            raise StoreError("the disk is full")
        return UsageStore(db)

    keeper = RecordKeeper(open_store, RecordSpool(spool_path), retry_s=0.0)
    assert keeper.keep([rec(1), rec(2)]) == []
    assert keeper.keep([rec(3)]) == []
    spool_path.rmdir()
    available = True
    stored = keeper.keep([rec(4)])
    assert [r.request_id for r in stored] == ["req_4"]
    with UsageStore(db) as store:
        ids = sorted(r.request_id or "" for r in store.proxy_records())
    assert ids == ["req_1", "req_2", "req_3", "req_4"] and keeper.lost_total == 0
    keeper.close()


def test_every_token_kind_survives_the_spool() -> None:
    from dataclasses import fields, replace

    from monitor.core.usage import TokenUsage
    from monitor.services.record_spool import record_to_json

    usage = TokenUsage(**{f.name: i + 1 for i, f in enumerate(fields(TokenUsage))})
    r = replace(rec(1), usage=usage, unmetered="malformed_usage", estimated=True)
    assert record_from_json(json.loads(json.dumps(record_to_json(r)))) == r
