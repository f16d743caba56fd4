"""Key vault: metadata file, masking, expiry, env admin key, and refusing unsafe keyrings."""

from __future__ import annotations

import io
import json
import stat
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.backends.chainer import ChainerBackend

from monitor import exit_codes
from monitor.cli import main
from monitor.errors import ConfigError
from monitor.paths import Paths
from monitor.services.key_meta import KeyInputError, KeyMeta
from monitor.services.keyring_vault import KeyringUnavailable, KeyringVault, MemoryVault
from monitor.services.keyvault import KeyNotFound, KeyStore
from monitor.services.sync_key import ADMIN_ENV, AdminCredential
from tests.fakes.memory_keyring import DictBackend, installed

SECRET = "sk-admin-UNITtestSECRETvalue1234567890wxyz"
PROJECT_SECRET = "sk-proj-UNITtestPROJECTsecret0987654321abcd"
TODAY = date(2026, 11, 23)


class RaisingBackend(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self, exc: BaseException) -> None:
        super().__init__()
        self.exc = exc

    def get_password(self, service: str, username: str) -> str | None:
        raise self.exc

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.exc

    def delete_password(self, service: str, username: str) -> None:
        raise self.exc


def _plaintext_backend() -> KeyringBackend:
    """A class shaped like keyrings.alt.file.PlaintextKeyring (that package is not installed)."""
    cls = type("PlaintextKeyring", (DictBackend,), {"__module__": "keyrings.alt.file"})
    backend: KeyringBackend = cls()
    return backend


@pytest.fixture
def store(paths: Paths) -> KeyStore:
    return KeyStore(paths.keys_file, MemoryVault(), env={}.get)


def _all_file_bytes(root: Path) -> Iterator[tuple[Path, bytes]]:
    for p in root.rglob("*"):
        if p.is_file():
            yield p, p.read_bytes()


# --- MemoryVault and KeyStore ------------------------------------------------------------------


def test_memory_vault_protocol_semantics() -> None:
    vault = MemoryVault()
    assert vault.get("a") is None
    vault.delete("a")  # absent: no error
    vault.set("a", SECRET)
    assert vault.get("a") == SECRET
    assert SECRET not in repr(vault) and "'a'" in repr(vault)
    vault.delete("a")
    assert vault.get("a") is None


def test_add_list_secret_remove(store: KeyStore, paths: Paths) -> None:
    meta = store.add("main", "admin", f"  {SECRET}\n", expires=TODAY + timedelta(days=30),
                     today=TODAY)
    assert meta == KeyMeta("main", "admin", TODAY, TODAY + timedelta(days=30), "wxyz", None)
    store.add("ci", "project", PROJECT_SECRET, project_id="proj_alpha", today=TODAY)
    assert [m.label for m in store.list()] == ["main", "ci"]  # admin first, then project
    assert store.secret("main") == SECRET  # whitespace stripped
    assert store.secret("ci") == PROJECT_SECRET

    raw = paths.keys_file.read_text()
    assert SECRET not in raw and PROJECT_SECRET not in raw
    assert stat.S_IMODE(paths.keys_file.stat().st_mode) == 0o600
    data = json.loads(raw)
    assert data["keys"][1] == {"label": "ci", "kind": "project", "created": "2026-11-23",
                               "expires": None, "last4": "abcd", "project_id": "proj_alpha"}

    store.remove("ci")
    assert [m.label for m in store.list()] == ["main"]
    assert store.vault.get("ci") is None
    with pytest.raises(KeyNotFound):
        store.remove("ci")
    with pytest.raises(KeyNotFound):
        store.secret("ci")


def test_duplicate_label_needs_replace(store: KeyStore) -> None:
    store.add("main", "admin", SECRET)
    with pytest.raises(KeyInputError, match="already exists"):
        store.add("main", "admin", PROJECT_SECRET)
    assert store.secret("main") == SECRET
    store.add("main", "project", PROJECT_SECRET, replace=True)
    assert store.secret("main") == PROJECT_SECRET
    assert [m.kind for m in store.list()] == ["project"]


@pytest.mark.parametrize(
    ("label", "kind", "secret", "match"),
    [
        ("has space", "admin", SECRET, "invalid label"),
        ("", "admin", SECRET, "invalid label"),
        ("ok", "owner", SECRET, "kind must be"),
        ("ok", "admin", "   \n", "empty"),
        ("ok", "admin", "sk-abc def-ghijklmnop", "a space"),
        ("ok", "admin", "sk-1", "too short"),
    ],
)
def test_add_rejects_bad_input(store: KeyStore, label: str, kind: str, secret: str,
                               match: str) -> None:
    with pytest.raises(KeyInputError, match=match):
        store.add(label, kind, secret)
    assert store.list() == []


