"""The UI state file (`paths.state_file`, `state.json`): the one reader and writer.

A JSON object whose top-level keys belong to different features (the alert pause, window
geometry, ...). Every change goes through `update_key`: under one lock per file it reads the
object, replaces one key and writes the whole file back atomically (owner-only), so two
features saving at the same moment never lose each other's key. A missing, unreadable or
foreign file reads as empty, never as an error: this is convenience state, not data.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.atomic import atomic_write_text
from monitor.core.json_limits import loads_bounded
from monitor.core.local_files import read_local_text

log = logging.getLogger(__name__)

_locks_guard = threading.Lock()
_locks: dict[Path, threading.Lock] = {}


def _lock_for(path: Path) -> threading.Lock:
    key = Path(path).absolute()
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def _read(path: Path) -> dict[str, Any]:
    try:
        data = loads_bounded(read_local_text(path))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError) as exc:
        log.warning("ignoring unreadable UI state file %s: %s", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def read_key(path: Path, key: str) -> Any:
    """The value stored under `key` (None when absent or the file is unreadable)."""
    with _lock_for(path):
        return _read(path).get(key)


def update_key(path: Path, key: str, value: Any) -> None:
    """Store `value` (JSON-able) under `key`, keeping every other key of the file.

    Raises OSError when the file cannot be written (callers decide whether that matters).
    """
    change_key(path, key, lambda _old: value)


def change_key(path: Path, key: str, change: Callable[[Any], Any]) -> None:
    """Replace the value under `key` by `change(old value or None)`, atomically per file."""
    with _lock_for(path):
        data = _read(path)
        data[key] = change(data.get(key))
        atomic_write_text(path, json.dumps(data, indent=2) + "\n")
