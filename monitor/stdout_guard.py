"""Stdout that fails cleanly: a reader that went away ends the command quietly, a full disk
is one clear message, never a traceback or Python's "Exception ignored" at shutdown."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO, cast

from monitor import exit_codes
from monitor.errors import KnownError


class OutputClosed(BaseException):
    """The program reading stdout closed it (`| head`, `| grep -q`, `| true`).

    A BaseException, like KeyboardInterrupt: it stops the command, and no `except Exception`
    on the way may take it for a failure of its own.
    """


class OutputError(KnownError):
    """Stdout cannot be written (disk full, /dev/full, an I/O error)."""

    exit_code = exit_codes.OUTPUT_FAILED


class _Guarded:
    """Wraps a text stream; turns write/flush failures into OutputClosed or OutputError."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def _failed(self, exc: OSError) -> BaseException:
        if isinstance(exc, BrokenPipeError):
            return OutputClosed()
        return OutputError(f"cannot write the output: {exc.strerror or exc}")

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise self._failed(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise self._failed(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def guarded_stdout() -> Iterator[None]:
    """Within the block, sys.stdout raises OutputClosed / OutputError; flushed at the end."""
    real = sys.stdout
    if real is None:  # no console at all (pythonw): print() already writes nowhere
        yield
        return
    sys.stdout = cast(TextIO, _Guarded(real))
    try:
        yield
        sys.stdout.flush()
    finally:
        sys.stdout = real


def reader_gone(stream: Any) -> bool:
    """True when `stream` is a pipe (or terminal) whose reader has closed it, found without
    writing: a loop that prints only on change (`status --watch | head -c1`) would otherwise
    never notice and run forever. POSIX poll() reports POLLERR/POLLHUP for that; elsewhere,
    or for a stream with no descriptor, False (the next write tells)."""
    try:
        import select

        fd = stream.fileno()
        poller = select.poll()
    except (OSError, ValueError, AttributeError):  # no fd (tests), no poll (Windows)
        return False
    poller.register(fd, 0)  # POLLERR, POLLHUP and POLLNVAL are always reported
    try:
        events = poller.poll(0)
    except OSError:
        return False
    return any(mask & (select.POLLERR | select.POLLHUP) for _, mask in events)


def discard_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush of what is still buffered
    cannot fail again (the remedy the Python docs give for SIGPIPE)."""
    # OSError also covers io.UnsupportedOperation: a captured stdout in tests has no fd
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)

