"""Benchmark: the tokenizer pane under a 10 MB mixed English/Chinese/code paste.

Prints (asserts nothing):
* the longest gap between ticks of a 5 ms probe QTimer while the pane takes the paste (real
  paste path: clipboard → off-thread normalise → sliced insert → sliced read → off-thread
  count), and again while typing into the 10 MB document; target: no gap over 50 ms;
* count-path throughput as a ratio to raw tiktoken `encode_ordinary` on the same text in the
  same run (best of N each); target ≥ 0.9. Also the full analysis (count + characters + words
  + the 20 000-token sample the view shades).

Run: `python tests/bench/bench_tokenizer_pane.py [--mb 10] [--repeat 3]`
(offscreen unless QT_QPA_PLATFORM is set).
"""

from __future__ import annotations

import argparse
import inspect
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QApplication

from monitor.context import AppContext
from monitor.core import tokenizer_model as tm
from monitor.core.tokens import get_encoding
from monitor.gui.tasks import TaskRunner
from monitor.gui.tokenizer import TokenizerPane
from monitor.gui.tokenizer.compat import protect_none
from monitor.paths import resolve_paths

PROBE_MS = 5
STALL_TARGET_MS = 50

_CHINESE = (
    "我们今天讨论的是令牌计数器如何在大型文本中保持流畅。",
    "人工智能模型按令牌收费，价格因模型而异，批处理可以节省一半费用。",
    "这段中文用于测试多字节字符的分词效果，以及上下文窗口的占用。",
    "缓存输入的价格更低，因此重复的系统提示词更便宜。",
)


def mixed_text(n_bytes: int, seed: int = 7) -> str:
    """English prose (pydoc topics), Python source and Chinese lines, ~50/30/20 by piece."""
    import pydoc_data.topics as topics

    rnd = random.Random(seed)
    english = list(topics.topics.values())
    code = inspect.getsource(inspect).splitlines()
    out: list[str] = []
    size = 0
    while size < n_bytes:
        r = rnd.random()
        if r < 0.5:
            piece = rnd.choice(english)[: rnd.randint(200, 2000)]
        elif r < 0.8:
            i = rnd.randint(0, len(code) - 40)
            piece = "\n".join(code[i : i + rnd.randint(5, 40)])
        else:
            piece = "".join(rnd.choice(_CHINESE) for _ in range(rnd.randint(2, 12)))
        out.append(piece + "\n")
        size += len(piece.encode("utf-8")) + 1
    return "".join(out)


