"""`python -m monitor` as a user starts it: real X server (Xvfb), real tray host (trayer), clicks.

The app runs as a subprocess with a seeded month; the test finds its icon inside trayer's
panel, left-clicks it with xdotool, sees the dashboard window mapped and drawn, launches a
second instance (exit 0, the first one's window comes back on top), then sends Ctrl+C
(SIGINT) with the dashboard open and expects exit 0 within seconds.

Skipped when Xvfb, trayer, xdotool or xwininfo (x11-utils) is missing, unless
MONITOR_REQUIRE_XVFB=1 (CI) makes that a failure. Every process started here is stopped in
the fixture's teardown, pass or fail.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCREEN = (1280, 900)
WM_CLASS = "token-monitor"  # the X11 class instance of every window the app opens
TOOLS = ("Xvfb", "trayer", "xdotool", "xwininfo")  # xwininfo: Debian x11-utils


def _need_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        if os.environ.get("MONITOR_REQUIRE_XVFB") == "1":
            pytest.fail(f"missing {', '.join(missing)} (MONITOR_REQUIRE_XVFB=1)")
        pytest.skip(f"missing {', '.join(missing)}")


def _wait_for(predicate: Callable[[], object], timeout: float, what: str,
              describe: Callable[[], str] = lambda: "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}. {describe()}")
        time.sleep(0.05)


@dataclass
class XSession:
    """A private X display with a tray host; `procs` are stopped at teardown."""

    display: str
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), env=self.env, capture_output=True, text=True,
                              timeout=10, check=check)

    def spawn(self, args: list[str], **kw: object) -> subprocess.Popen[bytes]:
        proc: subprocess.Popen[bytes] = subprocess.Popen(  # type: ignore[call-overload]
            args, env=kw.pop("env", self.env), start_new_session=True, **kw)
        self.procs.append(proc)
        return proc

    # window queries ------------------------------------------------------------------

    def windows(self, pattern: str, by: str = "--name") -> list[int]:
        """Visible windows whose title (`--name`) or WM_CLASS instance (`--classname`) matches
        the regex `pattern`."""
        out = self.run("xdotool", "search", "--onlyvisible", by, pattern)
        return [int(w) for w in out.stdout.split()]

    def geometry(self, wid: int) -> tuple[int, int, int, int]:
        out = self.run("xdotool", "getwindowgeometry", "--shell", str(wid), check=True).stdout
        v = dict(line.split("=", 1) for line in out.split())
        return int(v["X"]), int(v["Y"]), int(v["WIDTH"]), int(v["HEIGHT"])

    def top_level_stack(self) -> list[int]:
        """The root's mapped children, topmost first (xwininfo prints them in that order)."""
        out = self.run("xwininfo", "-root", "-children").stdout
        ids = []
        for line in out.splitlines():
            m = re.match(r"\s+(0x[0-9a-f]+) ", line)
            if m:
                wid = int(m.group(1), 16)
                attrs = self.run("xwininfo", "-id", str(wid)).stdout
                if "IsViewable" in attrs:
                    ids.append(wid)
        return ids


