"""The hard-cap gate over a real SQLite store: refusal texts, settling, spool-aware spend,
refusals counted once, and one log line for a store that cannot be written."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from monitor.core.clock import fixed_clock
from monitor.core.money import usd
from monitor.core.prices import PriceTable
from monitor.core.records import MALFORMED_USAGE, ProxyRecord
from monitor.core.settings import Settings
from monitor.core.usage import TokenUsage
from monitor.services.price_files import load_price_table
from monitor.services.proxy import caps
from monitor.services.proxy.caps import Hold, SpendGate
from monitor.services.store import UsageStore
from monitor.services.virtual_keys import VirtualKeys

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
MSG = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return load_price_table()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "usage.sqlite3"


@pytest.fixture
def store(db: Path) -> Iterator[UsageStore]:
    s = UsageStore(db, clock=fixed_clock(NOW), busy_timeout_s=0.05)
    yield s
    s.close()


def record(label: str, cost: Decimal | None, *, minutes: int = 1, model: str = "gpt-4o",
           **kw: Any) -> ProxyRecord:
    return ProxyRecord(
        time=NOW - timedelta(minutes=minutes), endpoint="/chat/completions", model=model,
        service_tier=None, key_label=label, usage=TokenUsage(input_tokens=10, output_tokens=5),
        cost_usd=cost, price_as_of=None, status=200, latency_ms=1.0, **kw)


def gate_for(prices: PriceTable, store: UsageStore, settings: Settings | None = None
             ) -> SpendGate:  # fmt: skip
    gate = SpendGate(prices=prices, clock=fixed_clock(NOW),
                     settings=lambda: settings or Settings(), secret_for=lambda _l: "sk-real")
    gate.load(store)
    return gate


def key(store: UsageStore, label: str, cap: str, per: str = "day") -> str:
    _, token = VirtualKeys(store).add(label, "team", now=NOW - timedelta(hours=1),
                                      cap_usd=Decimal(cap), per=per, hard=True)
    return f"Bearer {token}"


def body(**doc: Any) -> bytes:
    return json.dumps({"model": "gpt-4o", "messages": MSG, **doc}).encode()


def reserve(gate: SpendGate, auth: str | None, data: bytes | None,
            endpoint: str = "/chat/completions") -> Hold | str:  # fmt: skip
    """A hold, or the refusal's message."""
    async def run() -> Hold | str:
        admission = await gate.authorize(auth)
        got = await gate.reserve(admission.accounts, data, endpoint, None)
        if isinstance(got, Hold):
            return got
        assert got.status == 429 and got.text is not None
        return str(json.loads(got.text)["error"]["message"])
    return asyncio.run(run())


def figures(gate: SpendGate) -> dict[str, tuple[Decimal, Decimal]]:
    return {label or scope: (spent, reserved)
            for scope, label, _cap, spent, reserved in gate.account_figures()}


# -- what is refused, and how it says so ----------------------------------------------------


def test_moderations_are_never_refused_even_past_the_cap(
    prices: PriceTable, store: UsageStore
) -> None:
    auth = key(store, "bot", "0.01")
    store.add_proxy_records([record("bot", Decimal("0.02"))])
    gate = gate_for(prices, store)
    refused = reserve(gate, auth, body())
    assert isinstance(refused, str) and "is reached" in refused
    mod = b'{"model": "omni-moderation-latest", "input": "hi"}'
    assert isinstance(reserve(gate, auth, mod, "/moderations"), Hold)
    assert isinstance(reserve(gate, auth, b'{"purpose": "batch"}', "/batches"), Hold)


def test_the_worst_case_is_named_when_it_is_why(prices: PriceTable, store: UsageStore) -> None:
    auth = key(store, "bot", "0.01")
    store.add_proxy_records([record("bot", Decimal("0.00068"))])
    gate = gate_for(prices, store)
    worst = asyncio.run(gate.estimate(body(), "/chat/completions", None))
    assert worst is not None and worst > Decimal("0.01")
    message = reserve(gate, auth, body())
    assert isinstance(message, str)
    assert "Spent $0.00068 of $0.01 this day" in message
    assert (f"this request could cost up to {usd(worst)} at 4,096 output tokens; set "
            "max_tokens / max_output_tokens to lower that") in message
    assert "is reached" not in message and "in progress" not in message
    # named small, it fits
    assert isinstance(reserve(gate, auth, body(max_tokens=16)), Hold)


def test_a_finished_request_is_not_reported_as_in_progress(
    prices: PriceTable, store: UsageStore
) -> None:
    auth = key(store, "bot", "0.01")
    gate = gate_for(prices, store)
    first = reserve(gate, auth, body(max_tokens=500))
    assert isinstance(first, Hold)
    running = reserve(gate, auth, body(max_tokens=500))
    assert isinstance(running, str) and "reserved by requests in progress" in running
    gate.finished(first)
    message = reserve(gate, auth, body(max_tokens=500))
    assert isinstance(message, str)
    assert "in progress" not in message
    assert f"{usd(first.amount)} by finished requests not yet recorded" in message
    gate.settle(first, record("bot", Decimal("0.0001")))
    assert figures(gate)["bot"] == (Decimal("0.0001"), 0)
    assert isinstance(reserve(gate, auth, body(max_tokens=500)), Hold)


def test_the_monthly_refusal_states_its_figures_half_up(
    prices: PriceTable, store: UsageStore
) -> None:
    store.add_proxy_records([record("k", Decimal("48.105"))])
    gate = gate_for(prices, store, Settings(monthly_limit_usd=Decimal(48), hard_cap=True))
    message = reserve(gate, None, body(max_tokens=10))
    assert isinstance(message, str)
    assert "the monthly limit (hard cap) is reached. Spent $48.11 of $48.00" in message
    assert "could cost up to" not in message and "$0.0000" not in message


