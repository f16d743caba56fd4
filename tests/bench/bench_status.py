"""`token-monitor status`, whole process, vs `python -c "import sqlite3, json"`; --watch idle CPU.

Run: `python tests/bench/bench_status.py [--runs N] [--idle S]`. Seeds a realistic billing cycle
(tests/e2e/seed.py) in a temp MONITOR_HOME, then times, interleaved with the baseline, N runs
of each case with the installed `token-monitor` script (as a status bar runs it) and prints
medians and ratios (the target is <= 3):

- unchanged store: a status bar's usual call; the figures come from the status cache
  (monitor/services/status_cache.py);
- after a store write: one proxy record is added before each run (untimed), so every run
  misses the cache and computes the figures from the usage report.

Then starts `status --watch` and reads its CPU time (utime + stime from /proc) over S idle
seconds. Prints figures only; asserts nothing. A loaded machine makes both sides slower:
compare the ratio, not the milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from monitor.context import AppContext
from monitor.paths import resolve_paths
from monitor.services.store import UsageStore
from tests.e2e.seed import seed_month, seed_proxy_spend


def _wall_ms(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--idle", type=float, default=20.0, help="seconds of idle --watch to time")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        ctx = AppContext(resolve_paths(home).ensure())
        now = ctx.now()
        seed_month(ctx.store(), ctx.prices(), now)
        ctx.close()
        # Cached bytecode (in a cache dir, not the checkout), as an installed app has its .pyc
        # files: without it every run would compile the modules again.
        env = {**os.environ, "MONITOR_HOME": str(home),
               "PYTHONPYCACHEPREFIX": str(home / "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        script = Path(sys.executable).with_name("token-monitor")
        status = ([str(script)] if script.exists() else [sys.executable, "-m", "monitor"]) + [
            "status", "--format", "json"]
        base = [sys.executable, "-c", "import sqlite3, json"]
        _wall_ms(status, env)  # warm the page cache and .pyc files
        _wall_ms(base, env)
        store = UsageStore(resolve_paths(home).db_file)
        cases: dict[str, list[float]] = {"hit": [], "miss": [], "base": []}
        try:
            for i in range(args.runs):
                cases["hit"].append(_wall_ms(status, env))
                cases["base"].append(_wall_ms(base, env))
                seed_proxy_spend(store, [(now - timedelta(seconds=i), Decimal("0.01"))])
                cases["miss"].append(_wall_ms(status, env))
        finally:
            store.close()
        b = statistics.median(cases["base"])
        print(f'python -c "import sqlite3, json": median {b:.0f} ms '
              f"(best {min(cases['base']):.0f}, worst {max(cases['base']):.0f}) "
              f"over {args.runs} runs; load average {os.getloadavg()[0]:.1f}")
        for name, label in (("hit", "status --format json, unchanged store (cached)"),
                            ("miss", "status --format json, after a store write")):
            t = cases[name]
            m = statistics.median(t)
            print(f"{label}: median {m:.0f} ms (best {min(t):.0f}, worst {max(t):.0f}); "
                  f"ratio {m / b:.2f} (median / median), {min(t) / min(cases['base']):.2f} "
                  "(best / best); target <= 3")

        proc = subprocess.Popen([*status, "--watch"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        assert proc.stdout is not None
        proc.stdout.readline()  # the first line: start-up is over
        cpu0, t0 = _cpu_s(proc.pid), time.monotonic()
        time.sleep(args.idle)
        cpu1, t1 = _cpu_s(proc.pid), time.monotonic()
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        print(f"--watch idle: {cpu1 - cpu0:.2f} s CPU over {t1 - t0:.0f} s "
              f"= {(cpu1 - cpu0) / (t1 - t0) * 100:.2f} % of one core")


if __name__ == "__main__":
    main()
