"""Dashboard snapshot build time on a seeded billing cycle (tests/e2e/seed.py).

Run: `python tests/bench/bench_snapshot.py [--repeat R] [--scale S] [--credit]`. Seeds a store in
a temp dir, builds the snapshot R times and prints the median, best and worst time in ms, plus
a digest of the snapshot (equal digests = identical figures across code versions).
Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from monitor.core.settings import Settings
from monitor.services.price_files import load_price_table
from monitor.services.snapshot import RuntimeStatus
from monitor.services.snapshot_build import build_snapshot
from monitor.services.store import UsageStore
from tests.e2e.seed import seed_month

NOW = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--credit", action="store_true", help="with prepaid credit set")
    args = ap.parse_args()
    prices = load_price_table()
    settings = Settings()
    if args.credit:
        settings = settings.replace(prepaid_credit_usd=Decimal(500),
                                    prepaid_purchased=date(2026, 11, 5))
    with tempfile.TemporaryDirectory() as tmp:
        store = UsageStore(Path(tmp) / "usage.sqlite3")
        t0 = time.perf_counter()
        seed_month(store, prices, NOW, scale=args.scale)
        print(f"seeded in {(time.perf_counter() - t0) * 1000:.0f} ms")
        build_snapshot(store, prices, settings, RuntimeStatus(), NOW)  # warm caches
        times = []
        snap = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            snap = build_snapshot(store, prices, settings, RuntimeStatus(), NOW)
            times.append((time.perf_counter() - t0) * 1000)
        store.close()
    digest = hashlib.sha256(repr(snap).encode()).hexdigest()[:16]
    print(f"snapshot: median {statistics.median(times):.1f} ms, best {min(times):.1f} ms, "
          f"worst {max(times):.1f} ms over {args.repeat} runs (credit={args.credit})")
    print(f"digest {digest}")


if __name__ == "__main__":
    main()
