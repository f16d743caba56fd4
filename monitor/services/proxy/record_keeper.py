"""Proxy records are never dropped: bad records are isolated, an unavailable store is spooled.

`RecordKeeper.keep` is what the proxy's writer thread calls with each batch:

- The batch goes in one transaction. If the database refuses one record as *data* (a value
  SQLite cannot hold, a constraint), the batch is retried record by record so the others are
  stored, and the refused record is spooled (logged), not thrown away.
- If the database cannot take writes at all (locked past the writer's short busy timeout,
  damaged pages, not a database, read-only, disk full, missing tables), the batch goes to the
  spool file (services/record_spool.py) and the store is left alone for `retry_s`; then the spool is
  replayed (exactly once) before new records are written, so order is roughly kept.
- If even the spool cannot be written (the disk is full for both), records wait in memory
  (up to `MEMORY_BACKLOG` of them) and are tried again with the next batch, under the spool
  ids they were given the first time: a spool append is all or nothing, and a retried one
  can never store a record twice. `unkept` says how many wait (the proxy reports them if it
  has to stop before the disk frees).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from monitor.core.records import ProxyRecord, RateLimitSnapshot
from monitor.errors import KnownError
from monitor.services.record_spool import RecordSpool, new_spool_id

if TYPE_CHECKING:
    from monitor.services.store import UsageStore

log = logging.getLogger(__name__)

MEMORY_BACKLOG = 200_000
"""Records held in memory while neither the database nor the spool can take them."""


def store_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database cannot take writes now (as opposed to one bad value)."""
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.InterfaceError |
                  sqlite3.ProgrammingError | sqlite3.DataError):
        return False
    # OperationalError (locked, busy, read-only, full, I/O, no such table) and plain
    # DatabaseError (malformed image, not a database) are the file's state, not the record's.
    return isinstance(exc, sqlite3.DatabaseError | OSError | KnownError)


