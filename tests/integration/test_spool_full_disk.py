"""A full disk under traffic: every forwarded request is stored exactly once when it frees,
and a proxy stopped while the disk is full says how many records it could not keep.

Real parts: `token-monitor proxy` as a subprocess, the fake upstream, the real file system.
The full disk is the kernel's own: the proxy's file-size limit (RLIMIT_FSIZE, set from here
with prlimit) is lowered to a couple of kilobytes, so its writes to the database, the WAL,
the spool and the log file end in short writes and EFBIG, as on a disk that fills up, and
raised again to free it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.paths import Paths
from monitor.services.record_spool import RecordSpool, spool_path_for
from monitor.services.store import UsageStore
from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.server import ServerThread, listening_url, reap

pytestmark = pytest.mark.skipif(not hasattr(resource, "prlimit") or sys.platform != "linux",
                                reason="needs prlimit (Linux)")

CHAT = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}).encode()
FULL_AT = 2048  # bytes: any file write past this offset fails, as on a full disk


def _ignore_sigxfsz() -> None:  # a short write and EFBIG instead of the default SIGXFSZ kill
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


class Proxy:
    """`token-monitor proxy` in a subprocess, its stderr drained on a thread."""

    def __init__(self, home: Path, upstream: str) -> None:
        env = {**os.environ, "MONITOR_HOME": str(home)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "proxy", "--port", "0", "--upstream", upstream],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            preexec_fn=_ignore_sigxfsz,
        )  # fmt: skip
        url = listening_url(self.proc)
        self.port = int(url.rsplit(":", 1)[1].split("/")[0])
        self.err: list[str] = []
        stderr = self.proc.stderr
        assert stderr is not None
        self._drain = threading.Thread(target=lambda: self.err.extend(stderr), daemon=True)
        self._drain.start()

    def disk_full(self, full: bool, at: int = FULL_AT) -> None:
        """Fill the disk (no file of the proxy's may grow past `at` bytes) or free it."""
        limit = at if full else resource.RLIM_INFINITY
        resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    def chat(self) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("POST", "/v1/chat/completions", CHAT,
                         {"Host": f"127.0.0.1:{self.port}", "Content-Type": "application/json",
                          "Authorization": "Bearer sk-test-fulldisk"})  # fmt: skip
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    def traffic(self, n: int, per_s: float = 10.0) -> None:
        for _ in range(n):
            assert self.chat() == 200
            time.sleep(1 / per_s)

    def terminate(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        self._drain.join(10)
        return "".join(self.err)


@pytest.fixture
def proxy(home: Path, upstream: ServerThread) -> Iterator[Proxy]:
    p = Proxy(home, upstream.base_url + "/v1")
    try:
        try:
            p.disk_full(False)
        except OSError as exc:  # a sandbox that forbids setting another process's limits
            pytest.skip(f"cannot set the proxy's file-size limit: {exc}")
        yield p
    finally:
        with contextlib.suppress(ProcessLookupError):
            p.disk_full(False)
        reap(p.proc)


def _stored(db: Path) -> tuple[int, int]:
    """(records, distinct request ids) in the file, read with a fresh connection."""
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT COUNT(*), COUNT(DISTINCT request_id) FROM proxy_records")
        total, distinct = row.fetchone()
        return int(total), int(distinct)
    finally:
        conn.close()


def _forwarded(fake: FakeUpstream) -> int:
    return sum(1 for r in fake.requests if r.path == "/v1/chat/completions")


def test_a_disk_that_fills_and_frees_under_traffic_stores_each_request_once(
    proxy: Proxy, fake: FakeUpstream, paths: Paths,
) -> None:
    spool = RecordSpool(spool_path_for(paths.db_file))
    proxy.traffic(10)
    proxy.disk_full(True)  # the database and the spool both refuse: records wait in memory
    proxy.traffic(20)
    # A little room frees up: the waiting records' append fits only in part (a few whole
    # lines, then a cut one), and the disk is full again.
    proxy.disk_full(True, at=spool.path.stat().st_size + 3000)
    proxy.traffic(20)
    proxy.disk_full(False)
    proxy.traffic(10)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if spool.pending() == 0 and _stored(paths.db_file)[0] >= _forwarded(fake):
            break
        time.sleep(0.2)
    time.sleep(0.5)  # a duplicate, if any, would arrive with the same replay
    proxy.terminate()
    assert _forwarded(fake) == 60
    assert _stored(paths.db_file) == (60, 60)  # forwarded == stored, none twice
    assert spool.pending() == 0


def test_stopping_while_the_disk_is_full_says_how_many_records_are_lost(
    proxy: Proxy, fake: FakeUpstream, paths: Paths,
) -> None:
    proxy.traffic(5)
    time.sleep(0.5)  # stored
    proxy.disk_full(True)
    proxy.traffic(30)
    err = proxy.terminate()
    forwarded = _forwarded(fake)
    found = re.search(r"(\d+) proxy records could not be kept", err)
    lost = int(found.group(1)) if found else 0
    with UsageStore(paths.db_file) as store:  # what the next start replays from the spool
        RecordSpool(spool_path_for(paths.db_file)).replay(store)
    assert forwarded == 35
    assert lost > 0, err[-3000:]  # the disk really was full for both, and it was said
    assert _stored(paths.db_file)[0] + lost == forwarded
