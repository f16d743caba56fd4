"""Token counting throughput: our count path vs one raw tiktoken `encode_ordinary`, and spans.

Run: `python tests/bench/bench_count.py [--mb 10] [--repeat 3] [--only process|inprocess]`.

Whole process (`--only process`): `token-monitor count FILE` against a bare script that
imports tiktoken, loads the same encoding through tiktoken's own loader (its cache dir primed
offline with the shipped file) and prints `len(enc.encode_ordinary(text))`, on an 8 MB and a
1 KB text. Runs are interleaved (A, B, A, B, ...) after one warm-up each (which also writes
our parsed-ranks cache), and medians are printed with the load average, because the machine
is shared. Both sides keep bytecode in a cache dir (as an installed app has .pyc files).

In process: builds a deterministic
~10 MB text (70 % English prose from CPython's pydoc topics, 15 % Chinese lines, 15 % Python
source from the standard library), then prints, per encoding, best-of-R MB/s for:
raw `enc.encode_ordinary(text)`; `count_tokens` (safe-boundary chunks on 2 threads); the
`count` command's streaming path (`TokenCounter`, 4 MB pieces, tokens + characters + words);
`text_stats`; and `token_spans` on the whole text and with the pane's 20,000-token limit.
Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from monitor.core.tokens import (
    TokenCounter,
    count_tokens,
    get_encoding,
    text_stats,
    token_spans,
)

_CHINESE = [
    "这是一个用于测试分词速度的中文句子，包含常见的标点符号。",
    "今天的天气很好，我们一起去公园散步吧！",
    "机器学习模型的费用取决于输入和输出的令牌数量。",
    "请在月底之前检查您的预算，避免超出限额。",
    "开源软件让开发者能够自由地学习、修改和分享代码。",
    "北京、上海和深圳是中国最大的城市之一。",
    "他说：“这个问题需要更多的时间来研究。”",
    "数据库采用预写日志模式，以便读写可以同时进行。",
    "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。",
    "每一个请求的延迟和首字节时间都会被记录下来。",
]


def build_text(target_mb: float, seed: int = 1234) -> str:
    import asyncio
    import decimal
    import json
    import pydoc_data.topics as topics

    rng = random.Random(seed)
    english = [line for doc in topics.topics.values() for line in doc.splitlines() if line.strip()]
    code_lines: list[str] = []
    for module in (json, decimal, asyncio.base_events, inspect, argparse, random):
        code_lines.extend(inspect.getsource(module).splitlines())
    target = int(target_mb * 1024 * 1024)
    parts: list[str] = []
    size = 0
    while size < target:
        r = rng.random()
        if r < 0.70:
            block = rng.choice(english)
        elif r < 0.85:
            block = "".join(rng.choice(_CHINESE) for _ in range(rng.randint(1, 4)))
        else:
            start = rng.randrange(len(code_lines) - 20)
            block = "\n".join(code_lines[start : start + rng.randint(3, 20)])
        parts.append(block + "\n")
        size += len(block.encode()) + 1
    return "".join(parts)


def best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times = []
    result: object = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def streaming(text: str, encoding: str) -> int:
    counter = TokenCounter(encoding)
    piece = 4 * 1024 * 1024
    for i in range(0, len(text), piece):
        counter.feed(text[i : i + piece])
    return counter.finish().tokens


RAW_SCRIPT = (
    "import sys, tiktoken\n"
    "enc = tiktoken.get_encoding(sys.argv[2])\n"
    "text = open(sys.argv[1], encoding='utf-8').read()\n"
    "print(len(enc.encode_ordinary(text)))\n"
)
_TIKTOKEN_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}


def _load_average() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - t0, out.stdout


LOAD_SCRIPT = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from monitor.core import rank_cache, tokens\n"
    "import tiktoken\n"
    "if sys.argv[2] == 'raw':\n"
    "    t = time.perf_counter(); tiktoken.get_encoding(sys.argv[1])\n"
    "else:\n"
    "    rank_cache.use_directory(Path(sys.argv[3]) if sys.argv[2] == 'cache' else None)\n"
    "    t = time.perf_counter(); tokens.get_encoding(sys.argv[1])\n"
    "print(time.perf_counter() - t)\n"
)


def encoding_load(repeat: int, encoding: str = "o200k_base") -> None:
    """Seconds to build the encoding in a fresh process: tiktoken's own loader (parses the
    file), ours without the ranks cache, ours with it; interleaved, medians."""
    from monitor.core.encodings import _rank_file

    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        work = Path(tmp)
        (work / "tt").mkdir()
        key = hashlib.sha1(_TIKTOKEN_URLS[encoding].encode()).hexdigest()
        shutil.copyfile(_rank_file(encoding), work / "tt" / key)
        env = dict(os.environ, TIKTOKEN_CACHE_DIR=str(work / "tt"),
                   PYTHONPYCACHEPREFIX=str(work / "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        modes = ("raw", "parse", "cache")
        times: dict[str, list[float]] = {m: [] for m in modes}
        for i in range(repeat + 1):
            for mode in modes:
                out = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, encoding, mode,
                                      str(work / "cache")], env=env, capture_output=True,
                                     text=True, check=True)
                if i:  # the first round warms the page cache and writes our ranks cache
                    times[mode].append(float(out.stdout))
        print(f"encoding load, {encoding}, fresh process, median of {repeat} (load "
              f"{_load_average()}): " + ", ".join(
                  f"{label} {statistics.median(times[m]) * 1000:.0f} ms"
                  for m, label in (("raw", "tiktoken.get_encoding"),
                                   ("parse", "ours parsing the file"),
                                   ("cache", "ours from the ranks cache"))))


def whole_process(repeat: int, encoding: str = "o200k_base", mb: float = 8.0) -> None:
    """`token-monitor count FILE` vs a bare tiktoken script, whole processes, interleaved."""
    from monitor.core.encodings import _rank_file

    work = Path(tempfile.mkdtemp(prefix="bench-count-"))
    try:
        tiktoken_cache = work / "tiktoken-cache"
        tiktoken_cache.mkdir()
        key = hashlib.sha1(_TIKTOKEN_URLS[encoding].encode()).hexdigest()
        shutil.copyfile(_rank_file(encoding), tiktoken_cache / key)
        env = dict(os.environ, TIKTOKEN_CACHE_DIR=str(tiktoken_cache), MONITOR_HOME=str(work),
                   PYTHONPYCACHEPREFIX=str(work / "pycache"))  # like an installed app's .pyc
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        big = build_text(mb)
        files = {f"{mb:g} MB": work / "big.txt", "1 KB": work / "small.txt"}
        files[f"{mb:g} MB"].write_text(big, encoding="utf-8")
        small = big[:1024]
        files["1 KB"].write_text(small[: len(small.encode()[:1024].decode("utf-8", "ignore"))],
                                 encoding="utf-8")
        exe = Path(sys.executable).parent / "token-monitor"
        ours_cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "monitor"]
        print(f"whole process, {encoding}, {repeat} interleaved runs each, load average "
              f"before {_load_average()}")
        for label, path in files.items():
            raw = [sys.executable, "-c", RAW_SCRIPT, str(path), encoding]
            ours = [*ours_cmd, "count", str(path), "--encoding", encoding, "--json"]
            _, raw_out = _timed(raw, env)  # warm-up; ours also writes the ranks cache
            _, ours_out = _timed(ours, env)
            assert f'"tokens": {int(raw_out)},' in ours_out, (raw_out, ours_out[:300])
            raw_t: list[float] = []
            ours_t: list[float] = []
            for _ in range(repeat):
                raw_t.append(_timed(raw, env)[0])
                ours_t.append(_timed(ours, env)[0])
            r, o = statistics.median(raw_t), statistics.median(ours_t)
            print(f"  {label:>6}: token-monitor count {o:.3f} s (min {min(ours_t):.3f}) vs raw "
                  f"tiktoken script {r:.3f} s (min {min(raw_t):.3f}): ratio {o / r:.2f} "
                  f"(min/min {min(ours_t) / min(raw_t):.2f}); {int(raw_out):,} tokens")
        print(f"  load average after {_load_average()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["process", "inprocess"])
    args = parser.parse_args()
    if args.only != "inprocess":
        encoding_load(max(args.repeat, 5))
        whole_process(max(args.repeat, 5))
        if args.only == "process":
            return

    t0 = time.perf_counter()
    text = build_text(args.mb)
    nbytes = len(text.encode())
    mb = nbytes / 1e6
    cjk = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    print(f"text: {mb:.2f} MB ({nbytes:,} bytes, {len(text):,} chars, "
          f"{cjk / len(text):.0%} CJK chars), built in {time.perf_counter() - t0:.2f} s")

    for name in ("o200k_base", "cl100k_base"):
        t0 = time.perf_counter()
        enc = get_encoding(name)
        load = time.perf_counter() - t0
        print(f"\n{name}: load {load * 1000:.0f} ms")
        raw_t, raw_n = best(lambda enc=enc: len(enc.encode_ordinary(text)), args.repeat)
        ours_t, ours_n = best(lambda name=name: count_tokens(text, name), args.repeat)
        stream_t, stream_n = best(lambda name=name: streaming(text, name), args.repeat)
        stats_t, _ = best(lambda: text_stats(text), args.repeat)
        assert raw_n == ours_n == stream_n, (raw_n, ours_n, stream_n)
        per_token = nbytes / float(str(raw_n))
        print(f"  tokens                          {raw_n:,} ({per_token:.2f} B/token)")
        print(f"  raw encode_ordinary (1 thread)  {mb / raw_t:6.1f} MB/s  {raw_t:.2f} s")
        print(f"  count_tokens (chunks, 2 thr.)   {mb / ours_t:6.1f} MB/s  {ours_t:.2f} s"
              f"   ratio vs raw x{raw_t / ours_t:.2f}")
        print(f"  count command path (+ words)    {mb / stream_t:6.1f} MB/s  {stream_t:.2f} s"
              f"   ratio vs raw x{raw_t / stream_t:.2f}")
        print(f"  text_stats alone                {mb / stats_t:6.1f} MB/s  {stats_t:.2f} s")
        spans_t, spans = best(lambda name=name: token_spans(text, name), max(1, args.repeat - 1))
        n_spans = len(spans) if isinstance(spans, list) else 0
        print(f"  token_spans whole text          {mb / spans_t:6.1f} MB/s  {spans_t:.2f} s"
              f"  ({n_spans / spans_t / 1e6:.2f} M spans/s)")
        lim_t, _ = best(lambda name=name: token_spans(text, name, limit=20_000), args.repeat)
        print(f"  token_spans limit=20,000        {lim_t * 1000:6.1f} ms")
        tenth = text[: len(text) // 10]
        small_t, _ = best(lambda name=name, t=tenth: token_spans(t, name), args.repeat)
        print(f"  token_spans on 1/10 of the text {small_t:.3f} s "
              f"(x{spans_t / small_t:.1f} for 10x the text: linear ≈ x10)")


if __name__ == "__main__":
    main()
