"""Usage-store query times: a year of hourly org buckets for 20 models + 1 M proxy records.

Run: `python tests/bench/bench_store.py [--proxy N] [--repeat R] [--db PATH]`. Builds the DB in a
temp dir (or at PATH, reused by later runs), prints build time and, per query, the median and worst
of R runs in milliseconds (target < 20 ms for store queries). Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from monitor.core.budget import Period, billing_cycle, today_period
from monitor.core.records import CostBucket, ProxyRecord, UsageBucket
from monitor.core.settings import Settings
from monitor.core.usage import TokenUsage
from monitor.services.price_files import load_price_table
from monitor.services.store import SyncState, UsageStore
from monitor.services.usage_report import build_report

YEAR_START = datetime(2025, 11, 23, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
HOURS = int((NOW - YEAR_START).total_seconds() // 3600)


def org_buckets(models: list[str], rng: random.Random) -> Iterator[UsageBucket]:
    for h in range(HOURS):
        start = YEAR_START + timedelta(hours=h)
        for i, model in enumerate(models):
            inp = rng.randint(1_000, 400_000)
            yield UsageBucket(
                start=start, width="1h", endpoint="completions", model=model,
                project_id=f"proj_{i % 3}", api_key_id=f"key_{i % 5}",
                service_tier="default", batch=False, requests=rng.randint(1, 200),
                usage=TokenUsage(input_tokens=inp, cached_input_tokens=inp // 4,
                                 output_tokens=rng.randint(100, 50_000)),
            )


def proxy_records(n: int, models: list[str], rng: random.Random) -> Iterator[ProxyRecord]:
    span = (NOW - YEAR_START).total_seconds()
    for i in range(n):
        at = YEAR_START + timedelta(seconds=span * i / n + rng.random())
        yield ProxyRecord(
            time=at, endpoint="/v1/chat/completions", model=rng.choice(models),
            service_tier="default", key_label=f"label{i % 4}",
            usage=TokenUsage(input_tokens=rng.randint(10, 5000), output_tokens=rng.randint(1, 900),
                             reasoning_tokens=rng.randint(0, 100)),
            cost_usd=Decimal(rng.randint(1, 99_999)).scaleb(-8), price_as_of=date(2026, 11, 1),
            status=200 if rng.random() < 0.98 else 429, latency_ms=rng.random() * 900,
            ttfb_ms=rng.random() * 300, request_id=f"req_{i:x}",
        )


def build(path: Path, n_proxy: int) -> UsageStore:
    rng = random.Random(1)
    prices = load_price_table()
    models = sorted(prices.models)[:20]
    store = UsageStore(path)
    t = time.perf_counter()
    batch: list[UsageBucket] = []
    for b in org_buckets(models, rng):
        batch.append(b)
        if len(batch) >= 24 * 20 * 7:
            store.upsert_usage_buckets(batch)
            batch = []
    store.upsert_usage_buckets(batch)
    t_org = time.perf_counter() - t
    t = time.perf_counter()
    chunk: list[ProxyRecord] = []
    for rec in proxy_records(n_proxy, models, rng):
        chunk.append(rec)
        if len(chunk) >= 50_000:
            store.add_proxy_records(chunk)
            chunk = []
    store.add_proxy_records(chunk)
    t_proxy = time.perf_counter() - t
    store.replace_cost_window(YEAR_START.date(), NOW.date(), [
        CostBucket(YEAR_START.date() + timedelta(days=d), Decimal(rng.randint(100, 9999)) / 100,
                   project_id=f"proj_{d % 3}", line_item=li)
        for d in range((NOW.date() - YEAR_START.date()).days) for li in ("input", "output")
    ])
    # Org data through 10:00 today: proxy records count after that under "all".
    store.set_sync_state("org", SyncState(last_success=NOW - timedelta(hours=4, minutes=30),
                                          settled_through=NOW - timedelta(hours=4, minutes=30)))
    print(f"built: {HOURS * 20:,} hourly org buckets in {t_org:.1f} s, "
          f"{n_proxy:,} proxy records in {t_proxy:.1f} s; file {path.stat().st_size / 1e6:.0f} MB")
    return store


def measure(label: str, fn: Callable[[], object], repeat: int) -> None:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    flag = "" if statistics.median(times) < 20 else "   <-- over 20 ms"
    print(f"  {label:<58} median {statistics.median(times):7.2f} ms  max {max(times):7.2f} ms"
          f"{flag}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--proxy", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--db", type=Path, help="build here once and reuse it on later runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "usage.sqlite3"
        if not path.exists():
            build(path, args.proxy).close()
        else:
            print(f"reusing {path}")
        store = UsageStore(path)  # a fresh connection, like a new process
        year = Period(YEAR_START, NOW)
        cycle = billing_cycle(NOW, 1)
        today = today_period(NOW, "Europe/Berlin")  # partial UTC days at both ends
        odd = Period(YEAR_START + timedelta(hours=7, minutes=13), NOW - timedelta(minutes=1))
        print("store queries (requests + tokens under the source rule):")
        for name, period in (("year", year), ("cycle", cycle), ("today Berlin", today),
                             ("year, unaligned ends", odd)):
            for source in ("org", "proxy", "all"):
                measure(f"totals {name:<21} source={source}",
                        lambda p=period, s=source: store.totals(p.start, p.end, s), args.repeat)
            for source in ("org", "proxy", "all"):
                for by in ("model", "day", "project", "key"):
                    measure(f"groups {name:<21} source={source} by={by}",
                            lambda p=period, s=source, b=by: store.groups(p.start, p.end, s, b),
                            args.repeat)
        prices = load_price_table()
        settings = Settings(monthly_limit_usd=Decimal(500))
        print("full report (store + pricing + billed attribution + cycle projection):")
        for name, period in (("cycle", cycle), ("today Berlin", today), ("year", year)):
            for by in (None, "model", "key"):
                measure(f"build_report {name:<13} by={by}",
                        lambda p=period, b=by: build_report(store, prices, settings, p, "all", b,
                                                            NOW), max(3, args.repeat // 3))
        store.close()


if __name__ == "__main__":
    main()
