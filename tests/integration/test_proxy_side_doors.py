"""No side doors around the proxy's guard: odd methods, odd spellings of a virtual key, a
rebound `Host` on /metrics, a browser's cross-site request without `Origin`, and a
compressed request body all end as the guard means them to, over real loopback HTTP."""

from __future__ import annotations

import gzip
import http.client
import json
import os
from collections.abc import Iterator

import pytest

from monitor.core.prices import PriceTable
from monitor.paths import Paths
from monitor.services.proxy import MeteringProxy
from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.server import ServerThread
from tests.integration.test_proxy_guard import CHAT, STORED_KEY, lending, send
from tests.integration.test_proxy_metrics import make_proxy
from tests.integration.test_proxy_virtual_keys import REAL_KEY, Harness, harness, vault_ctx

FIXTURES = (lending, harness, vault_ctx)


def host(proxy: MeteringProxy) -> dict[str, str]:
    return {"Host": f"127.0.0.1:{proxy.port}"}


@pytest.fixture
def virtual(harness: Harness) -> Iterator[tuple[MeteringProxy, str]]:
    """A proxy with a gate and the virtual key "app" (its real key: REAL_KEY)."""
    token = harness.add_key("app")
    proxy, _ = harness.start()
    yield proxy, token


# -- methods ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["TRACE", "PUT", "PATCH", "PROPFIND", "HEAD", "LINK"])
def test_methods_the_apis_do_not_use_get_405_and_are_never_forwarded(
    lending: MeteringProxy, fake: FakeUpstream, method: str
) -> None:
    status, headers, _ = send(lending.port, method, "/v1/fake/echo", host(lending))
    assert status == 405
    assert headers["allow"] == "GET, POST, DELETE, OPTIONS"
    assert fake.requests == []


def test_get_post_and_delete_are_still_forwarded(
    lending: MeteringProxy, fake: FakeUpstream
) -> None:
    for method in ("GET", "POST", "DELETE"):
        status, _, body = send(lending.port, method, "/v1/fake/echo", host(lending),
                               b"{}" if method == "POST" else None)
        assert status == 200, method
        assert json.loads(body)["headers"]["Authorization"] == f"Bearer {STORED_KEY}"
    assert [r.method for r in fake.requests] == ["GET", "POST", "DELETE"]


def test_trace_with_a_virtual_key_never_hands_the_real_key_back(
    virtual: tuple[MeteringProxy, str], fake: FakeUpstream
) -> None:
    proxy, token = virtual
    status, _, body = send(proxy.port, "TRACE", "/v1/fake/echo",
                           {**host(proxy), "Authorization": f"Bearer {token}"})
    assert status == 405
    assert REAL_KEY.encode() not in body and REAL_KEY[-12:].encode() not in body
    assert fake.requests == []


# -- a virtual token in any spelling -----------------------------------------------------------


@pytest.mark.parametrize("spelling", [
    "{t}", "bearer {t}", "BEARER {t}", "Bearer   {t}  ", "Bearer\t{t}", "  {t}", "Token {t}",
])  # fmt: skip
def test_a_virtual_key_in_any_spelling_of_authorization_is_swapped(
    virtual: tuple[MeteringProxy, str], fake: FakeUpstream, spelling: str
) -> None:
    proxy, token = virtual
    status, _, _ = send(proxy.port, "GET", "/v1/fake/echo",
                        {**host(proxy), "Authorization": spelling.format(t=token)})
    assert status == 200
    [seen] = fake.requests
    assert seen.headers["authorization"] == f"Bearer {REAL_KEY}"
    assert token not in json.dumps(seen.headers)


@pytest.mark.parametrize("value", ["", "   ", "Bearer", "Bearer sk-own-key-0123456789"])
def test_other_authorization_values_pass_as_they_were(
    virtual: tuple[MeteringProxy, str], fake: FakeUpstream, value: str
) -> None:
    proxy, _ = virtual
    status, _, _ = send(proxy.port, "GET", "/v1/fake/echo",
                        {**host(proxy), "Authorization": value, "x-api-key": ""})
    assert status == 200
    [seen] = fake.requests
    assert seen.headers["authorization"] == value.strip()


@pytest.mark.parametrize("name", ["x-api-key", "api-key", "X-Api-Key"])
def test_a_virtual_key_in_another_key_header_is_refused_not_forwarded(
    virtual: tuple[MeteringProxy, str], fake: FakeUpstream, name: str
) -> None:
    proxy, token = virtual
    status, _, body = send(proxy.port, "GET", "/v1/models", {**host(proxy), name: token})
    assert status == 401
    assert "Authorization" in json.loads(body)["error"]["message"]
    assert fake.requests == []


