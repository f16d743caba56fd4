"""Store connections have an owner and a bound: 2,000 thread-pool tasks leave no fds behind."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from monitor.core.records import ProxyRecord
from monitor.core.usage import TokenUsage
from monitor.services.store import UsageStore
from monitor.services.store.connection import DEFAULT_MAX_CONNECTIONS

T0 = datetime(2026, 11, 1, tzinfo=UTC)
TASKS = 2_000


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def touch_store(store: UsageStore, i: int, most_open: list[int], lock: threading.Lock) -> None:
    """What a dashboard refresh or a proxy batch does: a write now and then, several reads."""
    if i % 10 == 0:
        store.add_proxy_record(ProxyRecord(
            time=T0 + timedelta(seconds=i), endpoint="/v1/chat/completions", model="gpt-4o",
            service_tier=None, key_label="k", usage=TokenUsage(input_tokens=10, output_tokens=5),
            cost_usd=Decimal("0.0001"), price_as_of=None, status=200, latency_ms=1.0,
        ))
    store.totals(T0, T0 + timedelta(days=1), "all")
    store.names()
    with lock:
        most_open[0] = max(most_open[0], store.open_connections())


def test_thread_pool_tasks_keep_connections_and_fds_bounded(tmp_path: Path) -> None:
    store = UsageStore(tmp_path / "usage.sqlite3")
    try:
        most_open, lock = [0], threading.Lock()
        # A fresh executor per batch: its threads end, new ones start (the churn of a pool).
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda i: touch_store(store, i, most_open, lock), range(50)))
        before = open_fds()
        for batch in range(TASKS // 100):
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda i: touch_store(store, i, most_open, lock),
                              range(batch * 100, (batch + 1) * 100)))
        after = open_fds()
        assert most_open[0] <= DEFAULT_MAX_CONNECTIONS
        assert store.open_connections() <= DEFAULT_MAX_CONNECTIONS
        assert after - before <= 8, (before, after)
        assert store.totals(T0, T0 + timedelta(days=1), "proxy").requests == (TASKS + 50) // 10
    finally:
        store.close()
    assert store.open_connections() == 0
