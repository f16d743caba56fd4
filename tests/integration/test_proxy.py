"""The metering proxy end to end: the official openai SDK -> proxy -> fake OpenAI upstream."""

from __future__ import annotations

import argparse
import contextlib
import gzip
import http.client
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openai
import pytest

from monitor.commands import proxy as proxy_command
from monitor.context import AppContext
from monitor.core.chat_tokens import count_chat
from monitor.core.prices import PriceTable
from monitor.core.records import ProxyRecord
from monitor.core.usage import TokenUsage
from monitor.log import setup_logging
from monitor.paths import Paths
from monitor.services.keyring_vault import MemoryVault
from monitor.services.keyvault import KeyStore
from monitor.services.proxy import MeteringProxy, ProxyConfigError
from monitor.services.proxy.addresses import endpoint_of, parse_upstream, points_at_self
from monitor.services.store import UsageStore
from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.server import ServerThread, listening_url

CLIENT_KEY = "sk-test-client-0123456789abcdefWXYZ"
MSG = [{"role": "user", "content": "Say hello"}]


# -- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture
def records() -> list[ProxyRecord]:
    return []


@pytest.fixture
def proxy(
    upstream: ServerThread, paths: Paths, prices: PriceTable, records: list[ProxyRecord]
) -> Iterator[MeteringProxy]:
    p = MeteringProxy(
        upstream=upstream.base_url + "/v1", store_path=paths.db_file, prices=prices, port=0,
        on_record=records.append,
    )  # fmt: skip
    p.start_in_thread()
    yield p
    p.stop()


@pytest.fixture
def client(proxy: MeteringProxy) -> Iterator[openai.OpenAI]:
    assert proxy.url is not None
    with openai.OpenAI(base_url=proxy.url, api_key=CLIENT_KEY, max_retries=0) as c:
        yield c


@pytest.fixture
def direct(upstream: ServerThread) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=upstream.base_url + "/v1", api_key=CLIENT_KEY,
                       max_retries=0) as c:  # fmt: skip
        yield c


def wait_until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def settled(proxy: MeteringProxy, records: list[ProxyRecord], n: int) -> list[ProxyRecord]:
    """Wait for `n` records to reach the store; returns them oldest first."""
    wait_until(lambda: len(records) >= n)
    assert proxy.flush()
    assert len(records) == n
    return sorted(records, key=lambda r: r.time)


