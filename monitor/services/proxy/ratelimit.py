"""Parse OpenAI `x-ratelimit-*` response headers into a RateLimitSnapshot (pure, Qt-free).

Reset values are Go-duration-like strings ("12ms", "1s", "6m0s", "1m12s", "2m52.8s");
any header may be absent (openai-api.md §5.1), and then its field is None.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from monitor.core.records import RateLimitSnapshot

_DURATION_RE = re.compile(
    r"^(?:(?P<h>\d+(?:\.\d+)?)h)?"
    r"(?:(?P<m>\d+(?:\.\d+)?)m(?!s))?"
    r"(?:(?P<s>\d+(?:\.\d+)?)s)?"
    r"(?:(?P<ms>\d+(?:\.\d+)?)ms)?"
    r"(?:(?P<us>\d+(?:\.\d+)?)(?:us|µs))?$"
)

LIMIT_REQUESTS = "x-ratelimit-limit-requests"
LIMIT_TOKENS = "x-ratelimit-limit-tokens"
REMAINING_REQUESTS = "x-ratelimit-remaining-requests"
REMAINING_TOKENS = "x-ratelimit-remaining-tokens"
RESET_REQUESTS = "x-ratelimit-reset-requests"
RESET_TOKENS = "x-ratelimit-reset-tokens"
RATE_LIMIT_HEADERS = (
    LIMIT_REQUESTS,
    LIMIT_TOKENS,
    REMAINING_REQUESTS,
    REMAINING_TOKENS,
    RESET_REQUESTS,
    RESET_TOKENS,
)


def parse_reset(value: str | None) -> float | None:
    """Seconds in a reset duration such as "6m0s" or "12ms"; None if absent or not a duration.

    A bare number is read as seconds (some gateways send that).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else None
    m = _DURATION_RE.match(text)
    if m is None or not any(m.groupdict().values()):
        return None
    parts = {k: float(v) for k, v in m.groupdict().items() if v is not None}
    return round(
        parts.get("h", 0.0) * 3600
        + parts.get("m", 0.0) * 60
        + parts.get("s", 0.0)
        + parts.get("ms", 0.0) / 1000
        + parts.get("us", 0.0) / 1_000_000,
        6,
    )


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        try:
            return int(float(value.strip()))
        except ValueError:
            return None


def has_rate_limits(headers: Mapping[str, str]) -> bool:
    """True if any of the six standard `x-ratelimit-*` headers is present."""
    return any(headers.get(name) is not None for name in RATE_LIMIT_HEADERS)


def parse_rate_limits(
    headers: Mapping[str, str], *, key_label: str, model: str, time: datetime
) -> RateLimitSnapshot | None:
    """The snapshot the headers describe, or None if none of them is present.

    `headers` must look names up case-insensitively (aiohttp's CIMultiDict does), or
    carry lower-case names.
    """
    if not has_rate_limits(headers):
        return None
    return RateLimitSnapshot(
        time=time,
        key_label=key_label,
        model=model,
        limit_requests=_int(headers.get(LIMIT_REQUESTS)),
        limit_tokens=_int(headers.get(LIMIT_TOKENS)),
        remaining_requests=_int(headers.get(REMAINING_REQUESTS)),
        remaining_tokens=_int(headers.get(REMAINING_TOKENS)),
        reset_requests_s=parse_reset(headers.get(RESET_REQUESTS)),
        reset_tokens_s=parse_reset(headers.get(RESET_TOKENS)),
    )
