"""The usage database file: owner-only, WAL, migrated on open; a bounded connection pool.

Every concern module of the store (`usage_buckets`, `costs`, `proxy_records`, ...) is a mixin on
`Database`; `UsageStore` (store/usage_store.py) combines them.

Connections have an owner and a bound: a small pool (at most `max_connections`, default 4)
that every store call borrows one connection from and gives back when it returns. A thread
that already holds one (a nested call, or code inside `transaction()`) reuses it, so a thread
never holds two and a full pool only makes a caller wait for a short call elsewhere to end.
Why a pool rather than one connection per thread: Qt's thread-pool tasks run on threads
Python sees as `_DummyThread`s, which are "alive" forever, so per-thread connections were
never reclaimed (an fd leak that killed the app after hours). Why not open/close per call:
opening costs PRAGMAs and function registration on every call (the snapshot makes dozens),
and one writer thread would serialise readers that WAL lets run in parallel.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Self

from monitor.core.clock import Clock, system_clock
from monitor.services.store.backup import damaged_message
from monitor.services.store.convert import _decimal_add, _DecimalSum, _pico, _pico_rest
from monitor.services.store.errors import DatabaseDamaged, StoreError, read_only_error
from monitor.services.store.private_file import create_private_database
from monitor.services.store.schema import (
    _ORG_TABLES,
    _PROXY_TABLES,
    _ROLLUP_FILL,
    _V2,
    MIGRATIONS,
    REVISION_TABLE,
    SCHEMA_VERSION,
    _statements,
)

DEFAULT_MAX_CONNECTIONS = 4


def is_damage(exc: BaseException) -> bool:
    """SQLITE_CORRUPT / SQLITE_NOTADB: Python raises plain DatabaseError for exactly these."""
    return type(exc) is sqlite3.DatabaseError


class _Held(threading.local):
    conn: sqlite3.Connection | None = None
    depth = 0


class Database:
    """The usage database. Thread-safe: calls borrow a connection from a bounded pool.

    `close()` closes every connection (call it on quit); a connection still borrowed then is
    closed when its call returns.
    """

    def __init__(self, path: Path, clock: Clock = system_clock, *,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 busy_timeout_s: float = 10.0) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.path = Path(path)
        self._clock = clock
        self._max = max_connections
        self._busy_timeout_s = busy_timeout_s
        self._held = _Held()
        self._cond = threading.Condition()
        self._idle: list[sqlite3.Connection] = []
        self._open = 0  # connections that exist (idle or borrowed)
        # The file the pooled connections point at (device, inode): when the path is replaced
        # (a restore, or a damaged copy put there), connections to the old file are retired so
        # writes never go on into an unlinked inode.
        self._identity: tuple[int, int] | None = None
        self._generation = 0
        self._born: dict[int, int] = {}  # id(connection) -> generation
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
        try:
            with self.connection() as conn:
                self._migrate(conn)
        except BaseException:
            self.close()
            raise
        self._tighten_companions()

    # ---- connection handling ---------------------------------------------------------------

    def _create_private_file(self) -> None:
        """Make sure the database file exists, owner-only, without opening it ourselves.

        SQLite's locks are POSIX advisory locks, owned by a process and an inode, and closing
        *any* descriptor of the file drops *all* of the process's locks on it ("How To Corrupt
        An SQLite Database File", 2.2). An `os.open` + `os.close` here, while another store of
        this process (the app has several) held connections, left the process with connections
        but no locks: the next CLI process to close its connection then thought it was the
        last one, checkpointed and unlinked -wal/-shm under the app, and records vanished.
        Only SQLite may open or close the database files (it defers a close while its own
        connections hold locks), so the file is created by `create_private_database` and
        its mode is set by path (chmod opens nothing). That bookkeeping is per SQLite library:
        the process must use only Python's sqlite3 on these files (no second SQLite such as
        QtSql's). tests/unit/test_db_file_opens.py keeps monitor/ to this.
        """
        try:
            create_private_database(self.path)
        except (OSError, sqlite3.Error) as exc:
            if isinstance(exc, PermissionError) or (
                    isinstance(exc, OSError) and exc.errno == errno.EROFS):
                raise read_only_error(self.path, exc.strerror or str(exc)) from None
            reason = exc.strerror if isinstance(exc, OSError) else exc
            raise StoreError(
                f"cannot open the usage database {self.path}: {reason or exc}"
            ) from None
        if not os.access(self.path, os.W_OK):  # asks the kernel; opens nothing
            raise read_only_error(self.path, "the file is not writable")

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

    def _new_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                self.path, timeout=self._busy_timeout_s, isolation_level=None,
                check_same_thread=False,
            )
            self._enter_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA temp_store = MEMORY")
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            if is_damage(exc):
                raise self._damaged(exc) from None
            if "readonly" in str(exc).lower():
                raise read_only_error(self.path, str(exc)) from None
            raise StoreError(f"cannot open the usage database {self.path}: {exc}") from None
        # typeshed's aggregate protocol is typed for step(int) only; ours takes TEXT/NULL.
        conn.create_aggregate("dsum", 1, _DecimalSum)  # type: ignore[arg-type]
        conn.create_function("dadd", 2, _decimal_add, deterministic=True)
        conn.create_function("pico", 1, _pico, deterministic=True)
        conn.create_function("pico_rest", 1, _pico_rest, deterministic=True)
        return conn

    def _enter_wal(self, conn: sqlite3.Connection) -> None:
        """Switch to (or confirm) WAL. On a new file, a connection opened at the same moment by
        another thread or process may be switching it too: SQLite then answers "database is
        locked" at once, without its busy handler, so wait here as the busy timeout would."""
        deadline = time.monotonic() + self._busy_timeout_s
        pause = 0.005
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def _follow_file(self) -> None:
        """Retire the pool's connections if the file at `path` is no longer theirs."""
        identity = self._file_identity()
        stale: list[sqlite3.Connection] = []
        with self._cond:
            if identity == self._identity or identity is None:
                return
            if self._identity is not None:
                self._generation += 1
                stale, self._idle = self._idle, []
                self._open -= len(stale)
                for conn in stale:
                    self._born.pop(id(conn), None)
                self._cond.notify_all()
            self._identity = identity
        for conn in stale:
            conn.close()

    def _acquire(self) -> sqlite3.Connection:
        with self._cond:
            while True:
                if self._closed:
                    raise StoreError("the usage store is closed")
                if self._idle:
                    return self._idle.pop()
                if self._open < self._max:
                    self._open += 1
                    generation = self._generation
                    break
                self._cond.wait()
        try:
            conn = self._new_connection()
        except BaseException:
            with self._cond:
                self._open -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._born[id(conn)] = generation
            if self._identity is None:
                self._identity = self._file_identity()
        return conn

    def _release(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:  # never hand on a connection inside someone's transaction
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        with self._cond:
            if not self._closed and self._born.get(id(conn)) == self._generation:
                self._idle.append(conn)
                self._cond.notify()
                return
            self._born.pop(id(conn), None)
            self._open -= 1
            self._cond.notify()
        conn.close()

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """Borrow a connection for the duration of the block (re-entrant per thread).

        Fetch every row inside the block: the connection goes back to the pool at its end.
        """
        held = self._held
        if held.conn is not None:
            held.depth += 1
            try:
                yield held.conn
            finally:
                held.depth -= 1
            return
        self._follow_file()
        conn = self._acquire()
        held.conn, held.depth = conn, 1
        try:
            yield conn
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise self._damaged(exc) from exc
            raise
        finally:
            held.conn, held.depth = None, 0
            self._release(conn)

    def _damaged(self, exc: BaseException) -> StoreError:
        """SQLITE_CORRUPT/NOTADB as DatabaseDamaged: the message names the file and the newest
        good backup (`token-monitor db restore`)."""
        return DatabaseDamaged(damaged_message(self.path, str(exc)))

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Every row of one read, on a borrowed connection."""
        with self.connection() as conn:
            return conn.execute(sql, params).fetchall()

    def _query_one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row of one read (None when there is none)."""
        with self.connection() as conn:
            return conn.execute(sql, params).fetchone()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def revision(self) -> tuple[str, int]:
        """(lineage, revision): the revision grows with every committed change to a table of
        record, from any process; the lineage tells this database from any other (schema v7)."""
        row = self._query_one(f"SELECT lineage, revision FROM {REVISION_TABLE}")
        return str(row[0]), int(row[1])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Every row of one read, for modules that own their tables' queries (write through
        `transaction()`); the connection goes back to the pool before this returns."""
        return self._query(sql, params)

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row of one read (None when there is none); see `query`."""
        return self._query_one(sql, params)

    def open_connections(self) -> int:
        """How many connections exist now (idle or borrowed); never above the bound."""
        with self._cond:
            return self._open

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
        with self.connection() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Close every idle connection now and each borrowed one when it comes back.

        Later use raises StoreError.
        """
        with self._cond:
            idle, self._idle = self._idle, []
            self._closed = True
            self._open -= len(idle)
            for conn in idle:
                self._born.pop(id(conn), None)
            self._cond.notify_all()
        for conn in idle:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA optimize")
            conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, rolled back on any exception).

        Nested use on the same thread joins the outer transaction.
        """
        with self.connection() as conn:
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):  # keep the original error
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
            for stmt in _ROLLUP_FILL:
                tx.execute(stmt)
            for stmt in _statements(_V2):
                if stmt.startswith("INSERT INTO usage_extent"):
                    tx.execute(stmt)
