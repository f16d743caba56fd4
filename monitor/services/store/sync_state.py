"""Health and completeness of each source's sync (last success, last error, settled-through)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.services.store.connection import Database
from monitor.services.store.convert import _epoch_us, _from_us

ORG_SOURCE = "org"
"""The sync-state name of the organization usage sync (`set_sync_state(ORG_SOURCE, ...)`)."""
PROXY_SOURCE = "proxy"
"""The metering proxy's heartbeat: `last_success` is the last instant a running proxy said it
was metering, so an idle proxy's figures are known complete (not stale) though no record came."""
PROXY_HEARTBEAT_S = 30.0
"""How often a running proxy writes its heartbeat: under the shortest staleness window (two
polls of the minimum 30 s interval)."""


@dataclass(frozen=True)
class SyncState:
    """Health and completeness of one source (`ORG_SOURCE` for the organization sync)."""

    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    settled_through: datetime | None = None  # org data complete through this UTC instant


class SyncStates(Database):
    """Sync state per source (mixin of UsageStore)."""

    def set_sync_state(self, source: str, state: SyncState) -> None:
        def us(dt: datetime | None) -> int | None:
            return None if dt is None else _epoch_us(dt)

        with self.transaction() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO sync_state VALUES (?, ?, ?, ?, ?)",
                (source, us(state.last_success), state.last_error, us(state.last_error_at),
                 us(state.settled_through)),
            )

    def get_sync_state(self, source: str) -> SyncState | None:
        row = self._query_one(
            "SELECT last_success_us, last_error, last_error_at_us, settled_through_us "
            "FROM sync_state WHERE source = ?",
            (source,),
        )
        if row is None:
            return None
        return SyncState(_from_us(row[0]), row[1], _from_us(row[2]), _from_us(row[3]))

    # ---- finished sync windows (resume an interrupted backfill; issue 16) ------------------

    def mark_window_done(self, source: str, endpoint: str, width: str, start: datetime,
                         end: datetime) -> None:
        """Record a fetched window; call inside the transaction that wrote its rows."""
        with self.transaction() as tx:
            tx.execute("INSERT OR IGNORE INTO sync_windows VALUES (?, ?, ?, ?, ?)",
                       (source, endpoint, width, _epoch_us(start), _epoch_us(end)))

    def done_windows(self, source: str) -> set[tuple[str, str, datetime, datetime]]:
        """(endpoint, width, start, end) of the windows recorded since the last clear."""
        rows = self._query(
            "SELECT endpoint, width, start_us, end_us FROM sync_windows WHERE source = ?",
            (source,))
        out = set()
        for endpoint, width, start, end in rows:
            a, b = _from_us(start), _from_us(end)
            assert a is not None and b is not None
            out.add((endpoint, width, a, b))
        return out

    def clear_done_windows(self, source: str) -> None:
        with self.transaction() as tx:
            tx.execute("DELETE FROM sync_windows WHERE source = ?", (source,))
