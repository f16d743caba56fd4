"""The record spool: append-only, owner-only, replayed exactly once, torn lines kept aside."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from monitor.services.record_spool import (
    RecordSpool,
    decode_line,
    record_from_json,
    spool_path_for,
)
from monitor.services.store import UsageStore
from tests.integration.test_no_record_lost import rec


def test_replay_stores_each_record_once_even_after_a_crash_before_emptying(
    tmp_path: Path,
) -> None:
    db = tmp_path / "usage.sqlite3"
    spool = RecordSpool(spool_path_for(db))
    assert spool.append([rec(i) for i in range(5)]) == 5
    assert spool.path.stat().st_mode & 0o777 == 0o600
    entries = [decode_line(line) for line in spool.path.read_text().splitlines(keepends=True)]
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
    [kept] = spool.path.read_text().splitlines(keepends=True)
    assert decode_line(kept)[1].request_id == "req_2"


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


# -- a full disk: all or nothing, never twice ---------------------------------------------


class FullDisk:
    """A spool writer that acts like a disk that fills up: while `full`, each write puts
    half of what it is given on the disk (a short write), and the next one raises ENOSPC."""

    def __init__(self) -> None:
        self.full = False
        self.refused = 0
        self._half_done = False

    def __call__(self, fd: int, data: memoryview) -> int:
        if not self.full:
            return os.write(fd, data)
        if self._half_done or len(data) < 2:
            self._half_done = False
            self.refused += 1
            raise OSError(errno.ENOSPC, "No space left on device")
        self._half_done = True
        return os.write(fd, data[: len(data) // 2])


def test_a_full_disk_mid_append_stores_every_record_exactly_once(tmp_path: Path) -> None:
    from monitor.services.proxy.record_keeper import RecordKeeper
    from monitor.services.store import StoreError

    db = tmp_path / "usage.sqlite3"
    disk = FullDisk()
    database_up = False

    def open_store() -> UsageStore:
        if not database_up:
            raise StoreError("the disk is full")
        return UsageStore(db)

    keeper = RecordKeeper(open_store, RecordSpool(spool_path_for(db), write=disk), retry_s=0.0)
    sent = 0
    for batch in range(12):  # 3 batches fit, 6 meet the full disk, 3 more once it frees
        disk.full = 3 <= batch < 9
        keeper.keep([rec(sent + i) for i in range(7)])
        sent += 7
    assert disk.refused >= 6  # the seam really cut appends in half
    database_up = True
    keeper.keep([rec(sent)])
    sent += 1
    keeper.close()
    with UsageStore(db) as store:
        ids = [r.request_id for r in store.proxy_records()]
    assert len(ids) == sent == len(set(ids))  # forwarded == stored, none twice
    assert keeper.unkept == 0 and keeper.lost_total == 0


def test_a_failed_append_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    disk = FullDisk()
    spool = RecordSpool(tmp_path / "proxy-spool.jsonl", write=disk)
    spool.append([rec(1)])
    before = spool.path.read_bytes()
    disk.full = True
    with pytest.raises(OSError, match="No space"):
        spool.append([rec(i) for i in range(2, 9)])
    assert spool.path.read_bytes() == before
    assert spool.pending() == 1


def test_a_retried_append_whose_first_try_could_not_be_cut_back_is_stored_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = tmp_path / "usage.sqlite3"
    disk = FullDisk()
    spool = RecordSpool(spool_path_for(db), write=disk)
    entries = [(f"id{i}", rec(i)) for i in range(5)]  # half of it ends mid-line
    disk.full = True

    def no_truncate(fd: int, length: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    with monkeypatch.context() as m:
        m.setattr(os, "ftruncate", no_truncate)
        with pytest.raises(OSError):
            spool.append_entries(entries)
    assert spool.path.stat().st_size > 0  # complete lines of the failed try stayed
    disk.full = False
    assert spool.append_entries(entries) == 5  # the retry, same ids
    with UsageStore(db) as store:
        spool.replay(store)
        ids = sorted(r.request_id or "" for r in store.proxy_records())
    assert ids == [f"req_{i}" for i in range(5)]
    bad = spool.path.with_name(spool.path.name + ".bad")
    assert bad.exists()  # the half line of the failed try, kept aside


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_torn_or_garbled_line_is_recognised_by_its_checksum(
    tmp_path: Path, damage: str
) -> None:
    db = tmp_path / "usage.sqlite3"
    spool = RecordSpool(spool_path_for(db))
    spool.append([rec(1), rec(2)])
    data = bytearray(spool.path.read_bytes())
    first_end = data.index(b"\n") + 1
    if damage == "truncate":  # a crash mid-line: the second line lost its tail
        data = data[: first_end + (len(data) - first_end) // 2]
    else:  # a digit of the second line's usage changed (still valid JSON)
        at = data.index(b'"input_tokens":10', first_end) + len(b'"input_tokens":')
        data[at] = ord("9")
    spool.path.write_bytes(bytes(data))
    spool.append([rec(3)])
    with UsageStore(db) as store:
        spool.replay(store)
        ids = sorted(r.request_id or "" for r in store.proxy_records())
    assert ids == ["req_1", "req_3"]
    assert spool.path.with_name(spool.path.name + ".bad").read_text().count("\n") == 1
    assert spool.pending() == 0


def test_a_spool_written_before_checksums_is_still_replayed(tmp_path: Path) -> None:
    from monitor.services.record_spool import record_to_json

    db = tmp_path / "usage.sqlite3"
    spool = RecordSpool(spool_path_for(db))
    spool.path.write_text(json.dumps({"id": "old1", "record": record_to_json(rec(1))}) + "\n")
    spool.append([rec(2)])
    with UsageStore(db) as store:
        assert spool.replay(store) == 2
