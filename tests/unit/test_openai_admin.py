"""Admin API client: parsing, pagination guards, limits, error mapping, retries and backoff."""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from monitor.core.usage import TokenUsage
from monitor.services.admin_http import (
    ApiTimeoutError,
    HttpResponse,
    InvalidKeyError,
    MissingScopeError,
    NetworkError,
    ProtocolError,
    QuotaExceededError,
    RateLimitedError,
    RequestError,
    RetryPolicy,
    ServerError,
    UrllibTransport,
)
from monitor.services.openai_admin import (
    AdminClient,
    GroupFallbacks,
    check_key,
    parse_cost_row,
    parse_money,
    parse_usage_row,
    utc_ceil,
    utc_floor,
)
from tests.fakes import fake_org
from tests.fakes.server import ServerThread

KEY = "sk-admin-UNITclientKEY0000000000000000zz99"
T0 = datetime(2026, 11, 1, tzinfo=UTC)

Reply = HttpResponse | BaseException


class Script:
    """A transport that returns queued replies and records every request."""

    def __init__(self, *replies: Reply | Callable[[str], Reply]) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, url: str, headers: Mapping[str, str], timeout: float) -> HttpResponse:
        self.calls.append((url, dict(headers)))
        if not self.replies:
            raise AssertionError(f"unexpected request {url}")
        reply = self.replies.pop(0)
        if callable(reply) and not isinstance(reply, BaseException | HttpResponse):
            reply = reply(url)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def params(self, i: int) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.calls[i][0]).query)


def ok(body: Any, headers: Mapping[str, str] | None = None) -> HttpResponse:
    return HttpResponse(200, dict(headers or {}), json.dumps(body).encode())


def err(status: int, body: Any, headers: Mapping[str, str] | None = None) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, dict(headers or {}), raw)


def api_error(message: str, code: str | None = None, type_: str = "invalid_request_error") -> Any:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def page(buckets: list[dict[str, Any]], next_page: str | None = None) -> dict[str, Any]:
    return {"object": "page", "data": buckets, "has_more": next_page is not None,
            "next_page": next_page}


def bucket(start: datetime, hours: int = 24, **kw: Any) -> dict[str, Any]:
    b: dict[str, Any] = {"object": "bucket", "start_time": int(start.timestamp()),
                         "end_time": int((start + timedelta(hours=hours)).timestamp())}
    b.update(kw)
    return b


class Clock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s

    def __call__(self) -> float:
        return self.t


def client(script: Script, clock: Clock | None = None, **kw: Any) -> AdminClient:
    c = clock or Clock()
    return AdminClient(KEY, "https://api.example.test/v1/", transport=script, sleep=c.sleep,
                       clock=c, rng=random.Random(7), **kw)


# --- parsing ----------------------------------------------------------------------------------


def test_usage_row_missing_and_null_grouping_read_alike() -> None:
    with_nulls = {"object": "organization.usage.completions.result", "input_tokens": 5000,
                  "input_cached_tokens": 1800, "output_tokens": 1000, "input_audio_tokens": 7,
                  "output_audio_tokens": 3, "num_model_requests": 5, "project_id": "proj_abc",
                  "user_id": None, "api_key_id": None, "model": "gpt-4o-mini", "batch": None,
                  "service_tier": None, "brand_new_field": {"x": 1}}
    omitted = {k: v for k, v in with_nulls.items() if v is not None}
    a = parse_usage_row("completions", T0, "1d", with_nulls)
    b = parse_usage_row("completions", T0, "1d", omitted)
    assert a == b
    assert a.usage == TokenUsage(input_tokens=5000, cached_input_tokens=1800, output_tokens=1000,
                                 audio_input_tokens=7, audio_output_tokens=3)
    assert (a.requests, a.project_id, a.model, a.api_key_id, a.batch) == (
        5, "proj_abc", "gpt-4o-mini", None, None)