@pytest.fixture
def xsession(tmp_path: Path) -> Iterator[XSession]:
    _need_tools()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DBUS_SESSION_BUS_ADDRESS", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r, w = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
         "-nolisten", "tcp", "-noreset"], pass_fds=(w,), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    os.close(w)
    session = XSession("", env, [xvfb])
    try:
        with os.fdopen(r) as f:  # Xvfb writes the display number it picked once it is ready
            number = f.readline().strip()
        assert number, "Xvfb did not start"
        session.display = f":{number}"
        env["DISPLAY"] = session.display
        env["HOME"] = str(tmp_path)  # fontconfig/keyring caches stay in the test's folder
        if shutil.which("dbus-daemon"):  # a private session bus; nothing leaks to the user's
            bus = session.spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            assert bus.stdout is not None
            env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().decode().strip()
        session.spawn(["trayer", "--edge", "top", "--align", "right", "--widthtype", "pixel",
                       "--width", "96", "--height", "32", "--SetDockType", "true",
                       "--transparent", "false", "--tint", "0x2b2b2b"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(lambda: session.windows("^panel$"), 10, "trayer's panel")
        yield session
    finally:
        for proc in reversed(session.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(session.procs):
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


def _seed(home: Path) -> None:
    from monitor.context import AppContext
    from monitor.paths import resolve_paths
    from tests.e2e.seed import seed_month

    ctx = AppContext(resolve_paths(home).ensure())
    try:
        seed_month(ctx.store(), ctx.prices(), datetime.now(UTC),
                   cycle_start_day=ctx.settings.cycle_start_day)
    finally:
        ctx.close()


def _tray_icon(x: XSession) -> int | None:
    """Our visible window that sits inside trayer's panel (the tray icon), if any."""
    panels = x.windows("^panel$")
    if not panels:
        return None
    px, py, pw, ph = x.geometry(panels[0])
    for wid in x.windows(f"^{WM_CLASS}$", "--classname"):
        wx, wy, ww, wh = x.geometry(wid)
        if px <= wx and wx + ww <= px + pw and py <= wy and wy + wh <= py + ph and ww > 4:
            return wid
    return None


def _dashboard(x: XSession) -> int | None:
    """Our visible top-level window big enough to be the dashboard, if any."""
    for wid in x.windows(f"^{WM_CLASS}$", "--classname"):
        if x.geometry(wid)[2] >= 600:
            return wid
    return None


def _screenshot(x: XSession, out: Path) -> None:
    if shutil.which("import"):
        x.run("import", "-window", "root", str(out), check=True)
        return
    # Without ImageMagick: grab the X screen with Qt in a helper process.
    code = ("import sys; from PySide6.QtWidgets import QApplication; a = QApplication([]); "
            "sys.exit(0 if a.primaryScreen().grabWindow(0).save(sys.argv[1]) else 1)")
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, timeout=20,
                   env={**x.env, "QT_QPA_PLATFORM": "xcb"})


def _distinct_colours(png: Path, rect: tuple[int, int, int, int]) -> int:
    from PySide6.QtGui import QImage

    img = QImage(str(png))
    assert not img.isNull(), f"cannot read {png}"
    x0, y0, w, h = rect
    seen = set()
    for yy in range(max(0, y0), min(img.height(), y0 + h), 4):
        for xx in range(max(0, x0), min(img.width(), x0 + w), 4):
            seen.add(img.pixel(xx, yy))
    return len(seen)


@dataclass
class RunningApp:
    """`python -m monitor` started in an XSession with a seeded MONITOR_HOME."""

    x: XSession
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    home: Path
    err_log: Path

    def state(self) -> str:
        return (f"app rc={self.proc.poll()}; "
                f"stderr: {self.err_log.read_text(errors='replace')[-1500:]}; "
                f"windows: {self.x.run('xwininfo', '-root', '-tree').stdout[-1500:]}")

    def wait_docked(self) -> int:
        """The tray icon's window id, once it sits in trayer's panel."""

        def docked() -> int | None:
            assert self.proc.poll() is None, "the app exited early. " + self.state()
            return _tray_icon(self.x)

        icon = _wait_for(docked, 20, "the tray icon", self.state)
        assert isinstance(icon, int)
        return icon

    def click(self, wid: int) -> None:
        ix, iy, iw, ih = self.x.geometry(wid)
        self.x.run("xdotool", "mousemove", "--sync", str(ix + iw // 2), str(iy + ih // 2),
                   check=True)
        self.x.run("xdotool", "click", "1", check=True)

    def wait_dashboard(self) -> int:
        dash = _wait_for(lambda: _dashboard(self.x), 10, "the dashboard window", self.state)
        assert isinstance(dash, int)
        return dash

    def interrupt_and_check_clean_exit(self) -> None:
        """Ctrl+C (SIGINT): exit code 0 within 8 s, no traceback, no crash in the log."""
        self.proc.send_signal(signal.SIGINT)
        try:
            rc = self.proc.wait(8)
        except subprocess.TimeoutExpired:
            pytest.fail("the app did not quit within 8 s of SIGINT. " + self.state())
        stderr = self.err_log.read_text(errors="replace")
        assert rc == 0, stderr
        assert "Traceback" not in stderr, stderr
        log_text = (self.home / "log" / "token-monitor.log").read_text(errors="replace")
        assert "uncaught exception" not in log_text, log_text[-3000:]
        _wait_for(lambda: _tray_icon(self.x) is None and _dashboard(self.x) is None, 5,
                  "the app's windows to go away")


def _start_app(x: XSession, tmp_path: Path) -> RunningApp:
    home = tmp_path / "home"
    _seed(home)
    env = {**x.env, "QT_QPA_PLATFORM": "xcb", "MONITOR_HOME": str(home),
           "PYTHONPATH": str(ROOT)}  # a crash dialog would block Ctrl+C: the test sees it
    env.pop("OPENAI_ADMIN_KEY", None)
    err_log = tmp_path / "app.err"
    with (tmp_path / "app.out").open("wb") as out, err_log.open("wb") as err:
        proc = x.spawn([sys.executable, "-m", "monitor"], env=env, stdout=out, stderr=err,
                       cwd=tmp_path)
    return RunningApp(x, proc, env, home, err_log)


def test_tray_click_second_launch_and_ctrl_c(xsession: XSession, tmp_path: Path) -> None:
    x = xsession
    app = _start_app(x, tmp_path)

    # 1. The icon docks in trayer's panel; with a tray, no window opens by itself.
    icon = app.wait_docked()
    assert _dashboard(x) is None, "the dashboard opened without a click"

    # 2. A left click on the icon opens the dashboard.
    app.click(icon)
    dash = app.wait_dashboard()
    dx, dy, dw, dh = x.geometry(dash)
    assert dw >= 800 and dh >= 500, (dw, dh)

    # 3. It is drawn: the screen shows many colours where the window is (Xvfb starts black).
    shot = tmp_path / "screen.png"

    def drawn() -> bool:
        _screenshot(x, shot)
        return _distinct_colours(shot, (dx, dy, dw, dh)) >= 20

    _wait_for(drawn, 10, "the dashboard to be painted",
              lambda: f"colours={_distinct_colours(shot, (dx, dy, dw, dh))}")
    assert shot.stat().st_size > 10_000

    # 4. A second launch exits 0 and brings the first one's window back on top.
    panel = x.windows("^panel$")[0]
    x.run("xdotool", "windowraise", str(panel), check=True)  # bury the dashboard (no WM)

    def above(a: int, b: int) -> bool:  # a notification may sit on top of both: compare
        stack = x.top_level_stack()
        return a in stack and b in stack and stack.index(a) < stack.index(b)

    _wait_for(lambda: above(panel, dash), 5, "trayer's panel above the dashboard",
              lambda: str(x.top_level_stack()))
    second = subprocess.run([sys.executable, "-m", "monitor"], env=app.env,
                            capture_output=True, text=True, timeout=20, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "already running; showed its window" in second.stderr
    _wait_for(lambda: above(dash, panel), 5, "the dashboard to come back on top",
              lambda: str(x.top_level_stack()))
    assert app.proc.poll() is None

    # 5. Ctrl+C with the dashboard open quits cleanly.
    app.interrupt_and_check_clean_exit()


def test_ctrl_c_right_after_opening_the_dashboard(xsession: XSession, tmp_path: Path) -> None:
    """Qt 6's quit() asks every open window to close; the dashboard refuses (it hides to the
    tray), which used to cancel the quit: Ctrl+C with the window open did nothing."""
    app = _start_app(xsession, tmp_path)
    app.click(app.wait_docked())
    app.wait_dashboard()
    time.sleep(1.5)  # the user looks at it for a moment (not an assertion: no wait-for here)
    app.interrupt_and_check_clean_exit()
