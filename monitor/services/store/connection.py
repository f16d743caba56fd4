"""The usage database file: owner-only, WAL, migrated on open; connections and transactions.

Every concern module of the store (`usage_buckets`, `costs`, `proxy_records`, ...) is a mixin on
`Database`; `UsageStore` (store/usage_store.py) combines them.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from monitor.errors import KnownError
from monitor.services.store.convert import _decimal_add, _DecimalSum, _pico, _pico_rest
from monitor.services.store.schema import (
    _ORG_TABLES,
    _PROXY_TABLES,
    _V2,
    MIGRATIONS,
    SCHEMA_VERSION,
    _statements,
)


class StoreError(KnownError):
    """The database cannot be used (newer schema, corrupt file, closed store)."""


class Database:
    """The usage database. Thread-safe: each thread gets its own connection (a thread that
    ended has its connection closed when another thread opens one).

    `close()` closes every connection it opened (call it on quit, after worker threads stopped).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._closed = False
        self._companions_private = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder of the usage database {self.path}: "
                f"{exc.strerror or exc}"
            ) from None
        self._create_private_file()
        conn = self._conn()
        self._migrate(conn)
        self._tighten_companions()

    # ---- connection handling ---------------------------------------------------------------

    def _create_private_file(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(
                f"cannot open the usage database {self.path}: {exc.strerror or exc}"
            ) from None
        os.close(fd)
        if os.name == "posix":
            os.chmod(self.path, 0o600)

    def _tighten_companions(self) -> None:
        # SQLite creates -wal/-shm with the main file's mode; make sure of it anyway (until
        # both exist: after that they keep their mode).
        if os.name != "posix" or self._companions_private:
            return
        found = 0
        for suffix in ("-wal", "-shm"):
            companion = self.path.with_name(self.path.name + suffix)
            with contextlib.suppress(FileNotFoundError):
                os.chmod(companion, 0o600)
                found += 1
        self._companions_private = found == 2

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the usage store is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            conn = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA temp_store = MEMORY")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the usage database {self.path}: {exc}") from None
        # typeshed's aggregate protocol is typed for step(int) only; ours takes TEXT/NULL.
        conn.create_aggregate("dsum", 1, _DecimalSum)  # type: ignore[arg-type]
        conn.create_function("dadd", 2, _decimal_add, deterministic=True)
        conn.create_function("pico", 1, _pico, deterministic=True)
        conn.create_function("pico_rest", 1, _pico_rest, deterministic=True)
        self._local.conn = conn
        with self._lock:
            # Close the connections of threads that have ended (short-lived workers).
            alive = []
            for thread, other in self._connections:
                if thread.is_alive():
                    alive.append((thread, other))
                else:
                    with contextlib.suppress(sqlite3.Error):
                        other.close()
            alive.append((threading.current_thread(), conn))
            self._connections = alive
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the usage database {self.path} has schema v{version}, newer than this "
                f"version of Token Monitor understands (v{SCHEMA_VERSION}); update the app"
            )
        if version == SCHEMA_VERSION:
            return
        with self.transaction() as tx:
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = tx.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, SCHEMA_VERSION):
                for stmt in _statements(MIGRATIONS[number]):
                    tx.execute(stmt)
                tx.execute(f"PRAGMA user_version = {number + 1}")

    def schema_version(self) -> int:
        return int(self._conn().execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Close every connection (all threads). Later use raises StoreError."""
        with self._lock:
            conns, self._connections = self._connections, []
            self._closed = True
        for _, conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA optimize")
            conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, rolled back on any exception).

        Nested use on the same thread joins the outer transaction.
        """
        conn = self._conn()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        self._tighten_companions()

    def rebuild_rollups(self) -> None:
        """Recompute every roll-up from the raw rows (repair tool; normally not needed)."""
        tables = [t for t, _ in _ORG_TABLES] + [t for t, _ in _PROXY_TABLES] + ["usage_extent"]
        with self.transaction() as tx:
            for table in tables:
                tx.execute(f"DELETE FROM {table}")
            for stmt in _statements(_V2):
                if stmt.startswith("INSERT"):
                    tx.execute(stmt)
