"""`token-monitor status`, whole process, vs `python -c "import sqlite3, json"`; --watch idle CPU.

Run: `python tests/bench/bench_status.py [--runs N] [--idle S]`. Seeds a realistic billing cycle
(tests/e2e/seed.py) in a temp MONITOR_HOME, then runs the two commands alternately N times each
with the same interpreter and prints the medians and their ratio (the target is ≤ 3). Then starts
`status --watch` and reads its CPU time (utime + stime from /proc) over S idle seconds.
Prints figures only; asserts nothing. A loaded machine makes both sides slower: compare the
ratio, not the milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from monitor.context import AppContext
from monitor.paths import resolve_paths
from tests.e2e.seed import seed_month


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
        status = [sys.executable, "-m", "monitor", "status", "--format", "json"]
        base = [sys.executable, "-c", "import sqlite3, json"]
        _wall_ms(status, env)  # warm the page cache and .pyc files
        _wall_ms(base, env)
        s_times, b_times = [], []
        for _ in range(args.runs):
            s_times.append(_wall_ms(status, env))
            b_times.append(_wall_ms(base, env))
        s, b = statistics.median(s_times), statistics.median(b_times)
        print(f"status --format json (seeded cycle): median {s:.0f} ms "
              f"(best {min(s_times):.0f}, worst {max(s_times):.0f}) over {args.runs} runs")
        print(f'python -c "import sqlite3, json":   median {b:.0f} ms '
              f"(best {min(b_times):.0f}, worst {max(b_times):.0f})")
        print(f"ratio {s / b:.2f} (median / median), {min(s_times) / min(b_times):.2f} "
              f"(best / best); target <= 3")

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
