"""Re-make resources/screenshots/tokenizer.png: the tokenizer window under Xvfb, with a tooltip.

Runnable, not a pytest test: `python tests/e2e/screenshot_tokenizer.py [OUT.png]`. Starts its
own Xvfb (stopped before it exits) unless DISPLAY is already set and QT_QPA_PLATFORM=xcb.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREEN = (1280, 900)

SAMPLE = """\
Token Monitor counts tokens exactly like tiktoken, offline: paste a prompt, see what it costs.

def monthly_cost(tokens: int, calls_per_day: int, usd_per_million: float) -> float:
    \"\"\"30 days of calls; cached input is cheaper.\"\"\"
    return tokens * calls_per_day * 30 * usd_per_million / 1_000_000

中文也按令牌计费：每个汉字通常是一个或多个令牌。
Special strings like <|endoftext|> are counted as ordinary text.
"""


def _start_xvfb() -> subprocess.Popen[bytes]:
    r, w = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
         "-nolisten", "tcp"], pass_fds=(w,), stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        display = f.readline().strip()
    if not display:
        proc.terminate()
        raise RuntimeError("Xvfb did not start")
    os.environ["DISPLAY"] = f":{display}"
    return proc


def on_xvfb(shoot: Callable[[], None]) -> int:
    """Run `shoot` on a private Xvfb (unless already on an X display with Qt's xcb), then stop
    it: the one start/stop every screenshot script shares."""
    xvfb = None
    if not (os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") == "xcb"):
        xvfb = _start_xvfb()
    try:
        shoot()
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
    return 0


def _shoot(out: Path) -> None:
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QEventLoop, QPoint, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QToolTip

    from monitor.commands.tokenizer import build_window
    from monitor.context import AppContext
    from monitor.gui.tokenizer.compat import protect_none
    from monitor.paths import resolve_paths

    protect_none()
    app = QApplication(["token-monitor"])

    def spin(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    with tempfile.TemporaryDirectory() as home:
        ctx = AppContext(resolve_paths(Path(home)).ensure())
        window, pane, runner = build_window(ctx)
        window.resize(SCREEN[0], SCREEN[1] - 40)
        window.move(0, 0)
        window.show()
        pane.set_remaining_budget(pane.remaining_budget_usd)  # unknown: share of the limit
        pane.set_text(SAMPLE)
        pane.budget.calls_per_day.setValue(1000)
        pane.budget.cached_pct.setValue(40)
        pane.budget.output_tokens.setValue(300)
        for _ in range(200):
            spin(50)
            if not pane.busy and pane.result is not None:
                break
        pane.token_view.finish_layout()
        spin(300)
        view = pane.token_view
        index = next(i for i, t in enumerate(view.sample.texts) if t == "ikt")
        point = next(
            QPoint(x + 4, y + 4)
            for y in range(0, 60, 4)
            for x in range(0, view.viewport().width(), 2)
            if view.token_at(QPoint(x, y)) == index == view.token_at(QPoint(x + 4, y + 4))
        )
        QTest.mouseMove(view.viewport(), point)  # outlines the hovered token
        QToolTip.showText(view.viewport().mapToGlobal(point), view.tooltip_text(index),
                          view.viewport())
        spin(500)
        shot = app.primaryScreen().grabWindow(0, 0, 0, window.frameGeometry().width(),
                                              window.frameGeometry().height())
        out.parent.mkdir(parents=True, exist_ok=True)
        if not shot.save(str(out)):
            raise RuntimeError(f"could not save {out}")
        print(f"saved {out} ({shot.width()}x{shot.height()})")
        pane.shutdown()
        runner.wait(5000)


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources/screenshots/tokenizer.png"
    return on_xvfb(lambda: _shoot(out))


if __name__ == "__main__":
    raise SystemExit(main())
