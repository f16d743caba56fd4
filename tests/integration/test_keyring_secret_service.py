"""The key vault against a real Secret Service (gnome-keyring), through `token-monitor keys`.

Run inside a D-Bus session with an unlocked keyring (CI recipe, also in the report):

    HOME=$(mktemp -d) dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock \\
        --components=secrets >/dev/null; MONITOR_REQUIRE_KEYRING=1 pytest -m keyring'

Without a reachable Secret Service the `keyring` tests skip, unless MONITOR_REQUIRE_KEYRING=1,
which turns the skip into a failure (so CI cannot pass by silently skipping).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor import exit_codes
from tests.fakes import fake_org
from tests.fakes.server import ServerThread

REPO = Path(__file__).resolve().parents[2]
SERVICE = "token-monitor"
SS_BACKEND = "keyring.backends.SecretService.Keyring"


def _unavailable(reason: str) -> None:
    if os.environ.get("MONITOR_REQUIRE_KEYRING") == "1":
        pytest.fail(f"MONITOR_REQUIRE_KEYRING=1 but no usable Secret Service: {reason}")
    pytest.skip(f"no usable Secret Service: {reason}")


@pytest.fixture(scope="module")
def secret_service() -> Any:
    """keyring's SecretService backend, after a probe write/read/delete; else skip (or fail)."""
    try:
        from keyring.backends import SecretService

        backend = SecretService.Keyring()
        backend.priority  # noqa: B018 - raises RuntimeError when no Secret Service is reachable
        probe = secrets.token_hex(8)
        backend.set_password("token-monitor-probe", probe, probe)
        ok = backend.get_password("token-monitor-probe", probe) == probe
        backend.delete_password("token-monitor-probe", probe)
    except Exception as exc:  # any reason at all means "not usable here"
        _unavailable(f"{type(exc).__name__}: {exc}")
    if not ok:
        _unavailable("probe item did not read back")
    return backend


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "PYTHON_KEYRING", "MONITOR_"))}
    env.update(MONITOR_HOME=str(home), PYTHONPATH=str(REPO), **extra)
    return env


def _cli(home: Path, *args: str, stdin: str | None = None,
         **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", *args], input=stdin,
                          env=_env(home, **env), cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=False)


def _scan(root: Path, secret: str) -> list[Path]:
    """Files under `root` holding the secret (or a 16-character piece of it)."""
    needles = [secret.encode(), secret[-16:].encode(), secret[9:25].encode()]
    return [p for p in root.rglob("*")
            if p.is_file() and any(n in p.read_bytes() for n in needles)]


@pytest.fixture
def fake_server() -> Iterator[tuple[fake_org.FakeOrg, str]]:
    fake = fake_org.FakeOrg()
    with ServerThread(fake.make_app) as srv:
        yield fake, srv.base_url + "/v1"


