"""First-sync progress and resume, against the fake organization API over loopback HTTP:
progress after every window, an interrupted backfill resuming where it stopped, and the
`sync --once` progress bar on a terminal (a pty) and nowhere else."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.services.admin_http import RetryPolicy
from monitor.services.openai_admin import AdminClient
from monitor.services.org_sync import SOURCE, OrgSync, SyncProgress
from monitor.services.store import UsageStore
from tests.fakes.fake_org import ADMIN_KEY, FakeOrg
from tests.fakes.server import ServerThread
from tests.integration.conftest import ORG_NOW, OrgSeed
from tests.integration.test_org_sync import _env, expected, stored

NOW = ORG_NOW
REPO = Path(__file__).resolve().parents[2]
WINDOWS = 6 * 2 + 1  # six usage endpoints × (1d backfill + 1h) + costs


@pytest.fixture
def org_seed() -> OrgSeed:
    """Other events than test_org_sync's (the fake API, its server and the store: conftest)."""
    return OrgSeed(seed=1611, days=60, count=3000)


class Ticks:
    """A monotonic clock that advances 1.5 s per reading (elapsed is then predictable)."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        self.t += 1.5
        return self.t


def _sync(org_server: ServerThread, store: UsageStore, seen: list[SyncProgress],
          stop_after: int | None = None) -> OrgSync:
    def on_progress(p: SyncProgress) -> None:
        seen.append(p)
        if stop_after is not None and p.windows_done >= stop_after:
            raise KeyboardInterrupt  # the user quits the app mid-backfill

    client = AdminClient(ADMIN_KEY, org_server.base_url + "/v1",
                         retry=RetryPolicy(attempts=2, base_delay_s=0.01))
    return OrgSync(store, client, cycle_start_day=1, now=lambda: NOW, on_progress=on_progress,
                   monotonic=Ticks())


def test_progress_after_every_window(org_server: ServerThread, store: UsageStore,
                                     org: FakeOrg) -> None:
    seen: list[SyncProgress] = []
    result = _sync(org_server, store, seen).sync_once()
    # one report before the first window, one after each, one after the name lookups
    assert [p.windows_done for p in seen] == [*range(WINDOWS + 1), WINDOWS]
    assert {p.windows_total for p in seen} == {WINDOWS}
    assert all(p.first_run for p in seen) and seen[0].requests == 0
    requests = [p.requests for p in seen]
    assert requests == sorted(requests) and requests[-1] == result.requests
    assert result.requests == org.request_count()
    elapsed = [p.elapsed_s for p in seen]
    assert elapsed[0] == 0.0 and elapsed == sorted(elapsed) and elapsed[-1] > 0
    assert seen[-1].fraction == 1.0
    # A later pass is routine: not a first run, and no 1d backfill window.
    later: list[SyncProgress] = []
    _sync(org_server, store, later).sync_once()
    assert not later[-1].first_run and later[-1].windows_total == 6 + 1


def test_an_interrupted_backfill_resumes_where_it_stopped(
        org_server: ServerThread, store: UsageStore, org: FakeOrg) -> None:
    seen: list[SyncProgress] = []
    with pytest.raises(KeyboardInterrupt):
        _sync(org_server, store, seen, stop_after=3).sync_once()
    # completions 1d, completions 1h, embeddings 1d were written; the pass never finished
    state = store.get_sync_state(SOURCE)
    assert state is not None and state.settled_through is None
    assert state.last_error == "interrupted"
    assert {(e, w) for e, w, _s, _e in store.done_windows(SOURCE)} == {
        ("completions", "1d"), ("embeddings", "1d")}

    org.log.clear()
    again: list[SyncProgress] = []
    result = _sync(org_server, store, again).sync_once()
    assert again[0].first_run and again[0].resumed == 2 and again[0].windows_done == 2
    assert again[-1].windows_done == WINDOWS
    daily = {(r.path, dict(r.query).get("bucket_width")) for r in org.log}
    assert ("/v1/organization/usage/completions", "1d") not in daily  # not fetched again
    assert ("/v1/organization/usage/embeddings", "1d") not in daily
    assert ("/v1/organization/usage/images", "1d") in daily
    assert result.first_run and store.done_windows(SOURCE) == set()  # cleared on success
    start, end = datetime(2026, 10, 1, tzinfo=UTC), NOW + timedelta(hours=1)
    assert stored(store, start, end) == expected(org.events, start, end)


def _run_on_pty(cmd: list[str], env: dict[str, str]) -> tuple[int, str]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=slave, stderr=slave,
                            stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                raise AssertionError("no output from the sync for 60 s")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        rc = proc.wait(timeout=60)
    return rc, b"".join(chunks).decode("utf-8", "replace")


def test_sync_once_draws_a_bar_on_a_terminal_only(tmp_path: Path, org: FakeOrg) -> None:
    org.now = lambda: datetime.now(UTC)  # the CLI runs on the real clock
    with ServerThread(org.make_app) as srv:
        cmd = [sys.executable, "-m", "monitor", "sync", "--once", "--base-url",
               srv.base_url + "/v1"]
        rc, tty = _run_on_pty(cmd, _env(tmp_path / "tty", OPENAI_ADMIN_KEY=ADMIN_KEY,
                                        COLUMNS="120"))
        assert rc == 0, tty
        assert f"\r{'first sync'} [" in tty
        assert f"{WINDOWS}/{WINDOWS} windows" in tty and "requests ·" in tty
        assert "ENDPOINT" in tty and "first sync (backfilled" in tty  # the summary follows
        assert "  completions           1d" not in tty  # the bar replaces per-window lines

        piped = subprocess.run(cmd, env=_env(tmp_path / "pipe", OPENAI_ADMIN_KEY=ADMIN_KEY),
                               cwd=REPO, capture_output=True, text=True, timeout=120,
                               check=False)
        assert piped.returncode == 0, piped.stderr
        assert "\r" not in piped.stdout + piped.stderr and "windows ·" not in piped.stdout
        assert "completions" in piped.stdout and "1d" in piped.stdout

        rc, as_json = _run_on_pty([*cmd, "--json"],
                                  _env(tmp_path / "json", OPENAI_ADMIN_KEY=ADMIN_KEY))
        assert rc == 0 and "windows ·" not in as_json and as_json.lstrip().startswith("{")
