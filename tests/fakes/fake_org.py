"""A fake OpenAI organization API (usage, costs, projects, keys, models) for loopback tests.

Follows ../shared/docs/openai-api.md §1–3, §5.3 and the §7 checklist: `start_time` required;
`group_by` and filters accepted as `x[]=`, repeated and comma forms; per-width `limit`
defaults and maxima (400 `invalid_request_error` beyond); UTC-aligned buckets with a truncated
first bucket; empty buckets as `results: []`; opaque `next_page` cursors; ungrouped fields as
null (or omitted); `amount.value` as number (or string). Data comes from a seeded list of
`Event`s so a test can compute expected totals on its own. Switches and queued faults model
revisions, bad keys, missing scopes, 429s, 5xx and slow replies, and an older live API
(`refused_group_by` / `refused_costs_group_by`: group_by values it answers 400 for, such as
the 2026-spec `service_tier` on usage and the 2026-05 `api_key_id` on costs;
`reject_future_end_time`: a strict reading of `end_time` that refuses instants to come).

Run it with `ServerThread(fake.make_app)`; the API lives under `/v1`.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import random
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from tests.fakes.openai_errors import NO_KEY_MESSAGE, error_body, incorrect_key_message

ADMIN_KEY = "sk-admin-fakeADMINkey000000000000aaaa"
PROJECT_KEY = "sk-proj-fakePROJECTkey0000000000bbbb"
RESTRICTED_ADMIN_KEY = "sk-admin-fakeRESTRICTED00000000000cccc"

WIDTHS = {"1m": 60, "1h": 3600, "1d": 86400}
USAGE_LIMITS = {"1m": (60, 1440), "1h": (24, 168), "1d": (7, 31)}  # (default, max)
COSTS_LIMITS = (7, 180)
COMMON_GROUPS = ("project_id", "user_id", "api_key_id", "model")
GROUP_BY = {
    "completions": (*COMMON_GROUPS, "batch", "service_tier"),
    "embeddings": COMMON_GROUPS,
    "moderations": COMMON_GROUPS,
    "images": (*COMMON_GROUPS, "size", "source"),
    "audio_speeches": COMMON_GROUPS,
    "audio_transcriptions": COMMON_GROUPS,
}
UNITS = {"images": "images", "audio_speeches": "characters", "audio_transcriptions": "seconds"}
COSTS_GROUP_BY = ("project_id", "line_item", "api_key_id")

PROJECTS = {"proj_alpha": "Project Alpha", "proj_beta": "Project Beta",
            "proj_gamma": "Project Gamma"}
API_KEYS = {  # key id -> (project id, name)
    "key_alpha_ci": ("proj_alpha", "ci-key"),
    "key_alpha_dev": ("proj_alpha", "dev-laptop"),
    "key_beta_svc": ("proj_beta", "batch-service"),
    "key_gamma_1": ("proj_gamma", None),
}
MODELS = {
    "completions": ("gpt-4o-mini-2024-07-18", "gpt-5.4", "o3-mini"),
    "embeddings": ("text-embedding-3-small",),
    "moderations": ("omni-moderation-latest",),
    "images": ("gpt-image-1",),
    "audio_speeches": ("gpt-4o-mini-tts",),
    "audio_transcriptions": ("whisper-1",),
}
ENDPOINT_WEIGHTS = {"completions": 10, "embeddings": 3, "moderations": 1, "images": 1,
                    "audio_speeches": 1, "audio_transcriptions": 1}


@dataclass(frozen=True)
class Event:
    """One request the fake organization made (the ground truth every reply is computed from)."""

    time: datetime
    endpoint: str
    model: str
    project_id: str
    api_key_id: str
    user_id: str | None = None
    service_tier: str | None = None
    batch: bool = False
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    audio_input_tokens: int = 0
    audio_output_tokens: int = 0
    requests: int = 1
    units: int = 0
    cost: Decimal = Decimal(0)
    line_item: str = ""


def generate_events(seed: int, start: datetime, end: datetime, count: int) -> list[Event]:
    """`count` events spread over [start, end), reproducible from `seed`."""
    rng = random.Random(seed)
    span = int((end - start).total_seconds())
    keys = list(API_KEYS)
    endpoints = list(ENDPOINT_WEIGHTS)
    weights = [ENDPOINT_WEIGHTS[e] for e in endpoints]
    out: list[Event] = []
    for _ in range(count):
        endpoint = rng.choices(endpoints, weights)[0]
        key = rng.choice(keys)
        when = start + timedelta(seconds=rng.randrange(max(1, span)))
        model = rng.choice(MODELS[endpoint])
        inp = rng.randrange(10, 50_000) if endpoint in ("completions", "embeddings",
                                                         "moderations") else 0
        out_toks = rng.randrange(1, 8_000) if endpoint == "completions" else 0
        cached = rng.randrange(0, inp // 2 + 1) if endpoint == "completions" else 0
        units = {"images": rng.randrange(1, 5), "audio_speeches": rng.randrange(10, 5000),
                 "audio_transcriptions": rng.randrange(1, 900)}.get(endpoint, 0)
        cost = (Decimal(rng.randrange(1, 2_000_000)) / Decimal(1_000_000)).quantize(
            Decimal("0.000001"))
        out.append(Event(
            time=when, endpoint=endpoint, model=model, project_id=API_KEYS[key][0],
            api_key_id=key, user_id=rng.choice(["user_ann", "user_bob", None]),
            service_tier=rng.choice(["default", "flex", "priority"])
            if endpoint == "completions" else None,
            batch=endpoint == "completions" and rng.random() < 0.15,
            input_tokens=inp, cached_tokens=cached, output_tokens=out_toks,
            audio_input_tokens=rng.randrange(0, 50) if endpoint == "completions" else 0,
            requests=rng.randrange(1, 4), units=units, cost=cost,
            line_item=f"{model}, {'input' if rng.random() < 0.6 else 'output'}",
        ))
    out.sort(key=lambda e: e.time)
    return out


@dataclass
class Fault:
    """A canned error reply for the next `times` matching requests (path prefix under /v1)."""

    status: int
    code: str | None = None
    type: str | None = "invalid_request_error"
    message: str = "fault"
    retry_after: str | None = None
    retry_after_ms: str | None = None
    error_as_string: bool = False
    path_prefix: str = "/v1/organization"
    times: int = 1
    delay_s: float = 0.0


def rate_limited(retry_after: str | None = "1", retry_after_ms: str | None = None,
                 times: int = 1, path_prefix: str = "/v1/organization") -> Fault:
    return Fault(429, "rate_limit_exceeded", "requests",
                 "Rate limit reached for requests in organization org-fake on requests per min "
                 "(RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.",
                 retry_after=retry_after, retry_after_ms=retry_after_ms, times=times,
                 path_prefix=path_prefix)


def insufficient_quota(times: int = 1) -> Fault:
    return Fault(429, "insufficient_quota", "insufficient_quota",
                 "You exceeded your current quota, please check your plan and billing details.",
                 times=times)


def server_error(status: int = 500, times: int = 1) -> Fault:
    return Fault(status, None, "server_error", "The server had an error processing your request.",
                 times=times)


@dataclass
class Logged:
    method: str
    path: str
    query: list[tuple[str, str]]
    auth: str | None


def utc(when: datetime) -> int:
    return int(when.timestamp())


def _floor(ts: int, width: int) -> int:
    return ts - ts % width


class BadRequestError(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass
class FakeOrg:
    """State and switches of the fake; read/modify from the test thread at any time.

    To change the data, assign a new list to `events` (or call `revise`); the fake indexes
    the list it was given and re-indexes when the list object changes.
    """

    events: list[Event] = field(default_factory=list)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    admin_keys: set[str] = field(default_factory=lambda: {ADMIN_KEY})
    restricted_admin_keys: set[str] = field(default_factory=lambda: {RESTRICTED_ADMIN_KEY})
    project_keys: set[str] = field(default_factory=lambda: {PROJECT_KEY})
    # switches
    null_ungrouped: bool = True  # False: leave ungrouped dimensions out of results
    amount_as_string: bool = False
    result_singular: bool = False  # SPEC-2025 `result` instead of `results`
    scope_status: int = 401  # status for a project key on /organization/* (401 or 403)
    scope_error_as_string: bool = False  # {"error": "<message>"} for scope errors
    delay_s: float = 0.0  # every reply waits this long (slow server)
    cursor_fault: str | None = None  # "repeat" | "missing"
    projects_page_size: int | None = None  # force small list pages (pagination via `after`)
    # group_by values answered with 400 invalid_request_error (param group_by): an API older
    # than the spec (usage: e.g. {"service_tier"}; costs: e.g. {"api_key_id"})
    refused_group_by: set[str] = field(default_factory=set)
    refused_costs_group_by: set[str] = field(default_factory=set)
    reject_future_end_time: bool = False  # 400 (param end_time) for an end_time after now
    faults: list[Fault] = field(default_factory=list)
    log: list[Logged] = field(default_factory=list)
    _cursors: dict[str, tuple[tuple[Any, ...], int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _times: list[float] = field(default_factory=list)
    _index_of: list[Event] | None = None

    # --- test helpers -----------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def requests_to(self, prefix: str) -> list[Logged]:
        with self._lock:
            return [r for r in self.log if r.path.startswith(prefix)]

    def request_count(self) -> int:
        with self._lock:
            return len(self.log)

    def revise(self, since: datetime, seed: int = 99) -> list[Event]:
        """Mutate events at or after `since` (bigger counts, bigger costs) and add a few new ones,
        the way OpenAI revises recently closed buckets. Returns the new event list."""
        rng = random.Random(seed)
        with self._lock:
            revised: list[Event] = []
            for ev in self.events:
                if ev.time >= since:
                    tokens = ev.endpoint not in UNITS
                    ev = dataclasses.replace(
                        ev, input_tokens=ev.input_tokens + (rng.randrange(1, 500) if tokens
                                                            else 0),
                        output_tokens=ev.output_tokens + (rng.randrange(1, 50)
                                                          if ev.endpoint == "completions" else 0),
                        units=ev.units + (0 if tokens else rng.randrange(1, 5)),
                        requests=ev.requests + 1, cost=ev.cost + Decimal("0.000123"))
                revised.append(ev)
            now = self.now()
            span = max(1, int((now - since).total_seconds()))
            extra = generate_events(seed, since, since + timedelta(seconds=span), 5)
            revised.extend(e for e in extra if e.time < now)
            revised.sort(key=lambda e: e.time)
            self.events = revised
            return list(revised)

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/v1/organization/usage/{endpoint}", self._usage)
        app.router.add_get("/v1/organization/costs", self._costs)
        app.router.add_get("/v1/organization/projects", self._projects)
        app.router.add_get("/v1/organization/projects/{project_id}/api_keys", self._api_keys)
        app.router.add_get("/v1/models", self._models)
        return app

    # --- plumbing -------------------------------------------------------------------------

    @staticmethod
    def _error(status: int, message: str, type_: str | None = "invalid_request_error",
               code: str | None = None, param: str | None = None,
               headers: Mapping[str, str] | None = None, as_string: bool = False) -> web.Response:
        body: dict[str, Any] = (
            {"error": message} if as_string else error_body(message, type_, code, param))
        return web.json_response(body, status=status, headers=dict(headers or {}))

    @web.middleware
    async def _middleware(self, request: web.Request,
                          handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        auth = request.headers.get("Authorization")
        with self._lock:
            self.log.append(Logged(request.method, request.path,
                                   list(request.query.items()), auth))
            fault = next((f for f in self.faults if request.path.startswith(f.path_prefix)),
                         None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
            delay = self.delay_s
        if delay:
            await asyncio.sleep(delay)
        if fault is not None:
            if fault.delay_s:
                await asyncio.sleep(fault.delay_s)
            headers = {"x-request-id": "req_fault"}
            if fault.retry_after is not None:
                headers["retry-after"] = fault.retry_after
            if fault.retry_after_ms is not None:
                headers["retry-after-ms"] = fault.retry_after_ms
            return self._error(fault.status, fault.message, fault.type, fault.code,
                               headers=headers, as_string=fault.error_as_string)
        denied = self._check_auth(request.path, auth)
        if denied is not None:
            return denied
        try:
            response: web.StreamResponse = await handler(request)
        except BadRequestError as exc:
            return self._error(400, str(exc), param=exc.param)
        return response

    def _check_auth(self, path: str, auth: str | None) -> web.Response | None:
        if not auth or not auth.startswith("Bearer ") or not auth[7:].strip():
            return self._error(401, NO_KEY_MESSAGE)
        key = auth[7:].strip()
        known = self.admin_keys | self.project_keys | self.restricted_admin_keys
        if key not in known:
            return self._error(401, incorrect_key_message(key), code="invalid_api_key")
        admin_path = path.startswith("/v1/organization")
        if admin_path and key in self.project_keys:
            return self._error(
                self.scope_status,
                "You have insufficient permissions for this operation. Missing scopes: "
                "api.usage.read. Check that you have the correct role in your organization, and "
                "if you're using a restricted API key, that it has the necessary scopes.",
                as_string=self.scope_error_as_string)
        if admin_path and key in self.restricted_admin_keys and (
                path.startswith("/v1/organization/projects")):
            return self._error(
                401, "You have insufficient permissions for this operation. Missing scopes: "
                "api.management.read.")
        if not admin_path and key in self.admin_keys | self.restricted_admin_keys:
            return self._error(
                401, "Admin API keys cannot be used for non-administration endpoints.")
        return None

    @staticmethod
    def _multi(query: Any, name: str) -> list[str]:
        """All values of an array parameter in `x[]=`, repeated or comma form."""
        raw = list(query.getall(f"{name}[]", [])) + list(query.getall(name, []))
        out: list[str] = []
        for value in raw:
            out.extend(v for v in value.split(",") if v)
        return out

    def _groups(self, query: Any, allowed: Iterable[str], refused: set[str]) -> list[str]:
        """The group_by values asked for; 400 for one not in `allowed` or in `refused`."""
        groups = self._multi(query, "group_by")
        known = set(allowed) - refused
        for g in groups:
            if g not in known:
                raise BadRequestError(f"Invalid value for 'group_by': {g!r}.", "group_by")
        return groups

    @staticmethod
    def _int_param(query: Any, name: str, required: bool = False) -> int | None:
        value = query.get(name)
        if value is None:
            if required:
                raise BadRequestError(f"Missing required parameter: '{name}'.", name)
            return None
        try:
            return int(value)
        except ValueError:
            raise BadRequestError(f"Invalid value for '{name}': expected an integer.",
                                  name) from None

    def _buckets(self, query: Any, widths: Mapping[str, tuple[int, int]],
                 default_width: str) -> tuple[list[tuple[int, int]], int, int, int | None, str]:
        """(all buckets, offset, limit, end_time, width) for a bucketed request."""
        start = self._int_param(query, "start_time", required=True)
        assert start is not None
        end = self._int_param(query, "end_time")
        width_name = query.get("bucket_width", default_width)
        if width_name not in widths:
            raise BadRequestError(f"Invalid value for 'bucket_width': {width_name!r}.",
                                  "bucket_width")
        default_limit, max_limit = widths[width_name]
        limit = self._int_param(query, "limit")
        limit = default_limit if limit is None else limit
        if not 1 <= limit <= max_limit:
            raise BadRequestError(
                f"Invalid value for 'limit': must be between 1 and {max_limit} for "
                f"bucket_width={width_name}.", "limit")
        if end is not None and end <= start:
            raise BadRequestError("'end_time' must be after 'start_time'.", "end_time")
        if end is not None and self.reject_future_end_time and end > utc(self.now()):
            raise BadRequestError("'end_time' must not be in the future.", "end_time")
        width = WIDTHS[width_name]
        now_ts = utc(self.now())
        stop = _floor(now_ts, width) + width  # through the still-open current bucket
        if end is not None:
            stop = min(stop, end)
        spans: list[tuple[int, int]] = []
        b_start = start
        while b_start < stop:
            b_end = _floor(b_start, width) + width
            spans.append((b_start, b_end))
            b_start = b_end
        offset = 0
        page = query.get("page")
        if page is not None:
            with self._lock:
                saved = self._cursors.get(page)
            sig_wo_page = (start, end, width_name, limit,
                           tuple(sorted((k, v) for k, v in query.items() if k != "page")))
            if saved is None or saved[0] != sig_wo_page:
                raise BadRequestError("Invalid value for 'page'.", "page")
            offset = saved[1]
        return spans, offset, limit, end, width_name

    def _page(self, query: Any, spans: list[tuple[int, int]], offset: int, limit: int,
              data: list[dict[str, Any]]) -> web.Response:
        has_more = offset + limit < len(spans)
        next_page: str | None = None
        if self.cursor_fault == "missing":  # a server bug: more pages, but no cursor
            has_more = True
        elif self.cursor_fault == "repeat" and query.get("page"):  # the same cursor again
            has_more, next_page = True, query.get("page")
        elif has_more:
            next_page = "page_" + secrets.token_urlsafe(16)  # opaque
            sig = (int(query["start_time"]), self._int_param(query, "end_time"),
                   query.get("bucket_width", "1d"), limit,
                   tuple(sorted((k, v) for k, v in query.items() if k != "page")))
            with self._lock:
                self._cursors[next_page] = (sig, offset + limit)
        return web.json_response({"object": "page", "data": data, "has_more": has_more,
                                  "next_page": next_page})

    def _select(self, endpoint: str | None, start: int, end: int, query: Any) -> list[Event]:
        # (wanted values, Event field) for each filter the query sets
        filters = [(wanted, attr) for param, attr in (
            ("project_ids", "project_id"), ("api_key_ids", "api_key_id"), ("models", "model"),
            ("user_ids", "user_id")) if (wanted := set(self._multi(query, param)))]
        batch = query.get("batch")
        with self._lock:
            if self._index_of is not self.events:  # events replaced or revised: re-index
                self.events.sort(key=lambda e: e.time)
                self._times = [e.time.timestamp() for e in self.events]
                self._index_of = self.events
            events, times = self.events, self._times
        lo, hi = bisect.bisect_left(times, start), bisect.bisect_left(times, end)
        out = []
        for ev in events[lo:hi]:
            if endpoint is not None and ev.endpoint != endpoint:
                continue
            if any(getattr(ev, attr) not in wanted for wanted, attr in filters):
                continue
            if batch is not None and ev.batch != (batch == "true"):
                continue
            out.append(ev)
        return out

    # --- handlers -------------------------------------------------------------------------

    async def _usage(self, request: web.Request) -> web.Response:
        endpoint = request.match_info["endpoint"]
        if endpoint not in GROUP_BY:
            return self._error(404, f"Unknown usage endpoint {endpoint}", code="not_found")
        query = request.query
        groups = self._groups(query, GROUP_BY[endpoint], self.refused_group_by)
        spans, offset, limit, end, _ = self._buckets(query, USAGE_LIMITS, "1d")
        data = []
        for b_start, b_end in spans[offset:offset + limit]:
            stop = b_end if end is None else min(b_end, end)
            rows: dict[tuple[Any, ...], dict[str, Any]] = {}
            for ev in self._select(endpoint, b_start, stop, query):
                key = tuple(getattr(ev, g, None) for g in groups)
                row = rows.setdefault(key, self._usage_row(endpoint, groups, ev))
                row["num_model_requests"] += ev.requests
                if endpoint in UNITS:
                    row[UNITS[endpoint]] += ev.units
                else:
                    row["input_tokens"] += ev.input_tokens
                if endpoint == "completions":
                    row["output_tokens"] += ev.output_tokens
                    row["input_cached_tokens"] += ev.cached_tokens
                    row["input_audio_tokens"] += ev.audio_input_tokens
                    row["output_audio_tokens"] += ev.audio_output_tokens
            data.append({"object": "bucket", "start_time": b_start, "end_time": b_end,
                         ("result" if self.result_singular else "results"): list(rows.values())})
        return self._page(query, spans, offset, limit, data)

    def _usage_row(self, endpoint: str, groups: Iterable[str], ev: Event) -> dict[str, Any]:
        row: dict[str, Any] = {"object": f"organization.usage.{endpoint}.result",
                               "num_model_requests": 0}
        if endpoint in UNITS:
            row[UNITS[endpoint]] = 0
        else:
            row["input_tokens"] = 0
        if endpoint == "completions":
            row.update(output_tokens=0, input_cached_tokens=0, input_audio_tokens=0,
                       output_audio_tokens=0)
            row["input_text_tokens_unknown_2027"] = 0  # an unknown future field
        chosen = set(groups)
        for g in GROUP_BY[endpoint]:
            if g in chosen:
                row[g] = getattr(ev, g, None)
            elif self.null_ungrouped:
                row[g] = None
        return row

    async def _costs(self, request: web.Request) -> web.Response:
        query = request.query
        groups = self._groups(query, COSTS_GROUP_BY, self.refused_costs_group_by)
        spans, offset, limit, end, _ = self._buckets(query, {"1d": COSTS_LIMITS}, "1d")
        data = []
        for b_start, b_end in spans[offset:offset + limit]:
            stop = b_end if end is None else min(b_end, end)
            sums: dict[tuple[Any, ...], Decimal] = {}
            for ev in self._select(None, b_start, stop, query):
                key = tuple(getattr(ev, g) for g in groups)
                sums[key] = sums.get(key, Decimal(0)) + ev.cost
            results = []
            for key, amount in sums.items():
                value: Any = str(amount) if self.amount_as_string else float(amount)
                row: dict[str, Any] = {"object": "organization.costs.result",
                                       "amount": {"value": value, "currency": "usd"},
                                       "organization_id": "org-fake"}
                for g in COSTS_GROUP_BY:
                    if g in groups:
                        row[g] = key[groups.index(g)]
                    elif self.null_ungrouped:
                        row[g] = None
                if "line_item" in groups:
                    row["quantity"] = None
                results.append(row)
            data.append({"object": "bucket", "start_time": b_start, "end_time": b_end,
                         ("result" if self.result_singular else "results"): results})
        return self._page(query, spans, offset, limit, data)

    def _list(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        limit = self._int_param(request.query, "limit") or 20
        if not 1 <= limit <= 100:
            raise BadRequestError("Invalid value for 'limit': must be between 1 and 100.", "limit")
        if self.projects_page_size:
            limit = min(limit, self.projects_page_size)
        after = request.query.get("after")
        start = 0
        if after is not None:
            ids = [i["id"] for i in items]
            if after not in ids:
                raise BadRequestError("Invalid value for 'after'.", "after")
            start = ids.index(after) + 1
        page = items[start:start + limit]
        return web.json_response({
            "object": "list", "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": start + limit < len(items)})

    async def _projects(self, request: web.Request) -> web.Response:
        items = [{"id": pid, "object": "organization.project", "name": name,
                  "created_at": 1711471533, "archived_at": None, "status": "active"}
                 for pid, name in PROJECTS.items()]
        return self._list(request, items)

    async def _api_keys(self, request: web.Request) -> web.Response:
        project = request.match_info["project_id"]
        if project not in PROJECTS:
            return self._error(404, f"No such project: {project}", code="not_found")
        items = [{"object": "organization.project.api_key", "redacted_value": "sk-abc...def",
                  "name": name, "created_at": 1711471533, "last_used_at": None, "id": kid,
                  "owner": {"type": "user", "user": {"id": "user_ann", "name": "Ann"}}}
                 for kid, (pid, name) in API_KEYS.items() if pid == project]
        return self._list(request, items)

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": "gpt-5.4", "object": "model", "created": 1, "owned_by": "system"}]})


# --- independent expectations for tests -------------------------------------------------------


def expected_usage(events: Iterable[Event], start: datetime, end: datetime) -> dict[str, int]:
    """Totals over [start, end) computed straight from the events (not through any reply)."""
    totals = {"input_tokens": 0, "output_tokens": 0, "cached_input_tokens": 0, "requests": 0,
              "units": 0}
    for ev in events:
        if start <= ev.time < end:
            totals["input_tokens"] += ev.input_tokens
            totals["output_tokens"] += ev.output_tokens
            totals["cached_input_tokens"] += ev.cached_tokens
            totals["requests"] += ev.requests
            totals["units"] += ev.units
    return totals


def expected_cost(events: Iterable[Event], start: date, end: date) -> Decimal:
    """Dollars over UTC days [start, end)."""
    return sum((ev.cost for ev in events if start <= ev.time.date() < end), Decimal(0))
