"""Two kinds of failure: KnownError (the environment; safe to show) and BugError (ours)."""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error this package raises on purpose."""


class KnownError(MonitorError):
    """A problem with the environment or the user's input: network, auth, files, keyring.

    Its `text()` is written for the user and never contains a secret.
    """

    def text(self) -> str:
        return str(self)


class ConfigError(KnownError):
    """A settings, override or metadata file could not be used as written."""


class BugError(MonitorError):
    """Something that should not happen; goes to the crash path with a traceback."""
