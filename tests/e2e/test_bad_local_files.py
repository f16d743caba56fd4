"""The user's local files as a hostile pass left them: FIFOs, devices, huge files, a BOM, a
corrupt cache, a foreign database to restore. Each runs the real command in a subprocess with
a timeout: a hang fails the test instead of blocking the run."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor import exit_codes
from monitor.core.local_files import MAX_LOCAL_FILE_BYTES
from monitor.paths import Paths
from monitor.services.keyvault import KeyStore
from monitor.services.status_cache import cache_file
from monitor.services.store import UsageStore
from tests.e2e.test_exit_codes import _can_lose_root_powers, _lose_root_file_powers
from tests.fakes.memory_keyring import DictBackend, installed

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
FAIL_BACKEND = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
HANG = 20  # seconds: far above any of these commands, far below a hang's "forever"


def _cli(home: Path, *argv: str, env: dict[str, str] | None = None,
         preexec_fn: Callable[[], None] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "MONITOR_HOME": str(home), **FAIL_BACKEND, **(env or {})}
    return subprocess.run([sys.executable, "-m", "monitor", *argv], cwd=REPO, env=full,
                          capture_output=True, text=True, timeout=HANG, stdin=subprocess.DEVNULL,
                          preexec_fn=preexec_fn, check=False)


def _no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert proc.returncode != exit_codes.INTERNAL, proc.stderr


def _error_line(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    _no_traceback(proc)
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    [line] = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    for needle in needles:
        assert needle in line, line
    return line


def _make(kind: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    else:  # a sparse file larger than anything we read
        with open(path, "wb") as fh:
            fh.truncate(MAX_LOCAL_FILE_BYTES + 1)


KINDS = {"fifo": "FIFO", "zero": "device", "huge": "too large"}


# --- settings.json, prices.json, keys.json, cache/status.json: never a hang ------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_settings_that_is_not_a_regular_file_gives_defaults_and_a_warning(
        paths: Paths, home: Path, kind: str) -> None:
    _make(kind, paths.settings_file)
    for argv in (["status"], ["budget", "--json"], ["usage"]):
        proc = _cli(home, *argv)
        _no_traceback(proc)
        assert proc.returncode == 0, proc.stderr
        [warning] = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning: ")]
        assert str(paths.settings_file) in warning and KINDS[kind] in warning
    saving = _cli(home, "budget", "--limit", "5")  # never written over: it is not a file
    _error_line(saving, exit_codes.CONFIG_UNUSABLE, str(paths.settings_file), KINDS[kind],
                "not saved")
    assert not list(paths.config_dir.glob("settings.json.*"))


@pytest.mark.parametrize("kind", list(KINDS))
def test_price_override_that_is_not_a_regular_file_is_ignored(paths: Paths, home: Path,
                                                              kind: str) -> None:
    _make(kind, paths.prices_override)
    for argv in (["price", "gpt-4o"], ["count", "README.md"], ["status"]):
        proc = _cli(home, *argv)
        _no_traceback(proc)
        assert proc.returncode == 0, proc.stderr
        assert str(paths.prices_override) in proc.stderr and KINDS[kind] in proc.stderr


@pytest.mark.parametrize("kind", list(KINDS))
def test_keys_file_that_is_not_a_regular_file_is_a_config_error(paths: Paths, home: Path,
                                                                kind: str) -> None:
    _make(kind, paths.keys_file)
    proc = _cli(home, "keys", "list")
    _error_line(proc, exit_codes.CONFIG_UNUSABLE, str(paths.keys_file), KINDS[kind])
    assert os.path.lexists(paths.keys_file)  # left as it is, not moved aside
    assert not list(paths.config_dir.glob("keys.json.corrupt-*"))


@pytest.mark.parametrize("kind", list(KINDS))
def test_status_cache_that_is_not_a_regular_file_is_ignored_and_rewritten(
        paths: Paths, home: Path, kind: str) -> None:
    UsageStore(paths.db_file).close()
    target = cache_file(paths)
    _make(kind, target)
    for _ in range(2):  # the first run rewrites it, the second reads it
        proc = _cli(home, "status")
        _no_traceback(proc)
        assert proc.returncode == 0 and proc.stdout == "no usage data yet\n", proc.stderr
        assert proc.stderr == ""
    assert stat.S_ISREG(os.lstat(target).st_mode) and target.stat().st_size < 10_000


def test_a_corrupt_status_cache_is_ignored_and_rewritten(paths: Paths, home: Path) -> None:
    UsageStore(paths.db_file).close()
    target = cache_file(paths)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"[" * 100_000)
    os.close(fd)
    proc = _cli(home, "status")
    _no_traceback(proc)
    assert proc.returncode == 0 and proc.stdout == "no usage data yet\n"
    assert proc.stderr == ""
    assert isinstance(json.loads(target.read_text()), dict)  # rewritten with good figures


@pytest.mark.parametrize("kind", list(KINDS))
def test_price_import_of_what_is_not_a_regular_file(home: Path, tmp_path: Path,
                                                   kind: str) -> None:
    source = tmp_path / "prices-in.json"
    _make(kind, source)
    proc = _cli(home, "price", "import", str(source))
    _error_line(proc, exit_codes.ERROR, str(source), KINDS[kind])
    proc = _cli(home, "price", "import", "/dev/zero")
    _error_line(proc, exit_codes.ERROR, "/dev/zero", "device")


# --- a UTF-8 byte-order mark ----------------------------------------------------------------

BOM = b"\xef\xbb\xbf"


def test_a_byte_order_mark_is_accepted_in_settings_and_prices(paths: Paths, home: Path) -> None:
    paths.settings_file.write_bytes(BOM + json.dumps({"monthly_limit_usd": 55}).encode())
    override = {"models": {"bom-model": {"prices": [{
        "effective_from": "2020-01-01", "standard": {"input": 1, "output": 2}}]}}}
    paths.prices_override.write_bytes(BOM + json.dumps(override).encode())
    proc = _cli(home, "budget", "--json")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert json.loads(proc.stdout)["limit_usd"] == 55
    price = _cli(home, "price", "bom-model", "--json")
    assert price.returncode == 0 and price.stderr == "", price.stderr
    assert not list(paths.config_dir.glob("*.corrupt-*"))


def test_a_byte_order_mark_is_accepted_in_the_keys_file(paths: Paths, home: Path) -> None:
    with installed(DictBackend()):
        store = KeyStore.open(paths.keys_file)
        store.add("work", "project", "sk-proj-" + "A" * 40)
    paths.keys_file.write_bytes(BOM + paths.keys_file.read_bytes())
    proc = _cli(home, "keys", "list", "--json")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "work" in proc.stdout
    assert not list(paths.config_dir.glob("keys.json.corrupt-*"))


# --- db restore of a file that is not ours --------------------------------------------------


def test_db_restore_refuses_an_sqlite_file_that_is_not_a_token_monitor_database(
        paths: Paths, home: Path, tmp_path: Path) -> None:
    UsageStore(paths.db_file).close()
    before = paths.db_file.read_bytes()
    foreign = tmp_path / "other.sqlite3"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    proc = _cli(home, "db", "restore", str(foreign))
    _error_line(proc, exit_codes.ERROR, str(foreign), "not a Token Monitor usage database")
    assert paths.db_file.read_bytes() == before  # the healthy database stays in place
    assert not list(paths.data_dir.glob("usage.sqlite3.damaged-*"))


def test_db_restore_refuses_a_database_from_a_newer_schema(paths: Paths, home: Path,
                                                          tmp_path: Path) -> None:
    UsageStore(paths.db_file).close()
    newer = tmp_path / "newer.sqlite3"
    with sqlite3.connect(paths.db_file) as src, sqlite3.connect(newer) as dst:
        src.backup(dst)
        dst.execute("PRAGMA user_version = 999")
    src.close()
    dst.close()
    proc = _cli(home, "db", "restore", str(newer))
    _error_line(proc, exit_codes.ERROR, str(newer), "newer Token Monitor")


def test_db_restore_refuses_a_fifo(paths: Paths, home: Path, tmp_path: Path) -> None:
    UsageStore(paths.db_file).close()
    fifo = tmp_path / "backup.sqlite3"
    os.mkfifo(fifo)
    proc = _cli(home, "db", "restore", str(fifo))
    _error_line(proc, exit_codes.ERROR, str(fifo), "not a regular file")


# --- a read-only database is not "damaged" -------------------------------------------------


def test_a_read_only_database_is_not_called_damaged(paths: Paths, home: Path,
                                                    tmp_path: Path) -> None:
    if not _can_lose_root_powers(tmp_path):
        pytest.skip("file permissions cannot be enforced here (root with CAP_DAC_OVERRIDE)")
    UsageStore(paths.db_file).close()
    paths.db_file.chmod(0o400)
    try:
        proc = _cli(home, "usage", preexec_fn=_lose_root_file_powers)
    finally:
        paths.db_file.chmod(0o600)
    line = _error_line(proc, exit_codes.CANNOT_WRITE, str(paths.db_file), "read-only")
    assert "damaged" not in line
