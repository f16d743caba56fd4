"""Re-make resources/screenshots/dashboard_800x500.png, dashboard_period.png and
dashboard_what_if.png, under Xvfb.

Runnable, not a pytest test: `python tests/e2e/screenshot_dashboard_small.py [OUT_DIR]`
(default resources/screenshots). The dashboard at 800×500 with a seeded month (issue 25: the
header, labels and chart titles fit), and the By-model tab at that size with last month
picked in the period picker and a what-if model chosen; then that tab at 1100×780 on this
cycle. Starts its own Xvfb (stopped before
it exits) unless DISPLAY is set and QT_QPA_PLATFORM=xcb.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.screenshot_tokenizer import on_xvfb  # noqa: E402

SIZE = (800, 500)


def _shoot(out: Path) -> None:
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from monitor.context import AppContext
    from monitor.gui.app import AppController
    from monitor.paths import resolve_paths
    from tests.e2e.seed import seed_month

    app = QApplication(["token-monitor"])

    def pump(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def save(name: str) -> None:
        path = out / name
        if not c.window.grab().save(str(path)):
            raise RuntimeError(f"could not save {path}")
        print(f"saved {path}")

    with tempfile.TemporaryDirectory() as home:
        ctx = AppContext(resolve_paths(Path(home)).ensure())
        now = datetime.now(UTC)
        seed_month(ctx.store(), ctx.prices(), now, scale=0.9)
        ctx.save_settings(ctx.settings.replace(today_timezone="UTC"))
        c = AppController(ctx, tray=False, sync=lambda: "ok", use_freedesktop=False,
                          with_tokenizer=True)
        c.quit_requested = lambda: None
        loop = QEventLoop()
        c.state.snapshot_changed.connect(lambda _s: loop.quit())
        QTimer.singleShot(10_000, loop.quit)
        c.start(poll=False)
        loop.exec()
        w = c.window
        w.set_notice(None)
        w.banner.hide()
        w.resize(*SIZE)
        w.move(10, 10)
        pump(900)
        out.mkdir(parents=True, exist_ok=True)
        w.tabs.setCurrentIndex(0)
        pump(400)
        save("dashboard_800x500.png")
        w.tabs.setCurrentIndex(1)
        w.period_picker.choose("previous-cycle")
        pump(1200)
        w.what_if.filter.setText("mini")
        combo = w.what_if_model
        combo.setCurrentIndex(combo.findData("gpt-4o-mini"))
        pump(1200)
        save("dashboard_period.png")
        w.resize(1100, 780)  # the what-if per model at the default size, this cycle
        w.period_picker.choose("cycle")
        pump(1500)
        save("dashboard_what_if.png")
        c.shutdown()
        ctx.close()
    del app


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "resources" / "screenshots"
    return on_xvfb(lambda: _shoot(out.resolve()))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
