"""Re-make resources/screenshots/dashboard_<lang>.png: the dashboard in a language, under Xvfb.

Runnable, not a pytest test: `python tests/e2e/screenshot_dashboard_i18n.py [LANG] [OUT.png]`
(default zh_CN). Needs a CJK font for Chinese (Debian: fonts-noto-cjk). Starts its own Xvfb
(stopped before it exits) unless DISPLAY is set and QT_QPA_PLATFORM=xcb. Also saves the
"By model" and "Sources" tabs next to it with `_models` / `_sources` appended (not committed
unless wanted) so every translated tab can be looked at.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.screenshot_tokenizer import on_xvfb  # noqa: E402


def _shoot(language: str, out: Path, extra_tabs: bool) -> None:
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from monitor.context import AppContext
    from monitor.gui import i18n
    from monitor.gui.app import AppController
    from monitor.paths import resolve_paths
    from tests.e2e.seed import seed_month

    app = QApplication(["token-monitor"])
    translators = i18n.install(app, language)

    def pump(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    with tempfile.TemporaryDirectory() as home:
        ctx = AppContext(resolve_paths(Path(home)).ensure())
        now = datetime.now(UTC)
        seed_month(ctx.store(), ctx.prices(), now, scale=0.9)
        ctx.save_settings(ctx.settings.replace(
            prepaid_credit_usd="200", prepaid_purchased=(now - timedelta(days=40)).date(),
            prepaid_expires=(now + timedelta(days=325)).date(), today_timezone="UTC",
            language=language))
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
        w.resize(1240, 860)
        w.move(10, 10)
        pump(900)
        out.parent.mkdir(parents=True, exist_ok=True)
        w.tabs.setCurrentIndex(0)
        pump(400)
        if not w.grab().save(str(out)):
            raise RuntimeError(f"could not save {out}")
        print(f"saved {out}")
        if extra_tabs:
            for index, suffix in ((1, "_models"), (3, "_billed"), (4, "_sources")):
                w.tabs.setCurrentIndex(index)
                pump(400)
                extra = out.with_name(out.stem + suffix + out.suffix)
                w.grab().save(str(extra))
                print(f"saved {extra}")
        c.shutdown()
        ctx.close()
    i18n.remove(app, translators)


def main(argv: list[str]) -> int:
    language = argv[0] if argv else "zh_CN"
    out = Path(argv[1]) if len(argv) > 1 else (
        ROOT / "resources" / "screenshots" / f"dashboard_{language}.png")
    extra_tabs = os.environ.get("TM_SHOT_ALL_TABS") == "1"
    return on_xvfb(lambda: _shoot(language, out.resolve(), extra_tabs))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