def test_tiny_amounts_stay_readable(prices: PriceTable, store: UsageStore) -> None:
    auth = key(store, "tiny", "0.00000251")
    gate = gate_for(prices, store)
    message = reserve(gate, auth, body(max_tokens=1))
    assert isinstance(message, str)
    assert "of $0.0000025 this day" in message and "$0.0000 " not in message
    assert not re.search(r"\$0\.0000(?!\d)", message), message
    assert "at 1 output token;" in message


def test_unseen_input_is_explained(prices: PriceTable, store: UsageStore) -> None:
    auth = key(store, "bot", "0.05")
    gate = gate_for(prices, store)
    doc = json.dumps({"model": "gpt-4o", "input": "and then?", "max_output_tokens": 10,
                      "previous_response_id": "resp_1"}).encode()
    message = reserve(gate, auth, doc, "/responses")
    assert isinstance(message, str)
    assert "it uses input the proxy cannot see (previous_response_id)" in message
    assert "128,000 input tokens (the model's context window)" in message


# -- settling --------------------------------------------------------------------------------


def test_an_unknown_cost_settles_at_the_reservation_never_zero(
    prices: PriceTable, store: UsageStore
) -> None:
    auth = key(store, "bot", "1")
    gate = gate_for(prices, store)
    hold = reserve(gate, auth, body(max_tokens=100))
    assert isinstance(hold, Hold)
    unpriced = gate.charge(hold, record("bot", None, model="openai/gpt-4o"))
    assert unpriced.cost_usd == hold.amount and unpriced.estimated
    malformed = gate.charge(hold, record("bot", Decimal(125), unmetered=MALFORMED_USAGE))
    assert malformed.cost_usd == hold.amount and malformed.estimated
    known = record("bot", Decimal("0.0004"))
    assert gate.charge(hold, known) is known
    no_output = gate.charge(hold, record("bot", Decimal("0.00001"), estimated=True,
                                         unmetered="client_disconnected"))
    assert no_output.cost_usd == hold.amount  # only its input was counted
    gate.settle(hold, record("bot", None))
    assert figures(gate)["bot"] == (hold.amount, 0)


def test_spooled_spend_survives_the_refresh_and_is_not_counted_twice(
    prices: PriceTable, store: UsageStore
) -> None:
    auth = key(store, "bot", "1")
    gate = gate_for(prices, store)
    hold = reserve(gate, auth, body(max_tokens=100))
    assert isinstance(hold, Hold)
    rec = record("bot", Decimal("0.25"))
    gate.settle(hold, rec, stored=False)  # the database was locked: the record is spooled
    for _ in range(2):
        gate.refresh_soon()
        gate.tick(store, waiting=True)
        assert figures(gate)["bot"] == (Decimal("0.25"), 0)
    store.add_proxy_records([rec])  # the spool is replayed
    gate.refresh_soon()
    gate.tick(store, waiting=False)
    assert figures(gate)["bot"] == (Decimal("0.25"), 0)


def test_refusals_wait_for_a_locked_store_and_are_counted_once(
    prices: PriceTable, store: UsageStore, db: Path, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(caps, "FLUSH_RETRY_S", 0.0)
    auth = key(store, "bot", "0.000001")
    gate = gate_for(prices, store)
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    with caplog.at_level(logging.DEBUG, logger="monitor"):
        for round_ in range(3):
            for _ in range(4):
                assert isinstance(reserve(gate, auth, body(max_tokens=5)), str)
            gate.refresh_soon()
            gate.tick(store)
            assert VirtualKeys(store).refusals_at(NOW) == [] or round_ < 0
        lock.execute("ROLLBACK")
        lock.close()
        gate.tick(store)
    [found] = VirtualKeys(store).refusals_at(NOW)
    assert found.count == 12
    gate.tick(store)
    assert VirtualKeys(store).refusals_at(NOW)[0].count == 12
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert all(r.exc_info is None for r in loud)  # no traceback
    texts = [r.getMessage() for r in loud if "usage database" in r.getMessage()]
    assert len(texts) == 2, texts
    assert "cannot be written (hard-cap refusals) now" in texts[0]
    assert "can be written again" in texts[1]


def test_a_refused_flush_merges_with_newer_refusals(prices: PriceTable, store: UsageStore,
                                                     db: Path) -> None:  # fmt: skip
    auth = key(store, "bot", "0.000001")
    gate = gate_for(prices, store)
    assert isinstance(reserve(gate, auth, body(max_tokens=5)), str)
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    gate.tick(store)
    lock.execute("ROLLBACK")
    lock.close()
    assert isinstance(reserve(gate, auth, body(max_tokens=5)), str)
    gate._flush_at = 0.0
    gate.tick(store)
    [found] = VirtualKeys(store).refusals_at(NOW)
    assert found.count == 2 and replace(found, count=0).message.startswith("Token Monitor")


def test_a_new_key_while_the_store_cannot_be_read_is_a_503_not_unknown(
    prices: PriceTable, store: UsageStore, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = gate_for(prices, store)
    auth = key(store, "late", "1")  # created after the gate loaded its keys

    def locked(*_a: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(VirtualKeys, "by_hash", locked)

    async def run() -> tuple[int, str]:
        admission = await gate.authorize(auth)
        assert admission.refusal is not None and admission.refusal.text is not None
        return admission.refusal.status, admission.refusal.text

    with caplog.at_level(logging.WARNING, logger="monitor"):
        for _ in range(3):
            status, text = asyncio.run(run())
            assert status == 503 and "cannot read its virtual keys now" in text
    assert len(caplog.records) == 1 and caplog.records[0].exc_info is None
    monkeypatch.undo()
    assert asyncio.run(gate.authorize(auth)).refusal is None
