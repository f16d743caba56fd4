"""Each failure that used to be an internal error (exit 70): a one-line message and its own,
documented exit code, checked on the real command in a subprocess."""

from __future__ import annotations

import ctypes
import json
import os
import re
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from monitor import exit_codes
from monitor.cli import main
from monitor.paths import Paths
from monitor.services.keyvault import KeyStore
from monitor.services.store import UsageStore
from tests.e2e.seed import seed_proxy_spend
from tests.fakes import fake_org
from tests.fakes.fake_org import ADMIN_KEY, FakeOrg
from tests.fakes.memory_keyring import DictBackend, installed
from tests.fakes.server import ServerThread

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SECRET_TAIL = "QWERTYUIOPASDFGHJKLZ9876"  # part of every test secret: must never be shown
FAIL_BACKEND = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def _cli(home: Path, *argv: str, env: dict[str, str] | None = None, stdin: bytes = b"",
         stdout: int | None = subprocess.PIPE,
         preexec_fn: Callable[[], None] | None = None) -> subprocess.CompletedProcess[bytes]:
    full = {**os.environ, "MONITOR_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "monitor", *argv], cwd=REPO, env=full,
                          input=stdin, stdout=stdout, stderr=subprocess.PIPE, timeout=60,
                          preexec_fn=preexec_fn, check=False)


def _err(proc: subprocess.CompletedProcess[bytes]) -> str:
    return proc.stderr.decode("utf-8", "replace")


def _one_error(proc: subprocess.CompletedProcess[bytes], code: int, *needles: str) -> str:
    """Exit `code`, no traceback, exactly one `error: …` line holding every needle."""
    err = _err(proc)
    assert proc.returncode == code, (proc.returncode, err)
    assert "Traceback" not in err and "internal error" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    for needle in needles:
        assert needle in errors[0], err
    return errors[0]


# --- the table of codes ---------------------------------------------------------------------


def test_exit_codes_are_distinct_and_listed_in_the_readme() -> None:
    codes = {name: value for name, value in vars(exit_codes).items()
             if name.isupper() and isinstance(value, int)}
    assert len(set(codes.values())) == len(codes), codes
    assert set(exit_codes.DESCRIPTIONS) == set(codes.values())
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("### Exit codes"):]
    for code in codes.values():
        assert re.search(rf"^\| `{code}` \|", table, re.MULTILINE), f"exit code {code}"


# --- the usage database with damaged pages ---------------------------------------------------


