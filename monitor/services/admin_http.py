"""The HTTP layer under the admin-API clients: error kinds, transport seam, retries, paging.

Provider-neutral on purpose: the OpenAI client (`openai_admin.AdminClient`) subclasses
`AdminHttpClient` with its auth header and error classification, and another provider's
organization client can reuse the same transport, backoff, `retry-after` handling, cursor
guard and `KnownError` kinds (each CLI exit code means the same whoever answered). The
transport is a seam (`transport=`), as are `sleep`, `clock` and `rng`, so tests fake the
network and never wait.
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from monitor import __version__
from monitor.errors import KnownError
from monitor.log import redact

log = logging.getLogger(__name__)

# --- errors -----------------------------------------------------------------------------------


class AdminApiError(KnownError):
    """A failed call to a provider's API. `exit_code` is what a CLI command should return."""

    exit_code = 6

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 request_id: str | None = None, param: str | None = None) -> None:
        super().__init__(redact(message))
        self.status = status
        self.code = code
        self.request_id = request_id
        self.param = param


class InvalidKeyError(AdminApiError):
    """401: the key is wrong, revoked or missing."""

    exit_code = 3


class MissingScopeError(AdminApiError):
    """401/403 "Missing scopes": a project/service key, or a restricted admin key."""

    exit_code = 4


class RateLimitedError(AdminApiError):
    """429 rate_limit_exceeded that outlasted the retry budget."""


class QuotaExceededError(AdminApiError):
    """429 insufficient_quota: a billing problem; retrying does not help."""


class ServerError(AdminApiError):
    """5xx that outlasted the retry budget."""


class RequestError(AdminApiError):
    """Another 4xx: the request itself was refused (bad parameter, unknown path)."""


class NetworkError(AdminApiError):
    """The server could not be reached (DNS, refused, reset, TLS) after retries."""

    exit_code = 5


class ApiTimeoutError(NetworkError):
    """No reply within the timeout, after retries."""


class ProtocolError(AdminApiError):
    """The reply was not what the API documents (bad JSON, broken pagination)."""


# --- transport --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class Transport(Protocol):
    """Performs one GET; returns any HTTP status as a response; raises OSError on network faults
    (TimeoutError for timeouts)."""

    def __call__(self, url: str, headers: Mapping[str, str], timeout: float) -> HttpResponse: ...


class UrllibTransport:
    """The real transport: `urllib.request` with an optional custom opener (proxies, TLS)."""

    def __init__(self, opener: urllib.request.OpenerDirector | None = None) -> None:
        self._opener = opener or urllib.request.build_opener()

    def __call__(self, url: str, headers: Mapping[str, str], timeout: float) -> HttpResponse:
        request = urllib.request.Request(url, headers=dict(headers), method="GET")
        try:
            with self._opener.open(request, timeout=timeout) as resp:
                return HttpResponse(resp.status, _lower(resp.headers.items()), resp.read())
        except urllib.error.HTTPError as err:
            with err:
                body = err.read() if err.fp is not None else b""
                return HttpResponse(err.code, _lower(err.headers.items()), body)
        except urllib.error.URLError as err:
            reason = err.reason
            if isinstance(reason, TimeoutError):
                raise TimeoutError(str(reason)) from None
            if isinstance(reason, OSError):
                raise reason from None
            raise OSError(str(reason)) from None


def _lower(items: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}


