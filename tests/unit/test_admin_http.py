"""The provider-neutral admin HTTP layer on its own: a subclass gives only its headers and
error classification, and gets retries, retry-after and the page cursor guard."""

from __future__ import annotations

import random
from collections.abc import Mapping

import pytest

from monitor.services.admin_http import (
    AdminApiError,
    AdminHttpClient,
    HttpResponse,
    InvalidKeyError,
    ProtocolError,
    RequestError,
    RetryPolicy,
    ServerError,
)


class Queue:
    """A transport answering from a list and recording (url, headers) of each try."""

    def __init__(self, *replies: HttpResponse) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, url: str, headers: Mapping[str, str], timeout: float) -> HttpResponse:
        self.calls.append((url, dict(headers)))
        return self.replies.pop(0)


class OtherProvider(AdminHttpClient):
    """What a second provider's client adds: its auth header and its error shapes."""

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": "k-test", **super()._headers()}

    def _classify(self, resp: HttpResponse) -> AdminApiError:
        if resp.status == 529:
            return ServerError("overloaded", status=529)
        if resp.status == 401:
            return InvalidKeyError("bad key", status=401)
        return super()._classify(resp)


def _client(transport: Queue, sleeps: list[float]) -> OtherProvider:
    return OtherProvider("http://127.0.0.1:1/v1/", transport=transport, sleep=sleeps.append,
                         clock=lambda: 0.0, rng=random.Random(1),
                         retry=RetryPolicy(attempts=3, base_delay_s=1.0))


def test_a_subclass_gets_retries_retry_after_and_its_own_headers() -> None:
    q = Queue(HttpResponse(529, {"retry-after": "2"}, b"{}"),
              HttpResponse(200, {}, b'{"ok": true}'))
    sleeps: list[float] = []
    client = _client(q, sleeps)
    assert client.get_json("organizations/me", [("a", "1")]) == {"ok": True}
    assert [u for u, _ in q.calls] == ["http://127.0.0.1:1/v1/organizations/me?a=1"] * 2
    assert q.calls[0][1]["x-api-key"] == "k-test"
    assert q.calls[0][1]["User-Agent"].startswith("token-monitor/")
    assert len(sleeps) == 1 and sleeps[0] >= 2.0  # waited at least what retry-after asked
    assert client.requests_made == 2


def test_not_retried_when_the_kind_or_the_server_says_so() -> None:
    sleeps: list[float] = []
    with pytest.raises(InvalidKeyError):
        _client(Queue(HttpResponse(401, {}, b"{}")), sleeps).get_json("x")
    with pytest.raises(ServerError):
        _client(Queue(HttpResponse(529, {"x-should-retry": "false"}, b"{}")),
                sleeps).get_json("x")
    with pytest.raises(RequestError, match=r"HTTP 404"):  # the base class's own fallback
        _client(Queue(HttpResponse(404, {}, b"{}")), sleeps).get_json("x")
    assert sleeps == []


def test_the_cursor_walk_follows_next_page_and_refuses_a_repeated_cursor() -> None:
    page = b'{"data": [{"n": %d}], "has_more": true, "next_page": "c1"}'
    q = Queue(HttpResponse(200, {}, page % 1), HttpResponse(200, {}, page % 2))
    with pytest.raises(ProtocolError, match="repeated page cursor"):
        _client(q, [])._all_buckets("usage", [("limit", "1")])
    assert q.calls[1][0].endswith("usage?limit=1&page=c1")
    done = Queue(HttpResponse(200, {}, page % 1),
                 HttpResponse(200, {}, b'{"data": [{"n": 2}], "has_more": false}'))
    assert _client(done, [])._all_buckets("usage", []) == ([{"n": 1}, {"n": 2}], 2)
