"""Cap alerts state their dollars in the one money format (core.money: half up, sub-cent
amounts readable), like every other surface."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from monitor.core.alert_texts import english
from monitor.core.records import ProxyRecord
from monitor.core.settings import Settings
from monitor.core.usage import TokenUsage
from monitor.services.cap_alerts import cap_alerts
from monitor.services.store import UsageStore
from monitor.services.virtual_keys import VirtualKeys

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def spend(store: UsageStore, label: str, cost: str) -> None:
    store.add_proxy_records([ProxyRecord(
        time=NOW - timedelta(minutes=5), endpoint="/chat/completions", model="gpt-4o",
        service_tier=None, key_label=label, usage=TokenUsage(input_tokens=10),
        cost_usd=Decimal(cost), price_as_of=None, status=200, latency_ms=1.0)])


def test_soft_cap_alert_rounds_half_up_and_keeps_small_amounts_readable(tmp_path: Path) -> None:
    with UsageStore(tmp_path / "usage.sqlite3") as store:
        keys = VirtualKeys(store)
        keys.add("big", "team", now=NOW - timedelta(hours=1), cap_usd=Decimal("48.1"),
                 per="day")
        keys.add("small", "team", now=NOW - timedelta(hours=1), cap_usd=Decimal("0.0000025"),
                 per="day")
        spend(store, "big", "48.105")
        spend(store, "small", "0.00000251")
        alerts = {a.key: a for a in cap_alerts(store, Settings(), NOW)}
    big, small = alerts["big"], alerts["small"]
    assert "big spent $48.11 of its $48.10 daily cap" in english(big).body  # was: $48.10 of $48.10
    assert dict(big.params)["spend"] == "$48.11"
    # was: $0.0000
    assert "small spent $0.0000025 of its $0.0000025 daily cap" in english(small).body