def test_reprs_and_texts_never_hold_the_secret(store: KeyStore) -> None:
    meta = store.add("main", "admin", SECRET)
    cred = AdminCredential(SECRET, "stored", "main")
    texts = [repr(store), repr(store.vault), repr(meta), str(meta), repr(cred), str(cred),
             cred.describe(), repr(KeyringVault()), meta.masked]
    for text in texts:
        assert SECRET not in text
        assert SECRET[3:-4] not in text
    assert meta.masked == "sk-…wxyz"
    assert "sk-…wxyz" in cred.describe()


@pytest.mark.parametrize(
    ("expires", "status", "text"),
    [
        (None, "none", "no expiry set"),
        (TODAY - timedelta(days=1), "expired", "expired on 2026-11-22"),
        (TODAY, "expiring", "expires today"),
        (TODAY + timedelta(days=1), "expiring", "expires in 1 day"),
        (TODAY + timedelta(days=7), "expiring", "expires in 7 days"),
        (TODAY + timedelta(days=8), "ok", "expires 2026-12-01"),
    ],
)
def test_expiry_status(expires: date | None, status: str, text: str) -> None:
    meta = KeyMeta("k", "admin", TODAY - timedelta(days=100), expires, "abcd")
    assert meta.expiry_status(TODAY) == status
    assert meta.expiry_text(TODAY) == text


def test_admin_key_prefers_stored_then_env_never_persisted(paths: Paths,
                                                            home: Path) -> None:
    env = {ADMIN_ENV: "sk-admin-FROMenvironment000000000000envk"}
    ks = KeyStore(paths.keys_file, MemoryVault(), env=env.get)
    cred = ks.admin_credential()
    assert cred is not None and cred.source == "env" and cred.secret == env[ADMIN_ENV]
    assert ks.admin_key() == env[ADMIN_ENV]
    assert ks.list() == []
    for path, data in _all_file_bytes(home):
        assert env[ADMIN_ENV].encode() not in data, path

    ks.add("proj", "project", PROJECT_SECRET)  # a project key is never used as admin key
    assert ks.admin_key() == env[ADMIN_ENV]
    ks.add("old", "admin", "sk-admin-OLDexpired00000000000000old1",
           expires=TODAY - timedelta(days=3), today=TODAY - timedelta(days=40))
    ks.add("new", "admin", SECRET, today=TODAY - timedelta(days=1))
    cred = ks.admin_credential(today=TODAY)
    assert cred is not None and (cred.source, cred.label) == ("stored", "new")
    for path, data in _all_file_bytes(home):
        assert env[ADMIN_ENV].encode() not in data, path


def test_no_admin_key_anywhere(store: KeyStore) -> None:
    assert store.admin_credential() is None
    assert store.admin_key() is None


def test_env_key_used_when_keyring_unusable(paths: Paths) -> None:
    meta_path = paths.keys_file
    KeyStore(meta_path, MemoryVault()).add("main", "admin", SECRET)  # metadata only survives
    broken = KeyringVault(fail.Keyring())
    env_key = "sk-admin-ENVfallback000000000000000env2"
    ks = KeyStore(meta_path, broken, env={ADMIN_ENV: env_key}.get)
    cred = ks.admin_credential()
    assert cred is not None and cred.source == "env" and cred.secret == env_key
    with pytest.raises(KeyringUnavailable):
        KeyStore(meta_path, broken, env={}.get).admin_credential()


def test_broken_metadata_file_is_moved_aside_not_lost(paths: Paths) -> None:
    vault = MemoryVault()
    vault.set("x", SECRET)
    bad = [b"{not json", json.dumps({"keys": [{"label": "x", "kind": "root"}]}).encode(),
           b"\xff\xfe[", b"[1, 2]"]
    for content, why in zip(bad, ["not valid JSON", "bad key entry", "not UTF-8",
                                  'expected an object with a "keys" list'], strict=True):
        paths.keys_file.write_bytes(content)
        ks = KeyStore.open(paths.keys_file, vault)
        assert ks.list() == []
        assert len(ks.warnings) == 1 and why in ks.warnings[0]
        assert not paths.keys_file.exists()
    asides = sorted(paths.keys_file.parent.glob("keys.json.corrupt-*"))
    assert sorted(p.read_bytes() for p in asides) == sorted(bad)  # every copy kept
    assert vault.get("x") == SECRET  # the keyring is not touched


