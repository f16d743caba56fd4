"""A one-line progress bar for long CLI work on a terminal (and nothing anywhere else).

`TerminalBar.for_stream(stream)` gives a bar only when `stream` is a TTY, so pipes, files
and `--json` output stay exactly as they were. The bar redraws one line with `\\r` and
clears it when done, leaving the command's normal output below.
"""

from __future__ import annotations

import shutil
from typing import TextIO

from monitor.services.org_sync import SyncProgress

BAR_CELLS = 24


def bar_line(p: SyncProgress, width: int) -> str:
    """`[########----------------] 5/13 windows · 23 requests · 4 s`, cut to `width`."""
    filled = round(BAR_CELLS * p.fraction)
    head = "first sync" if p.first_run else "syncing"
    text = (f"{head} [{'#' * filled}{'-' * (BAR_CELLS - filled)}] "
            f"{p.windows_done}/{p.windows_total} windows · {p.requests:,} requests · "
            f"{p.elapsed_s:.0f} s")
    if p.resumed:
        text += f" (resumed: {p.resumed} already fetched)"
    return text[: max(10, width - 1)]


class TerminalBar:
    """Draws SyncProgress on one terminal line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._drawn = 0

    @classmethod
    def for_stream(cls, stream: TextIO) -> TerminalBar | None:
        isatty = getattr(stream, "isatty", None)
        return cls(stream) if callable(isatty) and isatty() else None

    def __call__(self, p: SyncProgress) -> None:
        line = bar_line(p, shutil.get_terminal_size((80, 24)).columns)
        pad = " " * max(0, self._drawn - len(line))
        self.stream.write("\r" + line + pad)
        self.stream.flush()
        self._drawn = len(line)

    def clear(self) -> None:
        if self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self._drawn = 0
