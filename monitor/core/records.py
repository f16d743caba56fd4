"""Plain records the sources produce and the store keeps (frozen, Qt-free)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from monitor.core.usage import TokenUsage

CLIENT_DISCONNECTED = "client_disconnected"
NO_USAGE_IN_RESPONSE = "no_usage_in_response"
MALFORMED_USAGE = "malformed_usage"
UNMETERED_REASONS = (CLIENT_DISCONNECTED, NO_USAGE_IN_RESPONSE, MALFORMED_USAGE)
"""Why a proxied request has no usable usage (`ProxyRecord.unmetered`)."""


@dataclass(frozen=True)
class UsageBucket:
    """One result row of an organization usage bucket (`/organization/usage/{endpoint}`).

    `start` is UTC; `width` is "1h" or "1d"; grouping fields are None when not grouped.
    `units` carries the non-token metric of endpoints without tokens
    (images, characters, seconds), 0 otherwise.
    """

    start: datetime
    width: str
    endpoint: str
    model: str | None = None
    project_id: str | None = None
    api_key_id: str | None = None
    user_id: str | None = None
    service_tier: str | None = None
    batch: bool | None = None
    requests: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    units: int = 0


@dataclass(frozen=True)
class CostBucket:
    """One result row of `/organization/costs` (daily, UTC); `amount` in `currency` units."""

    day: date
    amount: Decimal
    currency: str = "usd"
    project_id: str | None = None
    line_item: str | None = None
    api_key_id: str | None = None


@dataclass(frozen=True)
class ProxyRecord:
    """One request that went through the local metering proxy. Never holds a key or a body.

    `unmetered` says why the response gave no usable usage (one of `UNMETERED_REASONS`, None
    when it did); `estimated` is True when `cost_usd` is an estimate: the input tokens counted
    from the request body with the tokenizer (then it covers the input only), the requested
    model's price for a response naming a model the table lacks, or, under a hard cap, the
    reservation of a request whose cost could not be known (unpriced, malformed usage).
    """

    time: datetime
    endpoint: str
    model: str | None
    service_tier: str | None
    key_label: str
    usage: TokenUsage
    cost_usd: Decimal | None
    price_as_of: date | None
    status: int
    latency_ms: float
    ttfb_ms: float | None = None
    request_id: str | None = None
    partial: bool = False
    unmetered: str | None = None
    estimated: bool = False
    # Known live only (not stored): for observers such as /metrics and the OTLP export.
    request_model: str | None = None
    streamed: bool = False


@dataclass(frozen=True)
class RateLimitSnapshot:
    """The latest `x-ratelimit-*` values seen for a key and model (reset in seconds)."""

    time: datetime
    key_label: str
    model: str
    limit_requests: int | None = None
    limit_tokens: int | None = None
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_requests_s: float | None = None
    reset_tokens_s: float | None = None
