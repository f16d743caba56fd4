"""Fill a usage store with data for GUI tests, screenshots and benchmarks.

`seed_month` writes a realistic billing cycle (plus two weeks before it) of organization
usage buckets (1d, and 1h for yesterday and today), billed costs per project and line item,
project and key names, a sync state, proxy records after the org cutoff and rate limits.
`seed_proxy_spend` writes exact dollar amounts as proxy records (for tests that need
round figures). Runnable: `python tests/e2e/seed.py HOME` seeds HOME's store for now.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from monitor.core.budget import billing_cycle
from monitor.core.prices import PriceTable
from monitor.core.records import CostBucket, ProxyRecord, RateLimitSnapshot, UsageBucket
from monitor.core.usage import TokenUsage
from monitor.services.store import ORG_SOURCE, SyncState, UsageStore

PROJECTS = {"proj_alpha": "Project Alpha", "proj_beta": "Batch jobs",
            "proj_gamma": "Support bot"}
KEYS = {"key_alpha_ci": "ci-key", "key_alpha_dev": "dev-laptop",
        "key_beta_svc": "batch-service", "key_gamma_1": "support-prod"}


@dataclass(frozen=True)
class Stream:
    """One steady source of org usage: per weekday, before noise."""

    endpoint: str
    model: str
    project: str
    key: str
    requests: int
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    service_tier: str | None = "default"
    batch: bool = False


STREAMS = (
    Stream("completions", "gpt-5.4", "proj_alpha", "key_alpha_ci", 260, 420_000, 180_000,
           55_000),
    Stream("completions", "gpt-5.4", "proj_gamma", "key_gamma_1", 410, 300_000, 200_000,
           90_000),
    Stream("completions", "gpt-4o-mini", "proj_beta", "key_beta_svc", 2_400, 3_100_000,
           900_000, 420_000, batch=True),
    Stream("completions", "o3-mini", "proj_alpha", "key_alpha_dev", 90, 160_000, 0, 70_000),
    Stream("embeddings", "text-embedding-3-small", "proj_gamma", "key_gamma_1", 800, 4_800_000,
           0, 0, service_tier=None),
    Stream("completions", "acme-ft-summarizer", "proj_beta", "key_beta_svc", 40, 90_000, 0,
           12_000),
)


def _day_factor(d: date, rng: random.Random) -> float:
    weekend = d.weekday() >= 5
    return (0.35 if weekend else 1.0) * rng.uniform(0.8, 1.25)


def _hour_weights() -> list[float]:
    """A working-day curve over UTC hours (busy 08–18 UTC)."""
    return [0.15 + math.exp(-((h - 13) ** 2) / 18) for h in range(24)]


def _bucket(s: Stream, start: datetime, width: str, f: float) -> UsageBucket:
    return UsageBucket(
        start=start, width=width, endpoint=s.endpoint, model=s.model, project_id=s.project,
        api_key_id=s.key, service_tier=s.service_tier if s.endpoint == "completions" else None,
        batch=s.batch if s.endpoint == "completions" else None,
        requests=max(1, round(s.requests * f)),
        usage=TokenUsage(input_tokens=round(s.input_tokens * f),
                         cached_input_tokens=round(s.cached_tokens * f),
                         output_tokens=round(s.output_tokens * f)),
    )


def seed_month(store: UsageStore, prices: PriceTable, now: datetime, *, cycle_start_day: int = 1,
               scale: float = 1.0, seed: int = 7, with_proxy: bool = True) -> None:
    """A realistic cycle up to `now` (UTC), and the 14 days before it."""
    rng = random.Random(seed)
    now = now.astimezone(UTC)
    cycle = billing_cycle(now, cycle_start_day)
    first = cycle.start.date() - timedelta(days=14)
    today = now.date()
    hourly_from = today - timedelta(days=1)
    weights = _hour_weights()
    wsum = sum(weights)
    by_window: dict[tuple[str, str, datetime, datetime], list[UsageBucket]] = {}
    daily_est: dict[tuple[date, str], Decimal] = {}
    d = first
    while d <= today:
        f_day = _day_factor(d, rng) * scale
        start = datetime.combine(d, time(), UTC)
        for s in STREAMS:
            f = f_day * rng.uniform(0.85, 1.15)
            if d < hourly_from:
                b = _bucket(s, start, "1d", f)
                by_window.setdefault((s.endpoint, "1d", start, start + timedelta(days=1)),
                                     []).append(b)
                _add_estimate(daily_est, prices, d, s, b)
            else:
                hours = 24 if d < today else now.hour + 1
                for h in range(hours):
                    hf = f * weights[h] / wsum
                    if d == today and h == now.hour:
                        hf *= now.minute / 60
                    hstart = start + timedelta(hours=h)
                    b = _bucket(s, hstart, "1h", hf)
                    by_window.setdefault((s.endpoint, "1h", start, start + timedelta(days=1)),
                                         []).append(b)
                    _add_estimate(daily_est, prices, d, s, b)
        d += timedelta(days=1)
    for (endpoint, width, a, b), buckets in by_window.items():
        store.replace_usage_window(endpoint, width, a, b, buckets)

    # Billed costs: every closed UTC day before yesterday (the Costs API lags a day or so).
    costs = []
    billed_until = today - timedelta(days=1)
    for (day, project), est in daily_est.items():
        if day >= billed_until:
            continue
        noise = Decimal(str(round(rng.uniform(0.97, 1.05), 4)))
        costs.append(CostBucket(day=day, amount=(est * noise).quantize(Decimal("0.000001")),
                                project_id=project, line_item="Text tokens"))
        if project == "proj_gamma" and day.weekday() < 5:
            costs.append(CostBucket(day=day, amount=Decimal("0.18"), project_id=project,
                                    line_item="Web search tool calls"))
    store.replace_cost_window(first, billed_until, costs)
    store.set_names({**PROJECTS, **KEYS})
    settled = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    store.set_sync_state(ORG_SOURCE, SyncState(
        last_success=now - timedelta(minutes=4), settled_through=settled))
    if with_proxy:
        _seed_proxy(store, prices, now, rng)


def _add_estimate(acc: dict[tuple[date, str], Decimal], prices: PriceTable, d: date,
                  s: Stream, b: UsageBucket) -> None:
    usd = prices.cost(s.model, b.usage, at=b.start, service_tier=s.service_tier,
                      batch=s.batch).usd
    if usd is not None:
        acc[(d, s.project)] = acc.get((d, s.project), Decimal(0)) + usd


def _seed_proxy(store: UsageStore, prices: PriceTable, now: datetime,
                rng: random.Random) -> None:
    recs = []
    start = now - timedelta(minutes=3, seconds=30)
    for i in range(14):
        model = "gpt-5.4-mini" if i % 3 else "gpt-4o"
        usage = TokenUsage(input_tokens=rng.randint(800, 6000),
                           cached_input_tokens=rng.choice([0, 512, 1024]),
                           output_tokens=rng.randint(100, 900),
                           reasoning_tokens=0)
        cost = prices.cost(model, usage, at=now).usd
        recs.append(ProxyRecord(
            time=start + timedelta(seconds=15 * i), endpoint="/v1/chat/completions",
            model=model, service_tier="default", key_label="laptop", usage=usage,
            cost_usd=cost, price_as_of=prices.as_of, status=200,
            latency_ms=rng.uniform(400, 2500), ttfb_ms=rng.uniform(150, 400),
        ))
    store.add_proxy_records(recs)
    for model, rem_r, rem_t in (("gpt-5.4-mini", 4_870, 1_912_000), ("gpt-4o", 9_950, 780_000)):
        store.add_rate_limit(RateLimitSnapshot(
            time=now - timedelta(seconds=20), key_label="laptop", model=model,
            limit_requests=10_000 if model == "gpt-4o" else 5_000,
            limit_tokens=2_000_000 if model != "gpt-4o" else 800_000,
            remaining_requests=rem_r, remaining_tokens=rem_t,
            reset_requests_s=6.0, reset_tokens_s=1.5))


def proxy_record(when: datetime, cost: Decimal, *, model: str = "gpt-4o",
                 key_label: str = "laptop", input_tokens: int = 1000,
                 output_tokens: int = 100, cached: int = 0) -> ProxyRecord:
    return ProxyRecord(
        time=when, endpoint="/v1/chat/completions", model=model, service_tier="default",
        key_label=key_label,
        usage=TokenUsage(input_tokens=input_tokens, cached_input_tokens=cached,
                         output_tokens=output_tokens),
        cost_usd=cost, price_as_of=date(2026, 11, 23), status=200, latency_ms=500.0,
    )


def seed_proxy_spend(store: UsageStore, spends: Iterable[tuple[datetime, Decimal]],
                     **kw: object) -> None:
    """One proxy record per (time, dollars): exact figures for tests."""
    store.add_proxy_records([proxy_record(t, c, **kw) for t, c in spends])  # type: ignore[arg-type]


def main(argv: list[str]) -> int:
    from monitor.context import AppContext
    from monitor.paths import resolve_paths

    if len(argv) != 1:
        print("usage: python tests/e2e/seed.py HOME", file=sys.stderr)
        return 2
    ctx = AppContext(resolve_paths(Path(argv[0])).ensure())
    try:
        seed_month(ctx.store(), ctx.prices(), datetime.now(UTC),
                   cycle_start_day=ctx.settings.cycle_start_day)
    finally:
        ctx.close()
    print(f"seeded {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
