"""What the metering proxy calls besides storing a record: exporters such as /metrics and OTLP.

An addon starts with the proxy (on its event loop, after it listens), sees every stored
record on the record writer's thread (never on the event loop, so it cannot slow a request),
and stops after the last record is stored. The proxy owns its addons' lifetimes.

An addon that is configured but cannot run (exporters.ExportOff) carries a `problem`
string; `MeteringProxy.notices` lists them for the app to show.
"""

from __future__ import annotations

from typing import Protocol

from monitor.core.records import ProxyRecord


class ProxyAddon(Protocol):
    async def start(self) -> None:
        """Called on the proxy's event loop once it listens; raise KnownError to refuse."""

    def observe(self, record: ProxyRecord) -> None:
        """One stored record, on the writer thread; must be quick and must not raise."""

    def describe(self) -> str:
        """One line for the user once started, e.g. `Metrics on http://127.0.0.1:9787/metrics`."""

    async def stop(self) -> None:
        """Called on the event loop after the last record was stored and observed."""