# --- retry policy -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: at most `attempts` tries and `total_s` seconds spent waiting."""

    attempts: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    total_s: float = 90.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Delay before retry number `retry` (1-based): exponential, capped, 50–100 % jitter."""
        raw: float = min(self.max_delay_s, self.base_delay_s * 2.0 ** (retry - 1))
        return raw * (0.5 + rng.random() / 2)


def retry_after(headers: Mapping[str, str]) -> float | None:
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    seconds = headers.get("retry-after")
    if seconds:
        try:
            return max(0.0, float(seconds))
        except ValueError:
            return None  # an HTTP date: rare here; fall back to backoff
    return None


# --- a client -----------------------------------------------------------------------------------

MAX_PAGES = 1000  # a runaway-pagination backstop far above any real window


class AdminHttpClient:
    """GETs with retries against one base URL, and the `has_more`/`next_page` cursor walk.

    A provider's client subclasses it and gives its auth headers (`_headers`) and how its
    error replies map to the kinds above (`_classify`); `requests_made` counts every try.
    """

    def __init__(
        self,
        base_url: str,
        *,
        transport: Transport | None = None,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._transport: Transport = transport or UrllibTransport()
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self.requests_made = 0

    def _headers(self) -> dict[str, str]:
        """Headers of every request; a subclass adds its auth."""
        return {"Accept": "application/json", "User-Agent": f"token-monitor/{__version__}"}

    def _classify(self, resp: HttpResponse) -> AdminApiError:
        """The error a non-2xx reply stands for."""
        if resp.status >= 500:
            return ServerError(f"server error (HTTP {resp.status})", status=resp.status)
        return RequestError(f"request refused (HTTP {resp.status})", status=resp.status)

    def _retryable(self, err: AdminApiError, headers: Mapping[str, str]) -> bool:
        """Rate limits and server errors are retried unless the server says not to."""
        if headers.get("x-should-retry", "").lower() == "false":
            return False
        return isinstance(err, RateLimitedError | ServerError)

    def url(self, path: str, params: Sequence[tuple[str, str]] = ()) -> str:
        query = urllib.parse.urlencode(list(params))
        return f"{self.base_url}/{path.lstrip('/')}" + (f"?{query}" if query else "")

    def get_json(self, path: str, params: Sequence[tuple[str, str]] = ()) -> Any:
        """GET with retries; the decoded JSON body of a 2xx reply, or a classified error."""
        url = self.url(path, params)
        headers = self._headers()
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            self.requests_made += 1
            try:
                resp = self._transport(url, headers, self.timeout_s)
            except TimeoutError:
                failure: AdminApiError = ApiTimeoutError(
                    f"no reply from {self.base_url} within {self.timeout_s:g} s")
                hint = None
                retryable = True
            except OSError as exc:
                failure = NetworkError(
                    f"cannot reach {self.base_url}: {exc.strerror or exc}")
                hint = None
                retryable = True
            else:
                if 200 <= resp.status < 300:
                    try:
                        return json.loads(resp.body.decode("utf-8"))
                    except (UnicodeDecodeError, json.JSONDecodeError):
                        raise ProtocolError(
                            f"{path}: reply is not JSON (HTTP {resp.status})") from None
                failure = self._classify(resp)
                hint = retry_after(resp.headers)
                retryable = self._retryable(failure, resp.headers)
            log.info("GET %s failed (attempt %d): %s", path, attempt, failure)
            if not retryable or attempt >= self.retry.attempts:
                raise failure
            delay = self.retry.backoff(attempt, self._rng)
            if hint is not None:
                delay = max(delay, hint + self._rng.random() * min(1.0, hint / 4 + 0.05))
            if delay > self.retry.max_delay_s and hint is not None:
                raise type(failure)(f"{failure} (server asks to wait {hint:g} s)",
                                    status=failure.status, code=failure.code,
                                    request_id=failure.request_id)
            delay = min(delay, self.retry.max_delay_s)
            if self._clock() - started + delay > self.retry.total_s:
                raise failure
            self._sleep(delay)

    def _get_page(self, path: str, params: Sequence[tuple[str, str]]) -> Mapping[str, Any]:
        """One page of a list or bucket endpoint: a JSON object with a `data` list."""
        data = self.get_json(path, params)
        if not isinstance(data, Mapping) or not isinstance(data.get("data"), list):
            raise ProtocolError(f"{path}: reply has no data list")
        return data

    def _all_buckets(self, path: str, params: list[tuple[str, str]]) -> tuple[
            list[Mapping[str, Any]], int]:
        """Every bucket over every page, and the page count; guards the cursor."""
        seen: set[str] = set()
        page: str | None = None
        pages = 0
        buckets: list[Mapping[str, Any]] = []
        while True:
            query = params + ([("page", page)] if page else [])
            data = self._get_page(path, query)
            pages += 1
            buckets.extend(b for b in data["data"] if isinstance(b, Mapping))
            if not data.get("has_more"):
                return buckets, pages
            cursor = data.get("next_page")
            if not isinstance(cursor, str) or not cursor:
                raise ProtocolError(f"{path}: has_more is true but next_page is missing")
            if cursor in seen:
                raise ProtocolError(f"{path}: the API repeated page cursor; stopping")
            if pages >= MAX_PAGES:
                raise ProtocolError(f"{path}: more than {MAX_PAGES} pages; stopping")
            seen.add(cursor)
            page = cursor
