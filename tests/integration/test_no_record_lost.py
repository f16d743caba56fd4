"""No proxy record is ever dropped: bad records are isolated, an unavailable database spools.

Real parts: the proxy on loopback, the official `openai` SDK as its client, the fake upstream,
a real SQLite file (locked by another connection, replaced by a damaged file, restored).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openai

from monitor.core.prices import PriceTable
from monitor.core.records import ProxyRecord
from monitor.core.usage import TokenUsage
from monitor.paths import Paths
from monitor.services.proxy import MeteringProxy
from monitor.services.proxy.metering import MAX_TOKENS
from monitor.services.proxy.record_keeper import RecordKeeper
from monitor.services.record_spool import RecordSpool, decode_line, spool_path_for
from monitor.services.store import UsageStore
from tests.integration.test_proxy import MSG, client, proxy, records, wait_until

T0 = datetime(2026, 11, 10, 12, tzinfo=UTC)
# The proxy and an `openai` client: the same fixtures as test_proxy (the fake upstream and
# the price table come from tests/integration/conftest.py).
FIXTURES = (client, proxy, records)


def stored(db: Path) -> int:
    """Proxy records in the file, read with a fresh connection (not the proxy's)."""
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM proxy_records").fetchone()[0])
    finally:
        conn.close()


def rec(i: int, tokens: int = 10) -> ProxyRecord:
    return ProxyRecord(
        time=T0 + timedelta(seconds=i), endpoint="/chat/completions", model="gpt-4o",
        service_tier=None, key_label="k", usage=TokenUsage(input_tokens=tokens, output_tokens=1),
        cost_usd=Decimal("0.0001"), price_as_of=None, status=200, latency_ms=1.0,
        request_id=f"req_{i}",
    )


# -- a bad record is isolated ---------------------------------------------------------------


def test_a_poisoned_record_among_60_never_takes_the_batch_down(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    store = UsageStore(db)
    keeper = RecordKeeper(lambda: UsageStore(db), RecordSpool(spool_path_for(db)))
    batch = [rec(i) for i in range(30)] + [rec(30, tokens=10**30)] + [rec(i) for i in
                                                                      range(31, 61)]
    kept = keeper.keep(batch)
    assert len(kept) == 60 and stored(db) == 60
    assert keeper.spool.pending() == 1  # the poisoned one is kept, not dropped
    [line] = spool_path_for(db).read_text().splitlines(keepends=True)
    assert decode_line(line)[1].request_id == "req_30"
    assert spool_path_for(db).stat().st_mode & 0o777 == 0o600
    keeper.close()
    store.close()


def test_an_upstream_usage_of_1e30_is_flagged_not_priced_among_60_good_ones(
    proxy: MeteringProxy, client: openai.OpenAI, paths: Paths, prices: PriceTable,
) -> None:
    for i in range(61):
        scenario = {"x-fake-scenario": "usage-huge"} if i == 30 else {}
        client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=scenario)
    assert proxy.flush()
    assert stored(paths.db_file) == 61
    with UsageStore(paths.db_file) as store:
        [bad] = [r for r in store.proxy_records() if r.unmetered is not None]
    assert bad.unmetered == "malformed_usage" and bad.estimated
    # not 10M phantom tokens ($25 of input): the request's input, counted from its body
    assert 0 < bad.usage.input_tokens < 100 and bad.usage.input_tokens < MAX_TOKENS
    assert bad.cost_usd is not None and 0 < bad.cost_usd < Decimal("0.001")


# -- the database cannot take writes --------------------------------------------------------


def test_a_database_locked_for_5_s_under_traffic_loses_nothing(
    proxy: MeteringProxy, client: openai.OpenAI, paths: Paths,
) -> None:
    sent = 0
    stop = threading.Event()
    errors: list[BaseException] = []

    def traffic() -> None:
        nonlocal sent
        try:
            while not stop.is_set():
                client.chat.completions.create(model="gpt-4o", messages=MSG)
                sent += 1
                time.sleep(0.05)  # ~20 requests/s
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=traffic)
    t.start()
    time.sleep(0.5)
    locker = sqlite3.connect(paths.db_file, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    time.sleep(5)
    spool = RecordSpool(spool_path_for(paths.db_file))
    spooled_while_locked = spool.pending()
    locker.execute("COMMIT")
    locker.close()
    time.sleep(1)
    stop.set()
    t.join(30)
    assert not errors, errors
    assert proxy.flush()
    assert spooled_while_locked > 0  # the writer did not sit on the lock: it spooled
    wait_until(lambda: spool.pending() == 0 and stored(paths.db_file) == sent, 30)
    assert sent > 100


def test_a_damaged_database_spools_then_replays_into_the_recovered_store(
    proxy: MeteringProxy, client: openai.OpenAI, paths: Paths, tmp_path: Path,
) -> None:
    for _ in range(10):
        client.chat.completions.create(model="gpt-4o", messages=MSG)
    assert proxy.flush()
    good = tmp_path / "good.sqlite3"
    src = sqlite3.connect(paths.db_file)
    src.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the main file
    dst = sqlite3.connect(good)
    src.backup(dst)
    src.close()
    dst.close()

    damaged = tmp_path / "damaged.sqlite3"
    data = bytearray(good.read_bytes())
    data[:100] = os.urandom(100)  # the header and the first page are garbage
    damaged.write_bytes(bytes(data))
    os.replace(damaged, paths.db_file)

    for _ in range(10):
        client.chat.completions.create(model="gpt-4o", messages=MSG)  # clients still get 200
    assert proxy.flush()
    spool = RecordSpool(spool_path_for(paths.db_file))
    assert spool.pending() == 10

    restored = paths.db_file.with_name("restored.sqlite3")
    shutil.copy(good, restored)
    os.replace(restored, paths.db_file)  # the user restores a good copy
    wait_until(lambda: spool.pending() == 0, 30)
    assert stored(paths.db_file) == 20
    # Replaying again (as after a crash between commit and emptying the spool) adds nothing.
    with UsageStore(paths.db_file) as store:
        assert spool.replay(store) == 0
    assert stored(paths.db_file) == 20