def test_metadata_that_cannot_be_moved_aside_is_a_config_error(
        paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    paths.keys_file.write_text("{not json")

    def refuse(self: Path, target: Path) -> Path:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "replace", refuse)
    with pytest.raises(ConfigError, match="cannot be moved aside"):
        KeyStore.open(paths.keys_file, MemoryVault())
    assert paths.keys_file.read_text() == "{not json"


# --- KeyringVault: backends and failures -------------------------------------------------------


def test_keyring_vault_round_trip_with_a_real_backend_object() -> None:
    backend = DictBackend()
    vault = KeyringVault(backend)
    vault.set("main", SECRET)
    assert backend.items == {("token-monitor", "main"): SECRET}
    assert vault.get("main") == SECRET
    vault.delete("main")
    vault.delete("main")  # PasswordDeleteError for an absent item is swallowed
    assert vault.get("main") is None


def test_fail_backend_gives_a_clear_message() -> None:
    vault = KeyringVault(fail.Keyring())
    with pytest.raises(KeyringUnavailable) as info:
        vault.set("main", SECRET)
    text = info.value.text()
    for needle in ("gnome-keyring", "KWallet", "dbus-run-session", "--unlock",
                   "OPENAI_ADMIN_KEY", "never stores keys in a plain file"):
        assert needle in text
    assert SECRET not in text


@pytest.mark.parametrize(
    "backend",
    [null.Keyring(), _plaintext_backend()],
    ids=["null", "keyrings.alt-plaintext"],
)
def test_unsafe_backends_are_refused(backend: KeyringBackend) -> None:
    vault = KeyringVault(backend)
    with pytest.raises(KeyringUnavailable):
        vault.set("main", SECRET)
    with pytest.raises(KeyringUnavailable):
        vault.get("main")


def test_chainer_uses_only_safe_members(monkeypatch: pytest.MonkeyPatch) -> None:
    safe = DictBackend()
    monkeypatch.setattr(ChainerBackend, "backends", [_plaintext_backend(), safe])
    vault = KeyringVault(ChainerBackend())
    vault.set("main", SECRET)
    assert safe.items[("token-monitor", "main")] == SECRET
    monkeypatch.setattr(ChainerBackend, "backends", [_plaintext_backend()])
    with pytest.raises(KeyringUnavailable, match="no safe keyring backend"):
        KeyringVault(ChainerBackend()).get("main")


def _jeepney_error() -> Exception:
    cls = type("DBusErrorResponse", (Exception,), {"__module__": "jeepney.wrappers"})
    err: Exception = cls("org.freedesktop.DBus.Error.ServiceUnknown")
    return err


@pytest.mark.parametrize(
    ("exc", "needle"),
    [
        (keyring.errors.InitError("Failed to create the collection: Prompt dismissed."),
         "prompt was dismissed"),
        (keyring.errors.KeyringLocked("Failed to unlock the collection!"), "locked"),
        (keyring.errors.NoKeyringError("No recommended backend was available."),
         "no keyring backend"),
        (RuntimeError("Environment variable DBUS_SESSION_BUS_ADDRESS is unset"), "D-Bus"),
        (_jeepney_error(), "D-Bus .*ServiceUnknown"),
    ],
)
def test_backend_failures_become_keyring_unavailable(exc: Exception, needle: str) -> None:
    vault = KeyringVault(RaisingBackend(exc))
    for op in (lambda: vault.get("main"), lambda: vault.set("main", SECRET),
               lambda: vault.delete("main")):
        with pytest.raises(KeyringUnavailable, match=needle) as info:
            op()
        assert SECRET not in info.value.text()
        assert info.value.__cause__ is None


def test_a_programming_error_in_a_backend_is_not_hidden() -> None:
    vault = KeyringVault(RaisingBackend(ValueError("bug")))
    with pytest.raises(ValueError, match="bug"):
        vault.get("main")


def test_failed_keyring_write_leaves_no_metadata(paths: Paths) -> None:
    ks = KeyStore(paths.keys_file, KeyringVault(fail.Keyring()))
    with pytest.raises(KeyringUnavailable):
        ks.add("main", "admin", SECRET)
    assert not paths.keys_file.exists()


# --- the CLI in-process, with an in-memory keyring backend ---------------------------------


@pytest.fixture
def memory_keyring() -> Iterator[DictBackend]:
    with installed(DictBackend()) as backend:
        assert isinstance(backend, DictBackend)
        yield backend


