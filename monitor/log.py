"""Logging setup (Qt-free): a rotating file under the log dir, and a filter that masks keys."""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import re
from pathlib import Path
from typing import cast

# OpenAI key shapes: sk-..., sk-proj-..., sk-admin-..., sk-svcacct-... (20+ key characters).
_KEY_RE = re.compile(r"sk-[A-Za-z0-9_\-]{16,}")


def mask_secret(secret: str) -> str:
    """`sk-…abcd`: enough to recognise a key, never enough to use it."""
    tail = secret[-4:] if len(secret) >= 8 else ""
    return f"sk-…{tail}"


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


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file that only its owner can read (0600), whatever the umask: it may
    name labels, paths and masked keys. Rotated files keep the mode (rename)."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if os.name == "posix":
            os.fchmod(fd, 0o600)  # a file made by an older version may be 0644
        stream = open(fd, self.mode, encoding=self.encoding, errors=self.errors)  # noqa: SIM115
        return cast(io.TextIOWrapper, stream)


def setup_logging(log_file: Path | None, level: int = logging.INFO) -> None:
    """Send the package's logs to `log_file` (rotated) and warnings to stderr."""
    logger = logging.getLogger("monitor")
    logger.setLevel(level)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    redactor = RedactingFilter()
    console = logging.StreamHandler()
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