def raw_request(
    base: str, method: str, path: str, body: bytes | Iterable[bytes] | None = None,
    headers: dict[str, str] | None = None, timeout: float = 30,
) -> tuple[int, http.client.HTTPMessage, bytes]:  # fmt: skip
    """One request with http.client: no decompression, no retries, exact bytes back."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        headers = headers or {}
        chunked = headers.get("Transfer-Encoding") == "chunked"
        conn.request(method, parts.path.rstrip("/") + path, body=body, headers=headers,
                     encode_chunked=chunked)  # fmt: skip
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def chat_body(**extra: Any) -> bytes:
    return json.dumps({"model": "gpt-4o", "messages": MSG, **extra}).encode()


AUTH = {"Authorization": f"Bearer {CLIENT_KEY}", "Content-Type": "application/json"}


def expected_cost(prices: PriceTable, fake: FakeUpstream) -> Decimal:
    total = Decimal(0)
    for r in fake.reported:
        usd = prices.cost(r.model, r.usage, service_tier=r.service_tier).usd
        assert usd is not None
        total += usd
    return total


# -- chat completions -----------------------------------------------------------------------


def test_chat_non_streamed(
    client: openai.OpenAI, direct: openai.OpenAI, proxy: MeteringProxy,
    records: list[ProxyRecord], fake: FakeUpstream, prices: PriceTable,
) -> None:  # fmt: skip
    got = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG)
    want = direct.chat.completions.create(model="gpt-4o", messages=MSG)
    assert got.parse().model_dump() == want.model_dump()
    [rec] = settled(proxy, records, 1)
    reported = fake.reported[0]
    assert rec.endpoint == "/chat/completions" and rec.status == 200 and not rec.partial
    assert rec.model == "gpt-4o-2024-08-06" and rec.service_tier == "default"
    assert rec.usage == reported.usage and not rec.usage.is_zero()
    assert rec.request_id == got.headers["x-request-id"] == reported.request_id
    assert rec.key_label == "sk-…WXYZ"
    assert rec.cost_usd == prices.cost(rec.model, rec.usage, service_tier="default").usd
    assert rec.price_as_of == prices.as_of
    assert rec.ttfb_ms is not None and 0 < rec.ttfb_ms <= rec.latency_ms
    upstream_saw = fake.requests[0]
    assert upstream_saw.headers["authorization"] == f"Bearer {CLIENT_KEY}"
    assert upstream_saw.json == json.loads(json.dumps({"messages": MSG, "model": "gpt-4o"}))


@pytest.mark.parametrize("null_usage", [False, True], ids=["omitted", "spec-null"])
def test_chat_streamed_without_include_usage_is_unchanged_for_the_client(
    client: openai.OpenAI, direct: openai.OpenAI, proxy: MeteringProxy,
    records: list[ProxyRecord], fake: FakeUpstream, null_usage: bool,
) -> None:  # fmt: skip
    fake.null_usage_in_chunks = null_usage
    via_proxy = [c.model_dump() for c in
                 client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)]
    straight = [c.model_dump() for c in
                direct.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)]
    assert via_proxy == straight
    assert len(via_proxy) == 6 and all(c["usage"] is None for c in via_proxy)
    proxied, plain = fake.requests
    assert proxied.json["stream_options"] == {"include_usage": True}
    assert "stream_options" not in plain.json
    assert proxied.headers["accept-encoding"] == "identity"
    [rec] = settled(proxy, records, 1)
    assert rec.usage == fake.reported[0].usage and not rec.partial
    assert rec.model == "gpt-4o-2024-08-06"


def test_chat_stream_bytes_identical_to_direct(
    proxy: MeteringProxy, upstream: ServerThread, records: list[ProxyRecord],
    fake: FakeUpstream,
) -> None:  # fmt: skip
    assert proxy.url is not None
    for extra in ({}, {"stream_options": {"include_usage": True}}):
        body = chat_body(stream=True, **extra)
        s1, h1, via_proxy = raw_request(proxy.url, "POST", "/chat/completions", body, AUTH)
        s2, h2, straight = raw_request(upstream.base_url + "/v1", "POST", "/chat/completions",
                                       body, AUTH)  # fmt: skip
        assert (s1, s2) == (200, 200)
        assert via_proxy == straight
        assert h1["content-type"] == h2["content-type"] == "text/event-stream; charset=utf-8"
        assert (b'"usage"' in via_proxy) == bool(extra)
    recs = settled(proxy, records, 2)
    assert [r.usage for r in recs] == [fake.reported[0].usage, fake.reported[1].usage]


def test_chat_streamed_with_include_usage(
    client: openai.OpenAI, direct: openai.OpenAI, proxy: MeteringProxy,
    records: list[ProxyRecord], fake: FakeUpstream,
) -> None:  # fmt: skip
    opts: Any = {"include_usage": True}
    via_proxy = [c.model_dump() for c in client.chat.completions.create(
        model="gpt-4o-mini", messages=MSG, stream=True, stream_options=opts)]  # fmt: skip
    straight = [c.model_dump() for c in direct.chat.completions.create(
        model="gpt-4o-mini", messages=MSG, stream=True, stream_options=opts)]  # fmt: skip
    assert via_proxy == straight
    assert via_proxy[-1]["choices"] == [] and via_proxy[-1]["usage"]["prompt_tokens"] > 0
    assert fake.requests[0].headers.get("accept-encoding") != "identity"
    [rec] = settled(proxy, records, 1)
    assert rec.usage == fake.reported[0].usage and rec.model == "gpt-4o-mini-2024-07-18"


def test_large_streamed_vision_request_gets_usage_added(
    client: openai.OpenAI, proxy: MeteringProxy, records: list[ProxyRecord],
    fake: FakeUpstream,
) -> None:  # fmt: skip
    image = "data:image/png;base64," + "QUFB" * (600 * 1024)  # a 2.4 MB request body
    messages: Any = [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": image}}]}]  # fmt: skip
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=messages,
                                                 stream=True))  # fmt: skip
    assert len(chunks) == 6 and all(c.usage is None for c in chunks)
    seen = fake.requests[0]
    assert seen.body_bytes > 2_400_000
    assert seen.json["stream_options"] == {"include_usage": True}
    assert seen.json["messages"] == messages
    [rec] = settled(proxy, records, 1)
    assert rec.usage == fake.reported[0].usage and not rec.usage.is_zero()


def test_stream_reaches_the_client_before_the_upstream_finishes(
    client: openai.OpenAI, proxy: MeteringProxy, records: list[ProxyRecord],
    fake: FakeUpstream,
) -> None:  # fmt: skip
    """The fake holds the stream after its first event until the client has seen that event."""
    stream = client.with_options(timeout=10).chat.completions.create(
        model="gpt-4o", messages=MSG, stream=True,
        extra_headers={"x-fake-scenario": "gate"},
    )  # fmt: skip
    with stream:
        first = next(iter(stream))
        assert first.choices[0].delta.role == "assistant"
        assert not fake.reported  # the upstream is still waiting
        fake.release_gate()
        rest = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in rest) == "hello world"
    [rec] = settled(proxy, records, 1)
    assert rec.usage == fake.reported[0].usage


# -- responses and embeddings ---------------------------------------------------------------


def test_responses_json_and_stream(
    client: openai.OpenAI, direct: openai.OpenAI, proxy: MeteringProxy,
    records: list[ProxyRecord], fake: FakeUpstream,
) -> None:  # fmt: skip
    got = client.responses.create(model="gpt-4.1", input="Say hello")
    want = direct.responses.create(model="gpt-4.1", input="Say hello")
    assert got.model_dump() == want.model_dump()
    events = [e.model_dump() for e in
              client.responses.create(model="gpt-4.1", input="Say hi", stream=True)]
    assert events == [e.model_dump() for e in
                      direct.responses.create(model="gpt-4.1", input="Say hi", stream=True)]
    assert events[-1]["type"] == "response.completed"
    recs = [r for r in settled(proxy, records, 2)]
    assert [r.endpoint for r in recs] == ["/responses", "/responses"]
    assert [r.usage for r in recs] == [fake.reported[0].usage, fake.reported[2].usage]
    assert all(r.model == "gpt-4.1-2025-04-14" and r.service_tier == "default" for r in recs)
    assert all(r.cost_usd is not None and r.cost_usd > 0 for r in recs)


@pytest.mark.parametrize("scenario", ["incomplete", "failed"])
def test_responses_stream_terminal_alternatives(
    client: openai.OpenAI, proxy: MeteringProxy, records: list[ProxyRecord],
    fake: FakeUpstream, scenario: str,
) -> None:  # fmt: skip
    events = list(client.responses.create(
        model="gpt-4.1", input="x", stream=True, extra_headers={"x-fake-scenario": scenario}))
    assert events[-1].type == f"response.{scenario}"
    [rec] = settled(proxy, records, 1)
    assert rec.usage == fake.reported[0].usage and not rec.partial


def test_embeddings(
    client: openai.OpenAI, direct: openai.OpenAI, proxy: MeteringProxy,
    records: list[ProxyRecord], fake: FakeUpstream, prices: PriceTable,
) -> None:  # fmt: skip
    got = client.embeddings.create(model="text-embedding-3-small", input=["a b c", "d e"])
    want = direct.embeddings.create(model="text-embedding-3-small", input=["a b c", "d e"])
    assert got.model_dump() == want.model_dump()
    [rec] = settled(proxy, records, 1)
    assert rec.endpoint == "/embeddings" and rec.model == "text-embedding-3-small"
    assert rec.usage == TokenUsage(input_tokens=got.usage.prompt_tokens)
    info = prices.resolve("text-embedding-3-small").info
    assert info is not None
    row = info.price_at(rec.time)
    assert row is not None
    assert rec.cost_usd == Decimal(rec.usage.input_tokens) * row.standard.input / 1_000_000


def test_models_list_and_query_string(
    proxy: MeteringProxy, records: list[ProxyRecord], fake: FakeUpstream,
) -> None:  # fmt: skip
    assert proxy.url is not None
    status, _, body = raw_request(proxy.url, "GET", "/models?limit=2&after=a%2Fb", None, AUTH)
    assert status == 200 and json.loads(body)["object"] == "list"
    assert fake.requests[0].query == "limit=2&after=a%2Fb"
    [rec] = settled(proxy, records, 1)
    assert rec.endpoint == "/models" and rec.cost_usd == 0 and rec.usage.is_zero()


# -- compressed bodies ----------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_responses_pass_unchanged_and_are_metered(
    proxy: MeteringProxy, upstream: ServerThread, records: list[ProxyRecord],
    fake: FakeUpstream, encoding: str,
) -> None:  # fmt: skip
    assert proxy.url is not None
    headers = {**AUTH, "Accept-Encoding": encoding, "x-fake-scenario": encoding}
    for body in (chat_body(), chat_body(stream=True, stream_options={"include_usage": True})):
        s1, h1, via_proxy = raw_request(proxy.url, "POST", "/chat/completions", body, headers)
        s2, _, straight = raw_request(upstream.base_url + "/v1", "POST", "/chat/completions",
                                      body, headers)  # fmt: skip
        assert s1 == s2 == 200 and h1["content-encoding"] == encoding
        assert via_proxy == straight
        if encoding == "gzip":
            assert b"hello world" in gzip.decompress(via_proxy) or b"wor" in gzip.decompress(
                via_proxy)
    recs = settled(proxy, records, 2)
    assert [r.usage for r in recs] == [fake.reported[0].usage, fake.reported[2].usage]
    assert not any(r.partial for r in recs)


def test_sdk_decodes_gzip_through_the_proxy(
    client: openai.OpenAI, proxy: MeteringProxy, records: list[ProxyRecord],
    fake: FakeUpstream,
) -> None:  # fmt: skip
    got = client.chat.completions.create(model="gpt-4o", messages=MSG,
                                         extra_headers={"x-fake-scenario": "gzip"})
    assert got.choices[0].message.content == "hello world"
    [rec] = settled(proxy, records, 1)
    assert rec.usage == fake.reported[0].usage


# -- errors ---------------------------------------------------------------------------------


def test_429_passes_through_byte_for_byte(
    client: openai.OpenAI, direct: openai.OpenAI, proxy: MeteringProxy,
    records: list[ProxyRecord],
) -> None:  # fmt: skip
    with pytest.raises(openai.RateLimitError) as via_proxy:
        client.chat.completions.create(model="force-429", messages=MSG)
    with pytest.raises(openai.RateLimitError) as straight:
        direct.chat.completions.create(model="force-429", messages=MSG)
    got, want = via_proxy.value.response, straight.value.response
    assert got.content == want.content
    assert via_proxy.value.code == "rate_limit_exceeded"
    assert got.headers["retry-after"] == "1"
    for name in ("x-ratelimit-limit-requests", "x-ratelimit-limit-tokens",
                 "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens",
                 "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"):  # fmt: skip
        assert name in got.headers
    assert got.headers["x-ratelimit-reset-tokens"] == "6m0s"
    assert got.headers["x-request-id"] == via_proxy.value.request_id
    [rec] = settled(proxy, records, 1)
    assert rec.status == 429 and rec.usage.is_zero() and rec.cost_usd == 0
    assert rec.model == "force-429" and rec.request_id == via_proxy.value.request_id


@pytest.mark.parametrize(
    ("scenario", "error", "code"),
    [("quota", openai.RateLimitError, "insufficient_quota"),
     ("401", openai.AuthenticationError, "invalid_api_key"),
     ("500", openai.InternalServerError, None)],
)  # fmt: skip
def test_other_errors_pass_through(
    client: openai.OpenAI, proxy: MeteringProxy, records: list[ProxyRecord],
    scenario: str, error: type[openai.APIStatusError], code: str | None,
) -> None:  # fmt: skip
    with pytest.raises(error) as caught:
        client.chat.completions.create(model="gpt-4o", messages=MSG,
                                       extra_headers={"x-fake-scenario": scenario})
    assert caught.value.code == code
    if scenario == "quota":
        assert "retry-after" not in caught.value.response.headers
    [rec] = settled(proxy, records, 1)
    assert rec.status == caught.value.status_code and rec.usage.is_zero()


def test_upstream_down_gives_openai_style_502(
    paths: Paths, prices: PriceTable, records: list[ProxyRecord]
) -> None:
    with ServerThread(FakeUpstream().make_app) as gone:
        dead = gone.base_url
    p = MeteringProxy(upstream=dead + "/v1", store_path=paths.db_file, prices=prices, port=0,
                      on_record=records.append)  # fmt: skip
    url = p.start_in_thread()
    try:
        with openai.OpenAI(base_url=url, api_key=CLIENT_KEY, max_retries=0) as c, \
                pytest.raises(openai.APIStatusError) as caught:  # fmt: skip
            c.chat.completions.create(model="gpt-4o", messages=MSG)
        assert caught.value.status_code == 502
        err = caught.value.response.json()["error"]
        assert set(err) == {"message", "type", "param", "code"}
        assert (err["type"], err["code"], err["param"]) == (
            "proxy_error", "upstream_unreachable", None)
        assert CLIENT_KEY not in caught.value.response.text
        [rec] = settled(p, records, 1)
        assert rec.status == 502 and rec.usage.is_zero() and rec.model == "gpt-4o"
    finally:
        p.stop()


# -- concurrency, disconnects, bodies -------------------------------------------------------


def test_client_that_hangs_up_after_done_got_the_whole_stream(
    proxy: MeteringProxy, records: list[ProxyRecord], fake: FakeUpstream,
) -> None:  # fmt: skip
    """The SDK closes as soon as it reads [DONE]; if the upstream body stays open a moment
    longer, the record is still complete (not partial): the client had every byte."""
    assert proxy.url is not None
    parts = urlsplit(proxy.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("POST", parts.path.rstrip("/") + "/chat/completions",
                     body=chat_body(stream=True),
                     headers={**AUTH, "x-fake-scenario": "linger"})  # fmt: skip
        resp = conn.getresponse()
        seen = b""
        while b"data: [DONE]" not in seen:
            line = resp.fp.readline()
            assert line, "stream ended before [DONE]"
            seen += line
    finally:
        conn.close()  # hang up while the upstream still holds the body open
    [rec] = settled(proxy, records, 1)
    assert not rec.partial
    assert rec.usage == fake.reported[0].usage


def test_50_concurrent_streams(
    client: openai.OpenAI, proxy: MeteringProxy, records: list[ProxyRecord],
    fake: FakeUpstream, prices: PriceTable,
) -> None:  # fmt: skip
    def one(i: int) -> str:
        stream = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": f"request number {i}"}],
            stream=True, extra_headers={"x-fake-chunk-delay-ms": "5"},
        )  # fmt: skip
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    with ThreadPoolExecutor(50) as pool:
        texts = list(pool.map(one, range(50)))
    assert texts == ["hello world"] * 50
    recs = settled(proxy, records, 50)
    assert len(fake.reported) == 50
    assert sum((r.usage for r in recs), TokenUsage()) == fake.reported_total()
    assert sorted(r.request_id or "" for r in recs) == sorted(r.request_id for r in fake.reported)
    assert sum(r.cost_usd or Decimal(0) for r in recs) == expected_cost(prices, fake)
    assert not any(r.partial for r in recs)


def test_client_disconnect_mid_stream_is_partial(
    client: openai.OpenAI, proxy: MeteringProxy, records: list[ProxyRecord],
    fake: FakeUpstream, prices: PriceTable,
) -> None:  # fmt: skip
    stream = client.chat.completions.create(
        model="gpt-4o", messages=MSG, stream=True,
        extra_headers={"x-fake-chunk-delay-ms": "200"},
    )  # fmt: skip
    first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"
    stream.close()
    [rec] = settled(proxy, records, 1)
    assert rec.partial and rec.status == 200
    # No usage arrived: counted with its reason, the input estimated from the request body.
    expected_input = count_chat({"messages": MSG}, "gpt-4o").total
    assert rec.model == "gpt-4o-2024-08-06" and rec.unmetered == "client_disconnected"
    assert rec.estimated and rec.usage == TokenUsage(input_tokens=expected_input)
    assert rec.cost_usd == prices.cost(
        "gpt-4o-2024-08-06", rec.usage, at=rec.time).usd
    wait_until(lambda: fake.aborted_streams == 1)  # the upstream stream was closed too
    assert not fake.reported


def test_upstream_breaking_off_cuts_the_client_and_is_partial(
    client: openai.OpenAI, proxy: MeteringProxy, records: list[ProxyRecord],
) -> None:  # fmt: skip
    stream = client.chat.completions.create(
        model="gpt-4o", messages=MSG, stream=True, extra_headers={"x-fake-scenario": "cut"})
    with pytest.raises(openai.APIError):
        list(stream)
    [rec] = settled(proxy, records, 1)
    assert rec.partial and rec.unmetered == "no_usage_in_response" and rec.estimated
    assert rec.usage.output_tokens == 0 and rec.usage.input_tokens > 0


def test_stop_cuts_running_streams_and_records_them(
    upstream: ServerThread, paths: Paths, prices: PriceTable, fake: FakeUpstream,
    records: list[ProxyRecord],
) -> None:  # fmt: skip
    p = MeteringProxy(upstream=upstream.base_url + "/v1", store_path=paths.db_file,
                      prices=prices, port=0, on_record=records.append,
                      shutdown_grace_s=0.2)  # fmt: skip
    url = p.start_in_thread()
    with openai.OpenAI(base_url=url, api_key=CLIENT_KEY, max_retries=0, timeout=10) as c:
        stream = c.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                           extra_headers={"x-fake-scenario": "gate"})
        next(iter(stream))
        t0 = time.monotonic()
        p.stop()
        assert time.monotonic() - t0 < 5
        with pytest.raises(openai.APIError):
            list(stream)
    fake.release_gate()
    assert [r.partial for r in records] == [True]  # stored before stop() returned


def test_chunked_upload_streams_through(
    proxy: MeteringProxy, records: list[ProxyRecord], fake: FakeUpstream
) -> None:
    """The upstream sees the body begin before the client has finished sending it."""
    assert proxy.url is not None
    block = os.urandom(1 << 20)

    def body() -> Iterator[bytes]:
        for i in range(12):
            if i == 8:
                assert fake.upload_started.wait(10), "the proxy held the upload back"
            yield block

    status, _, resp = raw_request(
        proxy.url, "POST", "/files", body(),
        {"Authorization": f"Bearer {CLIENT_KEY}", "Content-Type": "application/octet-stream",
         "Transfer-Encoding": "chunked"},
    )  # fmt: skip
    assert status == 200 and json.loads(resp)["bytes"] == 12 << 20
    assert fake.uploads[0].bytes == 12 << 20
    [rec] = settled(proxy, records, 1)
    assert rec.endpoint == "/files" and rec.status == 200 and rec.cost_usd is None


def test_large_download_streams_through(proxy: MeteringProxy, records: list[ProxyRecord]) -> None:
    assert proxy.url is not None
    total = 30 << 20
    parts = urlsplit(proxy.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request("GET", f"/v1/fake/download?bytes={total}",
                     headers={"Authorization": f"Bearer {CLIENT_KEY}"})  # fmt: skip
        resp = conn.getresponse()
        assert resp.headers["content-length"] == str(total)
        got = 0
        while chunk := resp.read(1 << 20):
            got += len(chunk)
    finally:
        conn.close()
    assert got == total
    [rec] = settled(proxy, records, 1)
    assert rec.status == 200 and not rec.partial


# -- headers and keys -----------------------------------------------------------------------


def test_hop_by_hop_headers_dropped_and_host_rewritten(
    proxy: MeteringProxy, upstream: ServerThread, fake: FakeUpstream,
) -> None:  # fmt: skip
    assert proxy.url is not None
    headers = {**AUTH, "Connection": "keep-alive, X-Hop-Secret", "X-Hop-Secret": "1",
               "Keep-Alive": "timeout=5", "TE": "trailers", "Proxy-Authorization": "Basic eA==",
               "Upgrade": "h2c", "X-Stays": "yes", "OpenAI-Project": "proj_1"}  # fmt: skip
    status, _, _ = raw_request(proxy.url, "POST", "/chat/completions", chat_body(), headers)
    assert status == 200
    seen = fake.requests[0].headers
    for gone in ("x-hop-secret", "keep-alive", "te", "proxy-authorization", "upgrade"):
        assert gone not in seen
    assert seen["x-stays"] == "yes" and seen["openai-project"] == "proj_1"
    assert seen["host"] == f"127.0.0.1:{upstream.port}"
    assert seen["content-length"] == str(len(chat_body()))
    assert seen["via"].startswith("1.1 token-monitor-")
    assert seen["accept-encoding"] == "identity"  # http.client's default, passed as is


def test_accept_encoding_limited_to_what_the_meter_decodes(
    proxy: MeteringProxy, fake: FakeUpstream,
) -> None:  # fmt: skip
    assert proxy.url is not None
    for sent in ("gzip, deflate, br, zstd", "gzip, deflate"):
        raw_request(proxy.url, "GET", "/models", None, {**AUTH, "Accept-Encoding": sent})
    assert [r.headers["accept-encoding"] for r in fake.requests] == [
        "gzip, deflate", "gzip, deflate"]


def test_hop_by_hop_response_headers_dropped(proxy: MeteringProxy) -> None:
    assert proxy.url is not None
    status, headers, _ = raw_request(proxy.url, "GET", "/models", None,
                                     {**AUTH, "x-fake-scenario": "hop"})  # fmt: skip
    assert status == 200 and headers["x-kept"] == "1"
    assert "x-upstream-hop" not in headers and "keep-alive" not in headers
    assert "x-upstream-hop" not in (headers.get("connection") or "").lower()


def test_ids_in_paths_are_grouped(
    proxy: MeteringProxy, records: list[ProxyRecord], fake: FakeUpstream
) -> None:
    assert proxy.url is not None
    status, _, _ = raw_request(proxy.url, "GET", "/files/file-abc123XYZ/content?x=1", None, AUTH)
    assert status == 404  # the fake has no such route: passed through as is
    [rec] = settled(proxy, records, 1)
    assert rec.endpoint == "/files/{id}/content" and rec.status == 404


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [("/chat/completions", "/chat/completions"), ("/responses/resp_67c9abc123", "/responses/{id}"),
     ("/models/gpt-4o", "/models/gpt-4o"), ("/batches/batch_abc123", "/batches/{id}"),
     ("/vector_stores/vs_abc123/files/file-xyz789", "/vector_stores/{id}/files/{id}"),
     ("", "/")],
)  # fmt: skip
def test_endpoint_of(path: str, endpoint: str) -> None:
    assert endpoint_of(path) == endpoint


def test_key_from_the_vault_replaces_the_clients(
    upstream: ServerThread, paths: Paths, prices: PriceTable, fake: FakeUpstream,
    records: list[ProxyRecord],
) -> None:  # fmt: skip
    secret = "sk-proj-vaultkey0123456789abcdefQRST"
    p = MeteringProxy(upstream=upstream.base_url + "/v1", store_path=paths.db_file,
                      prices=prices, port=0, key_label="team", key_secret=secret,
                      on_record=records.append)  # fmt: skip
    url = p.start_in_thread()
    try:
        with openai.OpenAI(base_url=url, api_key="placeholder", max_retries=0) as c:
            c.chat.completions.create(model="gpt-4o", messages=MSG)
        assert fake.requests[0].headers["authorization"] == f"Bearer {secret}"
        [rec] = settled(p, records, 1)
        assert rec.key_label == "team"
        store = UsageStore(paths.db_file)
        try:
            [snap] = store.latest_rate_limits()
        finally:
            store.close()
        assert (snap.key_label, snap.model, snap.limit_requests, snap.reset_tokens_s) == (
            "team", "gpt-4o", 5000, 360.0)
        assert secret not in repr(p)
    finally:
        p.stop()


# -- loops and configuration ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("upstream", "host", "port", "loop"),
    [("http://127.0.0.1:8787/v1", "127.0.0.1", 8787, True),
     ("http://localhost:8787/v1", "127.0.0.1", 8787, True),
     ("http://0.0.0.0:8787/v1", "127.0.0.1", 8787, True),
     ("http://127.0.0.1:8787/v1", "0.0.0.0", 8787, True),
     ("http://[::1]:8787/v1", "localhost", 8787, True),
     ("http://127.0.0.1:8788/v1", "127.0.0.1", 8787, False),
     ("https://api.openai.com/v1", "127.0.0.1", 443, False),
     ("http://localhost/v1", "localhost", 80, True)],
)  # fmt: skip
def test_points_at_self(upstream: str, host: str, port: int, loop: bool) -> None:
    assert points_at_self(parse_upstream(upstream), host, port) is loop


def test_refuses_to_forward_to_itself(paths: Paths, prices: PriceTable) -> None:
    with pytest.raises(ProxyConfigError, match="myself"):
        MeteringProxy(upstream="http://localhost:8787/v1", store_path=paths.db_file,
                      prices=prices, port=8787)  # fmt: skip
    with pytest.raises(ProxyConfigError):
        MeteringProxy(upstream="ftp://example.com/v1", store_path=paths.db_file, prices=prices)


def test_cli_requires_allow_remote_for_non_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.cli import main

    assert main(["proxy", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_a_request_that_comes_back_is_refused(proxy: MeteringProxy, fake: FakeUpstream) -> None:
    """A loop the start-up check cannot see (e.g. a DNS alias) is caught by the Via token."""
    assert proxy.url is not None
    status, _, _ = raw_request(proxy.url, "GET", "/models", None, AUTH)
    assert status == 200
    token = fake.requests[0].headers["via"]
    status, _, body = raw_request(proxy.url, "GET", "/models", None, {**AUTH, "Via": token})
    assert status == 508 and json.loads(body)["error"]["code"] == "proxy_loop"
    assert len(fake.requests) == 1


def test_non_proxy_paths_get_404(proxy: MeteringProxy, fake: FakeUpstream) -> None:
    assert proxy.url is not None
    base = proxy.url.removesuffix("/v1")
    status, _, body = raw_request(base, "GET", "/admin", None, {})
    assert status == 404 and json.loads(body)["error"]["code"] == "unknown_url"
    assert not fake.requests


# -- store totals ---------------------------------------------------------------------------


def test_store_totals_equal_what_the_upstream_reported(
    client: openai.OpenAI, proxy: MeteringProxy, records: list[ProxyRecord],
    fake: FakeUpstream, paths: Paths, prices: PriceTable, ctx: AppContext,
) -> None:  # fmt: skip
    for i in range(3):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user",
                                                                  "content": f"hi {i}"}])
        list(client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                            messages=[{"role": "user", "content": f"yo {i}"}]))
        client.responses.create(model="gpt-4.1", input=f"q {i}")
        list(client.responses.create(model="gpt-4.1", input=f"s {i}", stream=True))
        client.embeddings.create(model="text-embedding-3-small", input=f"e {i}")
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="force-429", messages=MSG)
    settled(proxy, records, 16)
    store = UsageStore(paths.db_file)
    try:
        now = datetime.now(UTC)
        rows = store.proxy_usage(now - timedelta(days=1), now + timedelta(minutes=1))
    finally:
        store.close()
    assert sum((r.usage for r in rows), TokenUsage()) == fake.reported_total()
    assert sum(r.requests for r in rows) == 16 and sum(r.errors for r in rows) == 1
    assert sum(r.unpriced_requests for r in rows) == 0
    assert sum(r.cost for r in rows) == expected_cost(prices, fake)
    out = subprocess.run(
        [sys.executable, "-m", "monitor", "usage", "--source", "proxy", "--period", "today",
         "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout, parse_float=Decimal)
    totals = report["totals"]
    want = fake.reported_total()
    # the report counts successful requests; errors separately
    assert (totals["requests"], totals["input_tokens"], totals["cached_input_tokens"],
            totals["output_tokens"], totals["reasoning_tokens"]) == (
        15, want.input_tokens, want.cached_input_tokens, want.output_tokens,
        want.reasoning_tokens)  # fmt: skip
    assert report["sources"]["proxy"]["errors"] == 1
    assert totals["cost_usd"] == expected_cost(prices, fake)
    assert report["unpriced_models"] == []


# -- secrets never leak ---------------------------------------------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))


@pytest.fixture
def all_logs(paths: Paths) -> Iterator[_Collect]:
    """DEBUG logging to the real log file, plus every record of every logger collected."""
    monitor_log = logging.getLogger("monitor")
    saved = (monitor_log.handlers[:], monitor_log.level, monitor_log.propagate)
    setup_logging(paths.log_file, logging.DEBUG)
    collect = _Collect()
    root = logging.getLogger()
    root_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(collect)
    monitor_log.addHandler(collect)
    yield collect
    root.removeHandler(collect)
    root.setLevel(root_level)
    for h in monitor_log.handlers:
        if h not in saved[0]:
            h.close()
    monitor_log.handlers[:] = saved[0]
    monitor_log.setLevel(saved[1])
    monitor_log.propagate = saved[2]


def test_keys_never_reach_files_or_logs(
    upstream: ServerThread, fake: FakeUpstream, ctx: AppContext, home: Path,
    all_logs: _Collect,
) -> None:  # fmt: skip
    vault_secret = "sk-proj-LEAKCHECKvault0123456789abcd"
    client_secret = "sk-proj-LEAKCHECKclient987654321dcba"
    ctx._keys = KeyStore.open(ctx.paths.keys_file, vault=MemoryVault())
    ctx.keys().add("team", "project", vault_secret)
    args = argparse.Namespace(host="127.0.0.1", port=0, upstream=upstream.base_url + "/v1",
                              key="team", allow_remote=False, allow_origin=[])  # fmt: skip
    built = proxy_command.build_proxy(args, ctx)
    assert built is not None
    records: list[ProxyRecord] = []
    plain = MeteringProxy(upstream=upstream.base_url + "/v1", store_path=ctx.paths.db_file,
                          prices=ctx.prices(), port=0, on_record=records.append)  # fmt: skip
    with contextlib.ExitStack() as stack:
        for p, key in ((built, "placeholder"), (plain, client_secret)):
            url = p.start_in_thread()
            stack.callback(p.stop)
            c = stack.enter_context(openai.OpenAI(base_url=url, api_key=key, max_retries=0))
            c.chat.completions.create(model="gpt-4o", messages=MSG)
            list(c.chat.completions.create(model="gpt-4o", messages=MSG, stream=True))
            with pytest.raises(openai.RateLimitError):
                c.chat.completions.create(model="force-429", messages=MSG)
            stream = c.chat.completions.create(
                model="gpt-4o", messages=MSG, stream=True,
                extra_headers={"x-fake-chunk-delay-ms": "100"},
            )  # fmt: skip
            next(iter(stream))
            stream.close()
        with openai.OpenAI(base_url=plain.url, api_key="sk-invalid" + client_secret[10:],
                           max_retries=0) as bad, pytest.raises(openai.AuthenticationError):
            bad.chat.completions.create(model="gpt-4o", messages=MSG)
        wait_until(lambda: len(records) == 5)
        assert built.flush() and plain.flush()
    ctx.close()
    assert {f"Bearer {vault_secret}", f"Bearer {client_secret}"} <= {
        r.headers["authorization"] for r in fake.requests}
    assert any(line for line in all_logs.lines)
    assert (ctx.paths.log_file.exists() and ctx.paths.log_file.stat().st_size > 0)
    files = [f for f in home.rglob("*") if f.is_file()]
    assert ctx.paths.db_file in files
    for secret in (vault_secret, client_secret):
        for marker in (secret, secret[8:]):  # also the key without its sk-proj- prefix
            for f in files:
                assert marker.encode() not in f.read_bytes(), f"key found in {f}"
            for line in all_logs.lines:
                assert marker not in line


# -- the standalone command -----------------------------------------------------------------


def _listening_url(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """The URL from the command's first stdout line (which must be exactly that line)."""
    url = listening_url(proc, timeout)
    assert url.startswith("http://127.0.0.1:"), url
    assert url.endswith("/v1") and not url.endswith(":0/v1") and " " not in url
    return url


