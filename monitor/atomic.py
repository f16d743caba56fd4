"""Atomic, owner-only file writes: a crash leaves the old file or the new one, never half.

The one write helper of every file the app keeps (settings, key metadata, UI state, price
overrides, the encoding and status caches). A temp file in the same folder is written, then
renamed over the target; `durable` (the default) fsyncs it first so a power cut cannot leave
an empty file behind a completed rename. Caches pass `durable=False`: losing one costs only time.
Never used for SQLite files, which only SQLite opens (see services/store/connection.py).
"""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write_text(path: Path, text: str, mode: int = 0o600, *, durable: bool = True) -> None:
    """Write `text` (UTF-8) to `path` atomically (see `atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"), mode, durable=durable)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o600, *,
                       durable: bool = True) -> None:
    """Write `data` to `path` via a new temp file in the same folder (created with `mode`,
    exclusively), fsync it when `durable`, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)  # the umask may have narrowed what O_CREAT gave
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
