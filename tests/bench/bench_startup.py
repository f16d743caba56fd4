"""Benchmark: process start to first window shown, vs a bare PySide6 window; idle CPU and RSS.

Runnable, not collected by pytest: `python tests/bench/bench_startup.py [--runs N]
[--idle-seconds S]`. Uses QT_QPA_PLATFORM=offscreen unless DISPLAY is set and
--platform xcb is given. Prints figures, asserts nothing.

1. Start-up: each run is a fresh subprocess; the parent takes the time from `Popen` to the
   line the child prints on its first Paint event of a top-level window. "bare" is a
   QMainWindow with a QLabel; "token-monitor" is `run_app` on a seeded home (the real
   composition root, single-instance lock, translations, snapshot off-thread). Runs are
   interleaved; medians and ranges are reported.
2. Idle: the app runs against a local fake organization API (tests/fakes/fake_org.py) with an
   admin key in $OPENAI_ADMIN_KEY and the minimum poll interval (30 s), so polls happen during
   the window; CPU time (utime+stime from /proc) and RSS are sampled each second.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BARE = r"""
import sys, time
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow
app = QApplication(sys.argv[:1])
class Probe(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Paint and isinstance(obj, QMainWindow):
            print("painted", flush=True)
            app.quit()
        return False
probe = Probe(); app.installEventFilter(probe)
w = QMainWindow(); w.setCentralWidget(QLabel("hello")); w.resize(1100, 780); w.show()
app.exec()
"""

OURS = r"""
import os, sys
sys.path.insert(0, os.environ["TM_ROOT"])
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
once = os.environ.get("TM_BENCH_MODE") == "startup"
class Probe(QObject):
    done = False
    def eventFilter(self, obj, ev):
        if not self.done and ev.type() == QEvent.Type.Paint and isinstance(obj, QMainWindow):
            self.done = True
            print("painted", flush=True)
            if once:
                QTimer.singleShot(0, app.quit)
        return False
probe = Probe(); app.installEventFilter(probe)
from monitor.context import AppContext
from monitor.gui.app import run_app
from monitor.paths import resolve_paths
ctx = AppContext(resolve_paths(os.environ["MONITOR_HOME"]).ensure())
try:
    sys.exit(run_app(ctx))
finally:
    ctx.close()
"""


def _env(platform: str, home: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env.update(QT_QPA_PLATFORM=platform, TM_ROOT=str(ROOT), PYTHONPATH=str(ROOT),
               MONITOR_SHOW_WINDOW="1", MONITOR_NO_ERR_WINDOWS="1", **extra)
    if home is not None:
        env["MONITOR_HOME"] = str(home)
    return env


def _time_to_paint(code: str, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    t1 = time.perf_counter()
    proc.wait(30)
    if line.strip() != "painted":
        raise RuntimeError("child did not paint")
    return (t1 - t0) * 1000


def _seed_home(home: Path, base_url: str | None = None) -> None:
    from monitor.context import AppContext
    from monitor.paths import resolve_paths
    from tests.e2e.seed import seed_month

    ctx = AppContext(resolve_paths(home).ensure())
    try:
        seed_month(ctx.store(), ctx.prices(), datetime.now(UTC))
        s = ctx.settings.replace(poll_interval_s=30)
        if base_url:
            s = s.replace(openai_base_url=base_url)
        ctx.save_settings(s)
    finally:
        ctx.close()


def bench_startup(runs: int, platform: str) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"bare PySide6 window": [], "token-monitor": []}
    with tempfile.TemporaryDirectory(prefix="tm-bench-") as tmp:
        home = Path(tmp) / "home"
        _seed_home(home)
        # Warm the page cache once for both (not counted).
        _time_to_paint(BARE, _env(platform))
        _time_to_paint(OURS, _env(platform, home, TM_BENCH_MODE="startup"))
        for _ in range(runs):
            times["bare PySide6 window"].append(_time_to_paint(BARE, _env(platform)))
            times["token-monitor"].append(
                _time_to_paint(OURS, _env(platform, home, TM_BENCH_MODE="startup")))
    return times


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_idle(seconds: int, platform: str) -> dict[str, object]:
    from tests.fakes.fake_org import ADMIN_KEY, FakeOrg, generate_events
    from tests.fakes.server import ServerThread

    now = datetime.now(UTC)
    fake = FakeOrg(events=generate_events(3, now - timedelta(days=40), now, 3000))
    with ServerThread(fake.make_app) as server, \
            tempfile.TemporaryDirectory(prefix="tm-idle-") as tmp:  # fmt: skip
        home = Path(tmp) / "home"
        _seed_home(home, server.base_url + "/v1")
        env = _env(platform, home, OPENAI_ADMIN_KEY=ADMIN_KEY, TM_BENCH_MODE="idle")
        proc = subprocess.Popen([sys.executable, "-c", OURS], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            proc.stdout.readline()  # first paint
            time.sleep(5)  # let the start-up poll finish
            requests_before = fake.request_count()
            cpu0, t0 = _proc_cpu_s(proc.pid), time.monotonic()
            rss = []
            for _ in range(seconds):
                time.sleep(1)
                rss.append(_proc_rss_mb(proc.pid))
            cpu1, t1 = _proc_cpu_s(proc.pid), time.monotonic()
            threads = len(os.listdir(f"/proc/{proc.pid}/task"))
            polls_seen = fake.request_count() - requests_before
        finally:
            proc.terminate()
            try:
                _out, err = proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                _out, err = proc.communicate()
    return {
        "window_s": round(t1 - t0, 1),
        "cpu_s": round(cpu1 - cpu0, 3),
        "cpu_pct": round(100 * (cpu1 - cpu0) / (t1 - t0), 2),
        "rss_mb_start": round(rss[0], 1),
        "rss_mb_end": round(rss[-1], 1),
        "rss_mb_max": round(max(rss), 1),
        "threads": threads,
        "api_requests_during_window": polls_seen,
        "exit_code_on_sigterm": proc.returncode,
        "stderr_tail": err[-300:] if err else "",
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--idle-seconds", type=int, default=60)
    parser.add_argument("--platform", default="offscreen", choices=["offscreen", "xcb"])
    parser.add_argument("--skip-idle", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    print(f"platform: {args.platform}; runs: {args.runs}; python {sys.version.split()[0]}")
    times = bench_startup(args.runs, args.platform)
    print("\nstart to first paint of the main window (ms):")
    for name, values in times.items():
        print(f"  {name:22s} median {statistics.median(values):7.1f}   "
              f"min {min(values):7.1f}   max {max(values):7.1f}")
    extra = statistics.median(times["token-monitor"]) - statistics.median(
        times["bare PySide6 window"])
    print(f"  token-monitor costs {extra:.0f} ms more than a bare window (median)")
    if not args.skip_idle:
        print(f"\nidle for {args.idle_seconds} s with polling on (30 s interval, fake org API):")
        idle = bench_idle(args.idle_seconds, args.platform)
        print(json.dumps(idle, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
