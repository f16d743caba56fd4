"""OTLP/HTTP export: proxied requests reach a loopback OTLP receiver as GenAI metrics.

The receiver decodes the protobuf with `opentelemetry-proto` (the collector's own message
definitions), so names, units, attributes and values are checked as a collector sees them.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import openai
import pytest
from aiohttp import web
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from monitor.core.prices import PriceTable
from monitor.core.records import ProxyRecord
from monitor.paths import Paths
from monitor.services.otel_export import OtelError, OtlpExport, metrics_url
from monitor.services.price_files import load_price_table
from monitor.services.proxy import MeteringProxy
from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.server import ServerThread
from tests.integration.test_proxy import CLIENT_KEY, MSG, settled, wait_until
from tests.integration.test_proxy_metrics import free_port


class Receiver:
    """A minimal OTLP/HTTP metrics receiver: POST /v1/metrics, protobuf (optionally gzip)."""

    def __init__(self) -> None:
        self.requests: list[ExportMetricsServiceRequest] = []
        self.gate: asyncio.Event | None = None  # when set up, exports wait until it opens
        self.waiting = threading.Event()
        self._lock = threading.Lock()

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/metrics", self._metrics)
        return app

    async def _metrics(self, request: web.Request) -> web.Response:
        assert request.headers["Content-Type"] == "application/x-protobuf"
        body = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.gate is not None:
            self.waiting.set()
            await self.gate.wait()
        with self._lock:
            self.requests.append(ExportMetricsServiceRequest.FromString(body))
        return web.Response(body=b"", content_type="application/x-protobuf")

    def latest(self) -> dict[str, dict[str, Any]]:
        """The last export's metrics by name: unit, and points as (attributes, value)."""
        with self._lock:
            if not self.requests:
                return {}
            last = self.requests[-1]
        out: dict[str, dict[str, Any]] = {}
        for rm in last.resource_metrics:
            resource = {a.key: a.value.string_value for a in rm.resource.attributes}
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    kind = m.WhichOneof("data")
                    points = []
                    for p in getattr(m, kind).data_points:
                        attrs = {a.key: a.value.string_value for a in p.attributes}
                        if kind == "histogram":
                            points.append((attrs, (p.count, p.sum, tuple(p.explicit_bounds))))
                        else:
                            points.append((attrs, p.as_double or p.as_int))
                    out[m.name] = {"unit": m.unit, "kind": kind, "points": points,
                                   "resource": resource,
                                   "monotonic": getattr(m, kind).is_monotonic
                                   if kind == "sum" else None}
        return out


@pytest.fixture
def upstream() -> Iterator[ServerThread]:
    with ServerThread(FakeUpstream().make_app) as server:
        yield server


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return load_price_table()


def start_proxy(upstream: ServerThread, paths: Paths, prices: PriceTable, export: OtlpExport,
                records: list[ProxyRecord]) -> MeteringProxy:
    proxy = MeteringProxy(upstream=upstream.base_url + "/v1", store_path=paths.db_file,
                          prices=prices, port=0, on_record=records.append, addons=[export])
    proxy.start_in_thread()
    return proxy