class Probe:
    """A 5 ms timer on the GUI thread; the gaps between its ticks are the event-loop stalls."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setObjectName("bench-probe-timer")
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def start(self) -> None:
        self.ticks = [time.perf_counter()]
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        self.ticks.append(time.perf_counter())
        return [b - a for a, b in zip(self.ticks, self.ticks[1:], strict=False)]


def run_until(done: Callable[[], bool], timeout_s: float) -> bool:
    """Run the event loop until `done()` (checked every 10 ms) or the timeout."""
    loop = QEventLoop()
    check = QTimer()
    check.setInterval(10)
    check.timeout.connect(lambda: loop.quit() if done() else None)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    check.start()
    if not done():
        loop.exec()
    check.stop()
    return done()


def describe(name: str, gaps: list[float], elapsed: float) -> None:
    ms = sorted(g * 1000 for g in gaps)
    over = sum(1 for g in ms if g > STALL_TARGET_MS)
    p99 = ms[int(len(ms) * 0.99) - 1] if len(ms) > 1 else ms[-1]
    print(f"{name}: {elapsed:.2f} s, {len(ms)} probe gaps; longest {ms[-1]:.1f} ms, "
          f"p99 {p99:.1f} ms, median {statistics.median(ms):.1f} ms; "
          f"{over} over {STALL_TARGET_MS} ms; top 5: {[round(g, 1) for g in ms[-5:][::-1]]}")


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mb", type=float, default=10.0, help="paste size in MB (UTF-8)")
    parser.add_argument("--repeat", type=int, default=3, help="best-of N for throughput")
    args = parser.parse_args()

    app = QApplication.instance() or QApplication(["bench"])
    print(f"None reference leak guard applied: {protect_none()}")
    text = mixed_text(int(args.mb * 1_000_000))
    encoding = "o200k_base"
    enc = get_encoding(encoding)  # loaded before any measurement (a one-off ~0.3 s GIL hold)
    expected = len(enc.encode_ordinary(text))
    cjk = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    print(f"text: {len(text.encode('utf-8')) / 1e6:.2f} MB UTF-8, {len(text):,} characters "
          f"({cjk / len(text):.0%} CJK), {text.count(chr(10)):,} lines, {expected:,} tokens")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
          f"platform {app.platformName()}")

    with tempfile.TemporaryDirectory() as home:
        ctx = AppContext(resolve_paths(Path(home)).ensure())
        runner = TaskRunner()
        pane = TokenizerPane(ctx, runner)
        pane.resize(1280, 860)
        pane.show()
        run_until(lambda: not pane.busy, 30)

        # 1. the paste
        QGuiApplication.clipboard().setText(text)
        probe = Probe()
        probe.start()
        t0 = time.perf_counter()
        pane.editor.paste()
        ok = run_until(
            lambda: not pane.busy and pane.result is not None and pane.result.tokens == expected,
            120,
        )
        elapsed = time.perf_counter() - t0
        gaps = probe.stop()
        shown = pane.result.tokens if pane.result is not None else None
        print(f"paste → exact count shown: {'ok' if ok else 'TIMEOUT'} "
              f"(pane shows {shown:,} tokens; tiktoken {expected:,})" if shown is not None
              else "paste: no result")
        describe("paste of the whole text", gaps, elapsed)
        run_until(lambda: pane.token_view.is_laid_out(), 10)

        # 2. typing at the end of the 10 MB document, then the recount
        typed = "Another sentence at the end, typed key by key."
        cursor = pane.editor.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        pane.editor.setTextCursor(cursor)
        keys = iter(typed)
        typer = QTimer()
        typer.setInterval(30)

        def type_one() -> None:
            ch = next(keys, None)
            if ch is None:
                typer.stop()
                return
            for kind in (QKeyEvent.Type.KeyPress, QKeyEvent.Type.KeyRelease):
                QApplication.sendEvent(pane.editor, QKeyEvent(
                    kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch))

        typer.timeout.connect(type_one)
        final = len(enc.encode_ordinary(text + typed))
        probe.start()
        t0 = time.perf_counter()
        typer.start()
        ok = run_until(lambda: not typer.isActive() and not pane.busy and pane.result is not None
                       and pane.result.tokens == final, 120)
        elapsed = time.perf_counter() - t0
        gaps = probe.stop()
        print(f"typing {len(typed)} keys (30 ms apart) + recount: {'ok' if ok else 'TIMEOUT'}; "
              f"stale results dropped so far: {pane.stale_results_dropped}")
        describe("typing into the 10 MB document", gaps, elapsed)
        pane.shutdown()
        runner.wait(30_000)
        pane.deleteLater()

    # 3. throughput, same text, same run
    raw = best_of(lambda: enc.encode_ordinary(text), args.repeat)
    count = best_of(lambda: tm.count_chunked(text, encoding), args.repeat)
    full = best_of(lambda: tm.analyze_text(text, encoding), args.repeat)
    mb = len(text.encode("utf-8")) / 1e6
    print(f"raw tiktoken encode_ordinary: {raw:.3f} s ({mb / raw:.1f} MB/s)")
    print(f"pane count path (count_chunked): {count:.3f} s ({mb / count:.1f} MB/s); "
          f"ratio to raw {raw / count:.2f} (target ≥ 0.9)")
    print(f"pane full analysis (count + characters + words + 20k-token sample): {full:.3f} s; "
          f"ratio to raw {raw / full:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
