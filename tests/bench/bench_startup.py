"""Benchmark: process start to first window shown, vs a bare PySide6 window; idle CPU and RSS.

Runnable, not collected by pytest: `python tests/bench/bench_startup.py [--runs N]
[--idle-seconds S]`. Uses QT_QPA_PLATFORM=offscreen unless DISPLAY is set and
--platform xcb is given. Prints figures, asserts nothing.

1. Start-up: each run is a fresh subprocess; the parent takes the time from `Popen` to the
   line the child prints on the first paint of its main window (seen through that window
   class's paintEvent; `--probe filter`: through an app-wide event filter, see PROBE). "bare" is a
   QMainWindow with a QLabel; "token-monitor" is `run_app` on a seeded home (the real
   composition root, single-instance lock, translations, snapshot off-thread). Runs are
   interleaved; medians and ranges are reported. Children keep bytecode in a cache dir, as an
   installed app has its .pyc files.
2. Idle: the app runs against a local fake organization API (tests/fakes/fake_org.py) with an
   admin key in $OPENAI_ADMIN_KEY and the minimum poll interval (30 s), so polls happen during
   the window; CPU time (utime+stime from /proc) and RSS are sampled each second.
3. Resident (`--resident`, needs Xvfb and trayer): the app in a real tray on a seeded home; it
   drives itself through phases and the parent reads RSS (/proc VmRSS) and CPU after each:
   tray only (no window ever shown), dashboard open, dashboard closed, the same again
   (reopen time), tokenizer used once (an encoding loaded: its cost is the difference) and
   closed. CPU is taken over a quiet stretch in the tray with no poll due.
4. Tokenizer (`--tokenizer`): `token-monitor tokenizer` from start to its window, then a short
   paste to its count on screen, against the encoding's own load time (see bench_tokenizer).
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

# How a child sees its first frame. "paint" (default) wraps the window class's paintEvent:
# one Python call per paint of that window, as the app itself has. "filter" is the earlier
# probe, an event filter on the whole application: it runs Python for every event of every
# object, so it charges a window with many widgets (ours) ~50 ms more than a bare one for
# events the app never sees in Python; kept to compare with figures taken with it.
PROBE = r"""
import os, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
def on_first_paint(cls, callback):
    if os.environ.get("TM_PROBE") == "filter":
        class Probe(QObject):
            done = False
            def eventFilter(self, obj, ev):
                if not self.done and ev.type() == QEvent.Type.Paint and isinstance(obj, cls):
                    self.done = True
                    callback(obj)
                return False
        global _probe
        _probe = Probe(); QApplication.instance().installEventFilter(_probe)
        return
    original = cls.paintEvent
    done = []
    def paintEvent(self, ev):
        original(self, ev)
        if not done:
            done.append(True)
            callback(self)
    cls.paintEvent = paintEvent
"""

BARE = PROBE + r"""
from PySide6.QtWidgets import QLabel
app = QApplication(sys.argv[:1])
class Window(QMainWindow):
    pass
def painted(_w):
    print("painted", flush=True)
    app.quit()
on_first_paint(Window, painted)
w = Window(); w.setCentralWidget(QLabel("hello")); w.resize(1100, 780); w.show()
app.exec()
"""

OURS = PROBE + r"""
sys.path.insert(0, os.environ["TM_ROOT"])
app = QApplication(sys.argv[:1])
once = os.environ.get("TM_BENCH_MODE") == "startup"
from monitor.gui.dashboard.window import DashboardWindow
def painted(_w):
    print("painted", flush=True)
    if once:
        QTimer.singleShot(0, app.quit)
on_first_paint(DashboardWindow, painted)
from monitor.context import AppContext
from monitor.gui.app import run_app
from monitor.paths import resolve_paths
ctx = AppContext(resolve_paths(os.environ["MONITOR_HOME"]).ensure())
try:
    sys.exit(run_app(ctx))
