"""Store connections stay bounded under a real QThreadPool (its threads are `_DummyThread`s,
always "alive" to Python: per-thread connections were never reclaimed there)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QRunnable, QThreadPool

from monitor.services.store import UsageStore
from monitor.services.store.connection import DEFAULT_MAX_CONNECTIONS
from tests.unit.test_store_connections import TASKS, open_fds, touch_store

T0 = datetime(2026, 11, 1, tzinfo=UTC)


class _Touch(QRunnable):
    def __init__(self, fn: object) -> None:
        super().__init__()
        self._fn = fn
        self.setAutoDelete(True)

    def run(self) -> None:
        self._fn()  # type: ignore[operator]


def test_qthreadpool_tasks_keep_connections_and_fds_bounded(tmp_path: Path, qapp: object) -> None:
    store = UsageStore(tmp_path / "usage.sqlite3")
    pool = QThreadPool()
    pool.setMaxThreadCount(4)
    pool.setExpiryTimeout(1)  # idle threads exit at once: every burst runs on new threads
    most_open, lock = [0], threading.Lock()
    errors: list[BaseException] = []

    def task(i: int) -> None:
        try:
            touch_store(store, i, most_open, lock)
        except BaseException as exc:
            errors.append(exc)

    def burst(lo: int, hi: int) -> None:
        for i in range(lo, hi):
            pool.start(_Touch(lambda i=i: task(i)))
        assert pool.waitForDone(60_000)

    try:
        burst(0, 50)
        before = open_fds()
        for b in range(TASKS // 100):
            burst(b * 100, (b + 1) * 100)
        after = open_fds()
        assert not errors, errors[:3]
        assert most_open[0] <= DEFAULT_MAX_CONNECTIONS
        assert after - before <= 8, (before, after)
        assert store.totals(T0, T0 + timedelta(days=1), "proxy").requests == (TASKS + 50) // 10
    finally:
        pool.waitForDone(60_000)
        store.close()
    assert store.open_connections() == 0
