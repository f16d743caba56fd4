"""build_report: estimated vs billed dollars, the source rule, groups, unpriced models, pricing."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from monitor.core.budget import Period
from monitor.core.prices import Pricer, PriceTable
from monitor.core.records import CostBucket, ProxyRecord, UsageBucket
from monitor.core.settings import Settings
from monitor.core.usage import TokenUsage
from monitor.services.price_files import load_price_table
from monitor.services.store import ORG_SOURCE, SyncState, UsageStore
from monitor.services.usage_report import GROUPINGS, build_report

D = Decimal
NOV = Period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
NOW = datetime(2026, 11, 16, 12, tzinfo=UTC)
SETTINGS = Settings(monthly_limit_usd=D(10), cycle_start_day=1)

# m-std: $2 / $0.50 cached / $8 per 1M until Nov 10, then half. m-lc: long-context rates.
TABLE = {
    "as_of": "2026-11-01", "default_model": "m-std", "long_context_threshold": 272000,
    "models": {
        "m-std": {"encoding": "o200k_base", "prices": [
            {"effective_from": None,
             "standard": {"input": 2, "cached_input": 0.5, "output": 8}},
            {"effective_from": "2026-11-10",
             "standard": {"input": 1, "cached_input": 0.25, "output": 4}},
        ]},
        "m-lc": {"encoding": "o200k_base", "prices": [
            {"effective_from": None,
             "standard": {"input": 2, "cached_input": 0.2, "output": 10},
             "long_context": {"input": 4, "cached_input": 0.4, "output": 15}},
        ]},
    },
}


def day(d: int, h: int = 0) -> datetime:
    return datetime(2026, 11, d, h, tzinfo=UTC)


@pytest.fixture
def prices(tmp_path: Path) -> PriceTable:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(TABLE))
    return load_price_table(bundled=path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[UsageStore]:
    s = UsageStore(tmp_path / "usage.sqlite3")
    yield s
    s.close()


def bucket(start: datetime, model: str | None = "m-std", requests: int = 10,
           inp: int = 1_000_000, cached: int = 200_000, out: int = 100_000, *,
           width: str = "1d", project: str | None = None, key: str | None = None,
           endpoint: str = "completions", units: int = 0,
           tier: str | None = None) -> UsageBucket:
    return UsageBucket(start=start, width=width, endpoint=endpoint, model=model,
                       project_id=project, api_key_id=key, service_tier=tier,
                       requests=requests, units=units,
                       usage=TokenUsage(input_tokens=inp, cached_input_tokens=cached,
                                        output_tokens=out))


def proxy(at: datetime, cost: str | None = "0.01", model: str = "m-std", reasoning: int = 0,
          status: int = 200, key: str = "dev") -> ProxyRecord:
    return ProxyRecord(time=at, endpoint="/v1/responses", model=model, service_tier="default",
                       key_label=key, usage=TokenUsage(input_tokens=100, output_tokens=50,
                                                       reasoning_tokens=reasoning),
                       cost_usd=None if cost is None else D(cost), price_as_of=date(2026, 11, 1),
                       status=status, latency_ms=5.0)


def org_sync(store: UsageStore, through: datetime) -> None:
    store.set_sync_state("org", SyncState(last_success=through, settled_through=through))


# ---- estimated dollars -------------------------------------------------------------------------


def test_estimates_use_the_price_in_force_each_day(store: UsageStore, prices: PriceTable) -> None:
    store.upsert_usage_buckets([bucket(day(5)), bucket(day(12))])
    r = build_report(store, prices, SETTINGS, NOV, "org", None, NOW)
    # Nov 5: 800k×2 + 200k×0.5 + 100k×8 = 2.5; Nov 12 at half price: 1.25
    assert r.totals.cost_usd == D("3.75")
    assert r.totals.cost_basis == "estimated"
    assert r.totals.requests == 20
    assert r.totals.input_tokens == 2_000_000 and r.totals.cached_input_tokens == 400_000
    assert r.cached_savings_usd == D("0.3") + D("0.15")  # cached × (input − cached rate)
    assert [(d.day.day, d.cost_usd, d.basis) for d in r.days] == [
        (5, D("2.5"), "estimated"), (12, D("1.25"), "estimated")
    ]


def test_aggregates_are_not_priced_as_one_long_request(store: UsageStore,
                                                       prices: PriceTable) -> None:
    # 100 requests of 5k input: 500k in total, over the 272k threshold only in aggregate.
    store.upsert_usage_buckets([
        bucket(day(3, 5), "m-lc", requests=100, inp=500_000, cached=0, out=0, width="1h"),
        # One request of 300k input (alone on its day) is long-context.
        bucket(day(4, 6), "m-lc", requests=1, inp=300_000, cached=0, out=0, width="1h"),
    ])
    r = build_report(store, prices, SETTINGS, NOV, "org", "day", NOW)
    # Nov 3 is an estimate (the bucket cannot say which requests were long): all standard,
    # 500k x 2 = 1.0, bounded by 500k x 4 = 2.0. Nov 4 is one request: exact, 300k x 4.
    assert r.totals.cost_usd == D("1.0") + D("1.2")
    nov3, nov4 = r.groups
    assert nov3.figures.long_context == "estimated"
    assert (nov3.figures.cost_low_usd, nov3.figures.cost_high_usd) == (D("1.0"), D("2.0"))
    assert nov4.figures.long_context == "exact"
    assert r.to_json()["totals"]["long_context_bounds_usd"] == {"low": D("2.2"),
                                                                "high": D("3.2")}


def test_pricer_matches_price_table_for_single_requests(prices: PriceTable) -> None:
    pricer = Pricer(prices)
    rng = random.Random(11)
    for _ in range(300):
        inp = rng.randint(0, 272_000)
        cached = rng.randint(0, inp)
        out = rng.randint(0, 50_000)
        usage = TokenUsage(input_tokens=inp, cached_input_tokens=cached, output_tokens=out,
                           reasoning_tokens=rng.randint(0, out))
        d = date(2026, 11, rng.randint(1, 30))
        model = rng.choice(["m-std", "m-lc"])
        tier = rng.choice([None, "default", "flex", "priority"])
        batch = rng.random() < 0.2
        expected = prices.cost(model, usage, at=datetime(2026, 11, d.day, 12, tzinfo=UTC),
                               service_tier=tier, batch=batch).usd
        assert pricer.cost(model, usage, 1, d, tier, batch) == expected
    assert pricer.cost("unknown-model", TokenUsage(input_tokens=5), 1, date(2026, 11, 1)) is None
    assert pricer.cost(None, TokenUsage(), 0, date(2026, 11, 1)) == 0


# ---- billed dollars ----------------------------------------------------------------------------


def test_billed_days_replace_estimates(store: UsageStore, prices: PriceTable) -> None:
    store.upsert_usage_buckets([bucket(day(5)), bucket(day(12)), bucket(day(16), width="1d")])
    store.replace_cost_window(date(2026, 11, 1), date(2026, 11, 17), [
        CostBucket(date(2026, 11, 5), D("2.00"), line_item="input"),
        CostBucket(date(2026, 11, 5), D("1.10"), line_item="web search"),
        CostBucket(date(2026, 11, 16), D("9.99")),  # today: still open, not billed yet
    ])
    r = build_report(store, prices, SETTINGS, NOV, "org", "day", NOW)
    days = {d.day.day: d for d in r.days}
    assert days[5].cost_usd == D("3.10") and days[5].basis == "billed"
    assert days[5].estimated_usd == D("2.5")
    assert days[12].basis == "estimated" and days[12].billed_usd is None
    assert days[16].basis == "estimated" and days[16].cost_usd == D("1.25")
    assert r.totals.cost_usd == D("3.10") + D("1.25") + D("1.25")
    assert r.totals.cost_basis == "mixed"
    assert [g.figures.cost_basis for g in r.groups] == ["billed", "estimated", "estimated"]
    # A period that holds only part of the billed day is estimated.
    part = build_report(store, prices, SETTINGS, Period(day(5, 0), day(5, 12)), "org", None, NOW)
    assert part.totals.cost_basis == "estimated"


def test_billed_dollars_by_project_and_model(store: UsageStore, prices: PriceTable) -> None:
    store.set_names({"proj_a": "Project Alpha"})
    store.upsert_usage_buckets([
        bucket(day(5), project="proj_a"),  # estimated 2.5
        bucket(day(5), "m-lc", inp=100_000, cached=0, out=0, project="proj_b"),  # 0.2
    ])
    store.replace_cost_window(date(2026, 11, 5), date(2026, 11, 6), [
        CostBucket(date(2026, 11, 5), D("2"), project_id="proj_a"),
        CostBucket(date(2026, 11, 5), D("0.27"), project_id=None),  # shared by estimate
    ])
    r = build_report(store, prices, SETTINGS, NOV, "org", "project", NOW)
    got = {g.key: (g.name, g.figures.cost_usd, g.figures.cost_basis) for g in r.groups}
    # proj_a: billed 2 plus its share of the unattributed 0.27 (apportioned, and says so)
    assert got == {
        "proj_a": ("Project Alpha", D("2") + D("0.25"), "mixed"),
        "proj_b": ("proj_b", D("0.02"), "apportioned"),
    }
    proj_a = next(g.figures for g in r.groups if g.key == "proj_a")
    assert (proj_a.billed_usd, proj_a.apportioned_usd) == (D(2), D("0.25"))
    by_model = build_report(store, prices, SETTINGS, NOV, "org", "model", NOW)
    models = {g.key: g.figures.cost_usd for g in by_model.groups}
    assert sum(models.values()) == D("2.27") == by_model.totals.cost_usd
    assert models["m-lc"] == D("2.27") * D("0.2") / D("2.7")
    assert {g.figures.cost_basis for g in by_model.groups} == {"apportioned"}
    assert by_model.totals.cost_basis == "billed"  # the day total itself is the bill


def test_billed_day_without_priced_usage_is_unattributed(store: UsageStore,
                                                         prices: PriceTable) -> None:
    store.replace_cost_window(date(2026, 11, 4), date(2026, 11, 5),
                              [CostBucket(date(2026, 11, 4), D("0.5"), line_item="storage")])
    r = build_report(store, prices, SETTINGS, NOV, "org", "model", NOW)
    assert [(g.key, g.name, g.kind, g.figures.cost_usd, g.figures.cost_basis)
            for g in r.groups] == [("storage", "storage", "line_item", D("0.5"), "billed")]
    store.replace_cost_window(date(2026, 11, 4), date(2026, 11, 5),
                              [CostBucket(date(2026, 11, 4), D("0.5"))])  # no line item at all
    r = build_report(store, prices, SETTINGS, NOV, "org", "model", NOW)
    assert [(g.key, g.name, g.figures.cost_usd, g.figures.cost_basis) for g in r.groups] == [
        (None, "(unattributed)", D("0.5"), "apportioned")
    ]


# ---- sources -----------------------------------------------------------------------------------


def test_source_rule_all_org_proxy(store: UsageStore, prices: PriceTable) -> None:
    store.replace_usage_window("completions", "1h", day(16), day(16, 10),
                               [bucket(day(16, 9), width="1h", requests=3, inp=1000, cached=0,
                                       out=0)])
    org_sync(store, day(16, 10))
    store.add_proxy_records([proxy(day(16, 9, ), cost="0.5"),  # org already has it
                             proxy(day(16, 11), cost="0.25", reasoning=7),
                             proxy(day(16, 11), cost=None, status=500)])
    org = build_report(store, prices, SETTINGS, NOV, "org", None, NOW)
    prx = build_report(store, prices, SETTINGS, NOV, "proxy", None, NOW)
    both = build_report(store, prices, SETTINGS, NOV, "all", None, NOW)
    assert org.totals.requests == 3 and org.totals.cost_usd == D("0.001")
    assert prx.totals.requests == 2 and prx.totals.cost_usd == D("0.75")
    assert both.totals.requests == 4 and both.totals.cost_usd == D("0.251")
    assert both.totals.reasoning_tokens == 7
    assert both.org_cutoff == day(16, 10)
    src = {s.name: s for s in both.sources}
    assert src["proxy"].start == day(16, 10) and src["proxy"].errors == 1
    assert src["org"].figures.requests == 3 and src["proxy"].figures.requests == 1
    assert not {s.name: s for s in org.sources}["proxy"].included
    js = both.to_json()
    assert js["sources"]["org"]["covered_through"] == day(16, 10)
    assert js["sources"]["proxy"]["totals"]["requests"] == 1


def test_billed_day_not_wholly_covered_by_org_stays_estimated(store: UsageStore,
                                                              prices: PriceTable) -> None:
    store.upsert_usage_buckets([bucket(day(5))])
    store.replace_cost_window(date(2026, 11, 5), date(2026, 11, 6),
                              [CostBucket(date(2026, 11, 5), D("3"))])
    org_sync(store, day(5, 12))  # org data only through noon of the 5th
    store.add_proxy_record(proxy(day(5, 18), cost="0.5"))
    r = build_report(store, prices, SETTINGS, NOV, "all", None, NOW)
    assert r.totals.cost_usd == D("2.5") + D("0.5")
    assert r.totals.cost_basis == "estimated"
    assert build_report(store, prices, SETTINGS, NOV, "org", None, NOW).totals.cost_usd == D(3)


@pytest.mark.parametrize("by", GROUPINGS)
def test_groups_add_up_to_totals(store: UsageStore, prices: PriceTable, by: str) -> None:
    rng = random.Random(5)
    store.set_names({"key_1": "ci-key", "proj_a": "Alpha"})
    rows = []
    for d in range(1, 17):
        for h in (0, 6, 12):
            rows.append(bucket(day(d, h), rng.choice(["m-std", "m-lc", "mystery"]),
                               requests=rng.randint(1, 50), inp=rng.randint(0, 90_000),
                               cached=0, out=rng.randint(0, 9_000), width="1h",
                               project=rng.choice(["proj_a", None]),
                               key=rng.choice(["key_1", "key_2", None])))
    store.upsert_usage_buckets(rows)
    store.replace_cost_window(date(2026, 11, 1), date(2026, 11, 9), [
        CostBucket(date(2026, 11, d), D(f"{d}.37"), project_id=rng.choice(["proj_a", None]),
                   api_key_id=rng.choice(["key_1", None])) for d in range(1, 9)])
    org_sync(store, day(16, 6))
    store.add_proxy_records([proxy(day(16, 7) + timedelta(minutes=i), key=f"k{i % 3}",
                                   cost=rng.choice(["0.01", None])) for i in range(40)])
    r = build_report(store, prices, SETTINGS, NOV, "all", by, NOW)
    assert sum(g.figures.requests for g in r.groups) == r.totals.requests
    assert sum((g.figures.cost_usd for g in r.groups), D(0)) == r.totals.cost_usd
    assert sum(g.figures.input_tokens for g in r.groups) == r.totals.input_tokens
    assert r.totals.cost_basis == "mixed"
    plain = build_report(store, prices, SETTINGS, NOV, "all", None, NOW)
    assert plain.totals == r.totals
    if by == "key":
        names = {g.key: g.name for g in r.groups}
        assert names["key_1"] == "ci-key" and names["k1"] == "k1"


def test_unpriced_models_are_listed_not_zero(store: UsageStore, prices: PriceTable) -> None:
    store.upsert_usage_buckets([
        bucket(day(3), "mystery", requests=4, inp=1000, cached=0, out=10),
        bucket(day(3), "gpt-image-x", requests=2, inp=0, cached=0, out=0, endpoint="images",
               units=6),
    ])
    store.add_proxy_record(proxy(day(4), cost=None, model="other-mystery"))
    r = build_report(store, prices, SETTINGS, NOV, "all", "model", NOW)
    got = {(u.model, u.source): (u.requests, u.input_tokens, u.units) for u in r.unpriced_models}
    assert got == {("mystery", "org"): (4, 1000, 0), ("gpt-image-x", "org"): (2, 0, 6),
                   ("other-mystery", "proxy"): (1, 100, 0)}
    assert r.totals.cost_usd == 0 and r.totals.unpriced_requests == 7
    assert any("price override" in n for n in r.notes)


# ---- the limit ---------------------------------------------------------------------------------


def test_limit_fraction_and_projection_follow_the_cycle(store: UsageStore,
                                                        prices: PriceTable) -> None:
    store.upsert_usage_buckets([bucket(day(2)), bucket(day(3))])  # 2 × 2.5 = $5
    today = Period(day(16), day(17))
    r = build_report(store, prices, SETTINGS, today, "all", None, NOW)
    assert r.totals.cost_usd == 0  # nothing today
    assert r.cycle == NOV and r.cycle_cost_usd == D(5)
    assert r.used_fraction == D("0.5")
    # No sync recorded: the data starts with the first bucket (Nov 2), so $5 over the
    # 14.5 days observed → $5 more over the 14.5 days left.
    assert r.projected_cost_usd == D(10)
    # A successful org sync backfilled the whole cycle: $5 in 15.5 days → × 30/15.5.
    store.set_sync_state(ORG_SOURCE, SyncState(day(16), None, None, None))
    r = build_report(store, prices, SETTINGS, today, "all", None, NOW)
    assert r.projected_cost_usd == D(5) + D(5) / D(15.5 * 86400) * D(14.5 * 86400)
    assert r.limit_crossed_on is None or r.limit_crossed_on > NOW.date()
    js = r.to_json()
    assert js["limit_usd"] == D(10) and js["used_fraction"] == D("0.5")
    no_limit = build_report(store, prices, Settings(monthly_limit_usd=D(0)), today, "all",
                            None, NOW)
    assert no_limit.used_fraction is None


def test_daily_spend_series(store: UsageStore, prices: PriceTable) -> None:
    store.upsert_usage_buckets([bucket(day(2)), bucket(day(9))])
    series = build_report(store, prices, SETTINGS, NOV, "all", "day", NOW).days
    assert [(s.day, s.cost_usd) for s in series] == [(date(2026, 11, 2), D("2.5")),
                                                     (date(2026, 11, 9), D("2.5"))]


def test_a_given_cycle_report_is_reused_only_when_it_matches(store: UsageStore,
                                                             prices: PriceTable) -> None:
    store.upsert_usage_buckets([bucket(day(2)), bucket(day(3))])  # $5 this cycle
    today = Period(day(16), day(17))
    cycle_all = build_report(store, prices, SETTINGS, NOV, "all", "model", NOW)
    plain = build_report(store, prices, SETTINGS, today, "all", None, NOW)
    reused = build_report(store, prices, SETTINGS, today, "all", None, NOW,
                          cycle_report=cycle_all)
    assert reused == plain and reused.cycle_cost_usd == D(5)
    # Proof that it is reused, not rebuilt: new data is not seen through the given report.
    store.upsert_usage_buckets([bucket(day(4))])
    stale = build_report(store, prices, SETTINGS, today, "all", None, NOW,
                         cycle_report=cycle_all)
    assert stale.cycle_cost_usd == D(5)
    # Another source, grouping by project/key or another period: rebuilt (sees the new $2.5).
    mismatched = [
        build_report(store, prices, SETTINGS, NOV, "org", "model", NOW),
        build_report(store, prices, SETTINGS, NOV, "all", "project", NOW),
        build_report(store, prices, SETTINGS, Period(day(1), day(15)), "all", None, NOW),
    ]
    store.upsert_usage_buckets([bucket(day(5))])
    for other in mismatched:
        got = build_report(store, prices, SETTINGS, today, "all", None, NOW,
                           cycle_report=other)
        assert got.cycle_cost_usd == D(10), other.period


# ---- issue 13: long context bounds, billed per model, rounding ---------------------------------


def test_long_context_bucket_rules(prices: PriceTable) -> None:
    pricer = Pricer(prices)
    d = date(2026, 11, 3)
    # Two requests of 500k and 10k (the case): 510k <= 2 x 272k, every request could
    # be short: the estimate is the all-standard low bound 510k x 2 = 1.02, high 510k x 4.
    p = pricer.price("m-lc", TokenUsage(input_tokens=510_000), 2, d)
    assert (p.usd, p.low, p.high, p.long_context) == (D("1.02"), D("1.02"), D("2.04"),
                                                      "estimated")
    # 700k over 2 requests: at least 700k - 272k = 428k sit in a long request:
    # 1.4 + (428/700) x (2.8 - 1.4) = 1.4 + 0.856
    p = pricer.price("m-lc", TokenUsage(input_tokens=700_000), 2, d)
    assert (p.usd, p.long_context) == (D("2.256"), "estimated")
    # within the threshold the bucket proves it: exact
    p = pricer.price("m-lc", TokenUsage(input_tokens=272_000), 5, d)
    assert (p.usd, p.long_context) == (D("0.544"), "exact")
    # a model without long-context rates
    assert pricer.price("m-std", TokenUsage(input_tokens=900_000), 2, d).long_context == "none"


def test_line_items_naming_a_model_are_its_bill(store: UsageStore, prices: PriceTable) -> None:
    store.upsert_usage_buckets([
        bucket(day(5)),  # m-std: estimated 2.5
        bucket(day(5), "m-lc", inp=100_000, cached=0, out=0),  # m-lc: estimated 0.2
        bucket(day(5), "whisper-1", inp=0, cached=0, out=0, endpoint="audio_transcriptions",
               units=60),  # no price in the table
    ])
    store.replace_cost_window(date(2026, 11, 5), date(2026, 11, 6), [
        CostBucket(date(2026, 11, 5), D("1.5"), line_item="m-std, input"),
        CostBucket(date(2026, 11, 5), D("1.0"), line_item="m-std, output"),
        CostBucket(date(2026, 11, 5), D("0.3"), line_item="M-LC, input"),
        CostBucket(date(2026, 11, 5), D("1.27"), line_item="whisper-1, input"),
        CostBucket(date(2026, 11, 5), D("0.4"), line_item="Web search tool calls"),
    ])
    r = build_report(store, prices, SETTINGS, NOV, "org", "model", NOW)
    got = {g.key: (g.kind, g.figures.billed_usd, g.figures.apportioned_usd,
                   g.figures.cost_basis) for g in r.groups}
    assert got == {
        "m-std": ("group", D("2.5"), D(0), "billed"),
        "m-lc": ("group", D("0.3"), D(0), "billed"),
        "whisper-1": ("group", D("1.27"), D(0), "billed"),
        "Web search tool calls": ("line_item", D("0.4"), D(0), "billed"),
    }
    assert r.totals.cost_usd == D("4.47") == sum(g.figures.cost_usd for g in r.groups)
    by_key = {g.key: g for g in r.groups}
    # m-std's bill equals tokens x price: no difference shown. m-lc: 0.3 billed vs 0.2
    # estimated, 50 % off -> shown.
    assert by_key["m-std"].figures.bill_difference_usd is None
    assert by_key["m-lc"].figures.bill_difference_usd == D("0.1")
    js = by_key["m-lc"].to_json()
    assert js["bill_difference"] == {"billed_usd": D("0.3"), "estimated_usd": D("0.2"),
                                     "difference_usd": D("0.1")}
    assert "bill_difference" not in by_key["m-std"].to_json()


def test_line_item_model_matching(prices: PriceTable) -> None:
    from monitor.services.usage_report import line_item_model
    assert line_item_model("m-std, input", ["m-std"], prices) == "m-std"
    assert line_item_model("whisper-1, input", ["whisper-1"], prices) == "whisper-1"
    assert line_item_model("m-std, input", [], prices) == "m-std"  # known to the table
    for label in ("Image models", "input_tokens", "Web search tool calls", "", None):
        assert line_item_model(label, ["m-std"], prices) is None, label


def test_json_money_has_fixed_places(store: UsageStore, prices: PriceTable) -> None:
    store.add_proxy_record(proxy(day(5), cost="1.234567890129"))  # 12 decimals recorded
    store.add_proxy_record(proxy(day(6), cost="0.1"))
    r = build_report(store, prices, SETTINGS, NOV, "proxy", "day", NOW)
    assert r.totals.cost_usd == D("1.334567890129")  # exact inside
    js = r.to_json()
    assert js["totals"]["cost_usd"] == D("1.334567890") and js["groups"][0]["cost_usd"] == D(
        "1.234567890")
    assert js["totals"]["cost_usd"].as_tuple().exponent == -9
    # as printed: no float noise
    from monitor.commands._output import to_json
    assert '"cost_usd": 1.33456789,' in to_json(js)


def test_stored_buckets_prove_what_the_day_cannot(store: UsageStore, prices: PriceTable) -> None:
    store.upsert_usage_buckets([
        # one request of 300k (long: 300k x 4 = 1.2) and 100 of 2k each (short: 200k x 2 = 0.4)
        bucket(day(3, 5), "m-lc", requests=1, inp=300_000, cached=0, out=0, width="1h"),
        bucket(day(3, 6), "m-lc", requests=100, inp=200_000, cached=0, out=0, width="1h"),
        # a daily row of the same day is superseded by the hourly rows
        bucket(day(3), "m-lc", requests=101, inp=500_000, cached=0, out=0, width="1d"),
    ])
    r = build_report(store, prices, SETTINGS, NOV, "org", "model", NOW)
    [g] = r.groups
    # the day alone (500k over 101 requests) would be an estimate between 1.0 and 2.0
    assert (g.figures.cost_usd, g.figures.long_context) == (D("1.6"), "exact")


def test_reprice_uses_the_stored_buckets_too(store: UsageStore, prices: PriceTable) -> None:
    from monitor.services.reprice import reprice

    store.upsert_usage_buckets([
        bucket(day(3, 5), "m-std", requests=1, inp=300_000, cached=0, out=0, width="1h"),
        bucket(day(3, 6), "m-std", requests=100, inp=200_000, cached=0, out=0, width="1h"),
    ])
    r = build_report(store, prices, SETTINGS, NOV, "org", "model", NOW)
    what_if = reprice(store, prices, r, "m-lc")
    # on m-lc: the lone 300k request is long (x 4 = 1.2), the 100 short ones 200k x 2 = 0.4
    assert (what_if.cost_usd, what_if.long_context) == (D("1.6"), "exact")
    assert what_if.actual_cost_usd == D("1.0")  # m-std before Nov 10: 500k x 2
