"""API keys: secrets in the OS keyring only, labels and expiry metadata in a JSON file.

The secret of a key lives in the OS keyring (`keyring`, service "token-monitor", username = the
label) and nowhere else: not in the metadata file, logs, exception text or any `repr()`. The
metadata file (`paths.keys_file`, 0600, atomic writes) holds label, kind, dates, the last four
characters and an optional project id. With no usable keyring there is no plaintext fallback:
`KeyringUnavailable` says what to install or unlock. `OPENAI_ADMIN_KEY` is read (never stored)
when no admin key is stored, for headless runs.

`KeyStore` owns the metadata file and which admin key a sync uses; the record and input rules
are in `key_meta`, the keyring access in `keyring_vault`.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from monitor.atomic import atomic_write_text
from monitor.core.clock import system_clock
from monitor.core.json_limits import JsonTooDeep, loads_bounded
from monitor.core.local_files import decode_text, read_local_file
from monitor.errors import ConfigError, KnownError
from monitor.services.key_meta import (
    KINDS,
    KeyInputError,
    KeyMeta,
    check_secret,
    clean_secret,
    meta_from_json,
    validate_label,
)
from monitor.services.keyring_vault import KeyringUnavailable, KeyringVault, KeyVault
from monitor.services.sync_key import (
    ADMIN_ENV,
    AdminCredential,
    sync_key_among,
    unusable_admin_keys,
)

log = logging.getLogger(__name__)

# check_key outcomes that say something about the key itself (a network error does not)
CONCLUSIVE_OUTCOMES = ("valid", "invalid_key", "missing_scope")
_FILE_VERSION = 1


class KeyNotFound(KnownError):  # noqa: N818 - reads better at call sites than KeyNotFoundError
    """No key with that label is stored."""




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
            return [meta_from_json(item, self.meta_path) for item in items]
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
        return sync_key_among(self._load(), today or self._today())

    def unusable_admins(self, today: date | None = None) -> builtins.list[KeyMeta]:
        """Stored admin keys that sync will not use (expired or failed their last test)."""
        return unusable_admin_keys(self._load(), today or self._today())

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