finally:
    ctx.close()
"""


RESIDENT = r"""
import os, sys, time
sys.path.insert(0, os.environ["TM_ROOT"])
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
settle = float(os.environ.get("TM_SETTLE_S", "4")) * 1000
def say(*parts):
    print(*parts, flush=True)
def dashboard():
    return next(w for w in app.topLevelWidgets() if w.objectName() == "dashboard")
class Painted(QObject):
    t0 = None
    def eventFilter(self, obj, ev):
        if self.t0 is not None and ev.type() == QEvent.Type.Paint and obj is dashboard():
            say("reopen_ms", round((time.perf_counter() - self.t0) * 1000, 1))
            self.t0 = None
        return False
painted = Painted(); app.installEventFilter(painted)
def step(n=0):
    w = dashboard()
    if n == 0:
        say("phase tray-only", int(w.isVisible()))
    elif n in (1, 3):
        painted.t0 = time.perf_counter(); w.bring_forward()
        QTimer.singleShot(int(settle), lambda: (say("phase dashboard-open"), step(n + 1)))
        return
    elif n in (2, 4):
        w.close()
        QTimer.singleShot(int(settle), lambda: (say("phase dashboard-closed"), step(n + 1)))
        return
    elif n == 5:
        t0 = time.perf_counter(); w.show_tokenizer(); pane = w.tokenizer
        say("tokenizer_window_ms", round((time.perf_counter() - t0) * 1000, 1))
        t_paste = time.perf_counter()
        pane.set_text("Count me: a short paste of a few words. " * 3)
        def wait():
            if pane.busy or pane.result is None:
                QTimer.singleShot(5, wait); return
            say("first_count_ms", round((time.perf_counter() - t_paste) * 1000, 1),
                "load_ms", round(pane.result.load_s * 1000, 1))
            say("status", pane.status_label.text())
            QTimer.singleShot(int(settle), lambda: (say("phase tokenizer-used"), step(6)))
        wait(); return
    elif n == 6:
        w.close()
        QTimer.singleShot(int(settle), lambda: (say("phase tokenizer-closed"), step(7)))
        return
    else:
        say("done"); return
    quiet = float(os.environ.get("TM_QUIET_S", "0")) * 1000 + 1000  # the parent measures CPU
    QTimer.singleShot(int(quiet), lambda: step(n + 1))
QTimer.singleShot(int(settle), step)
from monitor.context import AppContext
from monitor.core import rank_cache
from monitor.gui.app import run_app
from monitor.paths import resolve_paths
ctx = AppContext(resolve_paths(os.environ["MONITOR_HOME"]).ensure())
rank_cache.use_directory(ctx.paths.cache_dir)
try:
    sys.exit(run_app(ctx))
finally:
    ctx.close()
"""


PROBE_KIND = "paint"

# Children write and reuse bytecode here (an installed app has its .pyc files; a checkout
# run with PYTHONDONTWRITEBYTECODE=1 would recompile every module on every start).
PYCACHE = Path(tempfile.gettempdir()) / "token-monitor-bench-pycache"


STANDALONE = PROBE + r"""
T0 = time.perf_counter()
sys.path.insert(0, os.environ["TM_ROOT"])  # this checkout's code, whatever the cwd
app = QApplication(["token-monitor"])  # the command reuses it
from monitor.core import encodings
from monitor.core import tokens
from monitor.gui.tokenizer.window import TokenizerWindow
load = {}
_build = tokens.get_encoding
def get_encoding(name):  # the encoding's real load time, whichever thread does it
    if name in encodings._encodings:
        return _build(name)
    load.setdefault("start", time.perf_counter())
    try:
        return _build(name)
    finally:
        load.setdefault("end", time.perf_counter())
tokens.get_encoding = get_encoding
shown = []
def painted(window):
    shown.append(time.perf_counter())
    print("window_ms", round((shown[0] - T0) * 1000, 1), flush=True)
    QTimer.singleShot(0, lambda: paste(window.pane))
