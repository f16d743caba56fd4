"""Virtual keys and hard caps end to end: the official openai SDK -> proxy -> fake upstream."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx2 as httpx
import openai
import pytest

from monitor.cli import main
from monitor.context import AppContext
from monitor.core.budget import billing_cycle
from monitor.core.clock import ManualClock, system_clock
from monitor.core.prices import PriceTable
from monitor.core.records import ProxyRecord, UsageBucket
from monitor.core.settings import Settings
from monitor.core.usage import TokenUsage
from monitor.services.keyring_vault import MemoryVault
from monitor.services.keyvault import KeyStore
from monitor.services.price_files import load_price_table
from monitor.services.proxy import MeteringProxy
from monitor.services.proxy.caps import BUDGET_CODE, UNPRICED_CODE, SpendGate
from monitor.services.store import UsageStore
from monitor.services.virtual_keys import VirtualKeys, hash_token, key_statuses
from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.server import ServerThread

REAL_KEY = "sk-proj-REALteam0123456789abcdefghijKLMN"
CLIENT_KEY = "sk-test-client-0123456789abcdefWXYZ"
MSG = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def vault_ctx(ctx: AppContext) -> AppContext:
    """A context whose key vault is in memory, holding the project key "team"."""
    ctx._keys = KeyStore.open(ctx.paths.keys_file, vault=MemoryVault())
    ctx.keys().add("team", "project", REAL_KEY)
    return ctx


class Harness:
    """Proxies with a gate over the test's context; stops them all at the end."""

    def __init__(self, ctx: AppContext, upstream: ServerThread, prices: PriceTable) -> None:
        self.ctx, self.upstream, self.prices = ctx, upstream, prices
        self.settings = Settings()
        self.clock: Callable[..., object] = system_clock
        self.proxies: list[MeteringProxy] = []
        self.records: list[ProxyRecord] = []

    def add_key(self, label: str, **kw: object) -> str:
        _, token = VirtualKeys(self.ctx.store()).add(label, "team", now=self.ctx.now(),
                                                     **kw)  # type: ignore[arg-type]
        return token

    def start(self, clock: Callable[[], object] | None = None) -> tuple[MeteringProxy, SpendGate]:
        gate = SpendGate(prices=self.prices, clock=clock or system_clock,  # type: ignore[arg-type]
                         settings=lambda: self.settings, secret_for=self.ctx.keys().secret)
        proxy = MeteringProxy(upstream=self.upstream.base_url + "/v1",
                              store_path=self.ctx.paths.db_file, prices=self.prices, port=0,
                              on_record=self.records.append, gate=gate)  # fmt: skip
        proxy.start_in_thread()
        self.proxies.append(proxy)
        return proxy, gate

    def stop(self) -> None:
        for p in self.proxies:
            p.stop()


@pytest.fixture
def harness(vault_ctx: AppContext, upstream: ServerThread,
            prices: PriceTable) -> Iterator[Harness]:  # fmt: skip
    h = Harness(vault_ctx, upstream, prices)
    yield h
    h.stop()


class Counting:
    """An httpx client for the SDK that counts the requests the SDK really sends."""

    def __init__(self) -> None:
        self.sent = 0
        self.lock = threading.Lock()
        self.client = httpx.Client(event_hooks={"request": [self._count]})

    def _count(self, _request: httpx.Request) -> None:
        with self.lock:
            self.sent += 1


def sdk(url: str | None, key: str, retries: int = 0,
        http: httpx.Client | None = None) -> openai.OpenAI:  # fmt: skip
    return openai.OpenAI(base_url=url, api_key=key, max_retries=retries, http_client=http)


def settle(harness: Harness, proxy: MeteringProxy, n: int) -> None:
    """Wait until `n` requests are recorded (a request is handed to the writer only after its
    response went out) and stored."""
    deadline = time.monotonic() + 10
    while len(harness.records) < n:
        assert time.monotonic() < deadline, f"{len(harness.records)} of {n} records"
        time.sleep(0.01)
    assert proxy.flush()
    assert len(harness.records) == n


