"""Proxied requests whose response gave no usable usage: why, and an estimate where possible.

A request is *unmetered* when the upstream may have billed it but its response did not say
how much: the client hung up before the usage arrived (`client_disconnected`), the response
ended without a usage object (`no_usage_in_response`), or the usage was there but unusable
(`malformed_usage`: not an object, or counts that are negative, NaN, infinite or absurdly
large, see metering.MAX_TOKENS: such counts are not priced, since 1e30 tokens would be
phantom spend). Such records are stored with their reason, never as a silent $0 (under a
hard cap they cost their reservation, caps.SpendGate.charge). When the request body
was read (JSON bodies the proxy buffers), its input tokens are counted with the model's
tokenizer and priced as input: an estimate (`ProxyRecord.estimated`), since the output is
unknown.

Runs on the record writer's thread, never on the event loop (tokenizing can take a while).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from monitor.core.records import (
    CLIENT_DISCONNECTED,
    MALFORMED_USAGE,
    NO_USAGE_IN_RESPONSE,
)
from monitor.core.usage import TokenUsage

if TYPE_CHECKING:
    from monitor.core.prices import PriceTable

log = logging.getLogger(__name__)

FREE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
"""Methods that never cost tokens: no usage in their response is expected."""

_TEXT_KEYS = ("instructions", "input", "prompt", "system")


TOKEN_ENDPOINTS = ("/chat/completions", "/completions", "/responses", "/embeddings")
"""Endpoints whose responses report token usage (others bill by unit or not at all)."""


def unmetered_reason(endpoint: str, status: int, method: str, has_usage: bool,
                     malformed: bool, client_disconnected: bool) -> str | None:
    """Why a finished request has no usable usage, or None when it is metered (or the
    endpoint never reports tokens, or the method is free).

    Errors the upstream answered (status >= 400) cost nothing; a client that hung up before
    any answer (the proxy's 499) may still have been billed, so it counts as unmetered.
    """
    if malformed:
        return MALFORMED_USAGE
    if has_usage or method in FREE_METHODS:
        return None
    if endpoint.rstrip("/") not in TOKEN_ENDPOINTS:
        return None
    if client_disconnected:
        return CLIENT_DISCONNECTED
    if status >= 400:
        return None
    return NO_USAGE_IN_RESPONSE


@dataclass(frozen=True)
class InputEstimate:
    usage: TokenUsage
    cost: Decimal | None
    as_of: date | None


def _texts(value: Any, out: list[str], depth: int = 0) -> None:
    """Every string inside `value` (input items, content parts...), depth-limited."""
    if depth > 20:
        return
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for v in value:
            _texts(v, out, depth + 1)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k in ("image_url", "file_data", "input_audio", "data", "b64_json"):
                continue  # not text tokens
            _texts(v, out, depth + 1)


def count_request_input(endpoint: str, model: str, body: bytes,
                        prices: PriceTable | None = None) -> int | None:
    """Input tokens of a JSON request body by the model's tokenizer, or None if not countable."""
    from monitor.core.chat_tokens import count_chat
    from monitor.core.tokens import count_tokens, encoding_for_model

    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    try:
        if endpoint.rstrip("/") == "/chat/completions" and isinstance(doc.get("messages"), list):
            payload = {k: doc[k] for k in ("messages", "tools", "functions") if k in doc}
            return count_chat(payload, model, prices).total
        texts: list[str] = []
        for key in _TEXT_KEYS:
            if key in doc:
                _texts(doc[key], texts)
        if not texts:
            return None
        return count_tokens("\n".join(texts), encoding_for_model(model, prices).name)
    except Exception as exc:  # an unusual body must never cost the record
        log.debug("could not count the input of a %s request: %s", endpoint, exc)
        return None


def estimate_input(endpoint: str, model: str, body: bytes, prices: PriceTable,
                   at: datetime, service_tier: str | None) -> InputEstimate | None:
    """The request's input tokens, priced as input (cost None when the model has no price)."""
    tokens = count_request_input(endpoint, model, body, prices)
    if tokens is None:
        return None
    usage = TokenUsage(input_tokens=tokens)
    try:
        priced = prices.cost(model, usage, at=at, service_tier=service_tier)
    except Exception:
        return InputEstimate(usage, None, None)
    return InputEstimate(usage, priced.usd, priced.as_of)