def test_usage_row_image_and_cached_audio_fields() -> None:
    row = {"input_tokens": 9000, "input_cached_tokens": 3000, "input_cached_audio_tokens": 500,
           "input_audio_tokens": 1000, "input_image_tokens": 2000,
           "input_cached_image_tokens": 300, "output_tokens": 6000, "output_image_tokens": 4000,
           "num_model_requests": 3, "model": "gpt-image-1"}
    assert parse_usage_row("completions", T0, "1h", row).usage == TokenUsage(
        input_tokens=9000, cached_input_tokens=3000, audio_cached_input_tokens=500,
        audio_input_tokens=1000, image_input_tokens=2000, output_tokens=6000,
        image_output_tokens=4000)


def test_usage_row_units_and_batch_flag() -> None:
    img = parse_usage_row("images", T0, "1h", {"images": 4, "num_model_requests": 2,
                                               "size": None, "source": None})
    assert (img.units, img.requests, img.usage.input_tokens) == (4, 2, 0)
    tts = parse_usage_row("audio_speeches", T0, "1h", {"characters": "120",
                                                       "num_model_requests": 1})
    assert tts.units == 120
    stt = parse_usage_row("audio_transcriptions", T0, "1h", {"seconds": 61,
                                                             "num_model_requests": 1})
    assert stt.units == 61
    batch = parse_usage_row("completions", T0, "1h", {"batch": True, "input_tokens": None})
    assert batch.batch is True and batch.usage.input_tokens == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.06, Decimal("0.06")), ("12.50", Decimal("12.50")), ("0.0042", Decimal("0.0042")),
     (10.1425634, Decimal("10.1425634")), (3, Decimal(3)), (None, Decimal(0))],
)
def test_money_number_or_string(value: Any, expected: Decimal) -> None:
    assert parse_money(value) == expected
    row = parse_cost_row(date(2026, 11, 1), {"object": "organization.costs.result",
                                             "amount": {"value": value, "currency": "USD"},
                                             "line_item": "input_tokens", "organization_id": "o"})
    assert row.amount == expected and row.currency == "usd" and row.project_id is None


@pytest.mark.parametrize("value", ["abc", True, "NaN", [1]])
def test_money_rejects_garbage(value: Any) -> None:
    with pytest.raises(ProtocolError):
        parse_money(value)


def test_result_singular_and_empty_buckets_and_unknown_fields() -> None:
    script = Script(ok(page([
        bucket(T0, result=[{"input_tokens": 1, "num_model_requests": 1}], extra="x"),
        bucket(T0 + timedelta(days=1), results=[]),
        bucket(T0 + timedelta(days=2)),
    ]) | {"unknown_top": 1}))
    fetched = client(script).usage("embeddings", T0, T0 + timedelta(days=3))
    assert len(fetched.buckets) == 3 and fetched.pages == 1
    assert [r.usage.input_tokens for r in fetched.rows] == [1]


# --- requests, limits, pagination ----------------------------------------------------------


def test_request_shape_and_limits_per_width() -> None:
    script = Script(*[ok(page([])) for _ in range(5)])
    c = client(script)
    c.usage("completions", T0, T0 + timedelta(hours=48), "1h")
    c.usage("embeddings", T0, T0 + timedelta(hours=300), "1h")
    c.usage("images", T0, T0 + timedelta(days=62), "1d")
    c.usage("moderations", T0, T0 + timedelta(days=5), "1d")
    c.costs(T0, T0 + timedelta(days=200))
    limits = [dict(script.params(i))["limit"] for i in range(5)]
    assert limits == ["48", "168", "31", "5", "180"]
    first = script.params(0)
    assert ("start_time", str(int(T0.timestamp()))) in first
    assert ("bucket_width", "1h") in first
    assert [v for k, v in first if k == "group_by[]"] == [
        "model", "project_id", "api_key_id", "service_tier", "batch"]
    assert [v for k, v in script.params(4) if k == "group_by[]"] == [
        "project_id", "line_item", "api_key_id"]
    url, headers = script.calls[0]
    assert url.startswith("https://api.example.test/v1/organization/usage/completions?")
    assert headers["Authorization"] == f"Bearer {KEY}"


