"""Ledger safety: daily online backups of the usage database, integrity checks, restore.

- `backup_if_due` copies the live database with SQLite's online backup API (consistent even
  while the proxy writes) to `<data>/backups/usage-YYYY-MM-DD.sqlite3` once per UTC day (the
  date from the injected clock), owner-only, via a temp file and a rename; the newest
  `KEEP` backups are kept, older ones removed.
- `quick_check` runs `PRAGMA quick_check` (O(pages), no index cross-checks): the tray app
  runs it at start-up; `damaged_message` names the file and the newest good backup.
- `restore` puts a backup back: the damaged file (and its -wal/-shm) is moved aside as
  `usage.sqlite3.damaged-<time>`, never deleted; the backup is copied in via a temp file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from monitor.core.clock import Clock
from monitor.services.store.private_file import create_private_database

KEEP = 7
BACKUP_DIR = "backups"
_PREFIX, _SUFFIX = "usage-", ".sqlite3"


def backup_dir(db_path: Path) -> Path:
    return Path(db_path).parent / BACKUP_DIR


def backups(db_path: Path) -> list[Path]:
    """The backups of `db_path`, newest first (by the date in the name)."""
    folder = backup_dir(db_path)
    try:
        found = [p for p in folder.iterdir()
                 if p.name.startswith(_PREFIX) and p.name.endswith(_SUFFIX)]
    except FileNotFoundError:
        return []
    return sorted(found, key=lambda p: p.name, reverse=True)


def quick_check(path: Path) -> str | None:
    """None when `path` is a sound SQLite database, else what is wrong (one line)."""
    if not Path(path).is_file():
        return "the file does not exist"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        conn.close()
    problems = [str(r[0]) for r in rows if r and r[0] != "ok"]
    return None if not problems else "; ".join(problems[:3])


_checked_lock = threading.Lock()
_checked: dict[tuple[str, int, int], bool] = {}  # (backup, size, mtime) -> sound


def newest_good_backup(db_path: Path) -> Path | None:
    """The newest backup that passes `quick_check` (each file version is checked once: a
    damaged database is reported on every failed write, and backups can be large)."""
    for candidate in backups(db_path):
        try:
            st = candidate.stat()
        except OSError:
            continue
        key = (str(candidate), st.st_size, st.st_mtime_ns)
        with _checked_lock:
            sound = _checked.get(key)
        if sound is None:
            sound = quick_check(candidate) is None
            with _checked_lock:
                _checked[key] = sound
        if sound:
            return candidate
    return None


def damaged_message(db_path: Path, problem: str) -> str:
    """The one message for a damaged database: the file, what is wrong, the way back."""
    good = newest_good_backup(db_path)
    if good is None:
        way = ("it was left as it is and no backup exists yet: keep a copy, then move it aside "
               "to start a new one (`token-monitor sync` fetches organization usage again)")
    else:
        way = (f"the newest good backup is {good}; run `token-monitor db restore` to put it "
               "back (the damaged file is kept aside)")
    return f"the usage database {db_path} is damaged ({problem}); {way}"


def _write_private_copy(make: Callable[[Path], None], target: Path) -> None:
    """Build `target` through a temp file in its folder (0600), then rename it into place.

    The temp file is a database: only SQLite opens it (created by `create_private_database`,
    written by `make` through SQLite, which syncs it at the backup's commit), never
    `os.open`/`open()`; see store/connection.py for why.
    """
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        create_private_database(tmp)
        make(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def backup_now(db_path: Path, clock: Clock) -> Path:
    """An online backup of `db_path` named by the clock's UTC date; prunes to KEEP."""
    target = backup_dir(db_path) / f"{_PREFIX}{clock().date().isoformat()}{_SUFFIX}"
    _write_private_copy(lambda tmp: _copy_db(db_path, tmp), target)
    for old in backups(db_path)[KEEP:]:
        old.unlink(missing_ok=True)
    return target


def backup_if_due(db_path: Path, clock: Clock) -> Path | None:
    """Back up once per UTC day (and never a damaged database); the new file, or None."""
    name = f"{_PREFIX}{clock().date().isoformat()}{_SUFFIX}"
    if (backup_dir(db_path) / name).exists() or not Path(db_path).is_file():
        return None
    if quick_check(db_path) is not None:
        return None
    return backup_now(db_path, clock)


def restore(db_path: Path, backup: Path, clock: Clock) -> Path:
    """Put `backup` in place of `db_path`; returns where the replaced file was moved.

    Raises ValueError when the backup itself is not sound or not a Token Monitor database.
    """
    from monitor.services.store.ledger_check import ledger_problem

    problem = ledger_problem(backup) or quick_check(backup)
    if problem is not None:
        raise ValueError(f"the backup {backup} is not usable ({problem})")
    stamp = clock().strftime("%Y%m%dT%H%M%SZ")
    aside = db_path.with_name(f"{db_path.name}.damaged-{stamp}")
    _write_private_copy(lambda tmp: _copy_db(backup, tmp), db_path.with_name(
        f"{db_path.name}.restoring"))
    if db_path.exists():
        os.replace(db_path, aside)
    for suffix in ("-wal", "-shm"):  # they belong to the replaced file
        companion = db_path.with_name(db_path.name + suffix)
        if companion.exists():
            os.replace(companion, aside.with_name(aside.name + suffix))
    os.replace(db_path.with_name(f"{db_path.name}.restoring"), db_path)
    with contextlib.suppress(OSError):
        os.chmod(db_path, 0o600)
    return aside


def _copy_db(src_path: Path, dst_path: Path) -> None:
    """SQLite's online backup: a consistent copy even while another process writes."""
    src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True, timeout=10.0)
    dst = sqlite3.connect(dst_path)
    try:
        dst.execute("PRAGMA synchronous = FULL")  # the commit syncs the copy to disk
        src.backup(dst)
    finally:
        dst.close()
        src.close()
