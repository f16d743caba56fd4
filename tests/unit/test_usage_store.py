"""The SQLite usage store: migrations, upserts, windows, roll-ups, the source rule, threads."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from monitor.core.records import CostBucket, ProxyRecord, RateLimitSnapshot, UsageBucket
from monitor.core.usage import TokenUsage
from monitor.services.store import (
    MIGRATIONS,
    ORG_SOURCE,
    SCHEMA_VERSION,
    StoreError,
    SyncState,
    UsageStore,
)
from monitor.services.store.connection import DEFAULT_MAX_CONNECTIONS

T0 = datetime(2026, 11, 1, tzinfo=UTC)
H = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[UsageStore]:
    s = UsageStore(tmp_path / "usage.sqlite3")
    yield s
    s.close()


def hb(start: datetime, model: str = "gpt-4o", requests: int = 1, inp: int = 100, out: int = 10,
       *, width: str = "1h", endpoint: str = "completions", project: str | None = None,
       key: str | None = None, cached: int = 0, tier: str | None = None,
       batch: bool | None = None) -> UsageBucket:
    return UsageBucket(
        start=start, width=width, endpoint=endpoint, model=model, project_id=project,
        api_key_id=key, service_tier=tier, batch=batch, requests=requests,
        usage=TokenUsage(input_tokens=inp, cached_input_tokens=cached, output_tokens=out),
    )


def prec(at: datetime, model: str | None = "gpt-4o", inp: int = 10, out: int = 5,
         cost: str | None = "0.001", status: int = 200, key: str = "dev") -> ProxyRecord:
    return ProxyRecord(
        time=at, endpoint="/v1/chat/completions", model=model, service_tier="default",
        key_label=key, usage=TokenUsage(input_tokens=inp, output_tokens=out),
        cost_usd=None if cost is None else Decimal(cost), price_as_of=date(2026, 11, 1),
        status=status, latency_ms=12.5, ttfb_ms=3.0, request_id="req_1",
    )


# ---- file, schema, migrations ----------------------------------------------------------------


def test_new_file_is_private_wal_and_current(tmp_path: Path) -> None:
    path = tmp_path / "data" / "usage.sqlite3"
    s = UsageStore(path)
    s.add_proxy_record(prec(T0))
    assert s.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        f = path.with_name(path.name + suffix)
        assert f.exists(), suffix
        assert f.stat().st_mode & 0o777 == 0o600, suffix
    s.close()


def test_existing_loose_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    UsageStore(path).close()
    assert path.stat().st_mode & 0o777 == 0o600


def _make_v1(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    day = int(T0.timestamp())
    toks = "input_tokens, cached_input_tokens, output_tokens"
    # Day 1: hourly and daily rows (hourly must win); day 2: daily only.
    for h in range(24):
        conn.execute(
            f"INSERT INTO usage_buckets (start, width, endpoint, model, requests, {toks}, "
            "synced_at) VALUES (?, '1h', 'completions', 'gpt-4o', 1, 100, 20, 10, 0)",
            (day + h * 3600,),
        )
    conn.execute(
        f"INSERT INTO usage_buckets (start, width, endpoint, model, requests, {toks}, synced_at) "
        "VALUES (?, '1d', 'completions', 'gpt-4o', 999, 1, 0, 1, 0)", (day,)
    )
    conn.execute(
        f"INSERT INTO usage_buckets (start, width, endpoint, model, requests, {toks}, synced_at) "
        "VALUES (?, '1d', 'completions', 'gpt-4o', 7, 700, 0, 70, 0)", (day + 86400,)
    )
    for i, cost in enumerate(["0.1", "0.2", None]):
        conn.execute(
            "INSERT INTO proxy_records (time_us, endpoint, model, key_label, input_tokens, "
            "output_tokens, cost, status, latency_ms) VALUES (?, 'chat', 'gpt-4o', 'dev', 10, 1, "
            "?, 200, 1.0)",
            ((day + 3 * 86400 + i) * 1_000_000, cost),
        )
    conn.commit()
    conn.close()


def test_upgrade_from_v1_backfills_rollups(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    _make_v1(path)
    s = UsageStore(path)
    assert s.schema_version() == SCHEMA_VERSION
    by_day = {r.day: r for r in s.org_usage(T0, T0 + 3 * DAY, ("day",))}
    assert by_day[date(2026, 11, 1)].requests == 24
    assert by_day[date(2026, 11, 1)].usage.cached_input_tokens == 480
    assert by_day[date(2026, 11, 2)].requests == 7
    assert s.latest_usage_end() == T0 + 2 * DAY
    [proxy] = s.proxy_usage(T0, T0 + 5 * DAY, ("model",))
    assert (proxy.requests, proxy.cost, proxy.unpriced_requests) == (3, Decimal("0.3"), 1)
    assert proxy.unpriced_usage.input_tokens == 10
    conn = sqlite3.connect(path)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    conn.close()
    assert "ix_usage_width_endpoint_start" in indexes
    # New writes after the upgrade keep the roll-up right.
    s.upsert_usage_buckets([hb(T0 + DAY + 5 * H, requests=3)])
    assert {r.day: r.requests for r in s.org_usage(T0, T0 + 3 * DAY, ("day",))}[
        date(2026, 11, 2)
    ] == 3  # the day now has hourly rows, which win over its daily row
    s.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        UsageStore(path)


def test_closed_store_refuses_use(store: UsageStore) -> None:
    store.close()
    with pytest.raises(StoreError):
        store.names()


# ---- org usage: upserts, windows ---------------------------------------------------------------


def test_upsert_overwrites_and_nulls_take_part_in_the_key(store: UsageStore) -> None:
    rows = [hb(T0), hb(T0, batch=False), hb(T0, model="gpt-4o-mini"), hb(T0, key="key_1")]
    store.upsert_usage_buckets(rows)
    store.upsert_usage_buckets(rows)  # syncing twice never doubles
    assert store.totals(T0, T0 + DAY, "org").requests == 4
    store.upsert_usage_buckets([hb(T0, requests=5)])  # revised: overwrites the None-keyed row
    assert store.totals(T0, T0 + DAY, "org").requests == 8
    assert len(store.usage_buckets(T0, T0 + DAY)) == 4
    got = {(b.model, b.api_key_id, b.batch) for b in store.usage_buckets(T0, T0 + DAY)}
    assert got == {("gpt-4o", None, None), ("gpt-4o", None, False), ("gpt-4o-mini", None, None),
                   ("gpt-4o", "key_1", None)}


def test_replace_window_handles_revisions(store: UsageStore) -> None:
    store.replace_usage_window("completions", "1h", T0, T0 + 3 * H,
                               [hb(T0), hb(T0 + H), hb(T0 + 2 * H)])
    store.replace_usage_window("completions", "1h", T0 + H, T0 + 3 * H, [hb(T0 + H, requests=4)])
    assert [b.requests for b in store.usage_buckets(T0, T0 + DAY)] == [1, 4]
    assert store.latest_usage_end() == T0 + 2 * H  # the last bucket was revised away
    # Other endpoints and widths are untouched by a window.
    store.replace_usage_window("embeddings", "1h", T0, T0 + DAY, [hb(T0, endpoint="embeddings")])
    store.replace_usage_window("completions", "1d", T0, T0 + DAY, [])
    assert store.totals(T0, T0 + DAY, "org").requests == 6


def test_replace_window_rejects_foreign_buckets_atomically(store: UsageStore) -> None:
    store.replace_usage_window("completions", "1h", T0, T0 + DAY, [hb(T0)])
    for bad in (hb(T0 + DAY), hb(T0, width="1d"), hb(T0, endpoint="images")):
        with pytest.raises(ValueError):
            store.replace_usage_window("completions", "1h", T0, T0 + DAY, [hb(T0 + H), bad])
    assert [b.start for b in store.usage_buckets(T0, T0 + 2 * DAY)] == [T0]
    with pytest.raises(ValueError):
        store.upsert_usage_buckets([hb(T0, width="1m")])


def test_exception_mid_window_keeps_previous_window(store: UsageStore) -> None:
    day = [hb(T0 + h * H) for h in range(24)]
    store.replace_usage_window("completions", "1h", T0, T0 + DAY, day)

    def broken() -> Iterator[UsageBucket]:
        yield hb(T0, requests=50)
        raise ConnectionError("network died mid-page")

    with pytest.raises(ConnectionError):
        store.replace_usage_window("completions", "1h", T0, T0 + DAY, broken())
    assert store.totals(T0, T0 + DAY, "org").requests == 24


def test_killed_process_mid_window_keeps_previous_window(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    s = UsageStore(path)
    s.replace_usage_window("completions", "1h", T0, T0 + DAY, [hb(T0 + h * H) for h in range(24)])
    s.replace_cost_window(T0.date(), T0.date() + DAY, [CostBucket(T0.date(), Decimal("1.5"))])
    s.close()
    child = textwrap.dedent(f"""
        import os, signal
        from datetime import datetime, timedelta, UTC, date
        from decimal import Decimal
        from pathlib import Path
        from monitor.core.records import UsageBucket, CostBucket
        from monitor.services.store import UsageStore
        s = UsageStore(Path({str(path)!r}))
        t0 = datetime(2026, 11, 1, tzinfo=UTC)
        def rows():
            for h in range(24):
                yield UsageBucket(start=t0 + timedelta(hours=h), width="1h",
                                  endpoint="completions", model="gpt-4o", requests=100)
                if h == 12:
                    os.kill(os.getpid(), signal.SIGKILL)
        def costs():
            yield CostBucket(date(2026, 11, 1), Decimal("99"))
            os.kill(os.getpid(), signal.SIGKILL)
        import sys
        if sys.argv[1] == "usage":
            s.replace_usage_window("completions", "1h", t0, t0 + timedelta(days=1), rows())
        else:
            s.replace_cost_window(date(2026, 11, 1), date(2026, 11, 2), costs())
    """)
    for what in ("usage", "costs"):
        proc = subprocess.run([sys.executable, "-c", child, what], capture_output=True, timeout=60)
        assert proc.returncode == -9, proc.stderr.decode()
    s = UsageStore(path)
    assert s.totals(T0, T0 + DAY, "org").requests == 24
    assert [r.amount for r in s.cost_rows(T0.date(), T0.date() + DAY)] == [Decimal("1.5")]
    s.close()


def test_hourly_rows_win_over_daily_rows_per_endpoint_and_day(store: UsageStore) -> None:
    store.replace_usage_window("completions", "1d", T0, T0 + 3 * DAY,
                               [hb(T0 + d * DAY, width="1d", requests=100) for d in range(3)])
    store.replace_usage_window("completions", "1h", T0 + DAY, T0 + 2 * DAY,
                               [hb(T0 + DAY + h * H, requests=2) for h in range(24)])
    store.replace_usage_window("embeddings", "1d", T0 + DAY, T0 + 2 * DAY,
                               [hb(T0 + DAY, width="1d", endpoint="embeddings", requests=9)])
    by_day = {r.day: r.requests for r in store.org_usage(T0, T0 + 3 * DAY, ("day",))}
    assert by_day == {date(2026, 11, 1): 100, date(2026, 11, 2): 48 + 9, date(2026, 11, 3): 100}
    # Partial days: a bucket counts when its start is in the period.
    assert store.totals(T0 + DAY + 6 * H, T0 + DAY + 12 * H, "org").requests == 12
    assert store.totals(T0 + 6 * H, T0 + 12 * H, "org").requests == 0  # the 1d row starts at 0:00
    assert store.totals(T0 + 20 * H, T0 + DAY + 2 * H, "org").requests == 4 + 9
    assert store.totals(T0 + 20 * H, T0 + 2 * DAY + 1 * H, "org").requests == 48 + 9 + 100


def _brute_org(rows: list[UsageBucket], a: datetime, b: datetime) -> int:
    hourly_days = {(r.endpoint, r.start.date()) for r in rows if r.width == "1h"}
    return sum(
        r.requests for r in rows
        if a <= r.start < b and (r.width == "1h" or (r.endpoint, r.start.date()) not in hourly_days)
    )


def test_org_periods_match_brute_force(store: UsageStore) -> None:
    rng = random.Random(7)
    rows: list[UsageBucket] = []
    for d in range(6):
        day = T0 + d * DAY
        for endpoint in ("completions", "embeddings"):
            if rng.random() < 0.6:
                rows.append(hb(day, width="1d", endpoint=endpoint, requests=rng.randint(1, 999)))
            if rng.random() < 0.6:
                rows += [hb(day + h * H, endpoint=endpoint, model=rng.choice(["a", "b"]),
                            requests=rng.randint(1, 9)) for h in range(24) if rng.random() < 0.7]
    store.upsert_usage_buckets(rows)
    for _ in range(300):
        a = T0 + timedelta(minutes=rng.randint(-600, 6 * 1440 + 600))
        b = a + timedelta(minutes=rng.randint(0, 4 * 1440))
        assert store.totals(a, b, "org").requests == _brute_org(rows, a, b), (a, b)
        groups = store.groups(a, b, "org", "day")
        assert sum(g.requests for g in groups.values()) == _brute_org(rows, a, b)


def test_periods_across_months_match_brute_force(store: UsageStore) -> None:
    # Oct 20 .. Jan 10: whole months, days and hours, both widths, both sources.
    rng = random.Random(17)
    t0 = datetime(2026, 10, 20, tzinfo=UTC)
    rows: list[UsageBucket] = []
    for d in range(82):
        day = t0 + d * DAY
        if rng.random() < 0.5:
            rows.append(hb(day, width="1d", model=rng.choice(["a", "b"]),
                           requests=rng.randint(1, 999), key=rng.choice(["k1", None])))
        if rng.random() < 0.5:
            rows += [hb(day + h * H, model=rng.choice(["a", "b"]), requests=rng.randint(1, 9),
                        key=rng.choice(["k1", None])) for h in range(0, 24, 5)]
    store.upsert_usage_buckets(rows)
    recs = [prec(t0 + timedelta(seconds=rng.randint(0, 82 * 86400)), key=rng.choice("xy"),
                 cost=rng.choice(["0.1", "0.000000000000003", None]),
                 model=rng.choice(["a", "b"])) for _ in range(3000)]
    store.add_proxy_records(recs)
    for _ in range(150):
        a = t0 + timedelta(seconds=rng.randint(-86400, 82 * 86400))
        b = a + timedelta(seconds=rng.randint(0, 75 * 86400))
        assert store.totals(a, b, "org").requests == _brute_org(rows, a, b), (a, b)
        org_by = rng.choice([("model",), ("api_key_id",), ("day",), ()])
        assert sum(r.requests for r in store.org_usage(a, b, org_by)) == _brute_org(rows, a, b)
        inside = [r for r in recs if a <= r.time < b]
        dims = rng.choice([("day", "model"), ("key_label",), ("model",), ()])
        got = store.proxy_usage(a, b, dims)
        assert sum(r.requests for r in got) == len(inside), (a, b, dims)
        assert sum((r.cost for r in got), Decimal(0)) == sum(
            (r.cost_usd for r in inside if r.cost_usd is not None), Decimal(0))
        assert sum(r.unpriced_requests for r in got) == sum(r.cost_usd is None for r in inside)
        if "day" in dims:
            assert {r.day for r in got} == {r.time.date() for r in inside}


# ---- costs -----------------------------------------------------------------------------------


def test_costs_are_exact_and_replaced_per_window(store: UsageStore) -> None:
    d0 = T0.date()
    store.replace_cost_window(d0, d0 + 2 * DAY, [
        CostBucket(d0, Decimal("0.1"), project_id="proj_a", line_item="input"),
        CostBucket(d0, Decimal("0.2"), project_id="proj_a", line_item="output"),
        CostBucket(d0, Decimal("0.2"), project_id="proj_a", line_item="output"),  # same key
        CostBucket(d0 + DAY, Decimal("10.1425634"), project_id=None),
        CostBucket(d0 + DAY, Decimal("5"), currency="EUR"),
    ])
    [total_row] = store.cost_rows(d0, d0 + 2 * DAY)
    total = total_row.amount
    assert total == Decimal("10.4425634")  # exact; EUR excluded, duplicate key overwritten
    by_project = {r.project_id: r.amount for r in store.cost_rows(d0, d0 + 2 * DAY, ["project_id"])}
    assert by_project == {"proj_a": Decimal("0.3"), None: Decimal("10.1425634")}
    assert store.billed_days(d0, d0 + 5 * DAY) == {d0, d0 + DAY}
    with_ccy = store.cost_rows(d0, d0 + 2 * DAY, ["currency"])
    assert {r.currency for r in with_ccy} == {"usd", "eur"}
    store.replace_cost_window(d0 + DAY, d0 + 2 * DAY, [])
    assert store.billed_days(d0, d0 + 5 * DAY) == {d0}
    with pytest.raises(ValueError):
        store.replace_cost_window(d0, d0 + DAY, [CostBucket(d0 + DAY, Decimal(1))])


# ---- proxy records ---------------------------------------------------------------------------


def test_proxy_records_round_trip_and_rollup(store: UsageStore) -> None:
    store.add_proxy_record(prec(T0 + 5 * H))
    store.add_proxy_record(prec(T0 + 6 * H, cost=None))  # unknown price
    store.add_proxy_record(prec(T0 + 7 * H, inp=0, out=0, cost=None, status=429))
    recs = store.proxy_records()
    assert [r.status for r in recs] == [429, 200, 200]  # newest first
    assert recs[2] == prec(T0 + 5 * H)
    [row] = store.proxy_usage(T0, T0 + DAY)
    assert (row.requests, row.errors, row.unpriced_requests) == (3, 1, 1)
    assert row.cost == Decimal("0.001")
    assert row.usage.input_tokens == 20 and row.unpriced_usage.input_tokens == 10
    t = store.totals(T0, T0 + DAY, "proxy")
    assert t.requests == 2  # the 429 is not a model request
    assert t.proxy_cost == Decimal("0.001")


def test_proxy_costs_sum_exactly_beyond_pico_dollars(store: UsageStore) -> None:
    costs = ["0.0000000000001234", "1.0000000000000005", "0.000000075", "123456.78"]
    # Two days, so both the roll-up and the raw-edge paths add them up.
    store.add_proxy_records([prec(T0 + i * 7 * H, cost=c) for i, c in enumerate(costs)])
    store.add_proxy_record(prec(T0 + 30 * H, cost="0.0000000000000001"))
    expected = sum((Decimal(c) for c in costs), Decimal("0.0000000000000001"))
    assert store.totals(T0, T0 + 3 * DAY, "proxy").proxy_cost == expected
    assert store.totals(T0 + H, T0 + 3 * DAY - H, "proxy").proxy_cost == expected - Decimal(
        "0.0000000000001234")
    by_day = {r.day: r.cost for r in store.proxy_usage(T0, T0 + 3 * DAY, ("day",))}
    assert sum(by_day.values(), Decimal(0)) == expected


def test_proxy_periods_match_brute_force(store: UsageStore) -> None:
    rng = random.Random(3)
    recs = [prec(T0 + timedelta(microseconds=rng.randint(0, 4 * 86_400_000_000)),
                 model=rng.choice(["a", "b", None]), inp=rng.randint(0, 50),
                 cost=rng.choice(["0.0001", "0.00002", None]), status=rng.choice([200, 200, 500]),
                 key=rng.choice(["x", "y"]))
            for _ in range(2000)]
    store.add_proxy_records(recs)
    for _ in range(200):
        a = T0 + timedelta(microseconds=rng.randint(-86_400_000_000, 4 * 86_400_000_000))
        b = a + timedelta(microseconds=rng.randint(0, 3 * 86_400_000_000))
        inside = [r for r in recs if a <= r.time < b]
        dims = rng.choice([("day", "model"), ("key_label",), ("model", "key_label"), ()])
        got = store.proxy_usage(a, b, dims)
        assert sum(r.requests for r in got) == len(inside)
        assert sum(r.usage.input_tokens for r in got) == sum(r.usage.input_tokens for r in inside)
        assert sum((r.cost for r in got), Decimal(0)) == sum(
            (r.cost_usd for r in inside if r.cost_usd is not None), Decimal(0)
        )
        if dims == ("key_label",):
            per_key = {r.key_label: 0 for r in got}
            for r in got:
                per_key[r.key_label] += r.requests
            assert per_key == {k: sum(1 for r in inside if r.key_label == k) for k in per_key}


# ---- the source rule -------------------------------------------------------------------------


def test_source_rule_never_counts_a_request_twice(store: UsageStore) -> None:
    # Org data through 10:00 (last bucket 09:00-10:00); proxy saw requests 08:30 and 10:30.
    store.replace_usage_window("completions", "1h", T0, T0 + 10 * H,
                               [hb(T0 + 8 * H, requests=1), hb(T0 + 9 * H, requests=1)])
    store.add_proxy_records([prec(T0 + 8.5 * H), prec(T0 + 10.5 * H)])
    assert store.org_cutoff() == T0 + 10 * H
    assert store.totals(T0, T0 + DAY, "org").requests == 2
    assert store.totals(T0, T0 + DAY, "proxy").requests == 2
    assert store.totals(T0, T0 + DAY, "all").requests == 3
    # A sync at 09:40 that fetched the open 09:00 bucket: org covers up to 09:40.
    store.set_sync_state("org", SyncState(last_success=T0 + 9 * H + timedelta(minutes=40),
                                          settled_through=T0 + 9 * H))
    store.add_proxy_record(prec(T0 + 9.75 * H))
    assert store.org_cutoff() == T0 + 9 * H + timedelta(minutes=40)
    assert store.totals(T0, T0 + DAY, "all").requests == 4
    by_key = store.groups(T0, T0 + DAY, "all", "key")
    assert {k: v.requests for k, v in by_key.items()} == {None: 2, "dev": 2}
    # No org data at all: every proxy record counts.
    store.replace_usage_window("completions", "1h", T0, T0 + 10 * H, [])
    store.set_sync_state("org", SyncState())
    assert store.org_cutoff() is None
    assert store.totals(T0, T0 + DAY, "all").requests == 3


def test_sync_state_names_rate_limits(store: UsageStore) -> None:
    assert store.get_sync_state("org") is None
    st = SyncState(last_success=T0 + timedelta(microseconds=123), last_error="boom",
                   last_error_at=T0 + H, settled_through=T0)
    store.set_sync_state("org", st)
    assert store.get_sync_state("org") == st
    store.set_names({"proj_a": "Project Alpha", "key_1": "ci-key"})
    store.set_names({"key_1": "ci-key-renamed"})
    assert store.names() == {"proj_a": "Project Alpha", "key_1": "ci-key-renamed"}
    new = RateLimitSnapshot(time=T0 + H, key_label="dev", model="gpt-4o", remaining_requests=5,
                            reset_tokens_s=1.5)
    old = RateLimitSnapshot(time=T0, key_label="dev", model="gpt-4o", remaining_requests=9)
    store.add_rate_limit(new)
    store.add_rate_limit(old)  # arrives late: ignored
    other = RateLimitSnapshot(time=T0, key_label="dev", model="o3", remaining_tokens=10)
    store.add_rate_limit(other)
    assert store.latest_rate_limits() == [new, other]


def test_rebuild_rollups_matches_incremental(store: UsageStore) -> None:
    store.upsert_usage_buckets([hb(T0 + h * 5 * H, model=f"m{h % 3}", key=f"k{h % 2}")
                                for h in range(20)])
    store.add_proxy_records([prec(T0 + h * 7 * H, cost=str(h), key=f"l{h % 3}")
                             for h in range(20)])
    org_dims = [("day", "model"), ("day", "api_key_id"), ()]
    proxy_dims = [("day", "model"), ("day", "key_label"), ("model", "key_label"), ()]

    def snapshot() -> list[list[str]]:
        out = [sorted(map(repr, store.org_usage(T0, T0 + 9 * DAY, d))) for d in org_dims]
        out += [sorted(map(repr, store.proxy_usage(T0, T0 + 9 * DAY, d))) for d in proxy_dims]
        return out

    before = snapshot()
    store.rebuild_rollups()
    assert snapshot() == before


# ---- threads ---------------------------------------------------------------------------------


def test_writer_and_readers_on_their_own_threads(store: UsageStore) -> None:
    errors: list[BaseException] = []
    done = threading.Event()
    most_open = 0

    def writer() -> None:
        nonlocal most_open
        try:
            for i in range(200):
                store.add_proxy_record(prec(T0 + i * timedelta(minutes=7)))
                most_open = max(most_open, store.open_connections())
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    def reader() -> None:
        try:
            seen = 0
            while not done.is_set():
                n = store.totals(T0, T0 + 2 * DAY, "proxy").requests
                assert n >= seen  # monotonic: committed writes only
                seen = n
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader)
                                                   for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert 1 <= most_open <= DEFAULT_MAX_CONNECTIONS  # six threads share the bounded pool
    assert store.totals(T0, T0 + 2 * DAY, "proxy").requests == 200


def test_nested_calls_and_transactions_reuse_the_thread_s_connection(tmp_path: Path) -> None:
    store = UsageStore(tmp_path / "usage.sqlite3", max_connections=1)
    try:
        with store.transaction():  # holds the only connection; nested calls must not wait
            store.add_proxy_record(prec(T0))
            store.set_names({"proj_1": "One"})
            assert store.names() == {"proj_1": "One"}
        assert store.open_connections() == 1
    finally:
        store.close()
    assert store.open_connections() == 0
    with pytest.raises(StoreError):
        store.names()


def test_a_borrowed_connection_is_closed_when_it_comes_back_after_close(
    store: UsageStore,
) -> None:
    with store.connection():
        store.close()
        assert store.open_connections() == 1
    assert store.open_connections() == 0


def test_data_since_marks_what_the_sources_watched(store: UsageStore) -> None:
    assert store.data_since() is None  # nothing yet: no projection from nothing
    t0 = datetime(2026, 11, 10, 12, tzinfo=UTC)
    store.add_proxy_record(prec(t0))
    store.add_proxy_record(prec(t0 + timedelta(hours=5)))
    assert store.data_since("proxy") == t0 and store.data_since() == t0
    assert store.data_since("org") is None
    store.upsert_usage_buckets([hb(datetime(2026, 11, 3, tzinfo=UTC))])
    assert store.data_since("org") == datetime(2026, 11, 3, tzinfo=UTC)
    assert store.data_since() == datetime(2026, 11, 3, tzinfo=UTC)
    store.set_sync_state(ORG_SOURCE, SyncState(last_success=t0))
    assert store.data_since("org") == datetime.min.replace(tzinfo=UTC)  # backfilled cycles
    assert store.data_since("proxy") == t0


# ---- v3 (issue 13): cached audio and image tokens -------------------------------------------

V3_USAGE = TokenUsage(input_tokens=1000, cached_input_tokens=300, audio_cached_input_tokens=100,
                      image_input_tokens=400, output_tokens=2000, image_output_tokens=1500)


def test_image_and_cached_audio_tokens_round_trip(store: UsageStore) -> None:
    bucket = UsageBucket(start=T0 + 2 * H, width="1h", endpoint="completions",
                         model="gpt-image-1", requests=2, usage=V3_USAGE)
    store.upsert_usage_buckets([bucket])
    assert store.usage_buckets(T0, T0 + DAY) == [bucket]
    for dims in [("day", "model"), ("day",), ()]:  # month, day and narrow roll-ups
        [row] = store.org_usage(T0, T0 + 40 * DAY, dims)
        assert row.usage == V3_USAGE and row.requests == 2
    rec = ProxyRecord(time=T0 + 3 * H, endpoint="/v1/images/generations", model="gpt-image-1",
                      service_tier=None, key_label="dev", usage=V3_USAGE,
                      cost_usd=Decimal("0.16"), price_as_of=date(2026, 11, 1), status=200,
                      latency_ms=5.0)
    store.add_proxy_record(rec)
    assert store.proxy_records() == [rec]
    for dims in [("day", "model"), ("key_label",), ()]:
        [prow] = store.proxy_usage(T0 + 3 * H - timedelta(microseconds=1), T0 + 40 * DAY, dims)
        assert prow.usage == V3_USAGE and prow.cost == Decimal("0.16")
    before = (store.org_usage(T0, T0 + DAY, ("day",)), store.proxy_usage(T0, T0 + DAY, ()))
    store.rebuild_rollups()
    assert (store.org_usage(T0, T0 + DAY, ("day",)), store.proxy_usage(T0, T0 + DAY, ())) \
        == before


def test_upgrade_from_v2_keeps_rows_and_adds_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    # A v2 file made by the v2 migrations, holding one org bucket and one proxy record.
    s = UsageStore(path)
    s.upsert_usage_buckets([hb(T0 + H, requests=4, inp=500, cached=50)])
    s.add_proxy_records([prec(T0 + 2 * H, cost="0.25")])
    s.close()
    conn = sqlite3.connect(path)
    tables = ["usage_buckets", "proxy_records"] + [
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                   "name LIKE '%rollup%'")]
    for (trigger,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                   ).fetchall():  # undo v7 by hand (the status cache)
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute("DROP TABLE store_revision")
    conn.execute("DROP INDEX ix_proxy_unmetered")  # undo v6 by hand (issue 11)
    conn.execute("DROP TABLE replayed_spool")
    for col in ("unmetered", "estimated"):
        conn.execute(f"ALTER TABLE proxy_records DROP COLUMN {col}")
    for table in tables:  # undo v3 by hand: a v2 file
        for col in ("audio_cached_input_tokens", "image_input_tokens", "image_output_tokens"):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {col}")
    conn.execute("DROP TABLE sync_windows")  # and v4
    conn.execute("DROP TABLE virtual_keys")  # and v5
    conn.execute("DROP TABLE cap_refusals")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    s = UsageStore(path)
    assert s.schema_version() == SCHEMA_VERSION
    [row] = s.org_usage(T0, T0 + DAY, ("day",))
    assert (row.requests, row.usage.input_tokens, row.usage.image_input_tokens) == (4, 500, 0)
    [prow] = s.proxy_usage(T0, T0 + DAY, ("model",))
    assert (prow.requests, prow.cost) == (1, Decimal("0.25"))
    lineage, revision = s.revision()
    s.upsert_usage_buckets([UsageBucket(start=T0 + 5 * H, width="1h", endpoint="completions",
                                        model="gpt-4o", requests=1, usage=V3_USAGE)])
    [row] = s.org_usage(T0, T0 + DAY, ("day",))
    assert row.usage.image_output_tokens == 1500 and row.requests == 5
    assert s.revision() == (lineage, revision + 1)  # v7's triggers work on an upgraded file
    s.close()


def test_a_new_file_opened_while_another_connection_reads_it_waits_for_wal(
        tmp_path: Path) -> None:
    """Switching a new file to WAL while another connection holds it gets "database is
    locked" at once from SQLite (no busy handler): the app's proxy and its first snapshot
    open the same new file together, so the open must wait as the busy timeout says."""
    path = tmp_path / "usage.sqlite3"
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN IMMEDIATE")  # as another opener that is still setting the file up
    reader.execute("CREATE TABLE first_writer (a)")
    opened: list[object] = []

    def open_store() -> None:
        try:
            UsageStore(path, busy_timeout_s=5.0).close()
            opened.append("ok")
        except Exception as exc:  # reported below
            opened.append(exc)

    worker = threading.Thread(target=open_store)
    worker.start()
    worker.join(0.3)
    assert worker.is_alive()  # waiting, not failed
    reader.execute("COMMIT")
    reader.close()
    worker.join(10)
    assert opened == ["ok"]
