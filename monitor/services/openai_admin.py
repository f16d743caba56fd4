"""Client for OpenAI's organization endpoints: usage, costs, project and API-key names.

A small synchronous client over `urllib.request`: every caller (the CLI, and the GUI's worker
threads) is already synchronous and off the UI thread, the calls are a few dozen sequential GETs,
and stdlib keeps it free of event-loop plumbing. Transport, retries and paging are the
provider-neutral `admin_http.AdminHttpClient`; this module adds OpenAI's endpoints and shapes.

OpenAI's error replies map to distinct `KnownError` subclasses (`classify`: invalid key, missing
scope, rate limited, out of quota, server error, request refused); 429 `rate_limit_exceeded`,
5xx, timeouts and network errors are retried by the base class, honouring `retry-after(-ms)`.

Grouping values newer than the live API (`service_tier` on completions, only in the 2026 spec;
`api_key_id` on costs, spec 2026-05+) are asked for, and when the API refuses one (400
`invalid_request_error`, `param: group_by`) the window is fetched again without it. The refusal
is remembered per base URL for the rest of the process (`GroupFallbacks`), so later windows and
later clients (the GUI makes one per poll) do not ask again.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

from monitor.core.records import CostBucket, UsageBucket
from monitor.core.usage import TokenUsage
from monitor.services.admin_http import (
    MAX_PAGES,
    AdminApiError,
    AdminHttpClient,
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
    Transport,
)

log = logging.getLogger(__name__)

USAGE_ENDPOINTS = (
    "completions", "embeddings", "images", "audio_speeches", "audio_transcriptions",
    "moderations",
)
USAGE_GROUP_BY: Mapping[str, tuple[str, ...]] = {
    "completions": ("model", "project_id", "api_key_id", "service_tier", "batch"),
    "embeddings": ("model", "project_id", "api_key_id"),
    "images": ("model", "project_id", "api_key_id"),
    "audio_speeches": ("model", "project_id", "api_key_id"),
    "audio_transcriptions": ("model", "project_id", "api_key_id"),
    "moderations": ("model", "project_id", "api_key_id"),
}
COSTS_GROUP_BY = ("project_id", "line_item", "api_key_id")
# group_by values not every live API accepts yet (see the module docstring): key is the
# endpoint ("costs" for /organization/costs), value the values that may be dropped on a 400.
OPTIONAL_GROUP_BY: Mapping[str, tuple[str, ...]] = {
    "completions": ("service_tier",),
    "costs": ("api_key_id",),
}
# The non-token metric each endpoint reports, kept in UsageBucket.units.
_UNITS_FIELD = {"images": "images", "audio_speeches": "characters",
                "audio_transcriptions": "seconds"}
WIDTH_SECONDS = {"1m": 60, "1h": 3600, "1d": 86400}
USAGE_LIMIT_MAX = {"1m": 1440, "1h": 168, "1d": 31}
COSTS_LIMIT_MAX = 180
LIST_LIMIT_MAX = 100

T = TypeVar("T")


# --- parsed records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetch(Generic[T]):
    """What one paginated walk returned: the rows, every time bucket seen (empty ones too),
    and how many pages it took."""

    rows: tuple[T, ...]
    buckets: tuple[tuple[datetime, datetime], ...]
    pages: int


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    status: str | None = None


@dataclass(frozen=True)
class ProjectKey:
    id: str
    name: str | None
    project_id: str


def _ts(value: Any, what: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ProtocolError(f"bad {what} {value!r} in reply")
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (ValueError, OverflowError):
        raise ProtocolError(f"bad {what} {value!r} in reply") from None


def _int(value: Any, what: str = "count") -> int:
    """A count: missing/null → 0; numbers and numeric strings accepted.

    Anything else (text, lists, negative or non-finite numbers) is a malformed reply: raising
    keeps the window's last good data instead of overwriting it with zeros.
    """
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ProtocolError(f"bad {what} {value!r} in usage reply")
    try:
        number = Decimal(value) if isinstance(value, int | str) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ProtocolError(f"bad {what} {value!r} in usage reply") from None
    if not number.is_finite() or number < 0:
        raise ProtocolError(f"bad {what} {value!r} in usage reply")
    return round(number)


def _opt_str(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None or value == "":
        return None
    return str(value)


def _opt_bool(row: Mapping[str, Any], key: str) -> bool | None:
    value = row.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def parse_money(value: Any) -> Decimal:
    """`amount.value` as a JSON number or numeric string → Decimal (never via float repr loss)."""
    if value is None:
        return Decimal(0)
    if isinstance(value, bool):
        raise ProtocolError(f"bad amount {value!r} in costs reply")
    if isinstance(value, Decimal):
        return value
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ProtocolError(f"bad amount {value!r} in costs reply") from None
    if not d.is_finite():
        raise ProtocolError(f"bad amount {value!r} in costs reply")
    return d


def parse_usage_row(endpoint: str, start: datetime, width: str,
                    row: Mapping[str, Any]) -> UsageBucket:
    """One `organization.usage.*.result` → UsageBucket. Missing and null fields read alike."""
    usage = TokenUsage(
        input_tokens=_int(row.get("input_tokens"), "input_tokens"),
        cached_input_tokens=_int(row.get("input_cached_tokens"), "input_cached_tokens"),
        cache_write_tokens=_int(row.get("input_cache_write_tokens"), "input_cache_write_tokens"),
        output_tokens=_int(row.get("output_tokens"), "output_tokens"),
        audio_input_tokens=_int(row.get("input_audio_tokens"), "input_audio_tokens"),
        audio_output_tokens=_int(row.get("output_audio_tokens"), "output_audio_tokens"),
        # 2026-07 fields (openai-api.md §1.4); like input_audio_tokens, the image input count
        # is read as uncached, its cached part being in input_cached_tokens.
        audio_cached_input_tokens=_int(row.get("input_cached_audio_tokens"),
                                       "input_cached_audio_tokens"),
        image_input_tokens=_int(row.get("input_image_tokens"), "input_image_tokens"),
        image_output_tokens=_int(row.get("output_image_tokens"), "output_image_tokens"),
    )
    units_field = _UNITS_FIELD.get(endpoint)
    return UsageBucket(
        start=start,
        width=width,
        endpoint=endpoint,
        model=_opt_str(row, "model"),
        project_id=_opt_str(row, "project_id"),
        api_key_id=_opt_str(row, "api_key_id"),
        user_id=_opt_str(row, "user_id"),
        service_tier=_opt_str(row, "service_tier"),
        batch=_opt_bool(row, "batch"),
        requests=_int(row.get("num_model_requests"), "num_model_requests"),
        usage=usage,
        units=_int(row.get(units_field), units_field) if units_field else 0,
    )


def parse_cost_row(day: date, row: Mapping[str, Any]) -> CostBucket:
    amount = row.get("amount")
    if isinstance(amount, Mapping):
        value, currency = amount.get("value"), amount.get("currency")
    else:  # tolerate a bare number
        value, currency = amount, None
    return CostBucket(
        day=day,
        amount=parse_money(value),
        currency=str(currency).lower() if currency else "usd",
        project_id=_opt_str(row, "project_id"),
        line_item=_opt_str(row, "line_item"),
        api_key_id=_opt_str(row, "api_key_id"),
    )


def _bucket_results(bucket: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    results = bucket.get("results")
    if results is None:
        results = bucket.get("result")  # SPEC-2025 spelling
    if results is None:
        return []
    if not isinstance(results, list):
        raise ProtocolError("bucket results is not a list")
    return [r for r in results if isinstance(r, Mapping)]


def _error_fields(body: bytes) -> tuple[str, str | None, str | None, str | None]:
    """(message, code, type, param) from `{"error": {...}}`, `{"error": "text"}` or anything
    else."""
    try:
        data = json.loads(body.decode("utf-8", "replace")) if body else None
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            msg = err.get("message")
            code = err.get("code")
            typ = err.get("type")
            param = err.get("param")
            return (str(msg) if msg else "", str(code) if code else None,
                    str(typ) if typ else None, str(param) if param else None)
        if isinstance(err, str):
            return err, None, None, None
        if isinstance(data.get("message"), str):
            return str(data["message"]), None, None, None
    text = body.decode("utf-8", "replace").strip() if body else ""
    return text[:200], None, None, None


def _scope_message(message: str) -> str:
    scope = "api.usage.read"
    lowered = message.lower()
    marker = "missing scopes:"
    if marker in lowered:
        tail = message[lowered.index(marker) + len(marker):].strip()
        first = tail.split()[0].rstrip(".,;") if tail.split() else ""
        if first:
            scope = first
    if scope == "api.usage.read":
        return "the key lacks the api.usage.read scope (needs an Admin key)"
    return f"the key lacks the {scope} scope (use an Admin key that has it)"


def classify(status: int, headers: Mapping[str, str], body: bytes) -> AdminApiError:
    """The error a non-2xx reply stands for."""
    message, code, typ, param = _error_fields(body)
    rid = headers.get("x-request-id")
    lowered = message.lower()
    scope_hint = "missing scopes" in lowered or "insufficient permissions" in lowered
    if status in (401, 403) and scope_hint:
        return MissingScopeError(_scope_message(message), status=status, code=code,
                                 request_id=rid)
    if status == 401:
        why = "invalid API key" if code in (None, "invalid_api_key") else f"not authorised ({code})"
        if "didn't provide an api key" in lowered:
            why = "no API key was sent"
        return InvalidKeyError(f"{why} (HTTP 401)", status=status, code=code, request_id=rid)
    if status == 403:
        return MissingScopeError(
            f"access denied (HTTP 403): {message or 'forbidden'}", status=status, code=code,
            request_id=rid)
    if status == 429:
        if code == "insufficient_quota" or typ == "insufficient_quota":
            return QuotaExceededError(
                "the organization is out of quota (429 insufficient_quota): check plan and "
                "billing", status=status, code=code or typ, request_id=rid)
        return RateLimitedError("rate limited by the API (429); try again later",
                                status=status, code=code, request_id=rid)
    if status >= 500:
        return ServerError(f"OpenAI server error (HTTP {status})", status=status, code=code,
                           request_id=rid)
    detail = f": {message}" if message else ""
    return RequestError(f"request refused (HTTP {status}){detail}", status=status, code=code,
                        request_id=rid, param=param)


# --- group_by fallbacks ------------------------------------------------------------------------


class GroupFallbacks:
    """group_by values an API refused, per (base URL, endpoint); thread-safe.

    One instance (`SESSION_FALLBACKS`) is shared by every client of the process, so a refusal
    learnt by one sync pass holds for the rest of the session.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refused: dict[tuple[str, str], frozenset[str]] = {}

    def refused(self, base_url: str, endpoint: str) -> frozenset[str]:
        with self._lock:
            return self._refused.get((base_url, endpoint), frozenset())

    def add(self, base_url: str, endpoint: str, groups: Sequence[str]) -> None:
        with self._lock:
            key = (base_url, endpoint)
            self._refused[key] = self._refused.get(key, frozenset()) | frozenset(groups)

    def clear(self) -> None:
        with self._lock:
            self._refused.clear()


