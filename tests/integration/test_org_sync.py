"""Org sync against the fake organization API over loopback HTTP.

Expected figures are computed straight from the fake's seeded events, never from its replies.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.paths import Paths
from monitor.services.admin_http import (
    ApiTimeoutError,
    InvalidKeyError,
    MissingScopeError,
    ProtocolError,
    QuotaExceededError,
    RetryPolicy,
    ServerError,
)
from monitor.services.openai_admin import AdminClient, GroupFallbacks
from monitor.services.org_sync import OrgSync, SyncResult
from monitor.services.store import UsageStore
from tests.fakes import fake_org
from tests.fakes.fake_org import ADMIN_KEY, PROJECT_KEY, Event, FakeOrg
from tests.fakes.memory_keyring import DictBackend, installed
from tests.fakes.server import ServerThread
from tests.integration.conftest import ORG_NOW, Clock

NOW = ORG_NOW  # the fake organization API and the sync both read `clock` (conftest)
BACKFILL = datetime(2026, 10, 1, tzinfo=UTC)  # previous billing cycle (cycle day 1)
REPO = Path(__file__).resolve().parents[2]


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, s: float) -> None:
        self.calls.append(s)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_sync(org_server: ServerThread, store: UsageStore, clock: Clock,
              sleeps: Sleeps) -> Callable[..., OrgSync]:
    def make(key: str = ADMIN_KEY, **client_kw: Any) -> OrgSync:
        client_kw.setdefault("retry", RetryPolicy(attempts=3, base_delay_s=0.01))
        client = AdminClient(key, org_server.base_url + "/v1", sleep=sleeps, **client_kw)
        return OrgSync(store, client, cycle_start_day=1, now=clock)

    return make


def expected(events: list[Event], start: datetime, end: datetime) -> dict[str, Any]:
    """Totals of the events in [start, end), plus billed dollars of the UTC days it touches."""
    usage: dict[str, Any] = dict(fake_org.expected_usage(events, start, end))
    usage["cost"] = fake_org.expected_cost(events, start.date(), end.date() + timedelta(days=1))
    return usage


def stored(store: UsageStore, start: datetime, end: datetime) -> dict[str, Any]:
    rows = store.org_usage(start, end)
    totals = store.totals(start, end, "org")
    return {
        "input_tokens": totals.usage.input_tokens,
        "output_tokens": totals.usage.output_tokens,
        "cached_input_tokens": totals.usage.cached_input_tokens,
        "requests": totals.requests,
        "units": sum(r.units for r in rows),
        "cost": sum((c.amount for c in store.cost_rows(start.date(), end.date()
                                                       + timedelta(days=1))), Decimal(0)),
    }


def snapshot(store: UsageStore) -> tuple[Any, ...]:
    """Every stored org row, for "nothing changed" checks."""
    far = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    usage = sorted(store.usage_buckets(*far), key=repr)
    costs = sorted(store.cost_rows(date(2000, 1, 1), date(2100, 1, 1),
                                   by=("day", "project_id", "line_item")), key=repr)
    return tuple(usage), tuple(costs)


END = NOW + timedelta(hours=1)


def usage_totals(argv_run: Callable[[list[str]], str], first: date, last: date,
                 now: datetime | None = None) -> dict[str, Any]:
    """`token-monitor usage --json --source org` totals for UTC days first..last."""
    args = ["usage", "--period", f"{first}..{last}", "--source", "org", "--json"]
    if now is not None:
        args += ["--now", now.isoformat()]
    return dict(json.loads(argv_run(args))["totals"])


def want_usage(events: list[Event], first: date, last: date) -> dict[str, Any]:
    """What `usage --json` must say for UTC days first..last, from the events alone."""
    start = datetime.combine(first, datetime.min.time(), UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC)
    u = fake_org.expected_usage(events, start, end)
    return {"requests": u["requests"], "input_tokens": u["input_tokens"],
            "cached_input_tokens": u["cached_input_tokens"], "output_tokens": u["output_tokens"],
            "cost_usd": float(fake_org.expected_cost(events, first, last + timedelta(days=1)))}


def pick(totals: dict[str, Any]) -> dict[str, Any]:
    return {k: totals[k] for k in ("requests", "input_tokens", "cached_input_tokens",
                                   "output_tokens", "cost_usd")}


# --- data ------------------------------------------------------------------------------------


def test_first_sync_matches_the_events(make_sync: Callable[..., OrgSync], store: UsageStore,
                                       org: FakeOrg,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    result = make_sync().sync_once()
    assert result.first_run
    assert stored(store, BACKFILL, END) == expected(org.events, BACKFILL, END)

    def cli(args: list[str]) -> str:
        capsys.readouterr()
        assert main(args) == 0
        return capsys.readouterr().out

    # the usage command: closed days are billed (Costs API dollars), so everything matches
    closed = usage_totals(cli, date(2026, 10, 1), date(2026, 11, 19), NOW)
    assert closed["cost_basis"] == "billed"
    assert pick(closed) == want_usage(org.events, date(2026, 10, 1), date(2026, 11, 19))
    # through today: tokens and requests match (today's dollars are an estimate)
    whole = usage_totals(cli, date(2026, 10, 1), date(2026, 11, 20), NOW)
    want = want_usage(org.events, date(2026, 10, 1), date(2026, 11, 20))
    assert {k: whole[k] for k in want if k != "cost_usd"} == {
        k: v for k, v in want.items() if k != "cost_usd"}
    # per UTC day too: the 1h days and the 1d days both line up with the events
    for day in (date(2026, 10, 1), date(2026, 11, 2), date(2026, 11, 19), date(2026, 11, 20)):
        start = datetime.combine(day, datetime.min.time(), UTC)
        got = store.totals(start, start + timedelta(days=1), "org")
        want = fake_org.expected_usage(org.events, start, start + timedelta(days=1))
        assert (got.usage.input_tokens, got.requests) == (want["input_tokens"],
                                                          want["requests"]), day
    # nothing before the previous billing cycle was fetched
    assert store.totals(BACKFILL - timedelta(days=30), BACKFILL, "org").requests == 0
    # hourly rows exactly for the previous and current UTC day
    hourly = {b.start.date() for b in store.usage_buckets(BACKFILL, END) if b.width == "1h"}
    assert hourly == {date(2026, 11, 19), date(2026, 11, 20)}
    names = store.names()
    assert names["proj_alpha"] == "Project Alpha" and names["key_alpha_ci"] == "ci-key"
    assert result.names == len(fake_org.PROJECTS) + 3  # key_gamma_1 has no name
    state = store.get_sync_state("org")
    assert state is not None and state.last_error is None
    assert state.settled_through == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert state.last_success == NOW


def test_requests_follow_the_reference(make_sync: Callable[..., OrgSync],
                                       org: FakeOrg) -> None:
    make_sync().sync_once()
    usage = org.requests_to("/v1/organization/usage/")
    assert {r.path.rsplit("/", 1)[1] for r in usage} == {
        "completions", "embeddings", "images", "audio_speeches", "audio_transcriptions",
        "moderations"}
    for r in usage + org.requests_to("/v1/organization/costs"):
        q = dict(r.query)
        width = q.get("bucket_width", "1d")
        assert int(q["start_time"]) % (3600 if width == "1h" else 86400) == 0
        assert int(q["limit"]) <= {"1h": 168, "1d": 31}[width] or r.path.endswith("/costs")
        assert r.auth == f"Bearer {ADMIN_KEY}"
    completions = [r for r in usage if r.path.endswith("/completions")]
    assert {v for k, v in completions[0].query if k == "group_by[]"} == {
        "model", "project_id", "api_key_id", "service_tier", "batch"}
    # the 1d backfill of ~49 days needs two pages at limit 31
    daily = [r for r in completions if dict(r.query).get("bucket_width") == "1d"]
    assert len(daily) == 2 and "page" in dict(daily[1].query)


def test_second_sync_changes_nothing(make_sync: Callable[..., OrgSync], store: UsageStore,
                                     org: FakeOrg) -> None:
    sync = make_sync()
    sync.sync_once()
    before = snapshot(store)
    org.log.clear()
    again = sync.sync_once()
    assert not again.first_run
    assert snapshot(store) == before
    assert stored(store, BACKFILL, END) == expected(org.events, BACKFILL, END)
    # only the previous and current UTC day were re-fetched
    starts = {int(dict(r.query)["start_time"]) for r in org.requests_to("/v1/organization/u")}
    assert starts == {int(datetime(2026, 11, 19, tzinfo=UTC).timestamp())}


def test_revised_buckets_are_replaced_not_added(make_sync: Callable[..., OrgSync],
                                                store: UsageStore, org: FakeOrg,
                                                clock: Clock) -> None:
    sync = make_sync()
    sync.sync_once()
    old = expected(org.events, BACKFILL, END)
    clock.now = NOW + timedelta(minutes=20)
    org.revise(since=NOW - timedelta(hours=3))
    new = expected(org.events, BACKFILL, END)
    assert new != old and new["input_tokens"] > old["input_tokens"]
    sync.sync_once()
    assert stored(store, BACKFILL, END) == new


def test_days_leaving_the_hourly_range_become_daily(make_sync: Callable[..., OrgSync],
                                                    store: UsageStore, org: FakeOrg,
                                                    clock: Clock) -> None:
    sync = make_sync()
    sync.sync_once()
    later = NOW + timedelta(days=3)
    org.events = sorted(org.events + fake_org.generate_events(
        7, NOW, later - timedelta(minutes=1), 300), key=lambda e: e.time)
    clock.now = later
    result = sync.sync_once()
    end = later + timedelta(hours=1)
    assert stored(store, BACKFILL, end) == expected(org.events, BACKFILL, end)
    hourly = {b.start.date() for b in store.usage_buckets(BACKFILL, end) if b.width == "1h"}
    # Nov 19 stays hourly (complete when fetched); Nov 20 was re-fetched as 1d; 22-23 hourly
    assert hourly == {date(2026, 11, 19), date(2026, 11, 22), date(2026, 11, 23)}
    daily_nov20 = [b for b in store.usage_buckets(datetime(2026, 11, 20, tzinfo=UTC),
                                                  datetime(2026, 11, 21, tzinfo=UTC))]
    assert daily_nov20 and {b.width for b in daily_nov20} == {"1d"}
    assert {(w.width, w.start.date()) for w in result.windows if w.endpoint == "images"} == {
        ("1d", date(2026, 11, 20)), ("1h", date(2026, 11, 22))}


@pytest.mark.parametrize(
    "switch", ["null_ungrouped", "amount_as_string", "result_singular", "projects_page_size"])
def test_reply_variants_parse_to_the_same_totals(switch: str, make_sync: Callable[..., OrgSync],
                                                 store: UsageStore, org: FakeOrg) -> None:
    value = {"null_ungrouped": False, "amount_as_string": True, "result_singular": True,
             "projects_page_size": 1}[switch]
    setattr(org, switch, value)
    make_sync().sync_once()
    assert stored(store, BACKFILL, END) == expected(org.events, BACKFILL, END)
    assert store.names()["proj_gamma"] == "Project Gamma"


def test_an_api_without_service_tier_or_cost_key_grouping_still_syncs(
        make_sync: Callable[..., OrgSync], store: UsageStore, org: FakeOrg) -> None:
    """An older live API answers 400 (param group_by) for the 2026-spec values: the window is
    fetched again without them, once per session, and the figures are still the events'."""
    org.refused_group_by = {"service_tier"}
    org.refused_costs_group_by = {"api_key_id"}
    sync = make_sync(fallbacks=GroupFallbacks())
    result = sync.sync_once()
    assert stored(store, BACKFILL, END) == expected(org.events, BACKFILL, END)
    refused = [r for r in org.log if ("group_by[]", "service_tier") in r.query
               or (r.path.endswith("/costs") and ("group_by[]", "api_key_id") in r.query)]
    # one refusal each (completions, costs); every later window asked without
    assert [r.path.rsplit("/", 1)[1] for r in refused] == ["completions", "costs"]
    assert any("completions: the API refused group_by service_tier" in w
               for w in result.warnings)
    assert any("costs: the API refused group_by api_key_id" in w for w in result.warnings)
    assert {b.service_tier for b in store.usage_buckets(BACKFILL, END)} == {None}
    org.log.clear()
    again = sync.sync_once()  # the fallback is remembered: no refused request any more
    assert not [r for r in org.log if ("group_by[]", "service_tier") in r.query]
    assert again.warnings == result.warnings
    assert stored(store, BACKFILL, END) == expected(org.events, BACKFILL, END)


