"""The tray app and the CLI share the ledger: nothing is lost, nothing is damaged (issue 21).

Real processes: the tray app (`python -m monitor`, offscreen, embedded proxy on) with the fake
upstream behind it, a client thread sending requests through its proxy, and beside it, in a
loop, the commands a status bar or a user runs: `status`, `status --watch`, `usage --json`,
`budget --check`, `sync --once` (against the fake organization API) and `db check`. Every
request acknowledged to the client must be visible to a fresh CLI process within seconds
while the app runs and after it quits, the app must never hold a deleted database file, and
`db check` must pass. Then the app is SIGKILLed mid-traffic: what was acknowledged is stored
or spooled, and stored after the next start.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest

from monitor.context import AppContext
from monitor.paths import resolve_paths
from monitor.services.record_spool import spool_path_for
from tests.fakes import fake_org
from tests.fakes.fake_org import ADMIN_KEY, FakeOrg
from tests.fakes.server import ServerThread, reap
from tests.integration.test_proxy_metrics import free_port

REPO = Path(__file__).resolve().parents[2]
BODY = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).encode()

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(),
                                reason="reads /proc/<pid>/fd (Linux)")


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "PYTHON_KEYRING", "DBUS_", "WAYLAND_"))}
    env.update(MONITOR_HOME=str(home), PYTHONPATH=str(REPO), HOME=str(home),
               QT_QPA_PLATFORM="offscreen", PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               **extra)
    return env


def wait_for(cond: Callable[[], Any], timeout: float, what: str,
             describe: Callable[[], str] = lambda: "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}. {describe()}")
        time.sleep(0.05)


def cli(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([sys.executable, "-m", "monitor", *args], env=_env(home, **extra),
                         cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert "Traceback" not in out.stderr, out.stderr
    return out


def proxied(home: Path) -> int:
    """Proxy requests in the ledger, as a fresh CLI process sees them."""
    out = cli(home, "usage", "--source", "proxy", "--json")
    assert out.returncode == 0, out.stderr
    return int(json.loads(out.stdout)["totals"]["requests"])


def spooled(home: Path) -> bool:
    """Whether proxy records wait in the spool (a stat: the spool is not a database file)."""
    try:
        return spool_path_for(home / "data" / "usage.sqlite3").stat().st_size > 0
    except FileNotFoundError:
        return False


def db_check(home: Path) -> None:
    out = cli(home, "db", "check")
    assert out.returncode == 0 and out.stdout.rstrip().endswith(": ok"), out.stderr


class App:
    """The tray app as its own process, with its embedded proxy on `port`."""

    def __init__(self, home: Path, port: int, logs: Path) -> None:
        self.home, self.port = home, port
        self.out: IO[str] = open(logs.with_suffix(".out"), "w")  # noqa: SIM115
        self.proc: subprocess.Popen[str] = subprocess.Popen(
            [sys.executable, "-m", "monitor"], env=_env(home), cwd=REPO, text=True,
            stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)
        self.deleted: set[str] = set()  # deleted database files ever seen held by the app
        self._watching = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()
        wait_for(self._listening, 90, "the app's embedded proxy", self.log)

    def _listening(self) -> bool:
        assert self.proc.poll() is None, f"the app exited ({self.proc.returncode}): {self.log()}"
        with socket.socket() as s:
            s.settimeout(1)
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def log(self) -> str:
        self.out.flush()
        return Path(self.out.name).read_text(errors="replace")[-3000:]

    def held_deleted(self) -> list[str]:
        """The app's descriptors on a database file that is no longer linked."""
        data = str(self.home / "data")
        found = []
        with contextlib.suppress(FileNotFoundError):  # the process is gone
            for fd in os.listdir(f"/proc/{self.proc.pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{self.proc.pid}/fd/{fd}")
                    if target.startswith(data) and target.endswith("(deleted)"):
                        found.append(target)
        return found

    def _watch(self) -> None:
        while not self._watching.wait(0.05) and self.proc.poll() is None:
            self.deleted.update(self.held_deleted())

    def quit(self) -> int:
        """Quit as a session manager does (SIGTERM); the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def close(self) -> None:
        self._watching.set()
        self._watcher.join(5)
        reap(self.proc)
        self.out.close()


class Traffic(threading.Thread):
    """A client sending chat requests through the proxy until stopped (or `limit` reached);
    `acked` is the x-request-id of every request whose whole 200 reply it received."""

    def __init__(self, port: int, limit: int = 400) -> None:
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{port}/v1/chat/completions"
        self.limit = limit
        self.acked: list[str] = []
        self.failed = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set() and len(self.acked) < self.limit:
            req = urllib.request.Request(self.url, data=BODY, headers={
                "Authorization": "Bearer sk-test-0123456789abcd",
                "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    json.loads(resp.read())
                    if resp.status == 200:
                        self.acked.append(resp.headers["x-request-id"])
            except (OSError, ValueError, http.client.HTTPException):  # the app was killed
                self.failed += 1
                self.stopped.wait(0.05)
            self.stopped.wait(0.01)  # a busy client, not a flood: the CLI needs the CPU too

    def stop(self) -> list[str]:
        self.stopped.set()
        self.join(60)
        return list(self.acked)


@pytest.fixture
def home(tmp_path: Path, upstream: ServerThread) -> Iterator[tuple[Path, int]]:
    """A MONITOR_HOME whose settings turn the embedded proxy on, in front of the fake."""
    home = tmp_path / "home"
    port = free_port()
    ctx = AppContext(resolve_paths(home).ensure())
    ctx.save_settings(ctx.settings.replace(
        proxy_enabled=True, proxy_port=port, openai_base_url=upstream.base_url + "/v1",
        notifications_enabled=False))
    yield home, port


@pytest.fixture
def org_server() -> Iterator[ServerThread]:
    now = datetime.now(UTC)
    events = fake_org.generate_events(7, now - timedelta(days=20), now - timedelta(minutes=1),
                                      300)
    with ServerThread(FakeOrg(events=events).make_app) as srv:
        yield srv


def _cli_round(home: Path, org_url: str) -> None:
    """What status bars and users run beside the app; none may damage or hide records."""
    status = cli(home, "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["stale"] is False  # the app's proxy beats meanwhile
    usage = cli(home, "usage", "--json")
    assert usage.returncode == 0, usage.stderr
    assert cli(home, "budget", "--check").returncode in (0, 1, 2, 3)
    synced = cli(home, "sync", "--once", "--base-url", org_url, OPENAI_ADMIN_KEY=ADMIN_KEY)
    assert synced.returncode == 0, synced.stderr
    db_check(home)


def _watch_briefly(home: Path) -> None:
    """`status --watch` until it has printed a line, then ended as a status bar ends it."""
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "status", "--watch"],
                            env=_env(home), cwd=REPO, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()),  # type: ignore[union-attr]
                                  daemon=True)
        reader.start()
        reader.join(60)
        assert line and line[0].strip(), "status --watch printed nothing"
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    finally:
        reap(proc)


def test_every_request_is_visible_beside_the_cli_and_the_ledger_stays_sound(
    tmp_path: Path, home: tuple[Path, int], org_server: ServerThread,
) -> None:
    folder, port = home
    app = App(folder, port, tmp_path / "app")
    traffic = Traffic(port)
    try:
        traffic.start()
        wait_for(lambda: len(traffic.acked) >= 5, 60, "the first proxied replies", app.log)
        _watch_briefly(folder)
        for _ in range(3):
            acked = len(traffic.acked)
            _cli_round(folder, org_server.base_url + "/v1")
            # the records thread writes every 0.1 s: a few seconds is plenty, even loaded
            wait_for(lambda n=acked: proxied(folder) >= n, 20,  # type: ignore[misc]
                     f"{acked} acknowledged requests to be visible to the CLI", app.log)
            assert app.deleted == set()
        sent = traffic.stop()
        assert traffic.failed == 0 and len(sent) >= 5
        wait_for(lambda: proxied(folder) == len(sent), 20,
                 f"all {len(sent)} requests to be visible while the app runs", app.log)
        db_check(folder)
        assert app.quit() == 0, app.log()
        assert app.deleted == set(), app.deleted
    finally:
        traffic.stop()
        app.close()
    assert proxied(folder) == len(sent)
    db_check(folder)
    conn = sqlite3.connect(folder / "data" / "usage.sqlite3")
    try:
        stored = {r[0] for r in conn.execute("SELECT request_id FROM proxy_records")}
    finally:
        conn.close()
    assert stored == set(sent)


def test_a_killed_app_keeps_every_acknowledged_request(
    tmp_path: Path, home: tuple[Path, int],
) -> None:
    """Three SIGKILLs mid-traffic: every reply the client received is stored once, after the
    next start imported the journal (and replayed the spool) of the killed one."""
    folder, port = home
    acked: list[str] = []
    for kill in range(3):
        app = App(folder, port, tmp_path / f"app{kill}")
        traffic = Traffic(port)
        try:
            traffic.start()
            wait_for(lambda t=traffic: len(t.acked) >= 20, 60,  # type: ignore[misc]
                     "20 proxied replies", app.log)
            app.kill()  # mid-traffic: the client is sending as the app dies
            acked += traffic.stop()
            assert app.deleted == set(), app.deleted
        finally:
            traffic.stop()
            app.close()
        db_check(folder)
    again = App(folder, port, tmp_path / "again")  # imports the journals at start
    try:
        wait_for(lambda: not spooled(folder), 30, "the spool to be replayed", again.log)
        with contextlib.suppress(AssertionError):  # the check below names what is missing
            wait_for(lambda: proxied(folder) >= len(acked), 5, "the replayed records")
        assert again.quit() == 0, again.log()
        assert again.deleted == set(), again.deleted
    finally:
        again.close()
    conn = sqlite3.connect(folder / "data" / "usage.sqlite3")
    try:
        stored = [r[0] for r in conn.execute("SELECT request_id FROM proxy_records")]
    finally:
        conn.close()
    assert set(acked) <= set(stored), sorted(set(acked) - set(stored))
    assert len(stored) == len(set(stored)), "a record was stored twice"
    assert not list((folder / "data").glob("proxy_journal.*")), "a clean quit left a journal"
    db_check(folder)
