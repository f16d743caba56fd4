"""Benchmark: what the metering proxy adds, direct vs through it, per proxy-anchor.md §3.

Three processes: the fake upstream (tests/fakes/fake_upstream.py on aiohttp, TCP_NODELAY),
the proxy (`python -m monitor proxy --port 0 --upstream ...`, its own MONITOR_HOME), and
this client. In one run, with requests alternating direct/proxy (who goes first alternates):
warm-up; 300 sequential non-streaming chat requests each (http.client, keep-alive); 100
streams each (time to headers, first SSE event, first content, end; upstream gaps 5 ms);
300 more sequential; then 50 concurrent aiohttp clients for N s per phase (direct, proxy,
direct, proxy) with req/s and CPU; 300 sequential and 100 streams again. Proxy RSS is
sampled throughout. Then the request guard and virtual keys side by side (issue 12): two
more proxies in one process on the same upstream, requests rotating over direct and four
variants -- "baseline" (a proxy with the guard and key gate switched off: as it was before),
and on the other proxy "guarded" (a client's own sk- key passing the guard), "virtual" (a
tm- virtual key looked up and swapped for the real key) and "capped" (a virtual key with a
hard cap: body parsed, prompt tokenized, cost reserved and settled). Prints figures, asserts
nothing.

With --metrics a third target runs side by side: a second proxy with /metrics and OTLP export
on (`--metrics-port 0 --otlp-endpoint` to a sink in the fake's process, pushing every second),
scraped every second while the sequential and streaming rounds alternate over all three;
"metrics added" is its p50 minus the plain proxy's. It also times the exporters' per-record
`observe()` in this process (what each proxied request costs the record writer's thread).

usage: python tests/bench/bench_proxy.py [--seconds 8] [--seq 300] [--streams 100] [--metrics]
                                         [--guard-seq 600] [--only-guard] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-bench-direct-0123456789abcdef"
BODY = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello"}]})
SBODY = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello"}],
                    "stream": True})  # fmt: skip
HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
TICK = os.sysconf("SC_CLK_TCK")


# -- the fake upstream process ----------------------------------------------------------------


def serve_fake() -> None:
    """Child process: the fake upstream with 5 ms between stream events; prints READY port."""
    sys.path.insert(0, str(ROOT))
    from aiohttp import web

    from tests.fakes.fake_upstream import FakeUpstream
    from tests.fakes.server import serve_forever

    def make_app() -> web.Application:
        app = FakeUpstream(chunk_delay_s=0.005, keep_log=False).make_app()

        async def otlp_sink(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(body=b"", content_type="application/x-protobuf")

        app.router.add_post("/v1/metrics", otlp_sink)
        return app

    serve_forever(make_app)


# -- measurement helpers ----------------------------------------------------------------------


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    k = (len(s) - 1) * p / 100
    f = int(k)
    c = min(f + 1, len(s) - 1)
    return s[f] + (s[c] - s[f]) * (k - f)


def stats(xs: list[float]) -> dict[str, float]:
    return {"n": len(xs), "p50": pct(xs, 50), "p90": pct(xs, 90), "p99": pct(xs, 99),
            "mean": statistics.fmean(xs), "min": min(xs), "max": max(xs)}  # fmt: skip


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])


class Target:
    """One keep-alive http.client connection to a base URL (http://host:port/v1)."""

    def __init__(self, name: str, base: str, key: str = KEY) -> None:
        self.name = name
        self.headers = {**HEADERS, "Authorization": f"Bearer {key}"}
        host, _, port = base.removeprefix("http://").split("/", 1)[0].partition(":")
        self.host, self.port = host, int(port)
        self.path = "/v1/chat/completions"
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def json_call(self) -> float:
        t0 = time.perf_counter()
        self.conn.request("POST", self.path, body=BODY, headers=self.headers)
        r = self.conn.getresponse()
        r.read()
        dt = (time.perf_counter() - t0) * 1000
        assert r.status == 200, r.status
        return dt

    def stream_call(self) -> dict[str, float]:
        t0 = time.perf_counter()
        self.conn.request("POST", self.path, body=SBODY, headers=self.headers)
        r = self.conn.getresponse()
        assert r.status == 200, r.status
        t_hdr = time.perf_counter()
        t_first = t_content = None
        buf = b""
        events = 0
        while True:
            chunk = r.read1(65536)
            if not chunk:
                break
            now = time.perf_counter()
            buf += chunk
            while b"\n\n" in buf:
                ev, buf = buf.split(b"\n\n", 1)
                if not ev.startswith(b"data: "):
                    continue
                events += 1
                if t_first is None:
                    t_first = now
                data = ev[6:]
                if t_content is None and data != b"[DONE]":
                    doc = json.loads(data)
                    if any((c.get("delta") or {}).get("content") for c in doc.get("choices", [])):
                        t_content = now
        t_end = time.perf_counter()
        assert t_first is not None and t_content is not None and events == 7, events

        def ms(t: float) -> float:
            return (t - t0) * 1000

        return {"hdr": ms(t_hdr), "first": ms(t_first), "content": ms(t_content),
                "total": ms(t_end)}  # fmt: skip

    def close(self) -> None:
        self.conn.close()


def seq_round(targets: list[Target], n: int) -> dict[str, Any]:
    lat: dict[str, list[float]] = {t.name: [] for t in targets}
    for i in range(n):
        for t in targets if i % 2 == 0 else targets[::-1]:
            lat[t.name].append(t.json_call())
    res: dict[str, Any] = {k: stats(v) for k, v in lat.items()}
    res["added_p50_ms"] = res["proxy"]["p50"] - res["direct"]["p50"]
    res["added_p99_ms"] = res["proxy"]["p99"] - res["direct"]["p99"]
    res["added_mean_ms"] = res["proxy"]["mean"] - res["direct"]["mean"]
    if "metrics" in res:
        res["metrics_added_p50_ms"] = res["metrics"]["p50"] - res["proxy"]["p50"]
        res["metrics_added_p99_ms"] = res["metrics"]["p99"] - res["proxy"]["p99"]
    return res


def stream_round(targets: list[Target], n: int) -> dict[str, Any]:
    rows: dict[str, list[dict[str, float]]] = {t.name: [] for t in targets}
    for i in range(n):
        for t in targets if i % 2 == 0 else targets[::-1]:
            rows[t.name].append(t.stream_call())
    res: dict[str, Any] = {}
    fields = ("hdr", "first", "content", "total")
    for name, rs in rows.items():
        res[name] = {f: stats([r[f] for r in rs]) for f in fields}
    for f in fields:
        res[f"delta_{f}_p50_ms"] = res["proxy"][f]["p50"] - res["direct"][f]["p50"]
        res[f"delta_{f}_p99_ms"] = res["proxy"][f]["p99"] - res["direct"][f]["p99"]
        if "metrics" in res:
            res[f"metrics_{f}_p50_ms"] = res["metrics"][f]["p50"] - res["proxy"][f]["p50"]
    return res


async def conc_phase(
    name: str, base: str, conc: int, seconds: float, pids: dict[str, int]
) -> dict[str, Any]:
    import aiohttp

    url = f"{base}/chat/completions"
    payload = BODY.encode()
    lat: list[float] = []
    errors = 0
    conn = aiohttp.TCPConnector(limit=conc)
    async with aiohttp.ClientSession(connector=conn,
                                     timeout=aiohttp.ClientTimeout(total=60)) as s:  # fmt: skip

        async def warm() -> None:
            async with s.post(url, data=payload, headers=HEADERS) as r:
                await r.read()

        await asyncio.gather(*[warm() for _ in range(conc)])
        stop = time.perf_counter() + seconds
        t_start = time.perf_counter()

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    async with s.post(url, data=payload, headers=HEADERS) as r:
                        await r.read()
                        if r.status != 200:
                            errors += 1
                            continue
                except Exception:
                    errors += 1
                    continue
                lat.append((time.perf_counter() - t0) * 1000)

        samples: list[int] = []
        sampling = True

        def sampler() -> None:
            while sampling:
                samples.append(rss_kb(pids["proxy"]))
                time.sleep(0.25)

        th = threading.Thread(target=sampler, daemon=True)
        c0 = {k: cpu_ticks(p) for k, p in pids.items()}
        th.start()
        await asyncio.gather(*[worker() for _ in range(conc)])
        wall = time.perf_counter() - t_start
        sampling = False
        th.join()
        c1 = {k: cpu_ticks(p) for k, p in pids.items()}
    cpu = {k: round((c1[k] - c0[k]) / TICK / wall * 100, 1) for k in c0}
    return {"target": name, "wall_s": wall, "ok": len(lat), "errors": errors,
            "rps": len(lat) / wall, "latency_ms": stats(lat) if lat else None,
            "cpu_pct_of_one_core": cpu, "proxy_rss_kb_max": max(samples)}  # fmt: skip


# -- the guard and virtual keys, side by side -------------------------------------------------

VARIANTS = ("baseline", "guarded", "virtual", "capped")


def serve_proxies(upstream: str) -> None:
    """Child process: the "baseline" proxy and the gated one, side by side in one process (so
    no difference between processes enters the comparison); prints READY base gated tokens."""
    sys.path.insert(0, str(ROOT))
    from decimal import Decimal

    from monitor.context import AppContext
    from monitor.core.clock import system_clock
    from monitor.core.settings import Settings
    from monitor.paths import resolve_paths
    from monitor.services.proxy import MeteringProxy
    from monitor.services.proxy.caps import Admission, SpendGate
    from monitor.services.proxy.guard import Verdict
    from monitor.services.virtual_keys import VirtualKeys

    ctx = AppContext(resolve_paths(Path(os.environ["MONITOR_HOME"])).ensure())
    keys = VirtualKeys(ctx.store())
    _, token = keys.add("bench-app", "real", now=system_clock())
    _, capped = keys.add("bench-capped", "real", now=system_clock(), cap_usd=Decimal(10**6),
                         per="day", hard=True)

    def proxy() -> MeteringProxy:
        gate = SpendGate(prices=ctx.prices(), clock=system_clock, settings=Settings,
                         secret_for=lambda _label: KEY)
        return MeteringProxy(upstream=upstream, store_path=ctx.paths.db_file,
                             prices=ctx.prices(), port=0, gate=gate)  # fmt: skip

    class NoGuard:  # the request path as it was before the guard and the gate
        def bind(self, *_args: Any) -> None:
            pass

        def check(self, request: Any) -> Verdict:
            raw = request.raw_path
            if not (raw == "/v1" or raw.startswith(("/v1/", "/v1?"))):
                raise AssertionError(raw)
            return Verdict(None, raw[3:])

    class NoGate:
        async def authorize(self, _authorization: str | None) -> Admission:
            return Admission()

    baseline, gated = proxy(), proxy()
    baseline._guard = NoGuard()  # type: ignore[assignment]
    baseline._gate = NoGate()  # type: ignore[assignment]
    urls = [baseline.start_in_thread(), gated.start_in_thread()]
    print(f"READY {urls[0]} {urls[1]} {token} {capped}", flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin or ends us
    finally:
        baseline.stop()
        gated.stop()


def guard_round(targets: list[Target], n: int) -> dict[str, Any]:
    """Sequential non-streaming calls rotating over every target; p50/p99 per target."""
    lat: dict[str, list[float]] = {t.name: [] for t in targets}
    k = len(targets)
    for i in range(n):
        for j in range(k):
            t = targets[(i + j) % k]
            lat[t.name].append(t.json_call())
    res: dict[str, Any] = {name: stats(v) for name, v in lat.items()}
    base = res["baseline"]
    for name in VARIANTS[1:]:
        res[f"{name}_vs_baseline_p50_ms"] = res[name]["p50"] - base["p50"]
        res[f"{name}_vs_baseline_p99_ms"] = res[name]["p99"] - base["p99"]
        # the same iteration's calls back to back: slow drifts of a loaded machine cancel
        res[f"{name}_vs_baseline_paired_median_ms"] = statistics.median(
            v - b for v, b in zip(lat[name], lat["baseline"], strict=True))
    return res


def micro_bench(n: int = 20_000) -> dict[str, float]:
    """In-process cost per request of each step the guard and the gate add (microseconds,
    median of 5 runs of `n`): exact where the end-to-end figures above are noisy."""
    from decimal import Decimal

    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from monitor.context import AppContext
    from monitor.core.clock import system_clock
    from monitor.core.settings import Settings
    from monitor.paths import resolve_paths
    from monitor.services.proxy.caps import SpendGate
    from monitor.services.proxy.guard import RequestGuard
    from monitor.services.virtual_keys import VirtualKeys

    with tempfile.TemporaryDirectory(prefix="bench-micro-") as home:
        ctx = AppContext(resolve_paths(Path(home)).ensure())
        keys = VirtualKeys(ctx.store())
        _, token = keys.add("app", "real", now=system_clock())
        _, capped = keys.add("capped", "real", now=system_clock(), cap_usd=Decimal(10**6),
                             per="day", hard=True)
        gate = SpendGate(prices=ctx.prices(), clock=system_clock, settings=Settings,
                         secret_for=lambda _label: KEY)
        gate.load(ctx.store())
        guard = RequestGuard()
        guard.bind("127.0.0.1", 8787)
        request = make_mocked_request("POST", "/v1/chat/completions", headers={
            "Host": "127.0.0.1:8787", "Authorization": f"Bearer {token}",
            "Content-Type": "application/json"})
        body = BODY.encode()

        async def timed(step: Any) -> float:
            runs = []
            for _ in range(5):
                t0 = time.perf_counter()
                for _ in range(n):
                    await step()
                runs.append((time.perf_counter() - t0) / n * 1e6)
            return statistics.median(runs)

        async def guard_step() -> None:
            guard.check(request)

        async def passthrough() -> None:
            await gate.authorize(f"Bearer {KEY}")

        async def lookup() -> None:
            await gate.authorize(f"Bearer {token}")

        async def reserve_settle() -> None:
            admission = await gate.authorize(f"Bearer {capped}")
            hold = await gate.reserve(admission.accounts, body, "/chat/completions", None)
            assert not isinstance(hold, web.Response), "the bench cap refused"
            gate.settle(hold, None)  # type: ignore[arg-type]

        from datetime import UTC, datetime

        from monitor.core.usage import TokenUsage
        from monitor.services.proxy.finished import FinishedRequest
        from monitor.services.proxy.journal import Journal

        journal = Journal(Path(home))
        item = FinishedRequest(
            time=datetime.now(UTC), method="POST", endpoint="/chat/completions", model="gpt-4o",
            request_model="gpt-4o", service_tier="default", key_label="sk-…abcd",
            usage=TokenUsage(input_tokens=12, output_tokens=9), status=200, latency_ms=1.2,
            ttfb_ms=1.1, request_id="req_0123456789abcdef0123456789abcdef", partial=False)

        async def journal_line() -> None:  # what the loop adds before a reply's last bytes
            journal.append(item)

        async def main() -> dict[str, float]:
            return {"journal_append_us": await timed(journal_line),
                    "guard_us": await timed(guard_step),
                    "gate_passthrough_us": await timed(passthrough),
                    "virtual_lookup_us": await timed(lookup),
                    "capped_reserve_settle_us": await timed(reserve_settle)}

        try:
            out = asyncio.run(main())
        finally:
            journal.close(all_kept=True)
            ctx.close()
    print("micro  per request: " + ", ".join(f"{k} {v:.2f}" for k, v in out.items()),
          flush=True)
    return out


def run_guard_bench(direct_base: str, n: int) -> dict[str, Any]:
    home = tempfile.TemporaryDirectory(prefix="bench-guard-")
    env = {**os.environ, "MONITOR_HOME": home.name, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, __file__, "--serve-proxies", direct_base],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("READY "):
            raise SystemExit(f"the bench proxies did not start: {line!r}")
        base_url, gated_url, token, capped = line.split()[1:]
        targets = [Target("direct", direct_base), Target("baseline", base_url),
                   Target("guarded", gated_url), Target("virtual", gated_url, token),
                   Target("capped", gated_url, capped)]
        for _ in range(50):
            for t in targets:
                t.json_call()
        rounds = [guard_round(targets, n // 2) for _ in range(2)]
        for t in targets:
            t.close()
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        home.cleanup()
    for r in rounds:
        print("guard  " + " | ".join(f"{name} p50 {r[name]['p50']:.3f}"
                                     for name in ("direct", *VARIANTS)) + " ms", flush=True)
        print("       added vs baseline p50: " + ", ".join(
            f"{name} {r[f'{name}_vs_baseline_p50_ms']:+.3f}" for name in VARIANTS[1:])
            + " ms; p99: " + ", ".join(f"{name} {r[f'{name}_vs_baseline_p99_ms']:+.3f}"
                                       for name in VARIANTS[1:]) + " ms", flush=True)
        print("       paired median difference vs baseline: " + ", ".join(
            f"{name} {r[f'{name}_vs_baseline_paired_median_ms']:+.3f}"
            for name in VARIANTS[1:]) + " ms", flush=True)
    return {"rounds": rounds, "micro": micro_bench()}


# -- orchestration ----------------------------------------------------------------------------


def start(cmd: list[str], env: dict[str, str], ready: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env, cwd=ROOT)  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(ready):
        proc.kill()
        raise SystemExit(f"{cmd[:3]} did not start: {line!r}")
    return proc, line[len(ready) :].strip()


def make_targets(direct: str, proxy: str, metrics: str | None) -> list[Target]:
    targets = [Target("direct", direct), Target("proxy", proxy)]
    if metrics is not None:
        targets.append(Target("metrics", metrics))
    return targets


def scrape_loop(url: str, stop: threading.Event) -> None:
    """Scrape /metrics every second, as an impatient Prometheus would."""
    import urllib.request

    while not stop.wait(1.0):
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                resp.read()
        except OSError:
            return


def observe_cost(n: int = 20000) -> dict[str, float]:
    """Microseconds per record of ProxyMetrics.observe and OtlpExport.observe (what a
    proxied request costs the record writer's thread), and one scrape's render in ms."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from monitor.core.clock import system_clock
    from monitor.core.records import ProxyRecord
    from monitor.core.settings import Settings
    from monitor.core.usage import TokenUsage
    from monitor.services.otel_export import OtlpExport
    from monitor.services.price_files import load_price_table
    from monitor.services.proxy.metrics import ProxyMetrics
    from monitor.services.store import UsageStore

    recs = [ProxyRecord(time=datetime.now(UTC), endpoint="/chat/completions",
                        model=f"gpt-4o-{i % 5}", service_tier=None, key_label=f"app-{i % 3}",
                        usage=TokenUsage(input_tokens=1200, cached_input_tokens=200,
                                         output_tokens=300, reasoning_tokens=40),
                        cost_usd=Decimal("0.00123"), price_as_of=None, status=200,
                        latency_ms=850.0, ttfb_ms=120.0, streamed=i % 2 == 0)
            for i in range(n)]  # fmt: skip
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d:
        store = UsageStore(Path(d) / "usage.db")
        metrics = ProxyMetrics(store, load_price_table(), Settings, system_clock)
        t0 = time.perf_counter()
        for r in recs:
            metrics.observe(r)
        out["prometheus_us"] = (time.perf_counter() - t0) / n * 1e6
        t0 = time.perf_counter()
        metrics.render()
        out["scrape_render_ms"] = (time.perf_counter() - t0) * 1000
        store.close()

    async def otel() -> float:
        export = OtlpExport("http://127.0.0.1:9", interval_s=3600, timeout_s=0.2)
        await export.start()
        t0 = time.perf_counter()
        for r in recs:
            export.observe(r)
        took = (time.perf_counter() - t0) / n * 1e6
        await export.stop()
        return took

    out["otlp_us"] = asyncio.run(otel())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0, help="per concurrent phase")
    ap.add_argument("--seq", type=int, default=300)
    ap.add_argument("--streams", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--json", type=Path, default=None, help="also write all figures here")
    ap.add_argument("--guard-seq", type=int, default=600,
                    help="sequential calls per target in the guard/virtual-key comparison")
    ap.add_argument("--only-guard", action="store_true",
                    help="run only the guard/virtual-key comparison")
    ap.add_argument("--metrics", action="store_true",
                    help="also a proxy with /metrics + OTLP export, side by side")
    ap.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--serve-proxies", metavar="UPSTREAM", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_fake:
        serve_fake()
        return
    if args.serve_proxies:
        serve_proxies(args.serve_proxies)
        return

    home = tempfile.TemporaryDirectory(prefix="bench-proxy-")
    env = {**os.environ, "MONITOR_HOME": home.name, "PYTHONPATH": str(ROOT)}
    fake, fport = start([sys.executable, __file__, "--serve-fake"], env, "READY ")
    direct_base = f"http://127.0.0.1:{fport}/v1"
    proxy, proxy_base = start(
        [sys.executable, "-m", "monitor", "proxy", "--port", "0", "--upstream", direct_base],
        env, "Listening on ",
    )  # fmt: skip
    pids = {"proxy": proxy.pid, "fake": fake.pid, "client": os.getpid()}
    children = [proxy, fake]
    metrics_base = None
    stop_scraping = threading.Event()
    if args.metrics:
        mproxy, metrics_base = start(
            [sys.executable, "-m", "monitor", "proxy", "--port", "0", "--upstream", direct_base,
             "--metrics-port", "0", "--otlp-endpoint", f"http://127.0.0.1:{fport}",
             "--otlp-interval", "1"],
            env, "Listening on ",
        )  # fmt: skip
        children.insert(0, mproxy)
        assert mproxy.stdout is not None
        metrics_url = mproxy.stdout.readline().removeprefix("Metrics on ").strip()
        mproxy.stdout.readline()  # the OTLP line
        threading.Thread(target=scrape_loop, args=(metrics_url, stop_scraping),
                         daemon=True).start()
    out: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                           "cpus": os.cpu_count(), "python": sys.version.split()[0],
                           "proxy_rss_kb_idle": rss_kb(proxy.pid)}  # fmt: skip
    try:
        if args.only_guard:
            out["guard"] = run_guard_bench(direct_base, args.guard_seq)
            return
        targets = make_targets(direct_base, proxy_base, metrics_base)
        for _ in range(30):
            for t in targets:
                t.json_call()
        for _ in range(10):
            for t in targets:
                t.stream_call()
        out["proxy_rss_kb_after_warmup"] = rss_kb(proxy.pid)
        out["seq"], out["stream"], out["conc"] = [], [], []

        def seq() -> None:
            r = seq_round(targets, args.seq)
            out["seq"].append(r)
            print(f"seq    direct p50 {r['direct']['p50']:.2f} p99 {r['direct']['p99']:.2f} | "
                  f"proxy p50 {r['proxy']['p50']:.2f} p99 {r['proxy']['p99']:.2f} | "
                  f"added p50 {r['added_p50_ms']:+.2f} p99 {r['added_p99_ms']:+.2f} ms",
                  flush=True)  # fmt: skip
            if "metrics" in r:
                print(f"seq    proxy+metrics p50 {r['metrics']['p50']:.2f} p99 "
                      f"{r['metrics']['p99']:.2f} | metrics added p50 "
                      f"{r['metrics_added_p50_ms']:+.3f} p99 {r['metrics_added_p99_ms']:+.3f} ms",
                      flush=True)  # fmt: skip

        def stream() -> None:
            r = stream_round(targets, args.streams)
            out["stream"].append(r)
            d, p = r["direct"], r["proxy"]
            print(f"stream first-event direct p50 {d['first']['p50']:.2f} p99 "
                  f"{d['first']['p99']:.2f} | proxy p50 {p['first']['p50']:.2f} p99 "
                  f"{p['first']['p99']:.2f} | TTFB delta p50 {r['delta_first_p50_ms']:+.2f} "
                  f"p99 {r['delta_first_p99_ms']:+.2f} | headers delta p50 "
                  f"{r['delta_hdr_p50_ms']:+.2f} | total delta p50 "
                  f"{r['delta_total_p50_ms']:+.2f} ms", flush=True)  # fmt: skip
            if "metrics" in r:
                print(f"stream proxy+metrics first-event p50 {r['metrics']['first']['p50']:.2f} | "
                      f"metrics added first p50 {r['metrics_first_p50_ms']:+.3f} total p50 "
                      f"{r['metrics_total_p50_ms']:+.3f} ms", flush=True)  # fmt: skip

        seq()
        stream()
        seq()
        for t in targets:
            t.close()
        for name in ("direct", "proxy", "direct", "proxy"):
            base = direct_base if name == "direct" else proxy_base
            r = asyncio.run(conc_phase(name, base, args.concurrency, args.seconds, pids))
            out["conc"].append(r)
            lat = r["latency_ms"] or {"p50": 0, "p99": 0}
            print(f"conc   {name:6} {r['rps']:8.1f} req/s  errors {r['errors']}  latency p50 "
                  f"{lat['p50']:.1f} p99 {lat['p99']:.1f} ms  CPU% {r['cpu_pct_of_one_core']}  "
                  f"proxy RSS max {r['proxy_rss_kb_max'] / 1024:.1f} MB", flush=True)  # fmt: skip
            time.sleep(1)
        targets = make_targets(direct_base, proxy_base, metrics_base)
        seq()
        stream()
        for t in targets:
            t.close()
        out["proxy_rss_kb_end"] = rss_kb(proxy.pid)
        out["guard"] = run_guard_bench(direct_base, args.guard_seq)
    finally:
        stop_scraping.set()
        for p in children:
            p.terminate()
        for p in children:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        home.cleanup()

    added50 = [r["added_p50_ms"] for r in out["seq"]]
    added99 = [r["added_p99_ms"] for r in out["seq"]]
    ttfb50 = [r["delta_first_p50_ms"] for r in out["stream"]]
    ttfb99 = [r["delta_first_p99_ms"] for r in out["stream"]]
    rps = {n: [r["rps"] for r in out["conc"] if r["target"] == n] for n in ("direct", "proxy")}
    summary = {
        "added_latency_p50_ms_median": statistics.median(added50),
        "added_latency_p99_ms_median": statistics.median(added99),
        "ttfb_delta_p50_ms_median": statistics.median(ttfb50),
        "ttfb_delta_p99_ms_median": statistics.median(ttfb99),
        "rps_direct_median": statistics.median(rps["direct"]),
        "rps_proxy_median": statistics.median(rps["proxy"]),
        "rps_ratio": statistics.median(rps["proxy"]) / statistics.median(rps["direct"]),
        "proxy_rss_mb_idle": out["proxy_rss_kb_idle"] / 1024,
        "proxy_rss_mb_peak_under_load": max(r["proxy_rss_kb_max"] for r in out["conc"]) / 1024,
        "proxy_rss_mb_end": out["proxy_rss_kb_end"] / 1024,
    }
    if args.metrics:
        summary["metrics_added_p50_ms_median"] = statistics.median(
            [r["metrics_added_p50_ms"] for r in out["seq"]])
        summary["metrics_added_first_event_p50_ms_median"] = statistics.median(
            [r["metrics_first_p50_ms"] for r in out["stream"]])
        observe = observe_cost()
        out["observe"] = observe
        summary.update({f"observe_{k}": v for k, v in observe.items()})
    out["summary"] = summary
    print("\nsummary (anchor: LiteLLM adds ~23.5 ms p50 / ~30 ms p99, TTFB +25 ms, "
          "~46 req/s = 0.012x direct, 380-460 MB RSS)")  # fmt: skip
    for k, v in summary.items():
        print(f"  {k:42} {v:10.3f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
