"""The one answer to "did this small file change": the length and CRC-32 of its content.

Not the mtime: an edit in place within the file system's timestamp granularity, or a tool that
restores the mtime, would be missed. Used by the `status` cache and `status --watch` (settings
and price files) and by the running app (settings.json, `AppContext.reload_settings_if_changed`).
"""

from __future__ import annotations

import zlib
from pathlib import Path

from monitor.core.local_files import read_local_file

FileTag = list[int]
"""[length, CRC-32] of a file's bytes (a list: it is stored in JSON as it is)."""


def tag_of(data: bytes) -> FileTag:
    """The tag of content already read (so a reader tags exactly the bytes it parsed)."""
    return [len(data), zlib.crc32(data)]


def content_tag(path: Path) -> FileTag | None:
    """The tag of the file at `path` now; None when it is missing or cannot be read."""
    try:
        data = read_local_file(path)  # a FIFO or a device is "unknown", never a hang
    except OSError:
        return None
    return tag_of(data)