@pytest.mark.parametrize("value", [
    "tm-notAKnownVirtualKey0123456789abcdef", "TM-{t}", "bearer tm-unknown0123456789",
])  # fmt: skip
def test_an_unknown_or_odd_virtual_token_is_refused_not_forwarded(
    virtual: tuple[MeteringProxy, str], fake: FakeUpstream, value: str
) -> None:
    proxy, token = virtual
    status, _, _ = send(proxy.port, "GET", "/v1/models",
                        {**host(proxy), "Authorization": value.format(t=token)})
    assert status == 401
    assert fake.requests == []


def test_a_virtual_key_beside_another_authorization_header_is_refused(
    virtual: tuple[MeteringProxy, str], fake: FakeUpstream
) -> None:
    proxy, token = virtual
    conn_headers = [("Host", f"127.0.0.1:{proxy.port}"), ("Authorization", "Bearer sk-mine"),
                    ("Authorization", f"Bearer {token}")]
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    try:
        conn.putrequest("GET", "/v1/models", skip_host=True, skip_accept_encoding=True)
        for name, value in conn_headers:
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 400
    finally:
        conn.close()
    assert fake.requests == []


# -- a browser page without Origin ----------------------------------------------------------


@pytest.mark.parametrize("site", ["cross-site", "same-site", "Cross-Site"])
def test_a_cross_site_request_without_origin_is_a_web_page_and_refused(
    lending: MeteringProxy, fake: FakeUpstream, site: str
) -> None:
    status, _, body = send(lending.port, "GET", "/v1/models",
                           {**host(lending), "Sec-Fetch-Site": site})
    assert status == 403
    assert json.loads(body)["error"]["code"] == "origin_not_allowed"
    assert fake.requests == []


def test_same_origin_and_user_typed_requests_and_allowed_origins_still_pass(
    lending: MeteringProxy, fake: FakeUpstream
) -> None:
    for extra in ({"Sec-Fetch-Site": "none"}, {"Sec-Fetch-Site": "same-origin"},
                  {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost:3000"}):
        status, _, _ = send(lending.port, "GET", "/v1/models", {**host(lending), **extra})
        assert status == 200, extra
    assert len(fake.requests) == 3


# -- a compressed request body --------------------------------------------------------------


def test_a_gzip_json_body_is_forwarded_decoded_with_its_own_length(
    lending: MeteringProxy, fake: FakeUpstream
) -> None:
    status, _, body = send(lending.port, "POST", "/v1/chat/completions",
                           {**host(lending), "Content-Type": "application/json",
                            "Content-Encoding": "gzip"}, gzip.compress(CHAT))
    assert status == 200, body
    [seen] = fake.requests
    assert "content-encoding" not in seen.headers
    assert int(seen.headers["content-length"]) == seen.body_bytes
    assert seen.json["model"] == "gpt-4o"


def test_a_gzip_streamed_upload_is_forwarded_decoded(
    lending: MeteringProxy, fake: FakeUpstream
) -> None:
    data = os.urandom(64 * 1024) * 4  # 256 KiB, streamed (not JSON)
    status, _, body = send(lending.port, "POST", "/v1/files",
                           {**host(lending), "Content-Type": "application/octet-stream",
                            "Content-Encoding": "gzip"}, gzip.compress(data))
    assert status == 200, body
    [seen] = fake.requests
    assert "content-encoding" not in seen.headers
    assert fake.uploads[0].bytes == len(data)


@pytest.mark.parametrize(("path", "ctype"), [("/v1/chat/completions", "application/json"),
                                              ("/v1/files", "application/octet-stream")])
def test_a_body_that_is_not_the_gzip_it_claims_gets_a_clear_400(
    lending: MeteringProxy, path: str, ctype: str
) -> None:
    status, _, body = send(lending.port, "POST", path,
                           {**host(lending), "Content-Type": ctype, "Content-Encoding": "gzip"},
                           b"this is not gzip data" * 100)
    assert status == 400, body
    error = json.loads(body)["error"]
    assert error["code"] == "invalid_request_body" and "gzip" in error["message"]


# -- /metrics and DNS rebinding ----------------------------------------------------------------


def test_metrics_refuses_a_foreign_host(
    upstream: ServerThread, paths: Paths, prices: PriceTable
) -> None:
    proxy, exporter = make_proxy(upstream, paths, prices, [])
    try:
        for bad in ("evil.example", f"evil.example:{exporter.port}",
                    f"127.0.0.1:{exporter.port + 1}", ""):
            status, _, body = send(exporter.port, "GET", "/metrics", {"Host": bad})
            assert status == 421, bad
            assert b"token_monitor" not in body
        for good in (f"127.0.0.1:{exporter.port}", f"localhost:{exporter.port}"):
            status, _, body = send(exporter.port, "GET", "/metrics", {"Host": good})
            assert status == 200 and b"token_monitor_" in body, good
    finally:
        proxy.stop()