class _Stdin(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_cli_add_list_remove(memory_keyring: DictBackend, home: Path,
                             monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", _Stdin(SECRET + "\n"))
    expires = (date.today() + timedelta(days=3)).isoformat()
    assert main(["keys", "add", "--label", "main", "--kind", "admin", "--expires", expires,
                 "--no-check"]) == 0
    out = capsys.readouterr().out
    assert "sk-…wxyz" in out and SECRET not in out
    assert memory_keyring.items == {("token-monitor", "main"): SECRET}

    assert main(["keys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["keys"]
    assert listed == [{"label": "main", "kind": "admin", "created": date.today().isoformat(),
                       "expires": expires, "last4": "wxyz", "project_id": None,
                       "masked": "sk-…wxyz", "expiry_status": "expiring", "days_left": 3,
                       "age_days": 0, "renewal_due": False, "last_test": "not tested",
                       "used_for_sync": True, "sync_refusal": None}]
    assert main(["keys", "list"]) == 0
    table = capsys.readouterr().out
    assert "expires in 3 days" in table and SECRET not in table

    assert main(["keys", "remove", "main"]) == 0
    assert memory_keyring.items == {}
    assert main(["keys", "remove", "main"]) == 1
    assert "no key labelled 'main'" in capsys.readouterr().err
    for path, data in _all_file_bytes(home):
        assert SECRET.encode() not in data, path


def test_cli_add_never_takes_the_key_from_argv(memory_keyring: DictBackend,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["keys", "add", "--label", "main", "--kind", "admin", SECRET])
    assert memory_keyring.items == {}


def test_cli_add_uses_hidden_prompt_on_a_tty(memory_keyring: DictBackend,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return SECRET

    monkeypatch.setattr("sys.stdin", Tty(""))
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    assert main(["keys", "add", "--label", "main", "--kind", "admin", "--no-check"]) == 0
    assert prompts and "hidden" in prompts[0]
    assert memory_keyring.items[("token-monitor", "main")] == SECRET


def test_cli_add_without_usable_keyring_fails_clearly(
        home: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with installed(fail.Keyring()):
        monkeypatch.setattr("sys.stdin", _Stdin(SECRET))
        assert main(["keys", "add", "--label", "main", "--kind", "admin"]) == \
                exit_codes.KEYRING_UNUSABLE
    err = capsys.readouterr().err
    assert "OS keyring is not usable" in err and "gnome-keyring" in err
    assert SECRET not in err
    for path, data in _all_file_bytes(home):
        assert SECRET.encode() not in data, path


def test_backend_error_text_holding_the_secret_is_scrubbed() -> None:
    vault = KeyringVault(RaisingBackend(keyring.errors.PasswordSetError(f"cannot store {SECRET}")))
    with pytest.raises(KeyringUnavailable) as info:
        vault.set("main", SECRET)
    assert SECRET not in info.value.text() and "sk-…wxyz" in info.value.text()


def test_cli_list_shows_age_last_test_and_that_no_admin_key_is_usable(
        memory_keyring: DictBackend, home: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", _Stdin(SECRET + "\n"))
    assert main(["keys", "add", "--label", "main", "--kind", "admin", "--no-check"]) == 0
    capsys.readouterr()
    from monitor.context import AppContext
    from monitor.paths import resolve_paths

    ctx = AppContext(resolve_paths(str(home)))
    try:
        ctx.keys().mark_tested("main", False, datetime(2026, 11, 20, 9, tzinfo=UTC))
    finally:
        ctx.close()
    assert main(["keys", "list"]) == 0
    out = capsys.readouterr().out
    assert "LAST TEST" in out and "invalid (tested 2026-11-2" in out
    assert "0 days" in out
    assert "no usable admin key: 'main' failed its last test" in out
    assert main(["keys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["keys"][0]
    assert listed["used_for_sync"] is False and listed["last_test"].startswith("invalid")
    assert "failed its last test" in listed["sync_refusal"]


def test_cli_sync_refuses_an_expired_or_invalid_key_and_says_why(
        memory_keyring: DictBackend, home: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    monkeypatch.setattr("sys.stdin", _Stdin(SECRET + "\n"))
    assert main(["keys", "add", "--label", "old-admin", "--kind", "admin", "--expires",
                 "2020-12-01", "--no-check"]) == 0
    capsys.readouterr()
    # No request is sent with an expired key: the base URL would refuse the connection.
    assert main(["sync", "--once", "--base-url", "http://127.0.0.1:9/v1"]) == 1
    err = capsys.readouterr().err
    assert "no usable admin key ('old-admin' expired on 2020-12-01)" in err
    assert "syncing" not in err
