"""The store's errors, and what an SQLite failure mid-command means for the user (naming the file).

The store raises StoreError for what it checks on opening; a damaged page, a lock held too
long or a full disk only shows when a query reaches it, as a bare sqlite3 error. This turns
such an error into a StoreError with a distinct exit code (monitor/exit_codes.py).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from monitor import exit_codes
from monitor.errors import KnownError
from monitor.services.store.backup import damaged_message


class StoreError(KnownError):
    """The database cannot be used (newer schema, corrupt file, closed store)."""

    exit_code = exit_codes.DATABASE_UNUSABLE


class StoreReadOnly(StoreError):  # noqa: N818 - reads better at call sites
    """The database (or its folder, or its disk) is read-only: sound, but it cannot be
    written, so not "damaged"."""

    exit_code = exit_codes.CANNOT_WRITE


def read_only_error(path: Path, detail: str) -> StoreReadOnly:
    return StoreReadOnly(f"the usage database {path} is read-only ({detail}); Token Monitor "
                         "writes to it: check the permissions of the file and its folder, "
                         "and that the disk is not mounted read-only")


class DatabaseBusy(StoreError):  # noqa: N818 - reads better at call sites
    """Another process holds the database's write lock for longer than the busy timeout."""

    exit_code = exit_codes.DATABASE_BUSY


class DatabaseUnwritable(StoreError):  # noqa: N818
    """The database cannot take writes: read-only file or folder, or a full disk."""

    exit_code = exit_codes.CANNOT_WRITE


class DatabaseDamaged(StoreError):  # noqa: N818
    """The file holds damaged pages or is not an SQLite database."""

    exit_code = exit_codes.DATABASE_UNUSABLE


def is_database_failure(exc: BaseException) -> bool:
    """True for errors of the database file itself; False for misuse (a bug of ours):
    sqlite3.ProgrammingError, IntegrityError and the like stay internal errors."""
    return type(exc) in (sqlite3.DatabaseError, sqlite3.OperationalError)


def store_error(exc: sqlite3.DatabaseError, path: Path) -> StoreError:
    """A one-line, user-facing error for `exc` raised by the usage database at `path`."""
    detail = str(exc).strip() or type(exc).__name__
    lowered = detail.lower()
    if "locked" in lowered or "busy" in lowered:
        return DatabaseBusy(f"the usage database {path} is locked by another process "
                            f"({detail}); try again in a moment")
    if "readonly" in lowered or "read-only" in lowered or "disk is full" in lowered:
        return DatabaseUnwritable(f"the usage database {path} cannot be written ({detail}); "
                                  "check the disk's free space and the file's permissions")
    if "malformed" in lowered or "not a database" in lowered or "corrupt" in lowered:
        return DatabaseDamaged(damaged_message(path, detail))
    return DatabaseDamaged(f"the usage database {path} cannot be used ({detail})")
