"""What the proxy knows about one request when it ends: the record writer's input.

Its own module so that the event loop side (server.py), the writer (record_writer.py) and the
journal (journal.py, whose `Segment` a request's line is in) depend on it without depending on
each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.core.usage import TokenUsage

if TYPE_CHECKING:
    from monitor.services.proxy.caps import Hold


@dataclass
class Segment:
    """One journal file of this process: lines appended by the loop, stored by the writer."""

    path: Path
    prefix: str  # "<run>.<segment>." of every id in it
    fd: int
    size: int = 0
    journaled: int = 0  # lines appended (event loop thread, under Journal._lock)
    stored: int = 0  # lines stored or spooled (writer thread, under Journal._lock)


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
