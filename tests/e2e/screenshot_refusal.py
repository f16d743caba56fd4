"""Screenshot of a real hard-cap refusal: resources/screenshots/refusal_alert.png.

A virtual key with a $0.01 daily hard cap is made in a fresh home; the official `openai` SDK
sends chat requests through the metering proxy (over loopback, to the fake upstream in
tests/fakes) until the proxy refuses one with HTTP 429. The app is then started on that home:
it evaluates its alerts and shows the hard-cap alert in the window's banner. Next to it, a
terminal-like pane shows the exception the SDK raised, exactly as `str(exc)` gave it.

Runnable, not a test: `python tests/e2e/screenshot_refusal.py [OUT.png]`. Starts its own Xvfb
(stopped before it exits) unless DISPLAY is set and QT_QPA_PLATFORM=xcb. Needs the test extra
(`openai`).
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.screenshot_tokenizer import on_xvfb  # noqa: E402

REAL_KEY = "sk-proj-SCREENSHOTteam0123456789abcdefKLMN"
MSG = [{"role": "user", "content": "Write a haiku about budgets."}]


def make_refusal(home: Path) -> tuple[str, list[str]]:
    """Send requests through a capped virtual key until one is refused: the SDK's error
    line, and the calls made (with what each got) before it."""
    import openai

    from monitor.context import AppContext
    from monitor.core.clock import system_clock
    from monitor.paths import resolve_paths
    from monitor.services.keyvault import KeyStore, MemoryVault
    from monitor.services.proxy import MeteringProxy
    from monitor.services.proxy.caps import SpendGate
    from monitor.services.virtual_keys import VirtualKeys
    from tests.fakes.fake_upstream import FakeUpstream
    from tests.fakes.server import ServerThread

    ctx = AppContext(resolve_paths(home).ensure())
    ctx.save_settings(ctx.settings.replace(monthly_limit_usd="50", today_timezone="UTC"))
    ctx._keys = KeyStore.open(ctx.paths.keys_file, vault=MemoryVault())
    ctx.keys().add("team", "project", REAL_KEY)
    _, token = VirtualKeys(ctx.store()).add("notes-bot", "team", now=ctx.now(),
                                            cap_usd=Decimal("0.01"), per="day", hard=True)
    fake = FakeUpstream()
    with ServerThread(fake.make_app) as upstream:
        gate = SpendGate(prices=ctx.prices(), clock=system_clock,
                         settings=lambda: ctx.settings, secret_for=ctx.keys().secret)
        proxy = MeteringProxy(upstream=upstream.base_url + "/v1",
                              store_path=ctx.paths.db_file, prices=ctx.prices(), port=0,
                              gate=gate)
        proxy.start_in_thread()
        served: list[str] = []
        line = ""
        try:
            client = openai.OpenAI(base_url=proxy.url, api_key=token, max_retries=0)
            with client:
                # first with max_tokens (a small reservation: served), then without it
                # (the worst case, 4,096 output tokens, could pass the cap: refused)
                for limit in (200, None):
                    extra = {} if limit is None else {"max_tokens": limit}
                    arg = f", max_tokens={limit}" if limit else ""
                    call = f'client.chat.completions.create(model="gpt-4o", messages=[...]{arg})'

                    served.append(">>> " + call)
                    try:
                        reply = client.chat.completions.create(
                            model="gpt-4o", messages=MSG, **extra)  # type: ignore[call-overload]
                    except openai.RateLimitError as exc:
                        line = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
                        break
                    usage = reply.usage
                    served.append(f"served: {usage.completion_tokens if usage else '?'} "
                                  "output tokens")
                    proxy.flush()
                    gate.refresh_soon()
                    time.sleep(0.5)
            # the refusal reaches the store on the gate's next flush
            deadline = time.monotonic() + 10
            while not VirtualKeys(ctx.store()).refusals_at(ctx.now()):
                if time.monotonic() > deadline:
                    raise RuntimeError("the refusal was never stored")
                gate.refresh_soon()
                time.sleep(0.2)
        finally:
            proxy.stop()
    ctx.close()
    if not line:
        raise RuntimeError("the proxy never refused a request")
    return line, served


def _terminal(line: str, calls: list[str], width: int) -> object:
    """A terminal-like pane with the client's view: the call and the exception line."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontMetrics, QPainter, QPixmap

    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSize(10)
    metrics = QFontMetrics(font)
    cols = max(40, (width - 32) // max(1, metrics.horizontalAdvance("M")))
    lines = [("$ python notes_bot.py", "#8ae234")]
    lines += [(c, "#d3d7cf" if c.startswith(">>>") else "#8ae234") for c in calls]
    for part in textwrap.wrap(line, cols, break_long_words=True, break_on_hyphens=False):
        lines.append((part, "#ef2929"))
    title_h, pad, lh = 26, 14, metrics.lineSpacing()
    pm = QPixmap(width, title_h + pad * 2 + lh * len(lines))
    pm.fill(QColor("#1e1e1e"))
    p = QPainter(pm)
    p.fillRect(0, 0, width, title_h, QColor("#3c3c3c"))
    for i, colour in enumerate(("#ff5f56", "#ffbd2e", "#27c93f")):
        p.setBrush(QColor(colour))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(10 + i * 18, 8, 11, 11)
    title = QFont()
    title.setPointSize(9)
    p.setFont(title)
    p.setPen(QColor("#d0d0d0"))
    p.drawText(0, 0, width, title_h, Qt.AlignmentFlag.AlignCenter,
               "terminal: the openai SDK through the proxy")
    p.setFont(font)
    y = title_h + pad + metrics.ascent()
    for text, colour in lines:
        p.setPen(QColor(colour))
        p.drawText(16, y, text)
        y += lh
    p.end()
    return pm


def _shoot(out: Path) -> None:
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    from PySide6.QtCore import QEventLoop, QPoint, QRect, QTimer
    from PySide6.QtGui import QColor, QPainter, QPixmap
    from PySide6.QtWidgets import QApplication

    app = QApplication(["token-monitor"])
    from monitor.context import AppContext
    from monitor.gui import i18n
    from monitor.gui.app import AppController
    from monitor.paths import resolve_paths
    from monitor.services.keyvault import KeyStore, MemoryVault

    translators = i18n.install(app, "en")

    def pump(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    with tempfile.TemporaryDirectory(prefix="tm-shots-refusal-") as tmp:
        home = Path(tmp)
        line, calls = make_refusal(home)
        print("the SDK raised:", line)
        ctx = AppContext(resolve_paths(home).ensure())
        ctx._keys = KeyStore.open(ctx.paths.keys_file, vault=MemoryVault())
        c = AppController(ctx, tray=False, sync=lambda: "ok", use_freedesktop=False)
        c.quit_requested = lambda: None
        w = c.window
        w.resize(1000, 640)
        w.move(10, 10)
        shown: list[object] = []
        c.notifier.banner_requested.connect(shown.append)
        c.start(poll=False)
        w.show()
        deadline = time.monotonic() + 15
        while not shown and time.monotonic() < deadline:
            pump(100)
        if not shown:
            raise RuntimeError("the app showed no alert for the refusal")
        w.set_notice(None)  # the no-tray note: not what this shot is about
        pump(800)
        w.tabs.setCurrentIndex(0)
        pump(300)
        banner_h = w.banner.mapTo(w, QPoint(0, w.banner.height())).y() + 5
        top = w.grab(QRect(0, 0, w.width(), banner_h))
        term = _terminal(line, calls, w.width())
        assert isinstance(term, QPixmap)
        gap = 12
        sheet = QPixmap(top.width(), top.height() + gap + term.height())
        sheet.fill(QColor("#ffffff"))
        p = QPainter(sheet)
        p.drawPixmap(0, 0, top)
        p.drawPixmap(0, top.height() + gap, term)
        p.end()
        out.parent.mkdir(parents=True, exist_ok=True)
        if not sheet.save(str(out)):
            raise RuntimeError(f"could not save {out}")
        print(f"saved {out}")
        c.shutdown()
        ctx.close()
    i18n.remove(app, translators)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "resources" / "screenshots" / "refusal_alert.png"
    return on_xvfb(lambda: _shoot(out.resolve()))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
