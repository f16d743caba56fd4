"""Logging setup (Qt-free): a rotating file under the log dir, and a filter that masks keys."""

from __future__ import annotations

import functools
import io
import logging
import os
import re
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import logging.handlers

# OpenAI key shapes: sk-..., sk-proj-..., sk-admin-..., sk-svcacct-... (20+ key characters),
# and the proxy's virtual keys tm-... (monitor.services.virtual_keys).
_KEY_RE = re.compile(r"(?:sk|tm)-[A-Za-z0-9_\-]{16,}")

LIBRARY_LOGGERS = ("aiohttp", "asyncio")
"""Third-party loggers that can carry request bytes; `setup_logging` sends them through the
same redacting handlers as the app's own (see also proxy.guard.route_library_logs)."""


def mask_secret(secret: str) -> str:
    """`sk-…abcd` (`tm-…abcd` for a virtual key): enough to recognise a key, never to use it."""
    tail = secret[-4:] if len(secret) >= 8 else ""
    prefix = "tm-" if secret.startswith("tm-") else "sk-"
    return f"{prefix}…{tail}"


def redact(text: str) -> str:
    """Replace anything that looks like an OpenAI key with its masked form."""
    return _KEY_RE.sub(lambda m: mask_secret(m.group(0)), text)


class RedactingFilter(logging.Filter):
    """Masks key-shaped strings in every record, whatever the caller passed."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def _open_private(filename: str, mode: str, encoding: str | None,
                  errors: str | None) -> io.TextIOWrapper:
    """Open the log file for appending as 0600, whatever the umask (a file made by an older
    version may be 0644)."""
    fd = os.open(filename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    if os.name == "posix" and stat.S_ISREG(os.fstat(fd).st_mode):  # never chmod a device
        os.fchmod(fd, 0o600)
    stream = open(fd, mode, encoding=encoding, errors=errors)  # noqa: SIM115
    return cast(io.TextIOWrapper, stream)


class _ReportsOnce:
    """A handler's failure to write (a full disk, a closed stderr) said once, in one line.

    logging's default prints "--- Logging error ---" and a traceback for every record: on a
    full disk that floods stderr (184 in 20 s). The first failure of each handler gives one
    line on stderr; later ones are dropped (the records could not be kept anyway).
    """

    _reported = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: ARG002 - logging calls it so
        if self._reported:
            return
        self._reported = True
        exc = sys.exc_info()[1]
        detail = (exc.strerror if isinstance(exc, OSError) and exc.strerror else
                  f"{type(exc).__name__}: {redact(str(exc))}")
        where = getattr(self, "baseFilename", None) or "stderr"
        try:
            sys.stderr.write(f"warning: cannot write the log to {where} ({detail}); "
                             "further log records are dropped\n")
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass


class _ConsoleHandler(_ReportsOnce, logging.StreamHandler):  # type: ignore[type-arg]
    """Warnings on stderr; a stderr that cannot be written is no reason to fail."""


@functools.cache
def _rotating_class() -> type[logging.handlers.RotatingFileHandler]:
    import logging.handlers

    class _PrivateRotating(_ReportsOnce, logging.handlers.RotatingFileHandler):
        def _open(self) -> io.TextIOWrapper:
            return _open_private(self.baseFilename, self.mode, self.encoding, self.errors)

    return _PrivateRotating


class PrivateRotatingFileHandler(_ReportsOnce, logging.FileHandler):
    """A rotating log file that only its owner can read (0600), whatever the umask: it may
    name labels, paths and masked keys. Rotated files keep the mode (rename).

    The file is created (0600) at once, so a folder we cannot write to is reported when the
    command starts; the writing and rotating are logging.handlers.RotatingFileHandler's, built
    on the first record. Most command runs write none, and importing logging.handlers (socket,
    pickle, queue) is a visible share of `token-monitor status`'s start-up time.
    """

    def __init__(self, filename: str | os.PathLike[str], maxBytes: int = 0,  # noqa: N803
                 backupCount: int = 0, encoding: str | None = None) -> None:  # noqa: N803
        super().__init__(filename, mode="a", encoding=encoding, delay=True)
        self.maxBytes, self.backupCount = maxBytes, backupCount
        self._rotating: logging.handlers.RotatingFileHandler | None = None
        _open_private(self.baseFilename, self.mode, self.encoding, self.errors).close()

    def emit(self, record: logging.LogRecord) -> None:
        # Called by handle(), under this handler's lock and after its filters.
        if self._rotating is None:
            try:
                self._rotating = _rotating_class()(
                    self.baseFilename, maxBytes=self.maxBytes, backupCount=self.backupCount,
                    encoding=self.encoding, errors=self.errors)
            except Exception:
                self.handleError(record)
                return
        self._rotating.setFormatter(self.formatter)
        self._rotating.emit(record)

    def flush(self) -> None:
        if self._rotating is not None:
            self._rotating.flush()

    def close(self) -> None:
        self.acquire()
        try:
            rotating, self._rotating = self._rotating, None
        finally:
            self.release()
        if rotating is not None:
            rotating.close()
        super().close()


def setup_logging(log_file: Path | None, level: int = logging.INFO) -> None:
    """Send the package's logs to `log_file` (rotated) and warnings to stderr."""
    logger = logging.getLogger("monitor")
    logger.setLevel(level)
    old = list(logger.handlers)
    for handler in old:
        logger.removeHandler(handler)
        handler.close()
    redactor = RedactingFilter()
    console = _ConsoleHandler()
    console.setLevel(logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    console.addFilter(redactor)
    logger.addHandler(console)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        fh = PrivateRotatingFileHandler(
            log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        fh.addFilter(redactor)
        logger.addHandler(fh)
    logger.propagate = False
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        for handler in old:
            library.removeHandler(handler)
        if not any(isinstance(f, RedactingFilter) for f in library.filters):
            library.addFilter(redactor)  # masks the record before any handler sees it
        for handler in logger.handlers:
            library.addHandler(handler)
