"""The `status` cache: the last run's time-free figures, reused while nothing they depend on moved.

A status bar runs `token-monitor status` every few seconds, and most runs find the store as the
last one left it. So a run that computed the figures keeps their `StatusBasis` in
`cache/status.json`, keyed by everything the basis depends on:

- the usage database: its file identity (a restore puts another file in place) and its
  `(lineage, revision)` (schema v7: triggers bump the revision on every committed change to a
  table of record, from any process or tool);
- the settings file and the user's price override (`file_tag.content_tag`: length and CRC-32
  of their content) and
  the bundled price table (mtime, size, inode);
- the package version and this file's format.

A later run whose key is equal, and whose instant is still inside the basis' day, cycle and UTC
date (`StatusBasis.holds_at`), prints `figures_at(basis, now)`: the same function a full run
uses, so both print the same. Anything unexpected (no file, another owner, bad JSON, another
key) is a miss and the full path runs. The cache holds spend figures and model names, never a
key; it is written owner-only.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor import __version__
from monitor.core.budget import Period
from monitor.core.json_limits import loads_bounded
from monitor.core.local_files import read_local_file_stat
from monitor.services.file_tag import content_tag
from monitor.services.status import ModelSpend, StatusBasis

if TYPE_CHECKING:
    from monitor.paths import Paths

CACHE_FORMAT = 1
CACHE_NAME = "status.json"
MAX_CACHE_BYTES = 1024 * 1024  # an entry is a few hundred bytes per model
_BUSY_MS = 200  # a writer holds the lock only for a commit; then it is a miss, not a wait


def cache_file(paths: Paths) -> Path:
    return paths.cache_dir / CACHE_NAME


def _signature(path: Path) -> list[int] | None:
    """A file that only changes with an install: identity and mtime are enough."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def _uri(path: Path) -> str:
    quoted = str(path).replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    return f"file:{quoted}?mode=rw"  # rw, not rwc: a missing database is not created here


def read_revision(db_file: Path) -> list[Any] | None:
    """[device, inode, lineage, revision] of the usage database, or None (no database, an
    older schema, a lock held too long)."""
    try:
        st = os.stat(db_file)
        conn = sqlite3.connect(_uri(db_file), uri=True, timeout=_BUSY_MS / 1000)
    except (OSError, sqlite3.Error):
        return None
    try:
        row = conn.execute("SELECT lineage, revision FROM store_revision").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    if row is None:
        return None
    return [st.st_dev, st.st_ino, str(row[0]), int(row[1])]


def cache_key(paths: Paths) -> dict[str, Any] | None:
    """What the cached figures depend on, now; None when the database cannot tell its
    revision (then nothing is cached or reused)."""
    from monitor import resources

    db = read_revision(paths.db_file)
    if db is None:
        return None
    return {
        "format": CACHE_FORMAT,
        "version": __version__,
        "db": db,
        "settings": content_tag(paths.settings_file),
        "prices": content_tag(paths.prices_override),
        "bundled": _signature(Path(str(resources.path("prices.json")))),
    }


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _period(value: list[str]) -> Period:
    start, end = value
    return Period(datetime.fromisoformat(start), datetime.fromisoformat(end))


def to_json(basis: StatusBasis) -> dict[str, Any]:
    return {
        "computed_at": basis.computed_at.isoformat(),
        "today": [basis.today.start.isoformat(), basis.today.end.isoformat()],
        "cycle": [basis.cycle.start.isoformat(), basis.cycle.end.isoformat()],
        "today_usd": str(basis.today_usd),
        "today_tokens": basis.today_tokens,
        "cycle_usd": str(basis.cycle_usd),
        "limit_usd": str(basis.limit_usd),
        "cost_basis": basis.cost_basis,
        "as_of": _when(basis.as_of),
        "has_data": basis.has_data,
        "data_since": _when(basis.data_since),
        "poll_interval_s": basis.poll_interval_s,
        "alert_thresholds_pct": list(basis.alert_thresholds_pct),
        "cycle_start_day": basis.cycle_start_day,
        "today_timezone": basis.today_timezone,
        "models": [[m.model, None if m.cost_usd is None else str(m.cost_usd), m.tokens]
                   for m in basis.models],
    }


def from_json(data: dict[str, Any]) -> StatusBasis:
    """The basis `to_json` wrote (raises KeyError/TypeError/ValueError on anything else)."""
    computed_at = _dt(data["computed_at"])
    if computed_at is None:
        raise ValueError("no computed_at")
    return StatusBasis(
        computed_at=computed_at,
        today=_period(data["today"]),
        cycle=_period(data["cycle"]),
        today_usd=Decimal(data["today_usd"]),
        today_tokens=int(data["today_tokens"]),
        cycle_usd=Decimal(data["cycle_usd"]),
        limit_usd=Decimal(data["limit_usd"]),
        cost_basis=str(data["cost_basis"]),
        as_of=_dt(data["as_of"]),
        has_data=bool(data["has_data"]),
        data_since=_dt(data["data_since"]),
        poll_interval_s=int(data["poll_interval_s"]),
        alert_thresholds_pct=tuple(int(t) for t in data["alert_thresholds_pct"]),
        cycle_start_day=int(data["cycle_start_day"]),
        today_timezone=str(data["today_timezone"]),
        models=tuple(ModelSpend(str(m), None if c is None else Decimal(c), int(t))
                     for m, c, t in data["models"]),
    )


def save(paths: Paths, key: dict[str, Any], basis: StatusBasis) -> None:
    """Keep `basis` for the next run (best effort: a cache that cannot be written is no error;
    the temp file + rename means a reader sees the old entry or the new one, never half)."""
    from monitor.atomic import atomic_write_text

    text = json.dumps({"key": key, "basis": to_json(basis)}, separators=(",", ":"))
    with contextlib.suppress(OSError):  # a cache: best effort, and no fsync
        atomic_write_text(cache_file(paths), text, durable=False)


def load(paths: Paths, key: dict[str, Any]) -> StatusBasis | None:
    """The cached basis when it was made under `key`, else None. A file that is not the
    user's own, or that others may write, is ignored (as the rank cache does)."""
    target = cache_file(paths)
    try:
        raw, st = read_local_file_stat(target, max_bytes=MAX_CACHE_BYTES)
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            return None
        # Bounded: `[` * 100k is a miss (then rewritten by the full run), no RecursionError.
        data = loads_bounded(raw.decode("utf-8"))
        if not isinstance(data, dict) or data.get("key") != key:
            return None
        return from_json(data["basis"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
