"""API keys: secrets in the OS keyring only, labels and expiry metadata in a JSON file.

The secret of a key lives in the OS keyring (`keyring`, service "token-monitor", username = the
label) and nowhere else: not in the metadata file, logs, exception text or any `repr()`. The
metadata file (`paths.keys_file`, 0600, atomic writes) holds label, kind, dates, the last four
characters and an optional project id. With no usable keyring there is no plaintext fallback:
`KeyringUnavailable` says what to install or unlock. `OPENAI_ADMIN_KEY` is read (never stored)
when no admin key is stored, for headless runs.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import logging
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from monitor import exit_codes
from monitor.atomic import atomic_write_text
from monitor.core.clock import system_clock
from monitor.core.json_limits import JsonTooDeep, loads_bounded
from monitor.core.local_files import decode_text, read_local_file
from monitor.errors import ConfigError, KnownError
from monitor.log import mask_secret, redact

log = logging.getLogger(__name__)

SERVICE_NAME = "token-monitor"
ADMIN_ENV = "OPENAI_ADMIN_KEY"
KINDS = ("admin", "project")
EXPIRY_WARNING_DAYS = 7
# check_key outcomes that say something about the key itself (a network error does not)
CONCLUSIVE_OUTCOMES = ("valid", "invalid_key", "missing_scope")
KEY_RENEW_DAYS = 90  # default age (days from `created`) at which a key is due for renewal
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
_FILE_VERSION = 1
MAX_SECRET_BYTES = 1024  # API keys are 50-200 characters; more is a paste of something else

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


class KeyNotFound(KnownError):  # noqa: N818 - reads better at call sites than KeyNotFoundError
    """No key with that label is stored."""


class KeyInputError(KnownError):
    """A label, kind, date or secret given by the user cannot be used.

    `field` names the input at fault ("label", "kind", "secret", "expires") so a form can
    show the message next to it.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SecretRefused(KeyInputError):  # noqa: N818 - reads better at call sites
    """A secret that cannot be an API key (not UTF-8, invisible characters, too long).

    The message says why and where (a code point and a position), never the secret.
    """

    exit_code = exit_codes.DATA_REFUSED

    def __init__(self, message: str, field: str | None = "secret") -> None:
        super().__init__(message, field)


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


# --- metadata ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyMeta:
    """What we keep about a key besides its secret. Safe to show, log and serialise."""

    label: str
    kind: str  # "admin" | "project"
    created: date
    expires: date | None
    last4: str
    project_id: str | None = None
    tested_at: datetime | None = None  # when the key was last tested (aware UTC)
    test_ok: bool | None = None  # that test's verdict; None: never tested
    sync: bool = False  # the admin key the user chose for syncing

    @property
    def masked(self) -> str:
        return f"sk-…{self.last4}"

    def days_left(self, today: date) -> int | None:
        return None if self.expires is None else (self.expires - today).days

    def expiry_status(self, today: date) -> str:
        """`none` (no expiry set), `ok`, `expiring` (≤ 7 days left) or `expired`.

        `expires` is the last day the key is expected to work.
        """
        left = self.days_left(today)
        if left is None:
            return "none"
        if left < 0:
            return "expired"
        if left <= EXPIRY_WARNING_DAYS:
            return "expiring"
        return "ok"

    def expiry_text(self, today: date) -> str:
        left = self.days_left(today)
        if left is None or self.expires is None:
            return "no expiry set"
        if left < 0:
            return f"expired on {self.expires.isoformat()}"
        if left == 0:
            return "expires today"
        if left <= EXPIRY_WARNING_DAYS:
            return f"expires in {left} day{'s' if left != 1 else ''}"
        return f"expires {self.expires.isoformat()}"

    def age_days(self, today: date) -> int:
        """Days since the key was added (its `created` date)."""
        return max(0, (today - self.created).days)

    def renewal_due(self, today: date, renew_days: int = KEY_RENEW_DAYS) -> bool:
        """Whether the key is `renew_days` old or older (0 turns the reminder off)."""
        return renew_days > 0 and self.age_days(today) >= renew_days

    def test_text(self) -> str:
        """The last test's verdict in words: `valid (tested 2026-12-01)`, `invalid …`."""
        if self.test_ok is None or self.tested_at is None:
            return "not tested"
        day = self.tested_at.astimezone().date().isoformat()
        return f"valid (tested {day})" if self.test_ok else f"invalid (tested {day})"

    def sync_refusal(self, today: date) -> str | None:
        """Why this key may not be used to sync (None: it may). The one rule every surface
        (the chosen key, `Use for sync`, the keys dialog, `keys list`) calls."""
        if self.kind != "admin":
            return f"{self.label!r} is a project key; only an admin key can sync"
        if self.expiry_status(today) == "expired" and self.expires is not None:
            return f"{self.label!r} expired on {self.expires.isoformat()}"
        if self.test_ok is False:
            return f"{self.label!r} failed its last test; test it again once it is fixed"
        return None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": self.label,
            "kind": self.kind,
            "created": self.created.isoformat(),
            "expires": self.expires.isoformat() if self.expires else None,
            "last4": self.last4,
            "project_id": self.project_id,
        }
        if self.tested_at is not None:  # only once tested / chosen: older files stay as-is
            out["tested_at"] = self.tested_at.isoformat()
            out["test_ok"] = self.test_ok
        if self.sync:
            out["sync"] = True
        return out