def test_pagination_follows_next_page_until_has_more_false() -> None:
    script = Script(
        ok(page([bucket(T0, results=[{"input_tokens": 1}])], "cur_1")),
        ok(page([bucket(T0 + timedelta(days=1), results=[{"input_tokens": 2}])], "cur_2")),
        ok(page([bucket(T0 + timedelta(days=2), results=[{"input_tokens": 4}])])),
    )
    fetched = client(script).usage("embeddings", T0, T0 + timedelta(days=3))
    assert fetched.pages == 3
    assert sum(r.usage.input_tokens for r in fetched.rows) == 7
    assert "page" not in dict(script.params(0))
    assert dict(script.params(1))["page"] == "cur_1"
    assert dict(script.params(2))["page"] == "cur_2"
    # the rest of the query is re-sent unchanged
    assert [p for p in script.params(2) if p[0] != "page"] == script.params(0)


def test_repeated_cursor_is_an_error_not_a_loop() -> None:
    script = Script(ok(page([bucket(T0)], "same")), ok(page([bucket(T0)], "same")))
    with pytest.raises(ProtocolError, match="repeated"):
        client(script).usage("embeddings", T0, T0 + timedelta(days=2))
    assert len(script.calls) == 2


def test_missing_cursor_with_has_more_is_an_error() -> None:
    body = page([bucket(T0)])
    body["has_more"] = True
    with pytest.raises(ProtocolError, match="next_page is missing"):
        client(Script(ok(body))).usage("embeddings", T0, T0 + timedelta(days=2))


def test_list_pagination_with_after() -> None:
    script = Script(
        ok({"object": "list", "data": [{"id": "proj_1", "name": "One"}], "last_id": "proj_1",
            "has_more": True}),
        ok({"object": "list", "data": [{"id": "proj_2", "name": None}], "last_id": "proj_2",
            "has_more": False}),
    )
    projects = client(script).projects()
    assert [(p.id, p.name) for p in projects] == [("proj_1", "One"), ("proj_2", "proj_2")]
    assert dict(script.params(1))["after"] == "proj_1"


def test_bad_json_reply_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="not JSON"):
        client(Script(HttpResponse(200, {}, b"<html>"))).check_admin()


# --- errors and retries ---------------------------------------------------------------------

SCOPE_MSG = ("You have insufficient permissions for this operation. Missing scopes: "
             "api.usage.read. Check that you have the correct role in your organization.")


def test_invalid_key_is_not_retried() -> None:
    script = Script(err(401, api_error(
        "Incorrect API key provided: sk-adm***zz99. You can find your API key at ...",
        "invalid_api_key")))
    with pytest.raises(InvalidKeyError) as info:
        client(script).check_admin()
    assert len(script.calls) == 1
    assert info.value.exit_code == 3 and "invalid API key" in info.value.text()
    assert KEY not in info.value.text()


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("as_string", [False, True])
def test_missing_scope_is_distinct_and_not_retried(status: int, as_string: bool) -> None:
    body = {"error": SCOPE_MSG} if as_string else api_error(SCOPE_MSG)
    script = Script(err(status, body))
    with pytest.raises(MissingScopeError) as info:
        client(script).usage("completions", T0, T0 + timedelta(days=1))
    assert len(script.calls) == 1
    assert info.value.text() == "the key lacks the api.usage.read scope (needs an Admin key)"
    assert info.value.exit_code == 4


def test_other_missing_scope_is_named() -> None:
    msg = SCOPE_MSG.replace("api.usage.read", "api.management.read")
    with pytest.raises(MissingScopeError, match=r"api\.management\.read"):
        client(Script(err(401, api_error(msg)))).projects()


def test_rate_limit_honours_retry_after_then_succeeds() -> None:
    clock = Clock()
    script = Script(
        err(429, api_error("Rate limit reached", "rate_limit_exceeded", "requests"),
            {"retry-after": "2"}),
        err(429, api_error("Rate limit reached", "rate_limit_exceeded", "requests"),
            {"retry-after-ms": "250", "retry-after": "9"}),
        ok({"object": "list", "data": [], "has_more": False}),
    )
    client(script, clock).check_admin()
    assert len(script.calls) == 3
    assert 2.0 <= clock.sleeps[0] <= 2.6  # at least retry-after, a little jitter on top
    # retry-after-ms wins over retry-after; backoff (2nd retry: 1-2 s) is the floor
    assert 1.0 <= clock.sleeps[1] <= 2.2


