"""Parsed tiktoken ranks kept in the cache dir, so an encoding loads without re-parsing base64.

Parsing a `.tiktoken` file (200k base64 lines) takes ~0.2-0.3 s; reading the same ranks back
from this cache takes ~0.05 s, leaving tiktoken's own CoreBPE build as most of an encoding's
load time (tests/bench/bench_count.py prints both).

Trust rules (tests/unit/test_rank_cache.py pins each):

* The file name holds the SHA-256 of the rank file it was parsed from, and the header repeats
  it, so a changed rank file never meets an old cache (stale files of that encoding are
  removed when a new one is written).
* The payload carries its own SHA-256, checked before it is unmarshalled; a cache that is
  truncated, edited or not in this format is ignored and rebuilt, never an error.
* It is only read from a directory and file owned by the current user and writable by nobody
  else (checked with lstat/fstat; symlinks refused), so another user cannot plant ranks that
  would change counts. Such a cache is ignored (and not overwritten).
* It is written atomically (temp file in the same folder, fsync, rename) with mode 0600 in a
  0700 folder.

`marshal` is used because it is the fastest stdlib reader of a dict of bytes; it runs only on
a payload whose hash matched, in a file only this user could have written. A cache in an
older format (another magic line) is stale: it is rebuilt once.
"""

from __future__ import annotations

import contextlib
import logging
import marshal
import os
import stat
import threading
from pathlib import Path

log = logging.getLogger(__name__)

MAGIC = b"token-monitor ranks v2\n"  # v2: the payload is the marshalled dict
_DIGEST = 32  # bytes of a SHA-256
_SUBDIR = "encodings"

_lock = threading.Lock()
_directory: Path | None = None


def use_directory(cache_dir: Path | None) -> None:
    """Where caches live (`<cache_dir>/encodings/`); None turns caching off (the default)."""
    global _directory
    with _lock:
        _directory = None if cache_dir is None else Path(cache_dir) / _SUBDIR


def directory() -> Path | None:
    return _directory


def cache_path(folder: Path, base: str, source_sha256: str) -> Path:
    return folder / f"{base}-{source_sha256}.ranks"


def _private(st: os.stat_result, *, folder: bool) -> bool:
    """Owned by us, not a symlink, and nobody else can write it."""
    kind_ok = stat.S_ISDIR(st.st_mode) if folder else stat.S_ISREG(st.st_mode)
    if not kind_ok or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    getuid = getattr(os, "getuid", None)  # no owner ids on Windows: per-user dirs there
    return getuid is None or st.st_uid == getuid()


def encode_payload(ranks: dict[bytes, int]) -> bytes:
    # The dict itself: marshal rebuilds it in C, ~35 % faster than a list of keys zipped with
    # their ranks back into a dict in Python (v1), which was most of a cached load.
    return marshal.dumps(ranks)


def _decode_payload(body: bytes) -> dict[bytes, int] | None:
    try:
        ranks = marshal.loads(body)
    except (ValueError, EOFError, TypeError):
        return None
    if not isinstance(ranks, dict) or not ranks:
        return None
    key, rank = next(iter(ranks.items()))  # the hash vouches for the rest (written by us)
    if type(key) is not bytes or type(rank) is not int:
        return None
    return ranks


def load(base: str, source_sha256: str, folder: Path | None = None) -> dict[bytes, int] | None:
    """The cached ranks of the rank file with that SHA-256, or None (missing, stale, corrupt,
    or not trusted: see the module doc)."""
    folder = folder or _directory
    if folder is None:
        return None
    path = cache_path(folder, base, source_sha256)
    try:
        if not _private(os.lstat(folder), folder=True):
            log.warning("ignoring the encoding cache in %s: the folder is not private", folder)
            return None
        # O_NONBLOCK: a FIFO planted there must not block the open (fstat then refuses it)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:  # e.g. ELOOP for a symlink
        log.warning("ignoring the encoding cache %s: %s", path, exc.strerror or exc)
        return None
    with os.fdopen(fd, "rb") as fh:
        if not _private(os.fstat(fh.fileno()), folder=False):
            log.warning("ignoring the encoding cache %s: not a private file of this user", path)
            return None
        data = fh.read()
    import hashlib  # here, not at import: the CLI imports this module for every command

    head = len(MAGIC)
    if (
        not data.startswith(MAGIC)
        or data[head : head + _DIGEST] != bytes.fromhex(source_sha256)
        or hashlib.sha256(data[head + 2 * _DIGEST :]).digest()
        != data[head + _DIGEST : head + 2 * _DIGEST]
    ):
        log.info("encoding cache %s is stale or damaged; rebuilding it", path.name)
        return None
    return _decode_payload(data[head + 2 * _DIGEST :])


def store(base: str, source_sha256: str, ranks: dict[bytes, int],
          folder: Path | None = None) -> Path | None:
    """Write the cache atomically; returns its path, or None when caching is off or the
    folder is not ours (never raises: a cache that cannot be written is only slower)."""
    import hashlib

    from monitor.atomic import atomic_write_bytes  # stdlib-only helper, on a miss

    folder = folder or _directory
    if folder is None:
        return None
    body = encode_payload(ranks)
    data = MAGIC + bytes.fromhex(source_sha256) + hashlib.sha256(body).digest() + body
    path = cache_path(folder, base, source_sha256)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(os.lstat(folder), folder=True):
            log.warning("not writing the encoding cache: %s is not a private folder", folder)
            return None
        atomic_write_bytes(path, data, mode=0o600, durable=False)  # a cache
    except OSError as exc:
        log.warning("could not write the encoding cache %s: %s", path, exc.strerror or exc)
        return None
    for old in folder.glob(f"{base}-*.ranks"):  # caches of earlier rank files
        if old != path:
            with contextlib.suppress(OSError):
                old.unlink()
    return path