def _damage_pages(db: Path) -> bytes:
    """Overwrite every page but the first (header and schema) with garbage."""
    data = bytearray(db.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    assert len(data) >= 4 * page_size  # the seed spans several pages
    for start in range(page_size, len(data), page_size):
        data[start:start + page_size] = bytes([0xA5]) * page_size
    db.write_bytes(bytes(data))
    return bytes(data)


@pytest.mark.parametrize("argv", [["usage"], ["budget"], ["usage", "--json"], ["sync", "--once"]])
def test_damaged_database_pages_are_named_not_a_crash(paths: Paths, home: Path,
                                                      argv: list[str]) -> None:
    store = UsageStore(paths.db_file)
    now = datetime.now(UTC)
    seed_proxy_spend(store, [(now - timedelta(minutes=i), Decimal("0.01")) for i in range(500)])
    store.close()
    damaged = _damage_pages(paths.db_file)
    env = {"OPENAI_ADMIN_KEY": f"sk-admin-{SECRET_TAIL}", "MONITOR_HOME": str(home)}
    proc = _cli(home, *argv, env=env)
    _one_error(proc, exit_codes.DATABASE_UNUSABLE, str(paths.db_file), "damaged")
    assert proc.stdout == b""
    assert paths.db_file.read_bytes() == damaged  # left as it is for the user to recover
    assert SECRET_TAIL not in _err(proc)


# --- JSON nested 100,000 deep ----------------------------------------------------------------


def test_over_deep_settings_and_keys_are_moved_aside_once(paths: Paths, home: Path) -> None:
    deep = b"[" * 100_000
    paths.settings_file.write_bytes(deep)
    paths.keys_file.write_bytes(deep)
    keys = _cli(home, "keys", "list", env=FAIL_BACKEND)
    assert keys.returncode == 0, _err(keys)
    budget = _cli(home, "budget", "--json")
    assert budget.returncode == 0 and json.loads(budget.stdout)["limit_usd"] == 120
    warnings = [line for line in (_err(keys) + _err(budget)).splitlines()
                if line.startswith("warning: ")]
    assert "Traceback" not in _err(keys) + _err(budget)
    for path in (paths.settings_file, paths.keys_file):  # each named once, then set aside
        [line] = [w for w in warnings if f"{path}" in w]
        assert "nested too deeply" in line
    for name in ("settings.json", "keys.json"):
        [aside] = paths.config_dir.glob(f"{name}.corrupt-*")
        assert aside.read_bytes() == deep
    proc = _cli(home, "budget", "--json")  # the next run is clean
    assert proc.returncode == 0 and _err(proc) == ""


def test_over_deep_price_override_is_ignored_with_a_warning(paths: Paths, home: Path) -> None:
    bundled = _cli(home, "price", "gpt-4o", "--json")
    paths.prices_override.write_bytes(b'{"models": ' * 100_000)
    proc = _cli(home, "price", "gpt-4o", "--json")
    assert proc.returncode == 0 and proc.stdout == bundled.stdout
    warning = _err(proc)
    assert "Traceback" not in warning and "nested too deeply" in warning
    assert str(paths.prices_override) in warning


# --- settings.json that cannot be read or written ---------------------------------------------


def _lose_root_file_powers() -> None:
    """In the child: as root, drop the capabilities that ignore file permissions (from the
    bounding set, which applies at exec), so chmod means for root what it means for users."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _can_lose_root_powers(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    probe.write_text("x")
    probe.chmod(0)
    proc = subprocess.run([sys.executable, "-c", f"open({str(probe)!r}).read()"],
                          preexec_fn=_lose_root_file_powers, capture_output=True, check=False)
    probe.chmod(0o600)
    return proc.returncode != 0


@pytest.fixture
def no_root_powers(tmp_path: Path) -> Callable[[], None]:
    try:
        if not _can_lose_root_powers(tmp_path):
            pytest.skip("file permissions cannot be enforced here (root with CAP_DAC_OVERRIDE)")
    except subprocess.SubprocessError:
        pytest.skip("cannot drop CAP_DAC_OVERRIDE in this container")
    return _lose_root_file_powers


USER_SETTINGS = {"cycle_start_day": 15, "today_timezone": "Europe/Paris", "mine": [1, 2]}


def test_unreadable_settings_are_not_overwritten(paths: Paths, home: Path,
                                                 no_root_powers: Callable[[], None]) -> None:
    data = json.dumps(USER_SETTINGS).encode()
    paths.settings_file.write_bytes(data)
    paths.settings_file.chmod(0)
    try:
        proc = _cli(home, "budget", "--limit", "5", preexec_fn=no_root_powers)
        _one_error(proc, exit_codes.CONFIG_UNUSABLE, str(paths.settings_file),
                   "cannot be read", "not saved")
    finally:
        paths.settings_file.chmod(0o600)
    assert paths.settings_file.read_bytes() == data
    assert not paths.settings_file.with_name("settings.json.bak").exists()


def test_unwritable_config_folder(paths: Paths, home: Path,
                                  no_root_powers: Callable[[], None]) -> None:
    data = json.dumps(USER_SETTINGS).encode()
    paths.settings_file.write_bytes(data)
    paths.config_dir.chmod(0o500)
    try:
        proc = _cli(home, "budget", "--limit", "5", preexec_fn=no_root_powers)
        _one_error(proc, exit_codes.CANNOT_WRITE, str(paths.settings_file), "cannot save")
    finally:
        paths.config_dir.chmod(0o700)
    assert paths.settings_file.read_bytes() == data
    assert sorted(p.name for p in paths.config_dir.iterdir()) == ["settings.json"]


def test_settings_json_that_is_a_directory(paths: Paths, home: Path) -> None:
    paths.settings_file.mkdir()
    (paths.settings_file / "keep.txt").write_text("mine")
    proc = _cli(home, "budget", "--json")  # reading: a warning, defaults
    assert proc.returncode == 0 and json.loads(proc.stdout)["limit_usd"] == 120
    assert "cannot be read" in _err(proc)
    proc = _cli(home, "budget", "--limit", "5")
    _one_error(proc, exit_codes.CONFIG_UNUSABLE, str(paths.settings_file), "is a directory")
    assert (paths.settings_file / "keep.txt").read_text() == "mine"


def test_budget_limit_keeps_unknown_keys_and_values_it_did_not_change(
        paths: Paths, home: Path) -> None:
    """The issue's case: an unknown key and an invalid value were reset from defaults."""
    raw = {**USER_SETTINGS, "poll_interval_s": 5}  # 5 s is below the 30 s minimum
    data = (json.dumps(raw, indent=2) + "\n").encode()
    paths.settings_file.write_bytes(data)
    proc = _cli(home, "budget", "--limit", "5", "--json")
    assert proc.returncode == 0, _err(proc)
    out = json.loads(proc.stdout)
    assert out["limit_usd"] == 5 and out["cycle_start_day"] == 15 and out["saved"] is True
    assert "poll_interval_s" in _err(proc)  # the invalid value is reported, not rewritten
    assert json.loads(paths.settings_file.read_text()) == {**raw, "monthly_limit_usd": 5}
    assert paths.settings_file.with_name("settings.json.bak").read_bytes() == data


# --- price overrides out of range ----------------------------------------------------------------


@pytest.mark.parametrize("price", ["1e999999999", "10000.01", "250000"])
def test_absurd_price_overrides_are_refused(paths: Paths, home: Path, price: str) -> None:
    bundled = _cli(home, "count", "README.md", "--model", "gpt-4o", "--json")
    override = ('{"models": {"gpt-4o": {"prices": [{"effective_from": null, '
                f'"standard": {{"input": {price}, "output": 1}}}}]}}}}}}')
    paths.prices_override.write_text(override)
    proc = _cli(home, "count", "README.md", "--model", "gpt-4o", "--json")
    assert proc.returncode == 0, _err(proc)
    assert proc.stdout == bundled.stdout  # priced by the bundled table
    warning = _err(proc)
    assert "at most $10,000" in warning and str(paths.prices_override) in warning
    assert paths.prices_override.read_text() == override  # the user's file is kept


def test_a_price_of_ten_thousand_is_accepted(paths: Paths, home: Path) -> None:
    paths.prices_override.write_text(
        '{"models": {"gpt-4o": {"prices": [{"effective_from": null, '
        '"standard": {"input": 10000, "output": 1}}]}}}')
    proc = _cli(home, "price", "gpt-4o", "--json")
    assert proc.returncode == 0 and _err(proc) == ""
    assert json.loads(proc.stdout)["input"] == 10000


# --- secrets that cannot be API keys ---------------------------------------------------------


@pytest.mark.parametrize(
    ("stdin", "why"),
    [
        (b"sk-admin-\xff\xfe" + SECRET_TAIL.encode() + b"\n", "not UTF-8"),
        (f"sk-admin-\u200b{SECRET_TAIL}\n".encode(), "U+200B ZERO WIDTH SPACE"),
        (f"sk-admin-\ufeff{SECRET_TAIL}\n".encode(), "invisible"),
        (f"sk-admin-\x07{SECRET_TAIL}\n".encode(), "control character"),
        (f"sk-admin-{SECRET_TAIL}".encode() * 50, "more than 1,024"),
    ],
)
def test_keys_add_refuses_what_cannot_be_a_key(home: Path, stdin: bytes, why: str) -> None:
    proc = _cli(home, "keys", "add", "--label", "main", "--kind", "admin", env=FAIL_BACKEND,
                stdin=stdin)
    _one_error(proc, exit_codes.DATA_REFUSED, why)
    assert SECRET_TAIL not in _err(proc) + proc.stdout.decode("utf-8", "replace")
    assert not (home / "config" / "keys.json").exists()


def test_keys_test_with_a_zero_width_space_in_the_environment_key(home: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    dead = sock.getsockname()[1]
    sock.close()
    proc = _cli(home, "keys", "test", "--base-url", f"http://127.0.0.1:{dead}/v1",
                env={**FAIL_BACKEND, "OPENAI_ADMIN_KEY": f"sk-admin-{SECRET_TAIL}\u200bx"})
    _one_error(proc, exit_codes.DATA_REFUSED, "$OPENAI_ADMIN_KEY", "U+200B")
    assert SECRET_TAIL not in _err(proc)


def test_keys_test_on_a_stored_secret_with_a_zero_width_space(
        paths: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    """A secret stored before the check existed (or by another tool): refused, not sent."""
    backend = DictBackend()
    with installed(backend):
        KeyStore.open(paths.keys_file).add("main", "admin", f"sk-admin-{SECRET_TAIL}")
        backend.items[("token-monitor", "main")] = f"sk-admin-{SECRET_TAIL}\u200b"
        code = main(["keys", "test", "main", "--base-url", "http://127.0.0.1:9/v1"])
    err = capsys.readouterr().err
    assert code == exit_codes.DATA_REFUSED, err
    assert "'main'" in err and "U+200B" in err and "--replace" in err
    assert SECRET_TAIL not in err


@pytest.mark.parametrize("backend", ["nonexistent.Module", "nonexistent"])
@pytest.mark.parametrize("argv", [["keys", "add", "--label", "other", "--kind", "admin"],
                                  ["keys", "test", "main"], ["keys", "remove", "main"]])
def test_a_keyring_backend_that_does_not_exist(home: Path, backend: str,
                                               argv: list[str]) -> None:
    keys_file = home / "config" / "keys.json"
    keys_file.parent.mkdir(parents=True, exist_ok=True)
    keys_file.write_text(json.dumps({"version": 1, "keys": [{
        "label": "main", "kind": "admin", "created": "2026-01-01", "expires": None,
        "last4": "9876", "project_id": None}]}))
    before = keys_file.read_bytes()
    proc = _cli(home, *argv, env={"PYTHON_KEYRING_BACKEND": backend},
                stdin=f"sk-admin-{SECRET_TAIL}\n".encode())
    _one_error(proc, exit_codes.KEYRING_UNUSABLE, "PYTHON_KEYRING_BACKEND", backend)
    assert SECRET_TAIL not in _err(proc)
    assert keys_file.read_bytes() == before


# --- stdout that cannot be written ------------------------------------------------------------

OUTPUT_COMMANDS = [["price"], ["usage"], ["count", "README.md"], ["budget"], ["keys", "list"],
                   ["budget", "--json"], ["sync", "--once", "--base-url",
                                          "http://127.0.0.1:9/v1", "--timeout", "1"]]
OUTPUT_ENV = {**FAIL_BACKEND, "OPENAI_ADMIN_KEY": f"sk-admin-{SECRET_TAIL}"}


@pytest.mark.parametrize("argv", OUTPUT_COMMANDS[:6])
def test_stdout_on_a_full_device(home: Path, argv: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        proc = _cli(home, *argv, stdout=full.fileno(), env=OUTPUT_ENV)
    _one_error(proc, exit_codes.OUTPUT_FAILED, "cannot write the output",
               "No space left on device")
    assert "Exception ignored" not in _err(proc)


@pytest.mark.parametrize("argv", OUTPUT_COMMANDS)
def test_a_reader_that_went_away_ends_the_command_quietly(home: Path, argv: list[str]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first byte: EPIPE on every write
    try:
        proc = _cli(home, *argv, stdout=write_end, env=OUTPUT_ENV)
    finally:
        os.close(write_end)
    assert proc.returncode == exit_codes.PIPE_CLOSED, _err(proc)
    assert _err(proc) == ""  # no message at all, not even Python's "Exception ignored"


@pytest.mark.parametrize("reader", ["grep -q gpt", "true", "head -c 10 >/dev/null"])
def test_piped_into_a_reader_that_stops_early(home: Path, reader: str) -> None:
    script = (f"{{ {sys.executable} -m monitor price 2>{home}/err; echo $? >{home}/rc; }}"
              f" | {reader}")
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sh", "-c", script], cwd=REPO, timeout=60, check=True,
                   env={**os.environ, "MONITOR_HOME": str(home)})
    assert int((home / "rc").read_text()) in (exit_codes.OK, exit_codes.PIPE_CLOSED)
    assert (home / "err").read_text() == ""


# --- the log file -------------------------------------------------------------------------------


def test_the_log_file_is_private_whatever_the_umask(home: Path) -> None:
    def loose_umask() -> None:
        os.umask(0o022)

    proc = subprocess.run([sys.executable, "-m", "monitor", "budget", "--limit", "7"],
                          cwd=REPO, env={**os.environ, "MONITOR_HOME": str(home)},
                          capture_output=True, preexec_fn=loose_umask, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    log_file = home / "log" / "token-monitor.log"
    assert "settings saved" in log_file.read_text()
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600


def test_sync_piped_into_head_stores_its_pass_then_ends_quietly(home: Path) -> None:
    """The reader leaves after the first line: the sync still finishes and stores the pass
    (progress lines are not worth half a sync), then the command ends with 141."""
    now = datetime.now(UTC)
    fake = FakeOrg(events=fake_org.generate_events(5, now - timedelta(days=3),
                                                   now - timedelta(minutes=1), 60),
                   now=lambda: datetime.now(UTC), delay_s=0.2)
    env = {**os.environ, "MONITOR_HOME": str(home), "OPENAI_ADMIN_KEY": ADMIN_KEY,
           **FAIL_BACKEND}
    with ServerThread(fake.make_app) as srv, subprocess.Popen(
            [sys.executable, "-m", "monitor", "sync", "--once", "--base-url",
             srv.base_url + "/v1"], cwd=REPO, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE) as child:
        assert child.stdout is not None and child.stderr is not None
        first = child.stdout.readline()
        child.stdout.close()  # like `| head -1`, before the first reply (0.2 s away)
        err = child.stderr.read()
        code = child.wait(timeout=120)
    assert first.startswith(b"syncing ")
    assert code == exit_codes.PIPE_CLOSED, err
    assert err == b""
    proc = _cli(home, "usage", "--json", "--period", "cycle", env=FAIL_BACKEND)
    assert proc.returncode == 0 and json.loads(proc.stdout)["totals"]["requests"] > 0
    store = UsageStore(home / "data" / "usage.sqlite3")
    state = store.get_sync_state("org")
    store.close()
    assert state is not None and state.last_error is None and state.last_success is not None


def test_keys_add_into_an_unwritable_config_folder(paths: Paths, home: Path, tmp_path: Path,
                                                   no_root_powers: Callable[[], None]) -> None:
    ring = tmp_path / "keyring.json"
    env = {"PYTHON_KEYRING_BACKEND": "tests.fakes.file_keyring.Keyring",
           "TEST_KEYRING_FILE": str(ring)}
    proc = _cli(home, "keys", "add", "--label", "first", "--kind", "admin", "--no-check", env=env,
                stdin=f"sk-admin-{SECRET_TAIL}".encode())
    assert proc.returncode == 0, _err(proc)  # the fake keyring works
    before = paths.keys_file.read_bytes()
    paths.config_dir.chmod(0o500)
    try:
        proc = _cli(home, "keys", "add", "--label", "second", "--kind", "admin", "--no-check",
                    env=env,
                    stdin=f"sk-admin-{SECRET_TAIL}2".encode(), preexec_fn=no_root_powers)
        _one_error(proc, exit_codes.CANNOT_WRITE, str(paths.config_dir), "Permission denied")
    finally:
        paths.config_dir.chmod(0o700)
    assert SECRET_TAIL not in _err(proc)
    assert paths.keys_file.read_bytes() == before
    assert list(json.loads(ring.read_text())) == ["token-monitor/first"]  # rolled back


def test_price_import_of_an_over_deep_file(paths: Paths, home: Path, tmp_path: Path) -> None:
    deep = tmp_path / "prices.json"
    deep.write_text("[" * 100_000)
    proc = _cli(home, "price", "import", str(deep), "--apply")
    _one_error(proc, exit_codes.ERROR, str(deep), "nested too deeply")
    assert not paths.prices_override.exists()