def spent(ctx: AppContext, label: str) -> Decimal:
    statuses = {s.key.label: s for s in key_statuses(ctx.store(), ctx.settings, ctx.now())}
    return statuses[label].spent_usd


# -- the command line ---------------------------------------------------------------------


def test_cli_add_prints_the_token_once_and_stores_only_its_hash(
    vault_ctx: AppContext, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "virtual", "add", "notes-bot", "--for", "team", "--cap-usd", "5",
                 "--per", "day", "--hard", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    token = out.pop("token")
    assert out == {"label": "notes-bot", "for": "team", "cap_usd": 5, "per": "day", "hard": True}
    assert token.startswith("tm-") and len(token) >= 3 + 43  # 256 bits, base64url
    assert main(["keys", "virtual", "add", "other", "--for", "team"]) == 0
    text = capsys.readouterr().out
    other = next(w for w in text.split() if w.startswith("tm-"))
    assert other != token
    assert "export OPENAI_BASE_URL=http://127.0.0.1:8787/v1" in text
    assert f"export OPENAI_API_KEY={other}" in text
    assert main(["keys", "virtual", "list", "--json"]) == 0
    listed = capsys.readouterr().out
    assert token not in listed and other not in listed
    rows = json.loads(listed)["virtual_keys"]
    assert [(r["label"], r["cap_usd"], r["hard"], r["spent_usd"]) for r in rows] == [
        ("notes-bot", 5, True, 0), ("other", None, False, 0)]
    db = vault_ctx.paths.db_file.read_bytes()
    assert hash_token(token).encode() in db
    for f in (f for f in home.rglob("*") if f.is_file()):
        for t in (token, other):
            assert t.encode() not in f.read_bytes() and t[3:30].encode() not in f.read_bytes()
    assert main(["keys", "virtual", "remove", "notes-bot"]) == 0
    assert main(["keys", "virtual", "remove", "notes-bot"]) == 1
    assert "no virtual key labelled 'notes-bot'" in capsys.readouterr().err


def test_budget_hard_cap_on_and_off(vault_ctx: AppContext,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budget", "--hard-cap", "on", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hard_cap"] is True
    assert json.loads(vault_ctx.paths.settings_file.read_text())["hard_cap"] is True
    assert main(["budget"]) == 0
    assert "hard cap: the proxy refuses requests past it" in capsys.readouterr().out
    assert main(["budget", "--hard-cap", "off", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hard_cap"] is False


@pytest.mark.parametrize(("argv", "message"), [
    (["--for", "nobody"], "no stored key labelled 'nobody'"),
    (["--for", "team", "--hard"], "a hard cap needs an amount"),
    (["--for", "team", "--cap-usd", "-3"], "positive"),
    (["--for", "team", "--cap-usd", "lots"], "not a number"),
])  # fmt: skip
def test_cli_add_refuses_bad_input(vault_ctx: AppContext, capsys: pytest.CaptureFixture[str],
                                   argv: list[str], message: str) -> None:  # fmt: skip
    assert main(["keys", "virtual", "add", "app", *argv]) == 1
    captured = capsys.readouterr()
    assert message in captured.err and "tm-" not in captured.out
    assert VirtualKeys(vault_ctx.store()).list() == []


# -- the swap ------------------------------------------------------------------------------


def test_virtual_key_works_for_chat_responses_and_embeddings(
    harness: Harness, fake: FakeUpstream
) -> None:
    token = harness.add_key("notes-bot")
    proxy, _ = harness.start()
    with sdk(proxy.url, token) as c:
        assert c.chat.completions.create(model="gpt-4o", messages=MSG).usage is not None
        chunks = list(c.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                                stream_options={"include_usage": True}))
        assert chunks[-1].usage is not None
        assert c.responses.create(model="gpt-4o", input="hi").usage is not None
        assert c.embeddings.create(model="text-embedding-3-small", input="hi").data
    assert {r.headers["authorization"] for r in fake.requests} == {f"Bearer {REAL_KEY}"}
    settle(harness, proxy, 4)
    assert sorted(r.key_label for r in harness.records) == ["notes-bot"] * 4
    assert spent(harness.ctx, "notes-bot") > 0
    # a client's own real key still passes through untouched, under its fingerprint
    with sdk(proxy.url, CLIENT_KEY) as c:
        c.chat.completions.create(model="gpt-4o", messages=MSG)
    assert fake.requests[-1].headers["authorization"] == f"Bearer {CLIENT_KEY}"


def test_unknown_or_removed_virtual_key_gets_401_and_never_reaches_upstream(
    harness: Harness, fake: FakeUpstream
) -> None:
    token = harness.add_key("gone-soon")
    proxy, gate = harness.start()
    counting = Counting()
    with sdk(proxy.url, "tm-" + "x" * 43, retries=3, http=counting.client) as c, \
            pytest.raises(openai.AuthenticationError) as caught:
        c.models.list()
    assert caught.value.code == "invalid_api_key" and "tm-…xxxx" in caught.value.message
    assert counting.sent == 1 and fake.requests == []
    with sdk(proxy.url, token) as c:
        c.models.list()
    assert len(fake.requests) == 1
    VirtualKeys(harness.ctx.store()).remove("gone-soon")
    gate.refresh_soon()
    for _ in range(100):
        with sdk(proxy.url, token) as c:
            try:
                c.models.list()
            except openai.AuthenticationError:
                break
        time.sleep(0.05)
    else:
        raise AssertionError("the removed key was still served")
    forwarded = len(fake.requests)
    with sdk(proxy.url, token) as c:
        for _ in range(3):
            with pytest.raises(openai.AuthenticationError):
                c.models.list()
    assert len(fake.requests) == forwarded


def test_a_key_created_while_the_proxy_runs_is_served_at_once(
    harness: Harness, fake: FakeUpstream
) -> None:
    proxy, _ = harness.start()
    token = harness.add_key("late")
    with sdk(proxy.url, token) as c:
        c.chat.completions.create(model="gpt-4o", messages=MSG)
    assert fake.requests[0].headers["authorization"] == f"Bearer {REAL_KEY}"


# -- hard caps -----------------------------------------------------------------------------


def test_hard_cap_refuses_once_without_retries_or_upstream_call(
    harness: Harness, fake: FakeUpstream
) -> None:
    token = harness.add_key("tiny", cap_usd=Decimal("0.0001"), per="day", hard=True)
    proxy, _ = harness.start()
    counting = Counting()
    with sdk(proxy.url, token, retries=3, http=counting.client) as c, \
            pytest.raises(openai.RateLimitError) as caught:
        c.chat.completions.create(model="gpt-4o", messages=MSG)
    err = caught.value
    assert counting.sent == 1  # x-should-retry: false kept the SDK from retrying
    assert fake.requests == []
    assert err.status_code == 429 and err.code == BUDGET_CODE and err.type == "insufficient_quota"
    assert err.response.headers["x-should-retry"] == "false"
    body = err.response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["param"] is None
    message = body["error"]["message"]
    assert "daily hard cap of virtual key 'tiny'" in message
    assert "Spent $0.00 of $0.0001" in message and "resets at" in message
    # the streaming call and free GETs: streaming refused too, listing models is free
    with sdk(proxy.url, token) as c:
        with pytest.raises(openai.RateLimitError):
            c.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)
        assert c.models.list().data
    assert [r.path for r in fake.requests] == ["/v1/models"]


def test_fifty_concurrent_requests_at_the_edge_stay_within_the_cap(
    harness: Harness, fake: FakeUpstream
) -> None:
    proxy, gate = harness.start()
    estimate = _estimate(gate, max_tokens=40)
    fit = 7
    cap = estimate * fit + estimate / 2
    token = harness.add_key("edge", cap_usd=cap, per="month", hard=True)
    gate.refresh_soon()
    barrier = threading.Barrier(50)

    def one(_i: int) -> str:
        with sdk(proxy.url, token) as c:
            barrier.wait()
            try:
                list(c.chat.completions.create(
                    model="gpt-4o", messages=MSG, max_tokens=40,
                    extra_headers={"x-fake-chunk-delay-ms": "50"}, stream=True,
                ))  # fmt: skip
            except openai.RateLimitError:
                return "refused"
            return "served"

    with ThreadPoolExecutor(50) as pool:
        outcomes = list(pool.map(one, range(50)))
    served = outcomes.count("served")
    settle(harness, proxy, 50)  # refusals are recorded too (HTTP 429, $0)
    harness.records.clear()
    assert served >= fit and "refused" in outcomes
    assert len(fake.requests) == served  # refusals never reached the upstream
    total = spent(harness.ctx, "edge")
    # every reservation covered its request (max_tokens named), so the bound is the cap
    assert 0 < total <= cap
    figures = {(s, lbl): (c, sp, r) for s, lbl, c, sp, r in gate.account_figures()}
    assert figures[("key", "edge")][2] == 0  # nothing left reserved


def _estimate(gate: SpendGate, **extra: object) -> Decimal:
    import asyncio

    body = json.dumps({"model": "gpt-4o", "messages": MSG, "stream": True, **extra}).encode()
    return asyncio.run(gate.estimate(body, "/chat/completions", None))


def test_caps_and_spend_survive_a_restart(harness: Harness, fake: FakeUpstream) -> None:
    proxy, gate = harness.start()
    estimate = _estimate(gate, max_tokens=40)
    token = harness.add_key("keeps", cap_usd=estimate * Decimal("1.1"), per="month", hard=True)
    gate.refresh_soon()
    with sdk(proxy.url, token) as c:
        c.chat.completions.create(model="gpt-4o", messages=MSG, max_tokens=40)
    assert proxy.flush()
    proxy.stop()
    first = spent(harness.ctx, "keeps")
    assert estimate * Decimal("0.1") < first < estimate
    again, gate = harness.start()
    assert [f[3] for f in gate.account_figures()] == [first]
    with sdk(again.url, token) as c, pytest.raises(openai.RateLimitError) as caught:
        c.chat.completions.create(model="gpt-4o", messages=MSG, max_tokens=40)
    assert "virtual key 'keeps'" in caught.value.message
    assert len(fake.requests) == 1


def test_a_day_cap_opens_again_the_next_day(harness: Harness, fake: FakeUpstream) -> None:
    clock = ManualClock(system_clock())
    proxy, gate = harness.start(clock)
    token = harness.add_key("daily", cap_usd=Decimal("0.0001"), per="day", hard=True)
    with sdk(proxy.url, token) as c:
        # created while the proxy runs: capped from its first request
        with pytest.raises(openai.RateLimitError):
            c.chat.completions.create(model="gpt-4o", messages=MSG)
        assert fake.requests == []
        # a generous cap: raise it, and the next day's period starts from zero
        VirtualKeys(harness.ctx.store()).remove("daily")
        token = harness.add_key("daily", cap_usd=Decimal("1"), per="day", hard=True)
        clock.advance(days=1)
        gate.refresh_soon()
        for _ in range(100):
            try:
                c.with_options(api_key=token).chat.completions.create(
                    model="gpt-4o-mini", messages=MSG, max_tokens=5)
                break
            except (openai.AuthenticationError, openai.RateLimitError):
                time.sleep(0.05)
    assert len(fake.requests) == 1


def test_soft_cap_never_refuses(harness: Harness, fake: FakeUpstream) -> None:
    token = harness.add_key("soft", cap_usd=Decimal("0.0000001"), per="day")
    proxy, _ = harness.start()
    with sdk(proxy.url, token) as c:
        for _ in range(3):
            c.chat.completions.create(model="gpt-4o", messages=MSG)
    assert len(fake.requests) == 3


def test_cycle_hard_cap_counts_org_figures_and_proxy_records(
    harness: Harness, fake: FakeUpstream
) -> None:
    now = system_clock()
    cycle = billing_cycle(now, 1)
    store = harness.ctx.store()
    # $2.50 of org usage this cycle (1M gpt-4o input tokens), before any proxy record
    store.upsert_usage_buckets([UsageBucket(
        start=cycle.start, width="1d", endpoint="completions", model="gpt-4o",
        requests=1, usage=TokenUsage(input_tokens=1_000_000))])
    harness.settings = Settings(monthly_limit_usd=Decimal(3), hard_cap=True)
    proxy, _ = harness.start()
    with sdk(proxy.url, CLIENT_KEY) as c:
        c.chat.completions.create(model="gpt-4o", messages=MSG, max_tokens=10)
        # a proxy record of $0.60 takes the cycle past $3
        store.add_proxy_records([ProxyRecord(
            time=now - timedelta(seconds=1), endpoint="/chat/completions", model="gpt-4o",
            service_tier=None, key_label="elsewhere", usage=TokenUsage(input_tokens=240_000),
            cost_usd=Decimal("0.60"), price_as_of=None, status=200, latency_ms=1.0)])
        proxy._gate.refresh_soon()
        for _ in range(100):
            try:
                c.chat.completions.create(model="gpt-4o", messages=MSG, max_tokens=10)
            except openai.RateLimitError as exc:
                assert "the monthly limit (hard cap) is reached" in exc.message
                assert "of $3.00" in exc.message
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the cycle cap never refused")
    served = len(fake.requests)
    harness.settings = Settings(monthly_limit_usd=Decimal(3), hard_cap=False)
    proxy._gate.refresh_soon()
    with sdk(proxy.url, CLIENT_KEY) as c:
        for _ in range(100):
            try:
                c.chat.completions.create(model="gpt-4o", messages=MSG, max_tokens=10)
                break
            except openai.RateLimitError:
                time.sleep(0.05)
    assert len(fake.requests) == served + 1


def test_refusals_are_stored_for_the_once_per_period_alert(
    harness: Harness, fake: FakeUpstream
) -> None:
    token = harness.add_key("tiny", cap_usd=Decimal("0.0001"), per="month", hard=True)
    proxy, _ = harness.start()
    with sdk(proxy.url, token) as c:
        for _ in range(3):
            with pytest.raises(openai.RateLimitError):
                c.chat.completions.create(model="gpt-4o", messages=MSG)
    store = UsageStore(harness.ctx.paths.db_file)
    try:
        for _ in range(100):
            found = VirtualKeys(store).refusals_at(system_clock())
            if found and found[0].count == 3:
                break
            time.sleep(0.05)
        assert [(r.scope, r.label, r.count) for r in found] == [("key", "tiny", 3)]
        assert "virtual key 'tiny'" in found[0].message
    finally:
        store.close()


def test_virtual_tokens_reach_no_output_file_log_or_upstream(
    harness: Harness, fake: FakeUpstream, home: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import logging

    from monitor.log import setup_logging

    monitor_log = logging.getLogger("monitor")
    saved = (monitor_log.handlers[:], monitor_log.level)
    setup_logging(harness.ctx.paths.log_file, logging.DEBUG)
    try:
        token = harness.add_key("leaky", cap_usd=Decimal("0.0001"), per="day")
        capped = harness.add_key("capped", cap_usd=Decimal("0.0001"), per="day", hard=True)
        unknown = "tm-UNKNOWNleak0123456789abcdefghijklmnopqrstu"
        proxy, _ = harness.start()
        with sdk(proxy.url, token) as c:
            c.chat.completions.create(model="gpt-4o", messages=MSG)
            list(c.chat.completions.create(model="gpt-4o", messages=MSG, stream=True))
        with sdk(proxy.url, capped) as c, pytest.raises(openai.RateLimitError):
            c.chat.completions.create(model="gpt-4o", messages=MSG)
        with sdk(proxy.url, unknown) as c, pytest.raises(openai.AuthenticationError):
            c.models.list()
        assert proxy.flush()
        harness.stop()
    finally:
        for h in monitor_log.handlers:
            if h not in saved[0]:
                h.close()
        monitor_log.handlers[:] = saved[0]
        monitor_log.setLevel(saved[1])
    out, err = capfd.readouterr()
    log_text = harness.ctx.paths.log_file.read_text()
    assert f"refused an unknown virtual key tm-…{unknown[-4:]}" in log_text  # masked
    assert "hard cap reached" in log_text
    secrets = (token, capped, unknown, REAL_KEY)
    upstream_headers = json.dumps([r.headers for r in fake.requests])
    for secret in secrets:
        for piece in (secret, secret[3:25], secret[-16:]):
            assert piece not in out and piece not in err and piece not in log_text
            for f in (f for f in home.rglob("*") if f.is_file()):
                assert piece.encode() not in f.read_bytes(), f"{piece[:6]}… in {f}"
        if secret.startswith("tm-"):
            assert secret[3:25] not in upstream_headers  # never sent to another origin
    assert f"Bearer {REAL_KEY}" in upstream_headers


# -- a model without a price ---------------------------------------------------------------

UNPRICED = "house-model-7b"  # answered by the fake upstream like any model; not in the table


def test_a_hard_cap_refuses_a_model_it_cannot_price(
    harness: Harness, fake: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    token = harness.add_key("capped", cap_usd=Decimal("100"), per="month", hard=True)
    proxy, gate = harness.start()
    counting = Counting()
    with caplog.at_level("WARNING", logger="monitor"), \
            sdk(proxy.url, token, retries=3, http=counting.client) as c:
        for stream in (False, True, False):
            with pytest.raises(openai.RateLimitError) as caught:
                c.chat.completions.create(model=UNPRICED, messages=MSG, stream=stream)
        with pytest.raises(openai.RateLimitError):
            c.embeddings.create(model=UNPRICED, input="hi")
        # a priced model under the same (generous) cap is served as before
        assert c.chat.completions.create(model="gpt-4o-mini", messages=MSG).usage is not None
    err = caught.value
    assert counting.sent == 5  # no retries: x-should-retry: false
    assert [r.path for r in fake.requests] == ["/v1/chat/completions"]
    assert fake.requests[0].json["model"] == "gpt-4o-mini"
    assert err.status_code == 429 and err.type == "insufficient_quota"
    assert err.code == UNPRICED_CODE and err.response.headers["x-should-retry"] == "false"
    body = err.response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    message = body["error"]["message"]
    assert f"no price for model '{UNPRICED}'" in message
    assert "monthly hard cap of virtual key 'capped'" in message
    assert "token-monitor price import" in message and "price override file" in message
    assert "without --hard" in message
    settle(harness, proxy, 5)
    figures = {(s, lbl): (sp, r) for s, lbl, _c, sp, r in gate.account_figures()}
    assert figures[("key", "capped")][1] == 0  # a refusal holds nothing
    warned = [r.getMessage() for r in caplog.records if UNPRICED in r.getMessage()]
    assert len(warned) == 1 and "hard cap refuses a request it cannot price" in warned[0]


def test_the_cycle_hard_cap_refuses_an_unpriced_model_and_without_it_nothing_changes(
    harness: Harness, fake: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    harness.settings = Settings(monthly_limit_usd=Decimal(50), hard_cap=True)
    proxy, gate = harness.start()
    with sdk(proxy.url, CLIENT_KEY) as c, pytest.raises(openai.RateLimitError) as caught:
        c.responses.create(model=UNPRICED, input="hi")
    assert caught.value.code == UNPRICED_CODE and fake.requests == []
    assert "the monthly limit (hard cap)" in caught.value.message
    assert "`token-monitor budget --hard-cap off`" in caught.value.message
    # a soft monthly limit: the request goes through, and the log says so once per model
    harness.settings = Settings(monthly_limit_usd=Decimal(50), hard_cap=False)
    gate.refresh_soon()
    attempts = 1
    with caplog.at_level("WARNING", logger="monitor"), sdk(proxy.url, CLIENT_KEY) as c:
        for _ in range(100):
            attempts += 1
            try:
                c.responses.create(model=UNPRICED, input="hi")
                break
            except openai.RateLimitError:
                time.sleep(0.05)
        c.responses.create(model=UNPRICED, input="hi again")
        settle(harness, proxy, attempts + 1)
    assert len(fake.requests) == 2
    served = [r for r in harness.records if r.status == 200]
    assert [r.cost_usd for r in served] == [None, None]  # stored, listed as unpriced
    notes = [r.getMessage() for r in caplog.records
             if "has no price in the price table" in r.getMessage()]
    assert len(notes) == 1 and repr(UNPRICED) in notes[0] and "soft caps" in notes[0]


def test_a_hard_cap_refuses_a_billed_request_whose_model_it_cannot_read(
    harness: Harness, fake: FakeUpstream
) -> None:
    token = harness.add_key("capped", cap_usd=Decimal("100"), per="month", hard=True)
    proxy, _ = harness.start()
    with sdk(proxy.url, token) as c:
        # multipart: the proxy forwards the body as it streams and never reads its model
        with pytest.raises(openai.RateLimitError) as caught:
            c.audio.transcriptions.create(model="gpt-4o-transcribe",
                                          file=("a.wav", b"RIFF" + bytes(64), "audio/wav"))
        # a file upload is not billed per request: a hard cap does not stop it
        assert c.files.create(file=("b.jsonl", b"{}\n" * 10, "application/jsonl"),
                              purpose="batch").id.startswith("file-")
    assert caught.value.code == UNPRICED_CODE
    assert "cannot tell which model" in caught.value.message
    assert [r.path for r in fake.requests] == ["/v1/files"]


def test_a_price_in_the_override_lets_the_model_through_the_hard_cap(
    harness: Harness, fake: FakeUpstream
) -> None:
    override = harness.ctx.paths.prices_override
    override.parent.mkdir(parents=True, exist_ok=True)
    override.write_text(json.dumps(
        {"models": {UNPRICED: {"prices": [{"standard": {"input": 1, "output": 2}}]}}}))
    harness.prices = load_price_table(override)
    token = harness.add_key("capped", cap_usd=Decimal("1"), per="month", hard=True)
    proxy, _ = harness.start()
    with sdk(proxy.url, token) as c:
        c.chat.completions.create(model=UNPRICED, messages=MSG, max_tokens=20)
    settle(harness, proxy, 1)
    assert len(fake.requests) == 1
    assert harness.records[0].cost_usd is not None and spent(harness.ctx, "capped") > 0


def test_one_request_body_serves_the_reservation_and_the_estimate(
    harness: Harness, fake: FakeUpstream
) -> None:
    """A capped request's body (over SMALL_BODY, so read whole only for the cap) is the one
    copy both the reservation and, when the reply has no usage, the input count read."""
    from monitor.core.chat_tokens import count_chat
    from monitor.services.proxy.upstream import SMALL_BODY

    token = harness.add_key("capped", cap_usd=Decimal("100"), per="month", hard=True)
    proxy, gate = harness.start()
    words = " ".join(f"word{i}" for i in range(SMALL_BODY // 6))
    messages = [{"role": "user", "content": words}]
    reserved = _estimate(gate, messages=messages, max_tokens=5)
    with sdk(proxy.url, token) as c:
        c.chat.completions.create(model="gpt-4o", messages=messages,  # type: ignore[arg-type]
                                  max_tokens=5, extra_headers={"x-fake-scenario": "no-usage"})
    settle(harness, proxy, 1)
    [rec] = harness.records
    assert fake.requests[0].body_bytes > SMALL_BODY
    assert rec.unmetered == "no_usage_in_response" and rec.estimated
    assert rec.usage.input_tokens == count_chat({"messages": messages}, "gpt-4o").total
    # its output is unknown: under a hard cap it costs its reservation (the input alone
    # would let the unreported output through the cap)
    assert rec.cost_usd == reserved
    figures = {(s, lbl): (sp, r) for s, lbl, _c, sp, r in gate.account_figures()}
    assert figures[("key", "capped")] == (reserved, 0)