@dataclass(frozen=True, repr=False)
class AdminCredential:
    """The admin key a sync uses and where it came from (`stored` label or `env`)."""

    secret: str = field(repr=False)
    source: str  # "stored" | "env"
    label: str | None = None

    def describe(self) -> str:
        if self.source == "env":
            return f"${ADMIN_ENV} ({mask_secret(self.secret)})"
        return f"stored key {self.label!r} ({mask_secret(self.secret)})"

    def __repr__(self) -> str:
        return f"AdminCredential(source={self.source!r}, label={self.label!r}, " \
            f"secret={mask_secret(self.secret)!r})"

    __str__ = describe


def validate_label(label: str) -> str:
    if not _LABEL_RE.match(label):
        raise KeyInputError(
            f"invalid label {label!r}: use 1-64 letters, digits, '.', '_', '-', '@' or '+', "
            "starting with a letter or digit", "label"
        )
    return label


def clean_secret(raw: str) -> str:
    """The key with surrounding whitespace removed; rejects empty or multi-token input and
    anything `check_secret` refuses."""
    secret = raw.strip()
    if not secret:
        raise KeyInputError("no key given (empty input)", "secret")
    check_secret(secret)
    if len(secret) < 8:
        raise KeyInputError("that is too short to be an API key", "secret")
    return secret