on_first_paint(TokenizerWindow, painted)
def paste(pane):
    t = time.perf_counter()
    pane.editor.insertPlainText("A short paste: what does this prompt cost? " * 3)
    def wait():
        if pane.busy or pane.result is None:
            QTimer.singleShot(1, wait); return
        now = time.perf_counter()
        ms = lambda a, b: round((b - a) * 1000, 1)
        print("paste_to_count_ms", ms(shown[0], now), "load_ms", ms(load["start"], load["end"]),
              "count_after_load_ms", ms(load["end"], now), "paste_ran_after_ms", ms(shown[0], t),
              flush=True)
        print("status", pane.status_label.text(), flush=True)
        app.exit(0)
    wait()
from monitor.cli import main
sys.exit(main(["tokenizer"]))
"""


def bench_tokenizer(runs: int, platform: str) -> None:
    """`token-monitor tokenizer`: window shown, then a short paste typed in at once.

    paste_to_count_ms runs from the window's first frame (when the paste is asked for) to its
    count on screen; load_ms is the encoding's own load (it starts when the pane opens, on a
    worker); count_after_load_ms is how long after the encoding was there the count showed
    (the goal: within 50 ms). paste_ran_after_ms: when the GUI thread could run the paste
    (building an encoding holds the GIL in tiktoken)."""
    with tempfile.TemporaryDirectory(prefix="tm-tok-") as tmp:
        env = _env(platform, Path(tmp) / "home")
        env.pop("MONITOR_SHOW_WINDOW")
        subprocess.run([sys.executable, "-m", "monitor", "count", "-"], input=b"warm cache",
                       env=env, capture_output=True, check=True)
        figures: dict[str, list[float]] = {}
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-c", STANDALONE], env=env, capture_output=True,
                                 text=True, timeout=60)
            print("  " + " | ".join(out.stdout.strip().splitlines()))
            for line in out.stdout.splitlines():
                words = line.split()
                if words and words[0] != "status":
                    for name, value in zip(words[::2], words[1::2], strict=False):
                        figures.setdefault(name, []).append(float(value))
        for name, values in figures.items():
            print(f"  {name:22s} median {statistics.median(values):7.1f}   "
                  f"min {min(values):7.1f}   max {max(values):7.1f}")


def _env(platform: str, home: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DBUS_SESSION_BUS_ADDRESS", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.update(QT_QPA_PLATFORM=platform, TM_ROOT=str(ROOT), PYTHONPATH=str(ROOT),
               MONITOR_SHOW_WINDOW="1", MONITOR_NO_ERR_WINDOWS="1", TM_PROBE=PROBE_KIND,
               **extra)
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


def _seed_home(home: Path, base_url: str | None = None, poll_interval_s: int = 30) -> None:
    from monitor.context import AppContext
    from monitor.paths import resolve_paths
    from tests.e2e.seed import seed_month

    ctx = AppContext(resolve_paths(home).ensure())
    try:
        seed_month(ctx.store(), ctx.prices(), datetime.now(UTC))
        s = ctx.settings.replace(poll_interval_s=poll_interval_s)
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


def _stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM (the app quits cleanly), SIGKILL after 15 s; returns its stderr."""
    proc.terminate()
    try:
        _out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    return err or ""


def _thread_ticks(pid: int) -> dict[str, int]:
    """CPU ticks per thread ("name/tid") of a process."""
    out: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name, fields = (task / "stat").read_text().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, IndexError, ValueError):
            continue
        parts = fields.split()
        out[f"{name}/{task.name}"] = int(parts[11]) + int(parts[12])
    return out


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
            err = _stop(proc)
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


