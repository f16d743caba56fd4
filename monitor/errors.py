"""Two kinds of failure: KnownError (the environment; safe to show) and BugError (ours)."""

from __future__ import annotations

from monitor import exit_codes


class MonitorError(Exception):
    """Base of every error this package raises on purpose."""


class KnownError(MonitorError):
    """A problem with the environment or the user's input: network, auth, files, keyring.

    Its `text()` is written for the user and never contains a secret; `exit_code` is the
    command's exit status for it (monitor/exit_codes.py).
    """

    exit_code: int = exit_codes.ERROR

    def text(self) -> str:
        return str(self)


class ConfigError(KnownError):
    """A settings, override or metadata file could not be used as written."""

    exit_code = exit_codes.CONFIG_UNUSABLE


class CannotWriteError(KnownError):
    """A file or folder of ours cannot be written (permissions, read-only disk, disk full)."""

    exit_code = exit_codes.CANNOT_WRITE


class BugError(MonitorError):
    """Something that should not happen; goes to the crash path with a traceback."""