def _char_name(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def check_secret(secret: str, what: str = "the key", fix: str = "paste only the key") -> None:
    """Refuse what cannot be an API key, saying why and where but never showing the key.

    API keys are short printable ASCII. A zero-width or control character (usually copied
    along with the key) would only fail later, inside an HTTP header.
    """
    size = len(secret.encode("utf-8", "surrogatepass"))
    if size > MAX_SECRET_BYTES:
        raise SecretRefused(f"{what} is {size:,} bytes long, more than {MAX_SECRET_BYTES:,}: "
                            f"API keys are 50-200 characters; {fix}")
    for i, ch in enumerate(secret, start=1):
        category = unicodedata.category(ch)
        if category == "Cs":  # a byte that was not UTF-8 (surrogateescape)
            raise SecretRefused(f"{what} is not UTF-8 text (an invalid byte at character "
                                f"{i}); {fix}")
        if category in ("Cc", "Cf", "Zl", "Zp") or ch.isspace():
            kind = ("an invisible (zero-width/format) character" if category == "Cf"
                    else "a space" if ch.isspace() and category not in ("Cc",)
                    else "a control character")
            raise SecretRefused(f"{what} contains {kind} ({_char_name(ch)}) at character {i}; "
                                f"it was probably copied along with the key: {fix}")
        if not ch.isascii():
            raise SecretRefused(f"{what} contains a non-ASCII character ({_char_name(ch)}) at "
                                f"character {i}; API keys are plain ASCII: {fix}")


def parse_expiry(text: str | None) -> date | None:
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise KeyInputError(f"invalid expiry date {text!r}: use YYYY-MM-DD", "expires") from None


def _meta_from_json(item: Any, path: Path) -> KeyMeta:
    try:
        if not isinstance(item, dict):
            raise TypeError("entry is not an object")
        kind = item["kind"]
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        expires = item.get("expires")
        project_id = item.get("project_id")
        last4 = str(item.get("last4", ""))[-4:]
        tested_at = item.get("tested_at")
        test_ok = item.get("test_ok")
        return KeyMeta(
            label=validate_label(str(item["label"])),
            kind=kind,
            created=date.fromisoformat(item["created"]),
            expires=date.fromisoformat(expires) if expires else None,
            last4=last4,
            project_id=str(project_id) if project_id else None,
            tested_at=datetime.fromisoformat(tested_at) if tested_at else None,
            test_ok=test_ok if isinstance(test_ok, bool) else None,
            sync=item.get("sync") is True,
        )
    except (KeyError, TypeError, ValueError, KeyInputError) as exc:
        raise ConfigError(f"{path}: bad key entry ({exc})") from None


def _system_today() -> date:
    return system_clock().astimezone().date()


class KeyStore:
    """Labelled API keys: metadata in `meta_path`, secrets in `vault`.

    Reading the list never touches the keyring, so `keys list` works even when it is locked.
    """

    def __init__(self, meta_path: Path, vault: KeyVault,
                 env: Callable[[str], str | None] = os.environ.get,
                 today: Callable[[], date] = _system_today) -> None:
        self.meta_path = meta_path
        self.vault = vault
        self._env = env
        self._today = today  # the local date, from the app's clock
        self.warnings: list[str] = []  # e.g. a corrupt metadata file moved aside

    def today(self) -> date:
        """The local date by the clock this store was given (expiry decisions use it)."""
        return self._today()

    @classmethod
    def open(cls, meta_path: Path, vault: KeyVault | None = None,
             today: Callable[[], date] = _system_today) -> KeyStore:
        store = cls(meta_path, vault if vault is not None else KeyringVault(), today=today)
        store.list()  # surface a broken metadata file now, not in the middle of a sync
        return store

    def __repr__(self) -> str:
        return f"KeyStore(meta_path={str(self.meta_path)!r}, vault={self.vault!r})"

    # metadata file ----------------------------------------------------------------------

    def _load(self) -> list[KeyMeta]:
        try:
            data = read_local_file(self.meta_path)  # no FIFO, device or huge file
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ConfigError(f"cannot read {self.meta_path}: {exc.strerror}") from None
        try:
            try:
                parsed = loads_bounded(decode_text(data))
            except UnicodeDecodeError:
                raise ConfigError(f"{self.meta_path} is not UTF-8 text") from None
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"{self.meta_path} is not valid JSON (line {exc.lineno})"
                ) from None
            except JsonTooDeep as exc:
                raise ConfigError(f"{self.meta_path} is not valid JSON ({exc})") from None
            items = parsed.get("keys") if isinstance(parsed, dict) else None
            if not isinstance(items, list):
                raise ConfigError(f"{self.meta_path}: expected an object with a \"keys\" list")
            return [_meta_from_json(item, self.meta_path) for item in items]
        except ConfigError as exc:
            self._move_aside(exc)
            return []

    def _move_aside(self, problem: ConfigError) -> None:
        """Keep a corrupt metadata file under another name and start an empty list.

        Nothing is lost: the file is renamed, not deleted, and the secrets stay in the keyring.
        """
        stem = f"{self.meta_path.name}.corrupt-{system_clock():%Y%m%dT%H%M%S}"
        aside = self.meta_path.with_name(stem)
        n = 1
        while aside.exists():  # never overwrite an earlier copy
            n += 1
            aside = self.meta_path.with_name(f"{stem}-{n}")
        try:
            self.meta_path.replace(aside)
        except OSError as exc:
            raise ConfigError(
                f"{problem.text()}; it cannot be moved aside ({exc.strerror}): "
                "fix or remove it by hand"
            ) from None
        msg = (
            f"{problem.text()}; moved it to {aside.name} and started an empty key list. "
            "The secrets are still in the OS keyring: add the keys again with "
            "`token-monitor keys add --label L --kind K --replace`"
        )
        log.info(msg)  # shown to the user through `warnings` (AppContext.warn)
        if msg not in self.warnings:
            self.warnings.append(msg)

    def _save(self, metas: list[KeyMeta]) -> None:
        body = {"version": _FILE_VERSION, "keys": [m.to_json() for m in metas]}
        atomic_write_text(self.meta_path, json.dumps(body, indent=2) + "\n", mode=0o600)

    # API --------------------------------------------------------------------------------

    def list(self) -> list[KeyMeta]:
        return sorted(self._load(), key=lambda m: (m.kind, m.label))

    def get_meta(self, label: str) -> KeyMeta:
        for meta in self._load():
            if meta.label == label:
                return meta
        raise KeyNotFound(f"no key labelled {label!r} (see `token-monitor keys list`)")

    def add(self, label: str, kind: str, secret: str, expires: date | None = None,
            project_id: str | None = None, *, replace: bool = False,
            today: date | None = None) -> KeyMeta:
        """Store `secret` in the vault and its metadata in the file; returns the metadata."""
        secret, metas = self._check_new(label, kind, secret, replace)
        meta = KeyMeta(label=label, kind=kind, created=today or self._today(), expires=expires,
                       last4=secret[-4:], project_id=project_id or None)
        self.vault.set(label, secret)
        try:
            self._save([m for m in metas if m.label != label] + [meta])
        except BaseException:
            try:
                self.vault.delete(label)
            except KnownError:
                log.warning("could not roll back keyring entry for label %r", label)
            raise
        log.info("stored %s key %r (%s)", kind, label, meta.masked)
        return meta

    def check_new(self, label: str, kind: str, secret: str, *, replace: bool = False) -> str:
        """Refuse what `add` would refuse, before anything is stored or sent (so a key is
        tested only when it could be stored); returns the cleaned secret."""
        return self._check_new(label, kind, secret, replace)[0]

    def _check_new(self, label: str, kind: str, secret: str,
                   replace: bool) -> tuple[str, builtins.list[KeyMeta]]:
        validate_label(label)
        if kind not in KINDS:
            raise KeyInputError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        secret = clean_secret(secret)
        probe = getattr(self.vault, "backend", None)
        if callable(probe):
            probe()  # KeyringUnavailable now, before the key is sent anywhere
        metas = self._load()
        if any(m.label == label for m in metas) and not replace:
            raise KeyInputError(f"a key labelled {label!r} already exists; remove it first",
                                "label")
        same = self.label_of_secret(secret, metas, except_label=label)
        if same is not None:
            raise KeyInputError(f"this key is already stored as {same!r}", "secret")
        return secret, metas

    def remove(self, label: str) -> None:
        metas = self._load()
        if not any(m.label == label for m in metas):
            raise KeyNotFound(f"no key labelled {label!r} (see `token-monitor keys list`)")
        self.vault.delete(label)
        self._save([m for m in metas if m.label != label])
        log.info("removed key %r", label)

    def secret(self, label: str) -> str:
        meta = self.get_meta(label)
        value = self.vault.get(label)
        if value is None:
            raise KeyNotFound(
                f"key {label!r} is listed but its secret is missing from the OS keyring; "
                f"remove it and add it again"
            )
        check_secret(value, f"the key {label!r} in the OS keyring",
                     fix=f"add it again with `token-monitor keys add --label {label} --kind "
                         f"{meta.kind} --replace`")
        return value

    # trust: duplicates, test verdicts, the key sync uses --------------------------------

    def label_of_secret(self, secret: str, metas: builtins.list[KeyMeta] | None = None, *,
                        except_label: str | None = None) -> str | None:
        """The label already holding `secret`, or None.

        Only keys whose last four characters match are read from the keyring, so adding a
        new key costs no keyring reads in the usual case.
        """
        for m in metas if metas is not None else self._load():
            if m.label != except_label and m.last4 == secret[-4:] \
                    and self.vault.get(m.label) == secret:
                return m.label
        return None

    def _update(self, label: str, change: Callable[[KeyMeta], KeyMeta]) -> KeyMeta:
        metas = self._load()
        if not any(m.label == label for m in metas):
            raise KeyNotFound(f"no key labelled {label!r} (see `token-monitor keys list`)")
        out = [change(m) if m.label == label else m for m in metas]
        self._save(out)
        return next(m for m in out if m.label == label)

    def mark_tested(self, label: str, ok: bool, at: datetime) -> KeyMeta:
        """Record a test's verdict (an invalid key is kept, marked, and skipped by sync)."""
        from dataclasses import replace

        return self._update(label, lambda m: replace(m, tested_at=at, test_ok=ok))

    def use_for_sync(self, label: str, today: date | None = None) -> None:
        """Make `label` the key syncing uses; refused (KeyInputError) for a project key, an
        expired key or one whose last test failed."""
        from dataclasses import replace

        meta = self.get_meta(label)
        why = meta.sync_refusal(today or self._today())
        if why is not None:
            raise KeyInputError(f"not used for sync: {why}",
                                "kind" if meta.kind != "admin" else None)
        self._save([replace(m, sync=m.label == label) for m in self._load()])

    def sync_admin(self, today: date | None = None) -> KeyMeta | None:
        """The stored admin key syncing uses: the one the user chose if it is still usable,
        else the newest usable one (`KeyMeta.sync_refusal`); None when no usable admin key
        is stored (an expired or invalid key is never chosen)."""
        day = today or self._today()
        usable = [m for m in self._load() if m.sync_refusal(day) is None]
        usable.sort(key=lambda m: (not m.sync, -m.created.toordinal(), m.label))
        return usable[0] if usable else None

    def unusable_admins(self, today: date | None = None) -> builtins.list[KeyMeta]:
        """Stored admin keys that sync will not use (expired or failed their last test)."""
        day = today or self._today()
        return [m for m in self._load() if m.kind == "admin" and m.sync_refusal(day)]

    def admin_credential(self, today: date | None = None) -> AdminCredential | None:
        """The stored admin key (`sync_admin`), else $OPENAI_ADMIN_KEY, else None.

        When an admin key is stored but the keyring cannot be read and the environment has a
        key, the environment key is used (headless runs); otherwise KeyringUnavailable.
        """
        chosen = self.sync_admin(today)
        env_value = (self._env(ADMIN_ENV) or "").strip() or None
        if chosen is not None:
            try:
                return AdminCredential(self.secret(chosen.label), "stored", chosen.label)
            except KeyringUnavailable:
                if env_value is None:
                    raise
                log.warning("keyring unusable; using $%s instead", ADMIN_ENV)
        if env_value is not None:
            check_secret(env_value, f"${ADMIN_ENV}", fix="export only the key")
            return AdminCredential(env_value, "env")
        return None

    def admin_key(self) -> str | None:
        """Stored admin key, else $OPENAI_ADMIN_KEY (never persisted), else None."""
        cred = self.admin_credential()
        return cred.secret if cred else None
