"""Benchmark: records lost when the proxy is killed outright (SIGKILL) under steady traffic.

`token-monitor proxy` runs as a subprocess (its own MONITOR_HOME) in front of the fake
upstream (tests/fakes/fake_upstream.py, in this process); a client thread sends sequential
chat requests at `--rate` per second; after 1-2 s (varied) the proxy gets SIGKILL and a new
one starts on the same home. Per kill: requests the client got an answer for, records in
the database after the spool and the journal were imported, and the difference (answered
but lost: neither stored, spooled nor journaled before the kill). A request cut by the kill
got no answer and is not counted. Prints figures; asserts nothing.

`--code DIR` runs the proxy from another checkout (to compare with an older version).

usage: python tests/bench/bench_proxy_kill.py [--kills 8] [--rate 25] [--code DIR]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.fakes.fake_upstream import FakeUpstream  # noqa: E402 (after the path is set)
from tests.fakes.server import ServerThread, listening_url  # noqa: E402

CHAT = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}).encode()


def start_proxy(home: Path, upstream: str, code: Path) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "MONITOR_HOME": str(home), "PYTHONPATH": str(code)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "proxy", "--port", "0", "--upstream", upstream],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=code,
    )  # fmt: skip
    url = listening_url(proc)
    return proc, int(url.rsplit(":", 1)[1].split("/")[0])


def answered_until_killed(port: int, rate: float, stop: threading.Event) -> int:
    """Sequential requests at `rate`/s until one fails (the kill); returns how many got 200."""
    ok = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    while not stop.is_set():
        try:
            conn.request("POST", "/v1/chat/completions", CHAT,
                         {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json",
                          "Authorization": "Bearer sk-bench-kill-0123456789"})  # fmt: skip
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException):
            break
        if resp.status == 200:
            ok += 1
        time.sleep(1 / rate)
    conn.close()
    return ok


def _collect(into: list[int], port: int, rate: float, stop: threading.Event) -> None:
    into.append(answered_until_killed(port, rate, stop))


def kept(home: Path, code: Path) -> int:
    """Records in the database after replaying the spool and importing the journal (as the
    next start would)."""
    script = ("from monitor.paths import resolve_paths; from monitor.services.store import "
              "UsageStore; from monitor.services.record_spool import RecordSpool, "
              "spool_path_for; import sys; p = resolve_paths(sys.argv[1]); s = UsageStore("
              "p.db_file); RecordSpool(spool_path_for(p.db_file)).replay(s)\n"
              "try:\n from monitor.services.proxy.journal import import_orphans\n"
              " from monitor.services.proxy.record_writer import RecordWriter\n"
              " from monitor.services.price_files import load_price_table\n"
              "except ImportError: pass  # older code: no journal\n"
              "else: import_orphans(p.db_file.parent, s, RecordWriter(p.db_file, "
              "load_price_table()).to_record)\n"
              "s.close()")
    subprocess.run([sys.executable, "-c", script, str(home)], check=True, cwd=code,
                   env={**os.environ, "PYTHONPATH": str(code)})
    conn = sqlite3.connect(resolve_db(home))
    try:
        return int(conn.execute("SELECT COUNT(*) FROM proxy_records").fetchone()[0])
    finally:
        conn.close()


def resolve_db(home: Path) -> Path:
    from monitor.paths import resolve_paths

    return resolve_paths(home).db_file


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=8)
    ap.add_argument("--rate", type=float, default=25.0)
    ap.add_argument("--code", type=Path, default=ROOT)
    args = ap.parse_args()
    rng = random.Random(20261208)
    fake = FakeUpstream(keep_log=False)
    lost: list[int] = []
    with ServerThread(fake.make_app) as up, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        total_answered = 0
        for kill in range(args.kills):
            proc, port = start_proxy(home, up.base_url + "/v1", args.code)
            stop = threading.Event()
            result: list[int] = []
            client = threading.Thread(target=_collect,
                                      args=(result, port, args.rate, stop))
            client.start()
            time.sleep(1 + rng.random())
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            stop.set()
            client.join(10)
            total_answered += result[0]
            now_kept = kept(home, args.code)
            lost.append(total_answered - now_kept - sum(lost))
            print(f"kill {kill + 1}: answered {result[0]:3d}, lost {lost[-1]}", flush=True)
    print(f"code {args.code}: {args.kills} kills at {args.rate:g} req/s: answered "
          f"{total_answered}, lost {sum(lost)} (mean {statistics.mean(lost):.2f} per kill, "
          f"max {max(lost)})")


if __name__ == "__main__":
    main()
