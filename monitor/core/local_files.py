"""Reading the user's small local files (settings, keys, price override, caches, imports) safely.

A path that names a FIFO blocks `open()` until a writer appears, and one that names a device
(a symlink to /dev/zero) or a huge file is read until memory runs out. So every reader of a
small file of ours goes through `read_local_file`: it opens with O_NONBLOCK (a FIFO does not
block the open), checks the *opened* descriptor is a regular file of a sane size (no race
with a swap of the path), then reads at most that many bytes. Never used for SQLite files:
those are opened by SQLite only.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MAX_LOCAL_FILE_BYTES = 16 * 1024 * 1024
"""Far above any settings, keys or price table file (LiteLLM's whole table is ~1 MB)."""


class UnsafeFileError(OSError):
    """The path is not a regular file (a FIFO, a device, a socket) or is too large to read.

    An OSError, so every caller's "cannot be read" branch already handles it; `strerror` says
    what the file is, for the user.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(errno.EINVAL, reason, str(path))


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_local_file(path: Path | str, *, max_bytes: int = MAX_LOCAL_FILE_BYTES) -> bytes:
    """The bytes of `path`, a regular file of at most `max_bytes`.

    Raises:
        FileNotFoundError: no such file (callers treat it as "use the defaults").
        IsADirectoryError: a directory.
        UnsafeFileError: a FIFO, a device, a socket or a file larger than `max_bytes`.
        OSError: any other failure to open or read (permissions, I/O).
    """
    return read_local_file_stat(path, max_bytes=max_bytes)[0]


def read_local_file_stat(path: Path | str, *, max_bytes: int = MAX_LOCAL_FILE_BYTES,
                         ) -> tuple[bytes, os.stat_result]:
    """`read_local_file`, with the opened file's stat (owner and mode checks use it)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(st.st_mode):
            kind = _kind(st.st_mode)
            raise UnsafeFileError(path, f"is {kind}, not a regular file")
        if st.st_size > max_bytes:
            raise UnsafeFileError(path, f"is too large ({st.st_size:,} bytes; at most "
                                        f"{max_bytes:,} are read)")
        chunks: list[bytes] = []
        total = 0
        while True:  # a file that grows while we read is still cut at the bound
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise UnsafeFileError(path, f"is too large (more than {max_bytes:,} bytes)")
        return b"".join(chunks), st
    finally:
        os.close(fd)


def read_local_text(path: Path | str, *, max_bytes: int = MAX_LOCAL_FILE_BYTES) -> str:
    """`read_local_file` decoded as UTF-8, a leading byte-order mark dropped (editors on
    Windows write one). Raises UnicodeDecodeError (a ValueError) for other encodings."""
    return decode_text(read_local_file(path, max_bytes=max_bytes))


def decode_text(data: bytes) -> str:
    """UTF-8 with an optional BOM: the one decoding of the user's JSON files."""
    return data.decode("utf-8-sig")