def test_rate_limit_without_hint_backs_off_exponentially_and_gives_up() -> None:
    clock = Clock()
    rl = err(429, api_error("Rate limit reached", "rate_limit_exceeded", "tokens"))
    script = Script(*[rl] * 4)
    with pytest.raises(RateLimitedError):
        client(script, clock, retry=RetryPolicy(attempts=4, base_delay_s=1, max_delay_s=30,
                                                total_s=100)).check_admin()
    assert len(script.calls) == 4
    assert len(clock.sleeps) == 3
    for i, s in enumerate(clock.sleeps):
        assert 0.5 * 2**i <= s <= 2**i  # 50-100 % jitter of 1, 2, 4 s


def test_rate_limit_retry_after_beyond_budget_fails_fast() -> None:
    clock = Clock()
    script = Script(err(429, api_error("slow down", "rate_limit_exceeded"),
                        {"retry-after": "600"}))
    with pytest.raises(RateLimitedError, match="600"):
        client(script, clock).check_admin()
    assert clock.sleeps == [] and len(script.calls) == 1


def test_total_retry_time_is_bounded() -> None:
    clock = Clock()
    five = err(503, api_error("overloaded", None, "server_error"))
    script = Script(*[five] * 10)
    with pytest.raises(ServerError):
        client(script, clock, retry=RetryPolicy(attempts=10, base_delay_s=4, max_delay_s=8,
                                                total_s=15)).check_admin()
    assert sum(clock.sleeps) <= 15
    assert len(script.calls) < 10


def test_insufficient_quota_is_not_retried() -> None:
    script = Script(err(429, api_error("You exceeded your current quota", "insufficient_quota",
                                       "insufficient_quota"), {"retry-after": "1"}))
    with pytest.raises(QuotaExceededError, match="quota"):
        client(script).check_admin()
    assert len(script.calls) == 1


def test_old_insufficient_quota_body_with_null_code() -> None:
    script = Script(err(429, api_error("You exceeded your current quota", None,
                                       "insufficient_quota")))
    with pytest.raises(QuotaExceededError):
        client(script).check_admin()


def test_server_errors_retried_a_bounded_number_of_times() -> None:
    clock = Clock()
    script = Script(err(500, b"oops"), err(502, b""), ok({"data": [], "has_more": False}))
    client(script, clock).check_admin()
    assert len(script.calls) == 3 and len(clock.sleeps) == 2
    script = Script(*[err(500, b"oops")] * 4)
    with pytest.raises(ServerError, match="HTTP 500"):
        client(script, Clock()).check_admin()
    assert len(script.calls) == 4


def test_x_should_retry_false_stops_retries() -> None:
    script = Script(err(500, b"", {"x-should-retry": "false"}))
    with pytest.raises(ServerError):
        client(script).check_admin()
    assert len(script.calls) == 1


def test_timeouts_and_network_errors_are_retried_then_distinct() -> None:
    script = Script(TimeoutError("timed out"), ConnectionResetError(104, "reset"),
                    ok({"data": [], "has_more": False}))
    client(script).check_admin()
    assert len(script.calls) == 3
    script = Script(*[TimeoutError("timed out")] * 4)
    with pytest.raises(ApiTimeoutError) as t_info:
        client(script).check_admin()
    assert t_info.value.exit_code == 5
    script = Script(*[ConnectionRefusedError(111, "Connection refused")] * 4)
    with pytest.raises(NetworkError, match="Connection refused") as n_info:
        client(script).check_admin()
    assert not isinstance(n_info.value, ApiTimeoutError)


def test_other_4xx_is_a_request_error() -> None:
    script = Script(err(400, api_error("Invalid value for 'limit'", None)))
    with pytest.raises(RequestError, match="limit"):
        client(script).usage("completions", T0, T0 + timedelta(days=1))
    assert len(script.calls) == 1


def group_refusal(value: str) -> HttpResponse:
    body = {"error": {"message": f"Invalid value for 'group_by': '{value}'.",
                      "type": "invalid_request_error", "param": "group_by", "code": None}}
    return err(400, body)