def test_costs_are_grouped_by_api_key_when_the_api_allows(
        make_sync: Callable[..., OrgSync], store: UsageStore, org: FakeOrg) -> None:
    make_sync(fallbacks=GroupFallbacks()).sync_once()
    day_ = date(2026, 11, 2)
    by_key = {r.api_key_id: r.amount
              for r in store.cost_rows(day_, day_ + timedelta(days=1), by=("api_key_id",))}
    want: dict[str | None, Decimal] = {}
    for ev in org.events:
        if ev.time.date() == day_:
            want[ev.api_key_id] = want.get(ev.api_key_id, Decimal(0)) + ev.cost
    assert by_key == want and None not in by_key


def test_fake_filters_by_project_key_model_and_user(org_server: ServerThread,
                                                   org: FakeOrg) -> None:
    import urllib.request

    start = datetime(2026, 11, 2, tzinfo=UTC)
    end = start + timedelta(days=3)
    client = AdminClient(ADMIN_KEY, org_server.base_url + "/v1", fallbacks=GroupFallbacks())
    got = client.usage("completions", start, end, "1d", group_by=(),
                       project_ids=["proj_alpha"])
    want = [e for e in org.events if start <= e.time < end and e.endpoint == "completions"
            and e.project_id == "proj_alpha"]
    assert want and sum(r.requests for r in got.rows) == sum(e.requests for e in want)
    query = (f"start_time={int(start.timestamp())}&end_time={int(end.timestamp())}&limit=3"
             "&api_key_ids=key_alpha_ci,key_beta_svc&models[]=gpt-5.4&user_ids=user_ann")
    req = urllib.request.Request(f"{org_server.base_url}/v1/organization/usage/completions?{query}",
                                 headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        body = json.loads(resp.read())
    requests = sum(r["num_model_requests"] for b in body["data"] for r in b["results"])
    assert requests == sum(
        e.requests for e in org.events if start <= e.time < end
        and e.endpoint == "completions" and e.api_key_id in ("key_alpha_ci", "key_beta_svc")
        and e.model == "gpt-5.4" and e.user_id == "user_ann") > 0


def test_no_end_time_in_the_future_is_sent(make_sync: Callable[..., OrgSync],
                                           store: UsageStore, org: FakeOrg) -> None:
    """A strict API refusing a future end_time still syncs: windows reaching past now (the
    open hour, today's costs) go without end_time; closed windows keep theirs."""
    org.reject_future_end_time = True
    make_sync().sync_once()
    assert stored(store, BACKFILL, END) == expected(org.events, BACKFILL, END)
    now_ts = int(NOW.timestamp())
    requests = org.requests_to("/v1/organization/usage/") + org.requests_to(
        "/v1/organization/costs")
    for r in requests:
        q = dict(r.query)
        assert "end_time" not in q or int(q["end_time"]) <= now_ts, r
    hourly = [dict(r.query) for r in requests if dict(r.query).get("bucket_width") == "1h"]
    daily = [dict(r.query) for r in requests
             if dict(r.query).get("bucket_width") == "1d" and "/usage/" in r.path]
    costs = [dict(r.query) for r in org.requests_to("/v1/organization/costs")]
    assert hourly and all("end_time" not in q for q in hourly)
    assert daily and all("end_time" in q for q in daily)
    assert costs and all("end_time" not in q for q in costs)


def test_group_by_array_forms_all_accepted(org_server: ServerThread, org: FakeOrg) -> None:
    """The fake accepts x[]=, repeated and comma forms alike (as the real API does)."""
    import urllib.request

    start = int((NOW - timedelta(days=3)).timestamp()) // 86400 * 86400
    base = f"{org_server.base_url}/v1/organization/usage/completions?start_time={start}&limit=4"
    forms = ["&group_by[]=model&group_by[]=project_id", "&group_by=model&group_by=project_id",
             "&group_by=model,project_id"]
    bodies = []
    for form in forms:
        req = urllib.request.Request(base + form,
                                     headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            bodies.append(json.loads(resp.read()))
    assert bodies[0] == bodies[1] == bodies[2]
    rows = [r for b in bodies[0]["data"] for r in b["results"]]
    assert rows and all(r["model"] and r["project_id"] and r["api_key_id"] is None
                        for r in rows)


def _get(org_server: ServerThread, path: str) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"{org_server.base_url}/v1/{path}",
                                 headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def test_fake_follows_the_reference_on_buckets_and_limits(org_server: ServerThread) -> None:
    day = 86400
    aligned = int(NOW.timestamp()) // day * day - 10 * day
    # start_time is required
    status, body = _get(org_server, "organization/usage/completions")
    assert status == 400 and body["error"]["param"] == "start_time"
    # per-width defaults (1d: 7, 1h: 24) and maxima (31 / 168 / costs 180)
    status, body = _get(org_server, f"organization/usage/embeddings?start_time={aligned}")
    assert status == 200 and len(body["data"]) == 7 and body["has_more"]
    assert isinstance(body["next_page"], str)
    status, body = _get(org_server, f"organization/usage/embeddings?start_time={aligned}"
                                "&bucket_width=1h")
    assert len(body["data"]) == 24
    for path, limit in [("usage/embeddings?bucket_width=1d", 32),
                        ("usage/embeddings?bucket_width=1h", 169), ("costs?x=1", 181)]:
        status, body = _get(org_server, f"organization/{path}&start_time={aligned}&limit={limit}")
        assert status == 400, path
        assert body["error"]["type"] == "invalid_request_error"
        assert body["error"]["param"] == "limit"
    status, _ = _get(org_server, f"organization/costs?start_time={aligned}&bucket_width=1h")
    assert status == 400
    # a start_time off the UTC grid: the first bucket is truncated, the rest are whole days
    odd = aligned + 3 * 3600 + 17
    status, body = _get(org_server, f"organization/usage/completions?start_time={odd}&limit=3")
    spans = [(b["start_time"], b["end_time"]) for b in body["data"]]
    assert spans == [(odd, aligned + day), (aligned + day, aligned + 2 * day),
                     (aligned + 2 * day, aligned + 3 * day)]
    # empty buckets are listed with results: []
    long_ago = aligned - 200 * day
    status, body = _get(org_server, f"organization/usage/images?start_time={long_ago}&limit=2")
    assert [b["results"] for b in body["data"]] == [[], []]
    # a forged cursor is refused
    status, body = _get(org_server, f"organization/usage/images?start_time={long_ago}&page=nope")
    assert status == 400 and body["error"]["param"] == "page"


# --- faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["repeat", "missing"])
def test_broken_cursor_is_an_error_not_a_loop(mode: str, make_sync: Callable[..., OrgSync],
                                              store: UsageStore, org: FakeOrg) -> None:
    org.cursor_fault = mode
    with pytest.raises(ProtocolError, match="repeated" if mode == "repeat" else "missing"):
        make_sync().sync_once()
    # "missing" fails on the first page; "repeat" on the page after the first cursor
    assert org.request_count() == (2 if mode == "repeat" else 1)
    state = store.get_sync_state("org")
    assert state is not None and state.last_success is None and state.last_error


@pytest.mark.parametrize(
    ("key", "fault", "error"),
    [
        ("sk-admin-WRONGkey0000000000000000000dead", None, InvalidKeyError),
        (PROJECT_KEY, None, MissingScopeError),
        (ADMIN_KEY, fake_org.insufficient_quota(), QuotaExceededError),
        (ADMIN_KEY, fake_org.server_error(500, times=50), ServerError),
    ],
    ids=["invalid-key", "project-key", "insufficient-quota", "5xx"],
)
def test_failures_keep_data_and_record_the_reason(
        key: str, fault: fake_org.Fault | None, error: type[Exception],
        make_sync: Callable[..., OrgSync], store: UsageStore, org: FakeOrg,
        clock: Clock) -> None:
    make_sync().sync_once()
    good = snapshot(store)
    first = store.get_sync_state("org")
    assert first is not None
    if fault is not None:
        org.add_fault(fault)
    org.log.clear()
    clock.now = NOW + timedelta(minutes=30)
    with pytest.raises(error) as info:
        make_sync(key).sync_once()
    assert snapshot(store) == good
    state = store.get_sync_state("org")
    assert state is not None
    assert state.last_error == info.value.text()  # type: ignore[attr-defined]
    assert state.last_error_at == clock.now
    assert state.last_success == first.last_success
    assert state.settled_through == first.settled_through
    if error in (InvalidKeyError, MissingScopeError, QuotaExceededError):
        assert org.request_count() == 1  # not retried
    else:
        assert org.request_count() == 3  # bounded retries
    assert key not in (state.last_error or "")


@pytest.mark.parametrize("status", [401, 403])
def test_project_key_scope_message(status: int, make_sync: Callable[..., OrgSync],
                                   org: FakeOrg) -> None:
    org.scope_status = status
    org.scope_error_as_string = status == 403
    with pytest.raises(MissingScopeError,
                       match=r"lacks the api\.usage\.read scope \(needs an Admin key\)"):
        make_sync(PROJECT_KEY).sync_once()


def test_rate_limit_and_5xx_are_retried(make_sync: Callable[..., OrgSync], store: UsageStore,
                                        org: FakeOrg, sleeps: Sleeps) -> None:
    org.add_fault(fake_org.rate_limited(retry_after="2", times=1))
    org.add_fault(fake_org.rate_limited(retry_after=None, retry_after_ms="1500", times=1))
    org.add_fault(fake_org.server_error(502, times=1))
    make_sync(retry=RetryPolicy(attempts=4, base_delay_s=0.01)).sync_once()
    assert stored(store, BACKFILL, END) == expected(org.events, BACKFILL, END)
    assert len(sleeps.calls) == 3
    assert sleeps.calls[0] >= 2.0 and sleeps.calls[1] >= 1.5


def test_slow_replies_time_out(make_sync: Callable[..., OrgSync], org: FakeOrg) -> None:
    org.delay_s = 0.6
    with pytest.raises(ApiTimeoutError):
        make_sync(timeout_s=0.15, retry=RetryPolicy(attempts=2, base_delay_s=0.01)).sync_once()
    assert org.request_count() == 2


def test_restricted_admin_key_syncs_usage_but_warns_about_names(
        make_sync: Callable[..., OrgSync], store: UsageStore, org: FakeOrg) -> None:
    result = make_sync(fake_org.RESTRICTED_ADMIN_KEY).sync_once()
    assert stored(store, BACKFILL, END) == expected(org.events, BACKFILL, END)
    assert result.names == 0 and store.names() == {}
    assert any("api.management.read" in w for w in result.warnings)


# --- the commands ------------------------------------------------------------------------------


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PYTHON_KEYRING"))}
    env.update(MONITOR_HOME=str(home), PYTHONPATH=str(REPO),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", **extra)
    return env


def _wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_sync_killed_mid_run_then_rerun_gives_the_same_totals(tmp_path: Path) -> None:
    real_now = datetime.now(UTC)
    # all events inside the backfill (the previous cycle starts >= 28 days back)
    events = fake_org.generate_events(5, real_now - timedelta(days=25),
                                      real_now - timedelta(minutes=1), 1500)
    org = FakeOrg(events=events, delay_s=0.15)
    home = tmp_path / "killed"
    with ServerThread(org.make_app) as srv:
        cmd = [sys.executable, "-m", "monitor", "sync", "--once", "--base-url",
               srv.base_url + "/v1"]
        env = _env(home, OPENAI_ADMIN_KEY=ADMIN_KEY)
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            # several windows are written by then; the rest are in flight
            _wait_for(lambda: org.request_count() >= 9, 60, "the sync to be mid-way")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        # it really died mid-run: the first endpoints' windows are written, the pass never ended
        half = UsageStore(home / "data" / "usage.sqlite3")
        try:
            assert half.get_sync_state("org") is None
            written = {b.endpoint for b in half.usage_buckets(real_now - timedelta(days=90),
                                                              real_now + timedelta(days=1))}
            assert "completions" in written and "moderations" not in written
            # … and the finished backfill windows are recorded, so the rerun resumes (issue 16)
            assert ("completions", "1d") in {(e, w) for e, w, _s, _e in
                                             half.done_windows("org")}
        finally:
            half.close()
        org.delay_s = 0
        rerun = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True,
                               timeout=120, check=False)
        assert rerun.returncode == 0, rerun.stderr
        assert "completions" in rerun.stdout and ADMIN_KEY not in rerun.stdout + rerun.stderr
        clean_home = tmp_path / "clean"
        clean = subprocess.run(cmd, env=_env(clean_home, OPENAI_ADMIN_KEY=ADMIN_KEY), cwd=REPO,
                               capture_output=True, text=True, timeout=120, check=False)
        assert clean.returncode == 0, clean.stderr
    start = real_now - timedelta(days=26)
    end = real_now + timedelta(hours=2)
    want = expected(events, start, end)
    for h in (home, clean_home):
        s = UsageStore(h / "data" / "usage.sqlite3")
        try:
            assert stored(s, start, end) == want, h
        finally:
            s.close()
    # and through the usage command, as a user would read it
    first, yesterday = start.date(), real_now.date() - timedelta(days=1)

    def cli_in(h: Path) -> Callable[[list[str]], str]:
        def run(args: list[str]) -> str:
            proc = subprocess.run([sys.executable, "-m", "monitor", *args], env=_env(h),
                                  cwd=REPO, capture_output=True, text=True, timeout=60,
                                  check=False)
            assert proc.returncode == 0, proc.stderr
            return proc.stdout
        return run

    want_closed = want_usage(events, first, yesterday)
    assert pick(usage_totals(cli_in(home), first, yesterday)) == want_closed
    assert pick(usage_totals(cli_in(clean_home), first, yesterday)) == want_closed
    for path in home.rglob("*"):
        if path.is_file():
            assert ADMIN_KEY.encode() not in path.read_bytes(), path


def test_sync_command_once_json_and_exit_codes(org_server: ServerThread, org: FakeOrg,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    url = org_server.base_url + "/v1"
    org.now = lambda: datetime.now(UTC)
    assert main(["sync", "--once", "--base-url", url]) == 1
    assert "no admin key" in capsys.readouterr().err

    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN_KEY)
    assert main(["sync", "--once", "--json", "--base-url", url]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["first_run"] and out["endpoints"]["completions"]["windows"] == 2
    assert set(out["endpoints"]) == {"completions", "embeddings", "images", "audio_speeches",
                                     "audio_transcriptions", "moderations", "costs"}

    assert main(["sync", "--once", "--base-url", url]) == 0
    text = capsys.readouterr().out
    assert "completions" in text and "1h" in text and ADMIN_KEY not in text
    assert "$OPENAI_ADMIN_KEY (sk-…aaaa)" in text
    # HTTP calls to the Admin API, not model requests: named "API calls" (issue 25)
    assert re.search(r"synced: [\d,]+ API calls?, ", text), text
    assert " requests, " not in text

    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-WRONGkey0000000000000000000dead")
    assert main(["sync", "--once", "--base-url", url]) == 3
    assert "invalid API key" in capsys.readouterr().err
    monkeypatch.setenv("OPENAI_ADMIN_KEY", PROJECT_KEY)
    assert main(["sync", "--once", "--base-url", url]) == 4  # auth failures stop the loop too
    assert "needs an Admin key" in capsys.readouterr().err
    assert main(["sync", "--base-url", url]) == 4


def test_sync_loop_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    org = FakeOrg(events=fake_org.generate_events(
        3, datetime.now(UTC) - timedelta(days=2), datetime.now(UTC), 50))
    with ServerThread(org.make_app) as srv:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "sync", "--base-url", srv.base_url + "/v1"],
            env=_env(tmp_path / "loop", OPENAI_ADMIN_KEY=ADMIN_KEY), cwd=REPO,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("next sync in"):
                    break
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, err  # Ctrl+C, as README's exit codes say
    assert "stopped" in err and "Traceback" not in err


def test_keys_test_command_outcomes(org_server: ServerThread, org: FakeOrg, paths: Paths,
                                    monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    url = org_server.base_url + "/v1"
    other_project_key = "sk-proj-fakeOTHERproject000000000dddd"
    org.project_keys.add(other_project_key)  # one secret is stored under one label only
    with installed(DictBackend()):
        for label, kind, secret in [("admin", "admin", ADMIN_KEY),
                                    ("proj", "project", PROJECT_KEY),
                                    ("proj-as-admin", "admin", other_project_key),
                                    ("wrong", "admin", "sk-admin-WRONG00000000000000000000beef")]:
            monkeypatch.setattr("sys.stdin", _Pipe(secret))
            assert main(["keys", "add", "--label", label, "--kind", kind, "--no-check"]) == 0
        capsys.readouterr()
        outcomes = {}
        for label in ("admin", "proj", "proj-as-admin", "wrong"):
            code = main(["keys", "test", label, "--base-url", url, "--json"])
            outcomes[label] = (code, json.loads(capsys.readouterr().out)["outcome"])
        assert outcomes == {"admin": (0, "valid"), "proj": (0, "valid"),
                            "proj-as-admin": (4, "missing_scope"), "wrong": (3, "invalid_key")}
        assert main(["keys", "test", "admin", "--base-url", url]) == 0
        assert "valid" in capsys.readouterr().out
        assert main(["keys", "test", "proj-as-admin", "--base-url", url]) == 4
        assert "lacks the api.usage.read scope" in capsys.readouterr().err
        # network error: nothing listens there
        assert main(["keys", "test", "admin", "--base-url", "http://127.0.0.1:9/v1",
                     "--timeout", "2"]) == 5
        assert "cannot reach" in capsys.readouterr().err
        # no label: the env admin key
        monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN_KEY)
        main(["keys", "remove", "admin"])
        main(["keys", "remove", "proj-as-admin"])
        main(["keys", "remove", "wrong"])
        capsys.readouterr()
        assert main(["keys", "test", "--base-url", url]) == 0
        assert "$OPENAI_ADMIN_KEY" in capsys.readouterr().out


class _Pipe:
    def __init__(self, text: str) -> None:
        self.text = text

    def isatty(self) -> bool:
        return False

    def read(self) -> str:
        return self.text


def test_sync_result_json_shape() -> None:
    r = SyncResult(started=NOW, first_run=False, windows=(), names=0, settled_through=NOW,
                   requests=0)
    assert dataclasses.asdict(r)["requests"] == 0 and r.to_json()["ok"] is True