class RecordKeeper:
    """Stores proxy records into the usage store, or spools them; see the module docstring.

    Used from one thread (the proxy's record writer).
    """

    def __init__(self, open_store: Callable[[], UsageStore], spool: RecordSpool, *,
                 retry_s: float = 2.0) -> None:
        self._open_store = open_store
        self.spool = spool
        self._retry_s = retry_s
        self._store: UsageStore | None = None
        self._retry_at = 0.0  # monotonic: when to try the store again after a failure
        self._replay_at = 0.0  # monotonic: when to try the spool again after a replay bug
        self._failing = False  # the store refused writes and has not taken any since
        self._backlog: list[tuple[str, ProxyRecord]] = []  # (spool id, record)
        self.spooled_total = 0  # records ever sent to the spool by this keeper
        self.lost_total = 0  # records dropped because memory backlog overflowed (logged)

    # -- the store -----------------------------------------------------------------------

    def open(self) -> None:
        """Open the store now (so a proxy that cannot reach its database says so at start)."""
        if self._store is None:
            self._store = self._open_store()

    @property
    def store(self) -> UsageStore | None:
        """The open store (None until opened, or while it cannot be opened)."""
        return self._store

    @property
    def unkept(self) -> int:
        """Records neither the database nor the spool has taken yet (they wait in memory)."""
        return len(self._backlog)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _available_store(self) -> UsageStore | None:
        if time.monotonic() < self._retry_at:
            return None
        if self._store is None:
            try:
                self._store = self._open_store()
            except Exception as exc:
                self._fail("cannot open the usage database", exc)
                return None
        return self._store

    def _fail(self, what: str, exc: BaseException) -> None:
        self._retry_at = time.monotonic() + self._retry_s
        # Once per outage at WARNING (retries come every few seconds); the rest at DEBUG.
        level = logging.DEBUG if self._failing else logging.WARNING
        self._failing = True
        log.log(level, "%s (%s); proxy records go to the spool %s until it recovers",
                what, exc, self.spool.path)

    # -- keeping records -----------------------------------------------------------------

    def keep(self, records: Sequence[ProxyRecord],
             snapshots: Sequence[RateLimitSnapshot] = (),
             ids: Sequence[str | None] = ()) -> list[ProxyRecord]:
        """Store or spool every record; returns the ones that reached the database now.

        `ids` (one per record, or empty): the records' journal ids, remembered with them in
        the same transaction, or kept as their spool ids, so the journal never adds one twice.
        """
        ids = list(ids) or [None] * len(records)
        store = self._available_store()
        if store is not None and not self._replay(store):
            store = None
        if store is None:
            self._to_spool(records, ids)
            return []
        try:
            with store.transaction():
                store.add_proxy_records(records)
                store.remember_spool_ids([i for i in ids if i is not None])
                for snap in snapshots:
                    store.add_rate_limit(snap)
            if self._failing:
                self._failing = False
                log.warning("the usage database takes proxy records again")
            return list(records)
        except Exception as exc:
            if store_unavailable(exc):
                self._fail("the usage database cannot take writes", exc)
                self._to_spool(records, ids)
                return []
            log.warning("a batch of %d proxy records was refused (%s); storing them one by "
                        "one", len(records), exc)
        return self._one_by_one(store, records, snapshots, ids)

    def _one_by_one(self, store: UsageStore, records: Sequence[ProxyRecord],
                    snapshots: Sequence[RateLimitSnapshot],
                    ids: Sequence[str | None]) -> list[ProxyRecord]:
        stored: list[ProxyRecord] = []
        for i, rec in enumerate(records):
            try:
                with store.transaction():
                    store.add_proxy_records((rec,))
                    rid = ids[i]
                    if rid is not None:
                        store.remember_spool_ids((rid,))
            except Exception as exc:
                if store_unavailable(exc):
                    self._fail("the usage database cannot take writes", exc)
                    self._to_spool(records[i:], ids[i:])
                    return stored
                log.error("the usage database refused a proxy record of %s at %s (%s); it is "
                          "kept in the spool", rec.endpoint, rec.time.isoformat(), exc)
                self._to_spool((rec,), ids[i:i + 1])
            else:
                stored.append(rec)
        for snap in snapshots:
            try:
                store.add_rate_limit(snap)
            except Exception as exc:  # a rate-limit snapshot is a hint, superseded by the next
                log.warning("could not store a rate-limit snapshot: %s", exc)
        return stored

    def _to_spool(self, records: Sequence[ProxyRecord],
                  ids: Sequence[str | None] = ()) -> None:
        named = list(ids) or [None] * len(records)
        waiting = [*self._backlog,
                   *((i or new_spool_id(), r) for i, r in zip(named, records, strict=True))]
        if not waiting:
            return
        try:
            self.spool.append_entries(waiting)
        except OSError as exc:
            keep = waiting[-MEMORY_BACKLOG:]
            dropped = len(waiting) - len(keep)
            if dropped:
                self.lost_total += dropped
                log.error("neither the usage database nor the spool %s can take records (%s); "
                          "%d records could not be kept", self.spool.path, exc, dropped)
            else:
                log.error("neither the usage database nor the spool %s can take records (%s); "
                          "%d records wait in memory", self.spool.path, exc, len(keep))
            self._backlog = keep
            return
        self.spooled_total += len(waiting)
        self._backlog = []

    def _replay(self, store: UsageStore) -> bool:
        """Replay the spool (and the memory backlog) into `store`; False if it is unavailable."""
        if self._backlog:
            self._to_spool(())
        if not self.spool.has_pending() or time.monotonic() < self._replay_at:
            return True
        try:
            self.spool.replay(store)
        except Exception as exc:
            if store_unavailable(exc):
                self._fail("the usage database cannot take the spooled records yet", exc)
                return False
            # A bug must not stop new records: they are written; the spool is tried later.
            self._replay_at = time.monotonic() + self._retry_s
            log.exception("replaying the record spool %s failed", self.spool.path)
        return True

    def waiting(self) -> bool:
        """True while records wait in memory or in the spool, not yet in the database."""
        return bool(self._backlog) or self.spool.has_pending()

    def flush_backlog(self) -> None:
        """Try the spool once more for the records waiting in memory (at shutdown)."""
        if self._backlog:
            self._to_spool(())

    def replay_now(self) -> None:
        """Try the spool now if the store is due for another try (the writer calls it when idle)."""
        store = self._available_store()
        if store is not None:
            self._replay(store)
