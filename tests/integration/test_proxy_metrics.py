"""/metrics end to end: the openai SDK -> proxy -> fake upstream, then a scrape parsed with
prometheus_client's parser (and, in test_prometheus_server.py, a real Prometheus) must equal
what `token-monitor usage` reports for the same store."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.cli import main
from monitor.context import AppContext
from monitor.core.clock import system_clock
from monitor.core.pricing import PriceTable, load_price_table
from monitor.core.records import ProxyRecord
from monitor.paths import Paths
from monitor.services.proxy import MeteringProxy
from monitor.services.proxy.metrics import MetricsError, MetricsExporter
from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.server import ServerThread
from tests.integration.test_proxy import AUTH, CLIENT_KEY, MSG, raw_request, settled

Families = dict[str, list[tuple[dict[str, str], float]]]


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return load_price_table()


@pytest.fixture
def fake() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def upstream(fake: FakeUpstream) -> Iterator[ServerThread]:
    with ServerThread(fake.make_app) as server:
        yield server


def make_proxy(
    upstream: ServerThread, paths: Paths, prices: PriceTable, records: list[ProxyRecord],
    **caps: int,
) -> tuple[MeteringProxy, MetricsExporter]:  # fmt: skip
    ctx = AppContext(paths)
    exporter = MetricsExporter(store_path=paths.db_file, prices=prices,
                               settings=lambda: ctx.settings, clock=system_clock, port=0,
                               **caps)  # fmt: skip
    proxy = MeteringProxy(upstream=upstream.base_url + "/v1", store_path=paths.db_file,
                          prices=prices, port=0, on_record=records.append, addons=[exporter])
    proxy.start_in_thread()
    return proxy, exporter


@pytest.fixture
def records() -> list[ProxyRecord]:
    return []


@pytest.fixture
def running(
    upstream: ServerThread, paths: Paths, prices: PriceTable, records: list[ProxyRecord]
) -> Iterator[tuple[MeteringProxy, MetricsExporter]]:
    proxy, exporter = make_proxy(upstream, paths, prices, records)
    yield proxy, exporter
    proxy.stop()


def scrape(url: str, accept: str | None = None) -> Families:
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read().decode()
    out: Families = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, []).append((dict(s.labels), float(s.value)))
    return out


def total(fams: Families, name: str, where: Callable[[dict[str, str]], bool] = lambda _: True,
          ) -> float:  # fmt: skip
    return sum(v for labels, v in fams.get(name, []) if where(labels))


def by(fams: Families, name: str, label: str,
       where: Callable[[dict[str, str]], bool] = lambda _: True) -> dict[str, float]:
    out: dict[str, float] = {}
    for labels, v in fams.get(name, []):
        if where(labels):
            out[labels[label]] = out.get(labels[label], 0.0) + v
    return out


def usage_json(capsys: pytest.CaptureFixture[str], *extra: str) -> Any:
    capsys.readouterr()
    assert main(["usage", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def traffic(proxy: MeteringProxy) -> dict[str, int]:
    """Known mixed traffic through the proxy; returns how many requests of each kind."""
    assert proxy.url is not None
    with openai.OpenAI(base_url=proxy.url, api_key=CLIENT_KEY, max_retries=0) as client:
        client.chat.completions.create(model="gpt-4o", messages=MSG)  # type: ignore[arg-type]
        client.chat.completions.create(model="gpt-4o", messages=MSG)  # type: ignore[arg-type]
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=MSG,  # type: ignore[arg-type]
                                                stream=True):
            pass
        client.responses.create(model="gpt-4.1", input="hi")
        client.embeddings.create(model="text-embedding-3-small", input="hello")
        client.models.list()
        for model in ("force-429", "force-500"):
            with pytest.raises(openai.APIStatusError):
                client.chat.completions.create(model=model, messages=MSG)  # type: ignore[arg-type]
    status, _, _ = raw_request(proxy.url, "POST", "/files", b"x" * 1000,
                               {**AUTH, "Content-Type": "application/octet-stream"})
    assert status == 200
    return {"all": 9, "4xx": 1, "5xx": 1, "streamed": 1}


def test_scrape_equals_usage_report(
    running: tuple[MeteringProxy, MetricsExporter], records: list[ProxyRecord],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    proxy, exporter = running
    counts = traffic(proxy)
    settled(proxy, records, counts["all"])
    assert exporter.url is not None and exporter.url.startswith("http://127.0.0.1:")
    fams = scrape(exporter.url)
    usage = usage_json(capsys, "--source", "proxy")
    t = usage["totals"]

    ok = {"2xx", "unmetered"}
    assert total(fams, "token_monitor_requests_total",
                 lambda lb: lb["status_class"] in ok) == t["requests"] == counts["all"] - 2
    assert total(fams, "token_monitor_requests_total",
                 lambda lb: lb["status_class"] == "4xx") == counts["4xx"]
    assert total(fams, "token_monitor_requests_total",
                 lambda lb: lb["status_class"] == "5xx") == counts["5xx"]
    # the upload had no usage to read; GET /models is free and metered as such
    assert by(fams, "token_monitor_requests_total", "model",
              lambda lb: lb["status_class"] == "unmetered") == {"unknown": 1}
    for kind, field in (("input", "input_tokens"), ("cached_input", "cached_input_tokens"),
                        ("output", "output_tokens"), ("reasoning", "reasoning_tokens")):
        assert total(fams, "token_monitor_tokens_total",
                     lambda lb, k=kind: lb["type"] == k) == t[field], kind  # type: ignore[misc]
    assert t["input_tokens"] > 0 and t["output_tokens"] > 0
    assert total(fams, "token_monitor_cost_usd_total") == pytest.approx(t["cost_usd"], rel=1e-12)
    assert t["cost_usd"] > 0

    per_model = usage_json(capsys, "--source", "proxy", "--by", "model")["groups"]
    cost_by_model = by(fams, "token_monitor_cost_usd_total", "model")
    for g in per_model:
        assert cost_by_model.get(g["key"], 0.0) == pytest.approx(g["cost_usd"], rel=1e-12)
        inp = by(fams, "token_monitor_tokens_total", "model", lambda lb: lb["type"] == "input")
        assert inp.get(g["key"], 0.0) == g["input_tokens"]
    per_key = usage_json(capsys, "--source", "proxy", "--by", "key")["groups"]
    assert [g["key"] for g in per_key] == ["sk-…WXYZ"]
    assert set(by(fams, "token_monitor_requests_total", "key")) == {"sk-…WXYZ"}

    # histograms: one duration per request, one time-to-first-token per stream
    assert total(fams, "token_monitor_request_duration_seconds_count") == counts["all"]
    assert total(fams, "token_monitor_time_to_first_token_seconds_count") == counts["streamed"]
    # the fake sends x-ratelimit-remaining-* on every model response
    remaining = fams["token_monitor_ratelimit_remaining"]
    assert {lb["kind"] for lb, _ in remaining} == {"requests", "tokens"}
    assert all(v > 0 for _, v in remaining)

    everything = usage_json(capsys)
    assert total(fams, "token_monitor_cycle_spend_usd") == pytest.approx(
        everything["totals"]["cost_usd"], rel=1e-12)
    assert total(fams, "token_monitor_cycle_limit_usd") == everything["limit_usd"]
    today = usage_json(capsys, "--period", "today")
    assert total(fams, "token_monitor_today_spend_usd") == pytest.approx(
        today["totals"]["cost_usd"], rel=1e-12)
    assert "token_monitor_org_cycle_cost_usd" not in fams  # no admin-key sync here
    # nothing secret in the exposition
    with urllib.request.urlopen(exporter.url, timeout=10) as resp:
        body = resp.read().decode()
    assert CLIENT_KEY not in body and CLIENT_KEY[-12:] not in body


def test_openmetrics_is_negotiated(running: tuple[MeteringProxy, MetricsExporter]) -> None:
    _, exporter = running
    assert exporter.url is not None
    req = urllib.request.Request(
        exporter.url, headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
        assert resp.read().decode().rstrip().endswith("# EOF")
    base = exporter.url.removesuffix("/metrics")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(base + "/v1/models", timeout=10)
    assert err.value.code == 404
    err.value.close()


def test_counters_survive_a_restart(
    upstream: ServerThread, paths: Paths, prices: PriceTable, capsys: pytest.CaptureFixture[str]
) -> None:
    first: list[ProxyRecord] = []
    proxy, exporter = make_proxy(upstream, paths, prices, first)
    try:
        n = traffic(proxy)["all"]
        settled(proxy, first, n)
        assert exporter.url is not None
        before = scrape(exporter.url)
    finally:
        proxy.stop()
    second: list[ProxyRecord] = []
    proxy, exporter = make_proxy(upstream, paths, prices, second)
    try:
        assert exporter.url is not None
        after = scrape(exporter.url)  # a new process: primed from the store, not zero
        for name in ("token_monitor_requests_total", "token_monitor_tokens_total",
                     "token_monitor_cost_usd_total"):
            assert sorted(after[name], key=repr) == sorted(before[name], key=repr), name
        assert total(after, "token_monitor_request_duration_seconds_count") == 0
        assert proxy.url is not None
        with openai.OpenAI(base_url=proxy.url, api_key=CLIENT_KEY, max_retries=0) as client:
            client.chat.completions.create(model="gpt-4o", messages=MSG)  # type: ignore[arg-type]
        settled(proxy, second, 1)
        later = scrape(exporter.url)
        assert total(later, "token_monitor_requests_total") == total(
            before, "token_monitor_requests_total") + 1
        assert total(later, "token_monitor_cost_usd_total") == pytest.approx(
            usage_json(capsys, "--source", "proxy")["totals"]["cost_usd"], rel=1e-12)
    finally:
        proxy.stop()


def test_models_beyond_the_cap_fold_into_other(
    upstream: ServerThread, paths: Paths, prices: PriceTable, records: list[ProxyRecord]
) -> None:
    proxy, exporter = make_proxy(upstream, paths, prices, records, model_cap=2, key_cap=1)
    try:
        assert proxy.url is not None and exporter.url is not None
        for i, (model, key) in enumerate(
            [("gpt-4o", "a"), ("gpt-4o-mini", "b"), ("gpt-4.1", "a"), ("gpt-4.1-mini", "c")]
        ):
            with openai.OpenAI(base_url=proxy.url, api_key=f"sk-{key * 20}{i:04d}",
                               max_retries=0) as client:  # fmt: skip
                client.chat.completions.create(model=model, messages=MSG)  # type: ignore[arg-type]
        settled(proxy, records, 4)
        fams = scrape(exporter.url)
        req = by(fams, "token_monitor_requests_total", "model")
        assert req == {"gpt-4o-2024-08-06": 1, "gpt-4o-mini-2024-07-18": 1, "other": 2}
        keys = by(fams, "token_monitor_requests_total", "key")
        assert keys == {"sk-…0000": 1, "other": 3}
        cost = sum(r.cost_usd or 0 for r in records)
        assert total(fams, "token_monitor_cost_usd_total") == pytest.approx(float(cost))
    finally:
        proxy.stop()


def test_a_busy_metrics_port_stops_the_proxy_with_a_clear_error(
    upstream: ServerThread, paths: Paths, prices: PriceTable,
    running: tuple[MeteringProxy, MetricsExporter],
) -> None:  # fmt: skip
    _, taken = running
    ctx = AppContext(paths)
    exporter = MetricsExporter(store_path=paths.db_file, prices=prices,
                               settings=lambda: ctx.settings, clock=system_clock,
                               port=taken.port)  # fmt: skip
    proxy = MeteringProxy(upstream=upstream.base_url + "/v1", store_path=paths.db_file,
                          prices=prices, port=0, addons=[exporter])
    with pytest.raises(MetricsError, match=f"cannot listen for metrics on 127.0.0.1:{taken.port}"):
        proxy.start_in_thread()
    proxy.stop()

