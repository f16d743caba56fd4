"""Soak benchmark: the tray app as a resident, with its proxy under steady traffic for N minutes.

Three processes: the local fakes (fake OpenAI org API + fake model API on one loopback port,
tests/fakes), the app (`python -m monitor` offscreen, its own MONITOR_HOME: embedded proxy on,
org sync polling every 30 s against the fake org, dashboard refreshing on every record), and
this client sending ≈20 requests/s through the proxy with the official `openai` SDK (chat,
streamed chat, embeddings, Responses). Every 10 s the app's open fds, RSS and threads are
sampled and printed. At the end the store is read back: every request the client got an
answer for must be a proxy record with usage (100 % metered, none unmetered).

Prints figures and a verdict against the targets (issue 11: after a 60 s warm-up fds flat
within ±8; issue 21: RSS growth over the second half of the run ≤ 2 MB, by a least-squares
line through its samples, which a one-off allocation barely moves; 100 % metered); also the
fds at start and end. Asserts nothing.

usage: python tests/bench/bench_soak.py [--minutes 10] [--rate 20] [--json OUT]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.fakes.fake_org import ADMIN_KEY  # noqa: E402 (after the path is set)

SAMPLE_S = 10
WARMUP_S = 60
MSG = [{"role": "user", "content": "Say hello"}]


# -- the fakes (child process) ------------------------------------------------------------------


def serve_fakes() -> None:
    """Child process: fake model API at /v1/..., fake org API at /v1/organization/...."""
    from aiohttp import web

    from tests.fakes.fake_org import FakeOrg, generate_events
    from tests.fakes.fake_upstream import FakeUpstream
    from tests.fakes.server import serve_forever

    def make_app() -> web.Application:
        now = datetime.now(UTC)
        org = FakeOrg(events=generate_events(11, now - timedelta(days=40), now, 3000))
        org.log = _Discard()  # type: ignore[assignment]  # a soak must not grow the fake
        full = org.make_app()
        sub = web.Application(middlewares=full.middlewares)
        for route in full.router.routes():
            path = route.resource.canonical if route.resource is not None else ""
            if path.startswith("/v1/organization"):
                sub.router.add_route(route.method, path[len("/v1/organization"):],
                                     route.handler)
        app = FakeUpstream(chunk_delay_s=0.002, keep_log=False).make_app()
        app.add_subapp("/v1/organization", sub)
        return app

    serve_forever(make_app)


class _Discard(list):  # type: ignore[type-arg]
    def append(self, _item: object) -> None:
        pass


# -- sampling -------------------------------------------------------------------------------------


def sample(pid: int) -> dict[str, int]:
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return {"fds": fds, "rss_kb": rss, "threads": threads}


def rss_slope(samples: list[dict[str, Any]]) -> tuple[float, float]:
    """Least-squares RSS slope over `samples` (MB/min) and the growth it gives over their span."""
    if len(samples) < 2:
        return 0.0, 0.0
    ts = [s["t"] / 60 for s in samples]
    ys = [s["rss_kb"] / 1024 for s in samples]
    mt, my = sum(ts) / len(ts), sum(ys) / len(ys)
    var = sum((t - mt) ** 2 for t in ts)
    slope = sum((t - mt) * (y - my) for t, y in zip(ts, ys, strict=True)) / var if var else 0.0
    return slope, slope * (ts[-1] - ts[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.2)
    raise SystemExit(f"nothing listens on port {port} after {timeout} s")


# -- traffic --------------------------------------------------------------------------------------


class Traffic:
    """≈`rate` requests/s through the proxy, a mix of the endpoints the proxy meters."""

    def __init__(self, base_url: str, rate: float) -> None:
        import openai

        self.client = openai.OpenAI(base_url=base_url, api_key="sk-soak-0123456789abcdef",
                                    max_retries=0, timeout=30)
        self.rate = rate
        self.ok = 0
        self.failed = 0
        self.errors: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def one(self, i: int) -> None:
        try:
            kind = i % 20
            if kind < 12:
                self.client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
            elif kind < 17:
                for _ in self.client.chat.completions.create(model="gpt-4o", messages=MSG,
                                                             stream=True):
                    pass
            elif kind < 19:
                self.client.embeddings.create(model="text-embedding-3-small", input="hello")
            else:
                self.client.responses.create(model="gpt-4o", input="Say hello")
        except Exception as exc:
            with self._lock:
                self.failed += 1
                name = type(exc).__name__
                self.errors[name] = self.errors.get(name, 0) + 1
            return
        with self._lock:
            self.ok += 1

    def run(self) -> None:
        gap = 1.0 / self.rate
        with ThreadPoolExecutor(max_workers=16) as pool:
            i = 0
            start = time.monotonic()
            while not self._stop.is_set():
                pool.submit(self.one, i)
                i += 1
                delay = start + i * gap - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)

    def stop(self) -> None:
        self._stop.set()


# -- the run --------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=20.0, help="requests per second")
    ap.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    ap.add_argument("--serve-fakes", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_fakes:
        serve_fakes()
        return 0

    procs: list[subprocess.Popen[str]] = []
    try:
        fakes = subprocess.Popen([sys.executable, __file__, "--serve-fakes"],
                                 stdout=subprocess.PIPE, text=True, cwd=ROOT)
        procs.append(fakes)
        assert fakes.stdout is not None
        line = fakes.stdout.readline()
        if not line.startswith("READY"):
            raise SystemExit(f"the fakes did not start: {line!r}")
        fake_url = f"http://127.0.0.1:{int(line.split()[1])}/v1"

        home = Path(tempfile.mkdtemp(prefix="soak-"))
        proxy_port = free_port()
        (home / "config").mkdir(parents=True)
        (home / "config" / "settings.json").write_text(json.dumps({
            "poll_interval_s": 30, "proxy_enabled": True, "proxy_port": proxy_port,
            "openai_base_url": fake_url, "notifications_enabled": False, "today_timezone": "UTC",
        }))
        env = {**os.environ, "MONITOR_HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
               "OPENAI_ADMIN_KEY": ADMIN_KEY,
               "MONITOR_NO_ERR_WINDOWS": "1", "PYTHONPATH": str(ROOT)}
        env.pop("OPENAI_BASE_URL", None)
        app = subprocess.Popen([sys.executable, "-m", "monitor"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(app)
        wait_port(proxy_port, 60)
        print(f"app pid {app.pid}, proxy :{proxy_port}, fakes {fake_url}, home {home}")
        print(f"{args.minutes:g} min at {args.rate:g} req/s, sampling every {SAMPLE_S} s")
        print(f"{'t (s)':>6} {'fds':>5} {'RSS MB':>7} {'threads':>7} {'sent ok':>8}")

        traffic = Traffic(f"http://127.0.0.1:{proxy_port}/v1", args.rate)
        sender = threading.Thread(target=traffic.run, name="traffic")
        t0 = time.monotonic()
        sender.start()
        samples: list[dict[str, Any]] = []
        duration = args.minutes * 60
        while True:
            elapsed = time.monotonic() - t0
            if app.poll() is not None:
                raise SystemExit(f"the app exited ({app.returncode}): {app.stderr.read()[-2000:]}"
                                 if app.stderr else "the app exited")
            s = {"t": round(elapsed), **sample(app.pid), "ok": traffic.ok}
            samples.append(s)
            print(f"{s['t']:>6} {s['fds']:>5} {s['rss_kb'] / 1024:>7.1f} {s['threads']:>7} "
                  f"{s['ok']:>8}", flush=True)
            if elapsed >= duration:
                break
            time.sleep(min(SAMPLE_S, max(0.0, duration - elapsed)))
        traffic.stop()
        sender.join(60)
        time.sleep(3)  # the writer stores every 0.1 s; let the last batch land
        final = sample(app.pid)

        db = home / "data" / "usage.sqlite3"
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        columns = {r[1] for r in conn.execute("PRAGMA table_info(proxy_records)")}
        flag = "unmetered IS NOT NULL" if "unmetered" in columns else "0"  # older schema
        total, metered, unmetered = conn.execute(
            f"SELECT COUNT(*), SUM(NOT ({flag}) AND input_tokens > 0), SUM({flag}) "
            "FROM proxy_records").fetchone()
        conn.close()
        spool = home / "data" / "proxy-spool.jsonl"
        spooled = spool.read_text().count("\n") if spool.exists() else 0

        half = [s for s in samples if s["t"] >= duration / 2]
        slope, half_growth = rss_slope(half)
        half_delta = (half[-1]["rss_kb"] - half[0]["rss_kb"]) / 1024 if half else 0.0
        warm = [s for s in samples if s["t"] >= WARMUP_S] or samples[-1:]
        fds = [s["fds"] for s in warm] + [final["fds"]]
        rss_growth_mb = (final["rss_kb"] - warm[0]["rss_kb"]) / 1024
        fd_drift = max(abs(f - fds[0]) for f in fds)
        sent = traffic.ok
        result = {
            "minutes": args.minutes, "rate": args.rate, "sent_ok": sent,
            "client_failures": traffic.failed, "client_errors": traffic.errors,
            "records": total, "metered": metered or 0, "unmetered": unmetered or 0,
            "spooled": spooled, "fds_after_warmup": [min(fds), max(fds)],
            "rss_mb_after_warmup": [warm[0]["rss_kb"] / 1024, final["rss_kb"] / 1024],
            "rss_growth_mb": rss_growth_mb, "threads_final": final["threads"],
            "fds_start_end": [samples[0]["fds"], final["fds"]],
            "second_half_rss_slope_mb_per_min": slope, "second_half_rss_growth_mb": half_growth,
            "second_half_rss_first_last_mb": half_delta,
            "metered_pct": 100 * (metered or 0) / sent if sent else 0.0,
            "samples": samples,
        }
        print()
        print(f"requests answered: {sent} ({traffic.failed} client failures {traffic.errors}); "
              f"proxy records: {total}, metered {metered}, unmetered {unmetered}, "
              f"spooled {spooled}")
        print(f"after {WARMUP_S} s warm-up: fds {min(fds)}..{max(fds)} (drift ±{fd_drift}), "
              f"RSS {warm[0]['rss_kb'] / 1024:.1f} -> {final['rss_kb'] / 1024:.1f} MB "
              f"({rss_growth_mb:+.1f} MB), threads {final['threads']}")
        print(f"second half ({duration / 2:.0f} s on, {len(half)} samples): RSS slope "
              f"{slope:+.2f} MB/min, {half_growth:+.1f} MB over it by the fitted line "
              f"(last - first sample {half_delta:+.1f} MB); fds at start {samples[0]['fds']}, "
              f"at the end {final['fds']}; metered "
              f"{100 * (metered or 0) / sent if sent else 0:.1f} % of {sent}")
        metered_ok = sent > 0 and metered == sent and total == sent
        print(f"targets: fds flat ±8 {'OK' if fd_drift <= 8 else 'MISSED'}; "
              f"RSS growth in the second half <= 2 MB {'OK' if half_growth <= 2 else 'MISSED'}; "
              f"100 % metered {'OK' if metered_ok else 'MISSED'}")
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
        return 0
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


if __name__ == "__main__":
    sys.exit(main())