@pytest.mark.keyring
def test_store_read_list_remove_through_the_cli(secret_service: Any, tmp_path: Path,
                                                fake_server: tuple[fake_org.FakeOrg, str]
                                                ) -> None:
    fake, url = fake_server
    home = tmp_path / "mhome"
    secret = "sk-admin-" + secrets.token_urlsafe(36)
    label = "ss-" + secrets.token_hex(4)
    fake.admin_keys.add(secret)
    force = {"PYTHON_KEYRING_BACKEND": SS_BACKEND}
    outputs: list[str] = []

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        proc = _cli(home, *args, stdin=stdin, **force)
        outputs.extend([proc.stdout, proc.stderr])
        return proc

    try:
        expires = (date.today() + timedelta(days=5)).isoformat()
        # tested against the fake API first (as the keys dialog does), then stored
        added = run("keys", "add", "--label", label, "--kind", "admin", "--expires", expires,
                    "--base-url", url, stdin=secret + "\n")
        assert added.returncode == 0, added.stderr
        assert f"sk-…{secret[-4:]}" in added.stdout and "tested: valid" in added.stdout

        # stored in the Secret Service under service "token-monitor", username = label
        assert secret_service.get_password(SERVICE, label) == secret

        listed = run("keys", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        (entry,) = json.loads(listed.stdout)["keys"]
        assert (entry["label"], entry["kind"], entry["masked"], entry["expiry_status"],
                entry["test_ok"]) == (label, "admin", f"sk-…{secret[-4:]}", "expiring", True)

        # the CLI reads it back from the keyring: a test call and a sync with the stored key
        tested = run("keys", "test", label, "--base-url", url)
        assert tested.returncode == 0, tested.stderr
        synced = run("sync", "--once", "--base-url", url)
        assert synced.returncode == 0, synced.stderr
        assert fake.log and all(r.auth == f"Bearer {secret}" for r in fake.log)

        assert _scan(home, secret) == []

        removed = run("keys", "remove", label)
        assert removed.returncode == 0, removed.stderr
        assert secret_service.get_password(SERVICE, label) is None
        assert json.loads(run("keys", "list", "--json").stdout)["keys"] == []
        assert _scan(home, secret) == []
        for text in outputs:
            assert secret not in text and secret[9:25] not in text
    finally:
        with contextlib.suppress(Exception):  # normally removed by the test already
            secret_service.delete_password(SERVICE, label)


@pytest.mark.keyring
def test_default_backend_resolution_picks_the_secret_service(secret_service: Any,
                                                             tmp_path: Path) -> None:
    """Without forcing a backend, keyring's own choice must be one we accept."""
    home = tmp_path / "mhome"
    secret = "sk-proj-" + secrets.token_urlsafe(30)
    label = "dflt-" + secrets.token_hex(4)
    try:
        added = _cli(home, "keys", "add", "--label", label, "--kind", "project", "--no-check",
                     stdin=secret)
        assert added.returncode == 0, added.stderr
        assert secret_service.get_password(SERVICE, label) == secret
        assert _cli(home, "keys", "remove", label).returncode == 0
        assert secret_service.get_password(SERVICE, label) is None
        assert _scan(home, secret) == []
    finally:
        with contextlib.suppress(Exception):  # normally removed by the test already
            secret_service.delete_password(SERVICE, label)


@pytest.mark.keyring
def test_locked_collection_gives_a_clear_error(secret_service: Any, tmp_path: Path) -> None:
    """A locked collection (no prompter headless) fails with an unlock hint, no plaintext.

    Runs in its own D-Bus session and gnome-keyring, since a locked collection cannot be
    unlocked again without a prompt.
    """
    tools = [shutil.which("dbus-run-session"), shutil.which("gnome-keyring-daemon")]
    if not all(tools):
        _unavailable("dbus-run-session or gnome-keyring-daemon not on PATH")
    home = tmp_path / "mhome"
    user_home = tmp_path / "userhome"
    user_home.mkdir()
    lock = ("import secretstorage; "
            "secretstorage.get_default_collection(secretstorage.dbus_init()).lock()")
    script = (
        "echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && "
        f"{sys.executable} -c 'import keyring; keyring.set_password(\"x\", \"y\", \"z\")' && "
        f"{sys.executable} -c '{lock}' && "
        f"echo -n $SECRET | {sys.executable} -m monitor keys add --label l --kind admin --no-check"
    )
    secret = "sk-admin-" + secrets.token_urlsafe(30)
    env = _env(home, HOME=str(user_home), SECRET=secret,
               PYTHON_KEYRING_BACKEND=SS_BACKEND)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    proc = subprocess.run(["dbus-run-session", "--", "sh", "-c", script], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == exit_codes.KEYRING_UNUSABLE, proc.stdout + proc.stderr
    assert "error: the OS keyring is not usable: the keyring collection is locked" in proc.stderr
    assert "gnome-keyring-daemon --unlock" in proc.stderr
    assert secret not in proc.stdout + proc.stderr
    assert not (home / "config" / "keys.json").exists()
    assert _scan(home, secret) == []


def test_no_secret_service_means_a_clear_error_and_no_file(tmp_path: Path) -> None:
    """No D-Bus session: keyring falls back to its fail backend; we refuse and explain."""
    home = tmp_path / "mhome"
    secret = "sk-admin-" + secrets.token_urlsafe(30)
    env = _env(home)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    proc = subprocess.run([sys.executable, "-m", "monitor", "keys", "add", "--label", "a",
                           "--kind", "admin"], input=secret, env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == exit_codes.KEYRING_UNUSABLE
    assert "the OS keyring is not usable" in proc.stderr
    for hint in ("gnome-keyring", "dbus-run-session", "OPENAI_ADMIN_KEY"):
        assert hint in proc.stderr
    assert secret not in proc.stdout + proc.stderr
    assert _scan(home, secret) == []
    assert not (home / "config" / "keys.json").exists()