def _rss_peak_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_command_runs_streams_100mb_and_stops_on_sigint(
    upstream: ServerThread, fake: FakeUpstream, home: Path, paths: Paths,
) -> None:  # fmt: skip
    env = {**os.environ, "MONITOR_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--log-level", "DEBUG", "proxy", "--port", "0",
         "--upstream", upstream.base_url + "/v1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        url = _listening_url(proc)
        with openai.OpenAI(base_url=url, api_key=CLIENT_KEY, max_retries=0) as c:
            assert c.chat.completions.create(model="gpt-4o", messages=MSG).usage is not None

        linux = sys.platform.startswith("linux")
        before = _rss_peak_kb(proc.pid) if linux else 0
        block = os.urandom(1 << 20)
        total = 100 << 20

        def body() -> Iterator[bytes]:
            for i in range(100):
                if i == 20:
                    assert fake.upload_started.wait(10), "the proxy held the upload back"
                yield block

        status, _, resp = raw_request(
            url, "POST", "/files", body(),
            {"Authorization": f"Bearer {CLIENT_KEY}", "Content-Length": str(total),
             "Content-Type": "application/octet-stream"}, timeout=120,
        )  # fmt: skip
        assert status == 200 and json.loads(resp)["bytes"] == total
        assert fake.uploads[0].bytes == total
        if linux:
            grown_mb = (_rss_peak_kb(proc.pid) - before) / 1024
            assert grown_mb < 30, f"proxy peak RSS grew {grown_mb:.0f} MB for a 100 MB upload"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 130  # Ctrl+C: README's exit code for it
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    store = UsageStore(paths.db_file)
    try:
        recs = store.proxy_records()
    finally:
        store.close()
    assert [r.endpoint for r in recs] == ["/files", "/chat/completions"]
    assert recs[1].usage == fake.reported[0].usage
    assert CLIENT_KEY not in paths.log_file.read_text()


def test_command_stops_cleanly_on_sigterm(upstream: ServerThread, home: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "proxy", "--port", "0",
         "--upstream", upstream.base_url + "/v1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "MONITOR_HOME": str(home)},
    )  # fmt: skip
    try:
        _listening_url(proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if proc.stdout:
            proc.stdout.close()
