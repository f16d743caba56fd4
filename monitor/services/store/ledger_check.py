"""Is this file a Token Monitor usage database? (`db restore` asks before it swaps files.)

Any SQLite file passes `PRAGMA quick_check`, so without this `db restore other.sqlite3`
would move the healthy database aside and show 0. Opened by SQLite only, read-only
(`mode=ro`), after a stat (not an open) that refuses a FIFO or a device, which SQLite
would block on or read.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from monitor.services.store.schema import SCHEMA_VERSION

REQUIRED_TABLES = ("usage_buckets", "cost_buckets", "proxy_records", "fired_alerts",
                   "sync_state")
"""Tables every released schema (v1 onwards) has."""


def _ro_uri(path: Path) -> str:
    quoted = str(path).replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    return f"file:{quoted}?mode=ro"


def ledger_problem(path: Path) -> str | None:
    """None when `path` is a regular file holding a Token Monitor database of a schema this
    version can open, else why not (one line, for the user)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    if not stat.S_ISREG(st.st_mode):
        return "it is not a regular file"
    try:
        conn = sqlite3.connect(_ro_uri(path), uri=True, timeout=10.0)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {str(r[0]) for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        conn.close()
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if version < 1 or missing:
        return ("it is not a Token Monitor usage database (schema version "
                f"{version}{', no table ' + ', '.join(missing) if missing else ''})")
    if version > SCHEMA_VERSION:
        return (f"it was written by a newer Token Monitor (schema v{version}; this version "
                f"reads up to v{SCHEMA_VERSION}): update the app first")
    return None
