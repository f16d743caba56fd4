"""Creating the database file owner-only without opening it outside SQLite.

POSIX advisory locks belong to a process and an inode, and closing *any* descriptor of a file
drops *all* of that process's locks on it (SQLite's "How To Corrupt An SQLite Database File",
§2.2). So a process that may hold SQLite connections never `os.open`s a database file: a CLI
process could then believe it is the last, checkpoint and unlink -wal/-shm under it.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path

_umask_lock = threading.Lock()


def create_private_database(path: Path) -> None:
    """Create the SQLite file at `path` owner-only (0600) if it is missing; never opens it
    outside SQLite (see `Database._create_private_file` for why).

    SQLite creates the file on connect with 0644 less the umask, so the connect runs under a
    0077 umask: no moment exists where another user could open it. The umask is process-wide,
    hence the lock (ours are the only umask changes) and a window of one connect; a file
    another thread creates meanwhile is at worst owner-only too. SQLite gives -wal/-shm the
    main file's mode. An existing file only loses its group and other bits.
    """
    if os.name == "posix" and not path.exists():
        with _umask_lock:
            previous = os.umask(0o077)
            try:
                conn = sqlite3.connect(path)  # opens (creates) the file now
            finally:
                os.umask(previous)
        conn.close()
    if os.name == "posix":
        # Others lose every bit; the owner's own bits stay as they are (a file the user made
        # read-only stays read-only and is reported so, never quietly made writable).
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
