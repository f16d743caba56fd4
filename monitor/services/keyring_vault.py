"""Where key secrets live: the OS keyring (never a plaintext backend), or a dict for tests.

`KeyringVault` talks to `keyring` (Secret Service, KWallet, macOS, Windows), narrows a chain
of backends to its safe members and turns every failure into `KeyringUnavailable`, whose text
says what to install or unlock and never holds a secret.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any, Protocol

from monitor import exit_codes
from monitor.errors import KnownError
from monitor.log import mask_secret, redact

log = logging.getLogger(__name__)

SERVICE_NAME = "token-monitor"


UNLOCK_HELP = (
    "Install and unlock a Secret Service keyring (GNOME Keyring: `gnome-keyring`, or KWallet) "
    "in your desktop session. On a headless machine run Token Monitor inside `dbus-run-session` "
    "after unlocking one: `echo -n PASSWORD | gnome-keyring-daemon --unlock "
    "--components=secrets`. For headless syncs you can instead export OPENAI_ADMIN_KEY. "
    "Token Monitor never stores keys in a plain file."
)


class KeyringUnavailable(KnownError):  # noqa: N818 - name fixed by CONTRACTS.md
    """No safe OS keyring is usable right now (missing, locked, or a plaintext backend)."""

    exit_code = exit_codes.KEYRING_UNUSABLE

    def __init__(self, reason: str) -> None:
        super().__init__(f"the OS keyring is not usable: {reason}. {UNLOCK_HELP}")
        self.reason = reason


class KeyVault(Protocol):
    """Where secrets live: `get` gives None when absent; deleting an absent label is a no-op."""

    def get(self, label: str) -> str | None: ...

    def set(self, label: str, secret: str) -> None: ...

    def delete(self, label: str) -> None: ...


class MemoryVault:
    """A vault in a dict, for tests. Its repr shows labels only."""

    def __init__(self) -> None:
        self._secrets: dict[str, str] = {}

    def get(self, label: str) -> str | None:
        return self._secrets.get(label)

    def set(self, label: str, secret: str) -> None:
        self._secrets[label] = secret

    def delete(self, label: str) -> None:
        self._secrets.pop(label, None)

    def labels(self) -> list[str]:
        return sorted(self._secrets)

    def __repr__(self) -> str:
        return f"MemoryVault(labels={self.labels()!r})"


# --- the OS keyring ---------------------------------------------------------------------------

# Backends that would put a secret somewhere we promise it never goes, or nowhere at all.
_REJECTED_BACKENDS = {
    "keyring.backends.fail.Keyring": "no keyring backend is installed or reachable",
    "keyring.backends.null.Keyring": "the null keyring backend stores nothing",
}


def _qualname(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _rejection(backend: object) -> str | None:
    """Why `backend` may not hold our secrets, or None when it may."""
    for cls in type(backend).__mro__:
        name = f"{cls.__module__}.{cls.__qualname__}"
        if name in _REJECTED_BACKENDS:
            return _REJECTED_BACKENDS[name]
        if cls.__module__.startswith("keyrings.alt") and "Plaintext" in cls.__qualname__:
            return f"{name} keeps secrets in a plain file; Token Monitor refuses it"
    return None


def _describe_error(exc: BaseException) -> str:
    """A short, secret-free reason for a keyring failure, naming what to do about it."""
    import keyring.errors

    text = str(exc).strip().rstrip(".")
    lowered = text.lower()
    if isinstance(exc, keyring.errors.NoKeyringError):
        return "no keyring backend is installed or reachable (no Secret Service on the D-Bus " \
            "session bus?)"
    if isinstance(exc, keyring.errors.KeyringLocked) or "locked" in lowered:
        return "the keyring collection is locked; unlock it (log in to the desktop session or " \
            "`gnome-keyring-daemon --unlock`)"
    if "prompt dismissed" in lowered or "prompt" in lowered:
        return "the keyring asked for a password and the prompt was dismissed (no default " \
            "collection exists yet or it is locked; unlock it first)"
    if "dbus" in lowered or "d-bus" in lowered or "bus_address" in lowered:
        return f"cannot reach the Secret Service over D-Bus ({text[:160]})"
    return f"{type(exc).__name__}: {text[:160]}"


def _is_keyring_failure(exc: BaseException) -> bool:
    import keyring.errors

    if isinstance(exc, keyring.errors.KeyringError | OSError | RuntimeError):
        return True
    module = type(exc).__module__
    return module.startswith(("secretstorage", "jeepney", "dbus"))


class KeyringVault:
    """Secrets in the OS keyring via `keyring` (Secret Service, KWallet, macOS, Windows).

    `backend` defaults to `keyring.get_keyring()`; a chain of backends is narrowed to its safe
    members. Every failure becomes `KeyringUnavailable`, never a plaintext fallback.
    """

    def __init__(self, backend: Any | None = None, service: str = SERVICE_NAME) -> None:
        self._given = backend
        self._backend: Any | None = None
        self.service = service

    def __repr__(self) -> str:
        return f"KeyringVault(service={self.service!r})"

    def backend(self) -> Any:
        """The backend actually used; raises KeyringUnavailable when none is acceptable."""
        if self._backend is not None:
            return self._backend
        try:
            import keyring
            from keyring.backends.chainer import ChainerBackend

            chosen = self._given if self._given is not None else keyring.get_keyring()
            if isinstance(chosen, ChainerBackend):
                safe = [b for b in chosen.backends if _rejection(b) is None]
                if not safe:
                    names = ", ".join(_qualname(b) for b in chosen.backends) or "none"
                    raise KeyringUnavailable(f"no safe keyring backend among: {names}")
                chosen = safe[0]
        except KeyringUnavailable:
            raise
        except (ImportError, AttributeError, ValueError) as exc:
            named = os.environ.get("PYTHON_KEYRING_BACKEND")
            if not named or self._given is not None:
                raise
            raise KeyringUnavailable(
                f"PYTHON_KEYRING_BACKEND={named!r} names a backend that cannot be loaded "
                f"({type(exc).__name__}: {str(exc)[:120]}); unset it or name an installed "
                "one, e.g. keyring.backends.SecretService.Keyring") from None
        except Exception as exc:
            if _is_keyring_failure(exc):
                raise KeyringUnavailable(_describe_error(exc)) from None
            raise
        why = _rejection(chosen)
        if why is not None:
            raise KeyringUnavailable(why)
        self._backend = chosen
        log.debug("keyring backend: %s", _qualname(chosen))
        return chosen

    def _call(self, what: str, label: str, op: Callable[[Any], Any],
              secret: str | None = None) -> Any:
        backend = self.backend()
        try:
            return op(backend)
        except Exception as exc:
            if _is_keyring_failure(exc):
                log.warning("keyring %s for label %r failed: %s", what, label,
                            type(exc).__name__)
                reason = redact(_describe_error(exc))
                if secret:
                    reason = reason.replace(secret, mask_secret(secret))
                raise KeyringUnavailable(reason) from None
            raise

    def get(self, label: str) -> str | None:
        value = self._call("read", label, lambda b: b.get_password(self.service, label))
        return value if isinstance(value, str) else None

    def set(self, label: str, secret: str) -> None:
        self._call("write", label, lambda b: b.set_password(self.service, label, secret),
                   secret=secret)

    def delete(self, label: str) -> None:
        import keyring.errors

        def op(b: Any) -> None:
            # absent already: deleting is idempotent
            with contextlib.suppress(keyring.errors.PasswordDeleteError):
                b.delete_password(self.service, label)

        self._call("delete", label, op)