def _x_session() -> tuple[str, list[subprocess.Popen[bytes]]]:
    r, w = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x900x24",
                             "-nolisten", "tcp"], pass_fds=(w,), stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        display = ":" + f.readline().strip()
    env = dict(os.environ, DISPLAY=display)
    trayer = subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype",
                               "pixel", "--width", "200", "--height", "24"], env=env,
                              stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return display, [trayer, xvfb]


def bench_resident(settle_s: float, quiet_s: int) -> dict[str, object]:
    """RSS per phase of a tray-resident app (see the module doc); needs Xvfb and trayer."""
    display, procs = _x_session()
    out: dict[str, object] = {"display": display}
    try:
        with tempfile.TemporaryDirectory(prefix="tm-resident-") as tmp:
            home = Path(tmp) / "home"
            _seed_home(home, poll_interval_s=300)  # the default: quiet stretches between polls
            env = _env("xcb", home, TM_SETTLE_S=str(settle_s), TM_QUIET_S=str(quiet_s),
                       DISPLAY=display)
            env.pop("MONITOR_SHOW_WINDOW")
            # Warm the encoding cache as a first `count` would (not measured).
            subprocess.run([sys.executable, "-m", "monitor", "--home", str(home), "count", "-"],
                           input=b"warm", env=env, capture_output=True, check=True)
            proc = subprocess.Popen([sys.executable, "-c", RESIDENT], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            assert proc.stdout is not None
            try:
                phases: list[dict[str, object]] = []
                for line in proc.stdout:
                    word, _, rest = line.strip().partition(" ")
                    if word == "phase":
                        name, _, visible = rest.partition(" ")
                        entry: dict[str, object] = {"phase": name,
                                                    "rss_mb": round(_proc_rss_mb(proc.pid), 1)}
                        if name == "tray-only":
                            entry["window_visible"] = visible == "1"
                            cpu0, t0 = _proc_cpu_s(proc.pid), time.monotonic()
                            threads0 = _thread_ticks(proc.pid)
                            time.sleep(quiet_s)
                            cpu1, t1 = _proc_cpu_s(proc.pid), time.monotonic()
                            entry["idle_cpu_pct"] = round(100 * (cpu1 - cpu0) / (t1 - t0), 2)
                            threads1 = _thread_ticks(proc.pid)
                            entry["busy_threads_ticks"] = {
                                k: v - threads0.get(k, 0) for k, v in threads1.items()
                                if v - threads0.get(k, 0)}
                        phases.append(entry)
                    elif word == "done":
                        break
                    elif word:
                        out.setdefault(word, []).append(rest)  # type: ignore[union-attr]
                out["phases"] = phases
            finally:
                err = _stop(proc)
                if err.strip():
                    out["stderr_tail"] = err[-300:]
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--idle-seconds", type=int, default=60)
    parser.add_argument("--platform", default="offscreen", choices=["offscreen", "xcb"])
    parser.add_argument("--skip-idle", action="store_true")
    parser.add_argument("--resident", action="store_true",
                        help="only the tray-resident RSS phases (Xvfb + trayer)")
    parser.add_argument("--tokenizer", action="store_true",
                        help="only the standalone tokenizer: window, first count of a paste")
    parser.add_argument("--settle", type=float, default=4.0, help="seconds per phase")
    parser.add_argument("--quiet", type=int, default=10, help="idle CPU window in the tray (s)")
    parser.add_argument("--probe", choices=["paint", "filter"], default="paint",
                        help="how a child sees its first frame (see PROBE)")
    args = parser.parse_args(argv)
    global PROBE_KIND
    PROBE_KIND = args.probe
    sys.path.insert(0, str(ROOT))
    if args.resident:
        print(json.dumps(bench_resident(args.settle, args.quiet), indent=2))
        return 0
    if args.tokenizer:
        print("token-monitor tokenizer: start to window, then a short paste to its count")
        bench_tokenizer(args.runs, args.platform)
        return 0

    print(f"platform: {args.platform}; runs: {args.runs}; probe: {args.probe}; "
          f"python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.2f}")
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