def groups_sent(script: Script, i: int) -> list[str]:
    return [v for k, v in script.params(i) if k == "group_by[]"]


def test_refused_service_tier_is_dropped_and_remembered_for_the_session() -> None:
    fallbacks = GroupFallbacks()
    row = {"input_tokens": 5, "output_tokens": 1, "num_model_requests": 1, "model": "gpt-5.4"}
    script = Script(group_refusal("service_tier"), ok(page([bucket(T0, results=[row])])),
                    ok(page([])), ok(page([])))
    c = client(script, fallbacks=fallbacks)
    fetched = c.usage("completions", T0, T0 + timedelta(days=1))
    assert fetched.rows[0].usage.input_tokens == 5 and fetched.rows[0].service_tier is None
    assert groups_sent(script, 0) == ["model", "project_id", "api_key_id", "service_tier",
                                      "batch"]
    assert groups_sent(script, 1) == ["model", "project_id", "api_key_id", "batch"]
    # the same window was asked again: only group_by changed
    assert [p for p in script.params(0) if p[0] != "group_by[]"] == [
        p for p in script.params(1) if p[0] != "group_by[]"]
    assert c.dropped_groups("completions") == {"service_tier"}
    # later windows, and a new client of the same session, do not ask again
    c.usage("completions", T0, T0 + timedelta(days=1), "1h")
    client(script, fallbacks=fallbacks).usage("completions", T0, T0 + timedelta(days=1))
    assert "service_tier" not in groups_sent(script, 2) + groups_sent(script, 3)
    assert len(script.calls) == 4
    # another base URL (another API) is not affected
    other = AdminClient(KEY, "https://other.example.test/v1", transport=Script(),
                        fallbacks=fallbacks)
    assert other.dropped_groups("completions") == frozenset()


def test_refused_costs_api_key_id_falls_back_to_project_and_line_item() -> None:
    fallbacks = GroupFallbacks()
    script = Script(group_refusal("api_key_id"), ok(page([])))
    c = client(script, fallbacks=fallbacks)
    c.costs(T0, T0 + timedelta(days=3))
    assert groups_sent(script, 0) == ["project_id", "line_item", "api_key_id"]
    assert groups_sent(script, 1) == ["project_id", "line_item"]
    assert c.dropped_groups("costs") == {"api_key_id"} and not c.dropped_groups("completions")


def test_group_by_refusals_that_cannot_be_worked_around_still_fail() -> None:
    # a required grouping refused: nothing optional left to drop
    script = Script(group_refusal("model"))
    with pytest.raises(RequestError, match="group_by"):
        client(script, fallbacks=GroupFallbacks()).usage(
            "embeddings", T0, T0 + timedelta(days=1))
    assert len(script.calls) == 1
    # service_tier refused, and then the reduced request refused too
    script = Script(group_refusal("service_tier"), group_refusal("batch"))
    with pytest.raises(RequestError, match="batch"):
        client(script, fallbacks=GroupFallbacks()).usage(
            "completions", T0, T0 + timedelta(days=1))
    assert len(script.calls) == 2
    # another 400 (not about group_by) is not a reason to drop anything
    fallbacks = GroupFallbacks()
    script = Script(err(400, {"error": {"message": "Invalid value for 'limit'.", "param": "limit",
                                        "type": "invalid_request_error", "code": None}}))
    with pytest.raises(RequestError):
        client(script, fallbacks=fallbacks).usage("completions", T0, T0 + timedelta(days=1))
    assert len(script.calls) == 1 and not fallbacks.refused("https://api.example.test/v1",
                                                            "completions")


def test_open_end_sends_no_end_time_but_sizes_the_limit() -> None:
    script = Script(ok(page([])), ok(page([])), ok(page([])))
    c = client(script, fallbacks=GroupFallbacks())
    c.usage("completions", T0, T0 + timedelta(hours=30), "1h", open_end=True)
    c.costs(T0, T0 + timedelta(days=3), open_end=True)
    c.usage("completions", T0, T0 + timedelta(hours=30), "1h")
    for i in (0, 1):
        assert "end_time" not in dict(script.params(i))
    assert dict(script.params(0))["limit"] == "30" and dict(script.params(1))["limit"] == "3"
    assert dict(script.params(2))["end_time"] == str(int((T0 + timedelta(hours=30)).timestamp()))


