"""An idle proxy is not stale: a running proxy writes a heartbeat that `status` counts as news.

A proxy-only user (no Admin key) whose apps made no request for a while must not see "stale"
in the status bar while the proxy runs; once it stops, the figures do age. Every instant
derives from the pinned NOW (the proxy's clock and `status --now`).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from monitor.cli import main
from monitor.core.clock import fixed_clock
from monitor.core.prices import PriceTable
from monitor.core.settings import Settings
from monitor.paths import Paths
from monitor.services.proxy.server import MeteringProxy
from monitor.services.settings_file import save_settings
from monitor.services.store import PROXY_SOURCE, UsageStore
from tests.e2e.seed import seed_proxy_spend
from tests.fakes.server import ServerThread

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
POLL_S = 60  # stale after two polls: 120 s


def status(capsys: pytest.CaptureFixture[str], at: datetime) -> dict[str, object]:
    assert main(["status", "--format", "json", "--now", at.isoformat()]) == 0
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


def test_an_idle_running_proxy_keeps_the_figures_fresh(
    paths: Paths, prices: PriceTable, upstream: ServerThread,
    capsys: pytest.CaptureFixture[str],
) -> None:
    save_settings(paths.settings_file, Settings(poll_interval_s=POLL_S, today_timezone="UTC"))
    store = UsageStore(paths.db_file)
    try:
        seed_proxy_spend(store, [(NOW - timedelta(hours=1), Decimal("0.50"))])
    finally:
        store.close()
    before = status(capsys, NOW + timedelta(seconds=10))
    assert (before["stale"], before["state"]) == (True, "stale")  # the last record is old

    proxy = MeteringProxy(upstream=upstream.base_url + "/v1", store_path=paths.db_file,
                          prices=prices, port=0, clock=fixed_clock(NOW))
    proxy.start_in_thread()
    try:
        store = UsageStore(paths.db_file)
        try:
            deadline = time.monotonic() + 10
            while store.get_sync_state(PROXY_SOURCE) is None and time.monotonic() < deadline:
                time.sleep(0.05)
            beat = store.get_sync_state(PROXY_SOURCE)
        finally:
            store.close()
        assert beat is not None and beat.last_success == NOW  # written at start, no request
        running = status(capsys, NOW + timedelta(seconds=10))
        assert (running["stale"], running["state"]) == (False, "ok")
        assert running["as_of"] == NOW.isoformat()
        assert running["today_usd"] == 0.5  # the heartbeat adds no spend
    finally:
        proxy.stop()
    # Stopped: no more heartbeats, so two polls later the figures are stale again.
    later = status(capsys, NOW + timedelta(seconds=2 * POLL_S + 1))
    assert (later["stale"], later["state"]) == (True, "stale")
