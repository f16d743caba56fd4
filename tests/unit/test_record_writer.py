"""The proxy's record writer stores a finished request's record at once, not at its next
idle poll: the window in which an answered request lives only in memory (lost to SIGKILL)
is the short batching wait, PROMPT_WRITE_S."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from monitor.core.records import ProxyRecord
from monitor.core.usage import TokenUsage
from monitor.services.price_files import load_price_table
from monitor.services.proxy.finished import FinishedRequest
from monitor.services.proxy.record_writer import RecordWriter


def finished(i: int) -> FinishedRequest:
    return FinishedRequest(
        time=datetime(2026, 11, 10, 12, tzinfo=UTC), method="POST", endpoint="/chat/completions",
        model="gpt-4o", request_model="gpt-4o", service_tier=None, key_label="k",
        usage=TokenUsage(input_tokens=10, output_tokens=2), status=200, latency_ms=3.0,
        ttfb_ms=1.0, request_id=f"req_{i}", partial=False,
    )


def test_a_finished_request_is_stored_at_once_not_at_the_next_idle_poll(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    seen: list[ProxyRecord] = []
    all_in = threading.Event()

    def on_record(rec: ProxyRecord) -> None:
        seen.append(rec)
        if len(seen) == 3:
            all_in.set()

    writer = RecordWriter(db, load_price_table(), on_record, interval=120.0)  # a 2-minute poll
    writer.start()
    try:
        time.sleep(0.2)  # the thread now sleeps in its idle wait
        for i in range(3):
            writer.submit(finished(i))
        assert all_in.wait(20), "the records waited for the idle poll"
        conn = sqlite3.connect(db)
        try:
            assert conn.execute("SELECT COUNT(*) FROM proxy_records").fetchone()[0] == 3
        finally:
            conn.close()
    finally:
        writer.close()
    assert sorted(r.request_id or "" for r in seen) == ["req_0", "req_1", "req_2"]