def test_check_key_outcomes() -> None:
    assert check_key(client(Script(ok({"data": []}))), "admin").outcome == "valid"
    assert check_key(client(Script(ok({"data": []}))), "project").exit_code == 0
    res = check_key(client(Script(err(401, api_error("bad", "invalid_api_key")))), "admin")
    assert (res.outcome, res.exit_code) == ("invalid_key", 3)
    res = check_key(client(Script(err(403, api_error(SCOPE_MSG)))), "admin")
    assert (res.outcome, res.exit_code) == ("missing_scope", 4)
    assert "needs an Admin key" in res.message
    res = check_key(client(Script(*[OSError("unreachable")] * 4)), "project")
    assert (res.outcome, res.exit_code) == ("network", 5)
    res = check_key(client(Script(err(429, api_error("q", "insufficient_quota")))), "admin")
    assert (res.outcome, res.exit_code) == ("error", 6)


def test_utc_floor_and_ceil() -> None:
    t = datetime(2026, 11, 23, 10, 30, 5, tzinfo=UTC)
    assert utc_floor(t, "1h") == datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert utc_floor(t, "1d") == datetime(2026, 11, 23, tzinfo=UTC)
    assert utc_ceil(t, "1h") == datetime(2026, 11, 23, 11, tzinfo=UTC)
    assert utc_ceil(utc_floor(t, "1d"), "1d") == utc_floor(t, "1d")


# --- the real urllib transport on loopback ---------------------------------------------------


def test_urllib_transport_timeout_and_refused() -> None:
    fake = fake_org.FakeOrg(delay_s=1.0)
    with ServerThread(fake.make_app) as server:
        c = AdminClient(fake_org.ADMIN_KEY, server.base_url + "/v1", timeout_s=0.2,
                        retry=RetryPolicy(attempts=2, base_delay_s=0.01), sleep=Clock().sleep)
        with pytest.raises(ApiTimeoutError):
            c.check_admin()
        assert fake.request_count() == 2
        fake.delay_s = 0
        c.check_admin()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    c = AdminClient(KEY, f"http://127.0.0.1:{port}/v1", transport=UrllibTransport(),
                    retry=RetryPolicy(attempts=1))
    with pytest.raises(NetworkError) as info:
        c.check_admin()
    assert not isinstance(info.value, ApiTimeoutError)


@pytest.mark.parametrize("value", ["abc", [1], {"n": 1}, -3, True, "NaN", float("inf")])
def test_malformed_counts_are_a_protocol_error_not_zero(value: Any) -> None:
    script = Script(ok(page([bucket(T0, results=[{"input_tokens": 5,
                                                   "num_model_requests": value}])])))
    with pytest.raises(ProtocolError, match="num_model_requests"):
        client(script).usage("embeddings", T0, T0 + timedelta(days=1))


def test_numeric_strings_and_nulls_still_parse() -> None:
    script = Script(ok(page([bucket(T0, results=[{"input_tokens": "12", "output_tokens": 3.0,
                                                   "num_model_requests": None}])])))
    (row,) = client(script).usage("completions", T0, T0 + timedelta(days=1)).rows
    assert (row.usage.input_tokens, row.usage.output_tokens, row.requests) == (12, 3, 0)


def test_a_bucket_outside_the_window_is_refused() -> None:
    stray = bucket(datetime(1970, 1, 1, tzinfo=UTC), results=[{"input_tokens": 1}])
    with pytest.raises(ProtocolError, match="outside the requested window"):
        client(Script(ok(page([stray])))).usage("embeddings", T0, T0 + timedelta(days=2))
    # A first bucket that starts before an unaligned start but overlaps it is accepted.
    late = T0 + timedelta(hours=5)
    fetched = client(Script(ok(page([bucket(T0, results=[{"input_tokens": 2}])])))).usage(
        "embeddings", late, late + timedelta(days=1))
    assert len(fetched.rows) == 1