def test_requests_arrive_as_genai_metrics(
    upstream: ServerThread, paths: Paths, prices: PriceTable
) -> None:
    receiver = Receiver()
    records: list[ProxyRecord] = []
    with ServerThread(receiver.make_app) as collector:
        export = OtlpExport(collector.base_url, interval_s=0.2)
        proxy = start_proxy(upstream, paths, prices, export, records)
        try:
            assert proxy.url is not None
            with openai.OpenAI(base_url=proxy.url, api_key=CLIENT_KEY, max_retries=0) as client:
                client.chat.completions.create(model="gpt-4o", messages=MSG)  # type: ignore[arg-type]
                for _ in client.chat.completions.create(  # type: ignore[call-overload]
                        model="gpt-4o-mini", messages=MSG, stream=True):
                    pass
                client.embeddings.create(model="text-embedding-3-small", input="hello")
                with pytest.raises(openai.InternalServerError):
                    client.chat.completions.create(model="force-500", messages=MSG)  # type: ignore[arg-type]
            settled(proxy, records, 4)
            want_input = sum(r.usage.input_tokens for r in records)
            want_cost = sum((r.cost_usd or Decimal(0)) for r in records)

            def input_sum() -> float:
                pts = receiver.latest().get("gen_ai.client.token.usage", {}).get("points", [])
                return sum(v[1] for a, v in pts if a["gen_ai.token.type"] == "input")

            wait_until(lambda: input_sum() == want_input)
        finally:
            proxy.stop()
    got = receiver.latest()
    tokens = got["gen_ai.client.token.usage"]
    assert tokens["unit"] == "{token}" and tokens["kind"] == "histogram"
    assert tokens["resource"]["service.name"] == "token-monitor"
    keys = {"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model",
            "gen_ai.response.model", "gen_ai.token.type"}
    assert all(set(a) == keys for a, _ in tokens["points"])
    assert {a["gen_ai.provider.name"] for a, _ in tokens["points"]} == {"openai"}
    assert {(a["gen_ai.operation.name"], a["gen_ai.request.model"], a["gen_ai.response.model"])
            for a, _ in tokens["points"]} == {
        ("chat", "gpt-4o", "gpt-4o-2024-08-06"),
        ("chat", "gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        ("embeddings", "text-embedding-3-small", "text-embedding-3-small"),
    }
    for attrs, (count, total, bounds) in tokens["points"]:
        kind = attrs["gen_ai.token.type"]
        want = [r for r in records if r.model == attrs["gen_ai.response.model"]]
        assert count == len(want)
        assert total == sum(r.usage.input_tokens if kind == "input" else r.usage.output_tokens
                            for r in want)
        assert bounds[:3] == (1, 4, 16)  # the conventions' advised boundaries

    duration = got["gen_ai.client.operation.duration"]
    assert duration["unit"] == "s" and duration["kind"] == "histogram"
    assert sum(v[0] for _, v in duration["points"]) == 4
    [failed] = [a for a, _ in duration["points"] if "error.type" in a]
    assert failed["error.type"] == "500" and failed["gen_ai.request.model"] == "force-500"
    assert "gen_ai.response.model" not in failed or failed["gen_ai.response.model"] == "force-500"

    cost = got["token_monitor.cost.usage"]
    assert cost["unit"] == "USD" and cost["kind"] == "sum" and cost["monotonic"]
    assert sum(v for _, v in cost["points"]) == pytest.approx(float(want_cost), rel=1e-9)
    assert {a["token_monitor.key"] for a, _ in cost["points"]} == {"sk-…WXYZ"}


def test_a_slow_collector_never_holds_up_a_request(
    upstream: ServerThread, paths: Paths, prices: PriceTable
) -> None:
    receiver = Receiver()
    records: list[ProxyRecord] = []
    with ServerThread(receiver.make_app) as collector:
        loop_gate: dict[str, Any] = {}

        async def close_gate() -> None:
            receiver.gate = asyncio.Event()
            loop_gate["loop"] = asyncio.get_running_loop()

        fut = asyncio.run_coroutine_threadsafe(close_gate(), collector._loop)  # type: ignore[arg-type]
        fut.result(5)
        export = OtlpExport(collector.base_url, interval_s=0.1, timeout_s=30)
        proxy = start_proxy(upstream, paths, prices, export, records)
        try:
            assert proxy.url is not None
            with openai.OpenAI(base_url=proxy.url, api_key=CLIENT_KEY, max_retries=0,
                               timeout=10) as client:  # fmt: skip
                client.chat.completions.create(model="gpt-4o", messages=MSG)  # type: ignore[arg-type]
                assert receiver.waiting.wait(10)  # an export is now stuck in the collector
                for _ in range(3):
                    client.chat.completions.create(model="gpt-4o", messages=MSG)  # type: ignore[arg-type]
            settled(proxy, records, 4)
            assert not receiver.requests  # still stuck: the requests did not wait for it
        finally:
            gate = receiver.gate
            assert gate is not None
            loop_gate["loop"].call_soon_threadsafe(gate.set)
            proxy.stop()


def test_an_unreachable_collector_is_logged_once_per_outage(
    upstream: ServerThread, paths: Paths, prices: PriceTable, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    export = OtlpExport(f"http://127.0.0.1:{port}", interval_s=0.1, timeout_s=0.5)
    records: list[ProxyRecord] = []
    caplog.set_level(logging.DEBUG)
    proxy = start_proxy(upstream, paths, prices, export, records)
    receiver = Receiver()
    try:
        assert proxy.url is not None
        with openai.OpenAI(base_url=proxy.url, api_key=CLIENT_KEY, max_retries=0) as client:
            client.chat.completions.create(model="gpt-4o", messages=MSG)  # type: ignore[arg-type]
        settled(proxy, records, 1)
        wait_until(lambda: export.down)
        pushes = export.failed_exports
        wait_until(lambda: export.failed_exports >= pushes + 3)  # it keeps trying, quietly

        def warnings() -> list[logging.LogRecord]:
            return [r for r in caplog.records if r.levelno >= logging.WARNING]

        assert [r.name for r in warnings()] == ["monitor.services.otel_export"]
        assert "not accepting metrics" in warnings()[0].getMessage()
        with ServerThread(receiver.make_app, port=port):
            wait_until(lambda: not export.down)
            wait_until(lambda: bool(receiver.latest()))
            back = [r for r in caplog.records if "reachable again" in r.getMessage()]
            assert len(back) == 1
            assert len(warnings()) == 1
            pts = receiver.latest()["gen_ai.client.token.usage"]["points"]
            assert sum(v[1] for a, v in pts if a["gen_ai.token.type"] == "input") == \
                records[0].usage.input_tokens  # what was recorded during the outage
    finally:
        proxy.stop()


def test_endpoint_urls_and_a_bad_one() -> None:
    assert metrics_url("http://collector:4318") == "http://collector:4318/v1/metrics"
    assert metrics_url("http://collector:4318/") == "http://collector:4318/v1/metrics"
    assert metrics_url("https://c.example/otlp/v1/metrics") == "https://c.example/otlp/v1/metrics"
    with pytest.raises(OtelError, match="http"):
        OtlpExport("collector:4318")


def test_without_the_extra_the_message_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> Any:
        if name.startswith("opentelemetry"):
            raise ModuleNotFoundError(name)
        return real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(OtelError, match=r"pip install 'token-monitor\[otel\]'"):
        OtlpExport("http://127.0.0.1:4318")
