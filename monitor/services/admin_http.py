"""The HTTP layer under the admin-API clients: error kinds, the transport seam and retry policy.

Provider-neutral on purpose: the OpenAI client (`openai_admin`) sits on it, and any other
provider's organization client can reuse the same transport, backoff and `KnownError` kinds
(each CLI exit code means the same whoever answered).
"""

from __future__ import annotations

import random
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from monitor.errors import KnownError
from monitor.log import redact

# --- errors -----------------------------------------------------------------------------------


class AdminApiError(KnownError):
    """A failed call to the OpenAI API. `exit_code` is what a CLI command should return."""

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