SESSION_FALLBACKS = GroupFallbacks()


def _refused_groups(err: AdminApiError, endpoint: str, groups: Sequence[str]) -> tuple[str, ...]:
    """The optional group_by values to drop after `err`, or () if `err` is not a group_by
    refusal (400 invalid_request_error naming group_by) or nothing optional is left."""
    if not isinstance(err, RequestError) or err.status != 400:
        return ()
    if err.param != "group_by" and "group_by" not in str(err):
        return ()
    optional = [g for g in groups if g in OPTIONAL_GROUP_BY.get(endpoint, ())]
    named = [g for g in optional if g in str(err)]
    return tuple(named or optional)


# --- client -----------------------------------------------------------------------------------


def _epoch(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("naive datetime passed to the admin client")
    return int(when.timestamp())


class AdminClient(AdminHttpClient):
    """OpenAI's organization endpoints against `base_url` (`https://api.openai.com/v1` or a
    fake) with one key: Bearer auth, OpenAI's error shapes, group_by fallbacks."""

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.openai.com/v1",
        *,
        transport: Transport | None = None,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        fallbacks: GroupFallbacks | None = None,
    ) -> None:
        super().__init__(base_url, transport=transport, timeout_s=timeout_s, retry=retry,
                         sleep=sleep, clock=clock, rng=rng)
        self._key = api_key
        self.fallbacks = SESSION_FALLBACKS if fallbacks is None else fallbacks

    def __repr__(self) -> str:
        return f"AdminClient(base_url={self.base_url!r})"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}", **super()._headers()}

    def _classify(self, resp: HttpResponse) -> AdminApiError:
        return classify(resp.status, resp.headers, resp.body)

    def _window_params(self, start: datetime, end: datetime, width: str, limit_max: int,
                       open_end: bool) -> list[tuple[str, str]]:
        n = max(1, -(-(_epoch(end) - _epoch(start)) // WIDTH_SECONDS[width]))
        params = [("start_time", str(_epoch(start)))]
        if not open_end:
            params.append(("end_time", str(_epoch(end))))
        return [*params, ("bucket_width", width), ("limit", str(min(n, limit_max)))]

    def _fetch(self, path: str, endpoint: str, params: list[tuple[str, str]],
               groups: Sequence[str], parse: Callable[[datetime, Mapping[str, Any]], T],
               window: tuple[datetime, datetime],
               extra: Sequence[tuple[str, str]] = ()) -> Fetch[T]:
        """Every bucket of a bucketed endpoint, each result row parsed by `parse(bucket start,
        row)`; grouped by `groups` less the values the API refused (now or earlier).

        A bucket outside the requested `window` is a malformed reply (ProtocolError): the
        caller then keeps the window's stored data rather than replacing it with stray rows.
        """
        refused = self.fallbacks.refused(self.base_url, endpoint)
        used = tuple(g for g in groups if g not in refused)
        while True:
            query = params + [("group_by[]", g) for g in used] + list(extra)
            try:
                buckets, pages = self._all_buckets(path, query)
            except AdminApiError as exc:
                drop = _refused_groups(exc, endpoint, used)
                if not drop:
                    raise
                log.warning("%s: the API refused group_by %s; fetching without it for the "
                            "rest of the session", path, ",".join(drop))
                self.fallbacks.add(self.base_url, endpoint, drop)
                used = tuple(g for g in used if g not in drop)
                continue
            break
        rows: list[T] = []
        spans: list[tuple[datetime, datetime]] = []
        lo, hi = window
        for bucket in buckets:
            b_start = _ts(bucket.get("start_time"), "start_time")
            b_end = _ts(bucket.get("end_time"), "end_time")
            if b_end <= b_start or b_end <= lo or b_start >= hi:  # must overlap the window
                raise ProtocolError(
                    f"{path}: bucket {b_start:%Y-%m-%d %H:%M}–{b_end:%H:%M} UTC lies outside "
                    f"the requested window {lo:%Y-%m-%d %H:%M}–{hi:%Y-%m-%d %H:%M} UTC")
            spans.append((b_start, b_end))
            rows.extend(parse(b_start, r) for r in _bucket_results(bucket))
        return Fetch(tuple(rows), tuple(spans), pages)

    def dropped_groups(self, endpoint: str) -> frozenset[str]:
        """group_by values this session fetches `endpoint` ("costs" for costs) without."""
        return self.fallbacks.refused(self.base_url, endpoint)

    def usage(self, endpoint: str, start: datetime, end: datetime, width: str = "1d",
              group_by: Sequence[str] | None = None,
              project_ids: Sequence[str] = (), *, open_end: bool = False) -> Fetch[UsageBucket]:
        """Every result row of `/organization/usage/{endpoint}` in [start, end).

        `open_end`: send no `end_time` (the API then answers up to the present, open bucket
        included); for a window whose `end` lies in the future. `end` still sizes `limit`.
        """
        if endpoint not in USAGE_GROUP_BY:
            raise ValueError(f"unknown usage endpoint {endpoint!r}")
        if width not in USAGE_LIMIT_MAX:
            raise ValueError(f"unknown bucket width {width!r}")
        groups = USAGE_GROUP_BY[endpoint] if group_by is None else tuple(group_by)
        params = self._window_params(start, end, width, USAGE_LIMIT_MAX[width], open_end)
        return self._fetch(f"organization/usage/{endpoint}", endpoint, params, groups,
                           lambda b_start, r: parse_usage_row(endpoint, b_start, width, r),
                           (start, end), [("project_ids[]", p) for p in project_ids])

    def costs(self, start: datetime, end: datetime,
              group_by: Sequence[str] = COSTS_GROUP_BY, *,
              open_end: bool = False) -> Fetch[CostBucket]:
        """Every result row of `/organization/costs` (daily buckets) in [start, end);
        `open_end` as for `usage`."""
        params = self._window_params(start, end, "1d", COSTS_LIMIT_MAX, open_end)
        return self._fetch("organization/costs", "costs", params, group_by,
                           lambda b_start, r: parse_cost_row(b_start.date(), r), (start, end))

    # list endpoints (cursor = `after` last id) ------------------------------------------------

    def _walk_list(self, path: str, extra: Sequence[tuple[str, str]] = ()) -> Iterator[
            Mapping[str, Any]]:
        after: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            params = [("limit", str(LIST_LIMIT_MAX)), *extra]
            if after:
                params.append(("after", after))
            data = self._get_page(path, params)
            items = [d for d in data["data"] if isinstance(d, Mapping)]
            yield from items
            if not data.get("has_more"):
                return
            last = data.get("last_id")
            if not last and items:
                last = items[-1].get("id")
            if not isinstance(last, str) or not last:
                raise ProtocolError(f"{path}: has_more is true but there is no last_id")
            if last in seen:
                raise ProtocolError(f"{path}: the API repeated cursor {last!r}; stopping")
            seen.add(last)
            after = last
        raise ProtocolError(f"{path}: more than {MAX_PAGES} pages; stopping")

    def projects(self, include_archived: bool = True) -> list[Project]:
        extra = [("include_archived", "true" if include_archived else "false")]
        out: list[Project] = []
        for item in self._walk_list("organization/projects", extra):
            pid = item.get("id")
            if isinstance(pid, str) and pid:
                name = item.get("name")
                status = item.get("status")
                out.append(Project(pid, str(name) if name else pid,
                                   str(status) if status else None))
        return out

    def project_api_keys(self, project_id: str) -> list[ProjectKey]:
        path = f"organization/projects/{urllib.parse.quote(project_id, safe='')}/api_keys"
        out: list[ProjectKey] = []
        for item in self._walk_list(path):
            kid = item.get("id")
            if isinstance(kid, str) and kid:
                name = item.get("name")
                out.append(ProjectKey(kid, str(name) if name else None, project_id))
        return out

    # cheap checks for `keys test` ------------------------------------------------------------

    def check_admin(self) -> None:
        """Raises unless the key can read organization data (`GET /organization/projects`)."""
        self.get_json("organization/projects", [("limit", "1")])

    def check_models(self) -> None:
        """Raises unless the key can call model endpoints (`GET /models`)."""
        self.get_json("models")


@dataclass(frozen=True)
class KeyCheck:
    """The outcome of `keys test`: `valid`, `invalid_key`, `missing_scope`, `network`, `error`."""

    outcome: str
    message: str
    exit_code: int
    error: AdminApiError | None = field(default=None, compare=False)


def check_key(client: AdminClient, kind: str) -> KeyCheck:
    """Call the cheapest endpoint for `kind` and say what happened."""
    try:
        if kind == "admin":
            client.check_admin()
        else:
            client.check_models()
    except InvalidKeyError as exc:
        return KeyCheck("invalid_key", exc.text(), exc.exit_code, exc)
    except MissingScopeError as exc:
        text = exc.text()
        if kind == "admin":
            text = f"{text}: this is not a usable Admin key"
        return KeyCheck("missing_scope", text, exc.exit_code, exc)
    except NetworkError as exc:
        return KeyCheck("network", exc.text(), exc.exit_code, exc)
    except AdminApiError as exc:
        return KeyCheck("error", exc.text(), exc.exit_code, exc)
    what = "can read organization usage" if kind == "admin" else "can call model endpoints"
    return KeyCheck("valid", f"valid: the key {what}", 0)


def utc_floor(when: datetime, width: str) -> datetime:
    """`when` rounded down to a UTC boundary of `width` (1m/1h/1d)."""
    secs = WIDTH_SECONDS[width]
    epoch = _epoch(when)
    return datetime.fromtimestamp(epoch - epoch % secs, tz=UTC)


def utc_ceil(when: datetime, width: str) -> datetime:
    floor = utc_floor(when, width)
    return floor if floor == when else floor + timedelta(seconds=WIDTH_SECONDS[width])
