"""What the proxy knows about one request when it ends: the record writer's input.

Its own module so that the event loop side (server.py), the writer (record_writer.py), the
journal and the unmetered estimate all depend on it without depending on each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.core.usage import TokenUsage

if TYPE_CHECKING:
    from monitor.services.proxy.caps import Hold
    from monitor.services.proxy.journal import Segment


@dataclass(frozen=True)
class FinishedRequest:
    """Everything known about one forwarded request when it ends (before costing)."""

    time: datetime
    method: str
    endpoint: str
    model: str | None
    request_model: str | None
    service_tier: str | None
    key_label: str
    usage: TokenUsage | None
    status: int
    latency_ms: float
    ttfb_ms: float | None
    request_id: str | None
    partial: bool
    rate_limit_headers: dict[str, str] | None = None
    headers_at: datetime | None = None
    usage_malformed: bool = False
    client_disconnected: bool = False
    request_body: bytes | None = None  # kept only when the response had no usable usage
    streamed: bool = False
    hold: Hold | None = None  # a hard-cap reservation, settled once the record is stored
    journal_id: str | None = None  # its line in the write-ahead journal (journal.py), if any
    journal_segment: Segment | None = None
