"""The dashboard snapshot (no Qt): same numbers as the usage report, credit, CSV, autostart."""

from __future__ import annotations

import csv
import io
import plistlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from monitor.core.budget import Period, billing_cycle, today_period
from monitor.core.prices import PriceTable
from monitor.core.settings import Settings
from monitor.core.usage import TokenUsage
from monitor.services import autostart
from monitor.services.price_files import load_price_table
from monitor.services.snapshot import RuntimeStatus
from monitor.services.snapshot_build import build_snapshot
from monitor.services.snapshot_csv import snapshot_csv
from monitor.services.store import ORG_SOURCE, SyncState, UsageStore
from monitor.services.usage_report import build_report
from tests.e2e.seed import seed_month, seed_proxy_spend

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
SETTINGS = Settings(today_timezone="UTC")


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return load_price_table()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[UsageStore]:
    s = UsageStore(tmp_path / "usage.sqlite3")
    yield s
    s.close()


def test_snapshot_matches_the_usage_report(store: UsageStore, prices: PriceTable) -> None:
    seed_month(store, prices, NOW)
    snap = build_snapshot(store, prices, SETTINGS, RuntimeStatus(), NOW)
    cycle = billing_cycle(NOW, 1)
    report = build_report(store, prices, SETTINGS, cycle, "all", "model", NOW)
    today = build_report(store, prices, SETTINGS, today_period(NOW, "UTC"), "all", None, NOW)
    assert snap.cycle.cost_usd == report.totals.cost_usd
    assert snap.cycle.start == date(2026, 11, 1) and snap.cycle.end == date(2026, 12, 1)
    assert snap.cycle.basis == "mixed"  # billed days plus estimated recent days
    assert snap.cycle.billed_usd + snap.cycle.estimated_usd == snap.cycle.cost_usd
    assert snap.today.cost_usd == today.totals.cost_usd
    assert snap.today.requests == today.totals.requests
    assert snap.cycle.fraction == pytest.approx(float(snap.cycle.cost_usd / 120))
    assert snap.cycle.projected_usd is not None and snap.cycle.projected_usd > snap.cycle.cost_usd
    assert [r.key for r in snap.by_model] == [g.key for g in report.groups]
    assert sum((d.cost_usd for d in snap.daily), Decimal(0)) == snap.cycle.cost_usd
    # Names, not ids.
    assert {r.name for r in snap.by_project} >= {"Project Alpha", "Batch jobs", "Support bot"}
    assert {r.name for r in snap.by_key} >= {"ci-key", "batch-service", "support-prod"}
    # The fine-tune has no price: listed, and its row says "unknown", never $0.
    assert snap.unpriced_models == ("acme-ft-summarizer",)
    [ft] = [r for r in snap.by_model if r.key == "acme-ft-summarizer"]
    assert ft.cost_usd is None and ft.requests > 0
    assert snap.cycle.cached_savings_usd > 0
    assert len(snap.spend_history) == 14
    assert snap.has_data
    assert snap.complete_through == datetime(2026, 11, 20, 14, tzinfo=UTC)
    assert snap.provisional_from == datetime(2026, 11, 20, 15, tzinfo=UTC)
    assert snap.proxy.requests_today == 14 and len(snap.proxy.rate_limits) == 2
    # Billed vs estimated: one day row per cycle day with data, explained.
    day_rows = [r for r in snap.recon if r.item == "(all models)"]
    assert [r.day for r in day_rows] == [d.day for d in snap.daily]
    billed = [r for r in day_rows if r.billed_usd is not None]
    assert billed and all(r.explanation for r in day_rows)
    assert any("not billed yet" in r.explanation for r in day_rows)


def test_snapshot_builds_each_period_once(store: UsageStore, prices: PriceTable,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Six reports (cycle by model/project/key, today, 14-day history, credit), none of them
    rebuilding the cycle for its limit figures; the figures match reports built on their own."""
    from monitor.services import usage_report

    seed_month(store, prices, NOW)
    s = SETTINGS.replace(prepaid_credit_usd=Decimal(500), prepaid_purchased=date(2026, 11, 5))
    calls: list[tuple[Period, str | None]] = []
    real = usage_report.build_report

    def counting(*args: object, **kw: object) -> object:
        calls.append((args[3], args[5] if len(args) > 5 else kw.get("by")))  # type: ignore[arg-type]
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(usage_report, "build_report", counting)
    snap = build_snapshot(store, prices, s, RuntimeStatus(), NOW)
    monkeypatch.undo()
    cycle = billing_cycle(NOW, 1)
    assert len(calls) == 6
    assert [c for c in calls if c[0] == cycle] == [(cycle, "model"), (cycle, "project"),
                                                   (cycle, "key")]
    alone = build_report(store, prices, s, Period(datetime(2026, 11, 5, tzinfo=UTC), NOW),
                         "all", None, NOW)
    assert snap.credit is not None and snap.credit.spent_usd == alone.totals.cost_usd
    today = build_report(store, prices, s, today_period(NOW, "UTC"), "all", None, NOW)
    assert (snap.today.cost_usd, snap.cycle.cost_usd) == (today.totals.cost_usd,
                                                          today.cycle_cost_usd)


def _hour(d: int, h: int, m: int = 0) -> datetime:
    return datetime(2026, 11, d, h, m, tzinfo=UTC)


def test_hourly_spend_follows_the_source_rule(store: UsageStore, prices: PriceTable) -> None:
    from monitor.core.records import UsageBucket
    from monitor.core.usage import TokenUsage
    from monitor.services.usage_report import pricer_for
    from tests.e2e.seed import proxy_record

    # org hourly buckets for Nov 19 and Nov 20 up to the open 15:00 hour (sync at 15:00)
    def org(h: datetime, tokens: int) -> UsageBucket:
        return UsageBucket(start=h, width="1h", endpoint="completions", model="gpt-4o",
                           requests=2, usage=TokenUsage(input_tokens=tokens,
                                                        output_tokens=tokens // 10))
    buckets = [org(_hour(19, 9), 40_000), org(_hour(20, 14), 100_000), org(_hour(20, 15), 8_000)]
    store.replace_usage_window("completions", "1h", _hour(19, 0), _hour(20, 16), buckets)
    store.set_sync_state(ORG_SOURCE, SyncState(last_success=_hour(20, 15),
                                               settled_through=_hour(20, 14)))
    store.add_proxy_records([
        proxy_record(_hour(20, 14, 20), Decimal("5")),  # covered by org: not added
        proxy_record(_hour(20, 15, 10), Decimal("0.25")),  # after the cutoff: added
        proxy_record(_hour(10, 10, 5), Decimal("0.75")),  # a day with no org hourly rows
        proxy_record(_hour(10, 10, 50), Decimal("0.5")),
        proxy_record(_hour(6, 13, 59), Decimal("9")),  # before the 14-day window
    ])
    snap = build_snapshot(store, prices, SETTINGS, RuntimeStatus(), NOW)
    pricer = pricer_for(prices)

    def cost(b: UsageBucket) -> Decimal:
        usd = pricer.cost(b.model, b.usage, b.requests, b.start.date())
        assert usd is not None
        return usd

    points = {p.start: p for p in snap.hourly_spend}
    assert len(points) == 24 + 16 + 1  # Nov 19, Nov 20 00-15, Nov 10 10:00
    assert (points[_hour(19, 9)].cost_usd, points[_hour(19, 9)].source) == (
        cost(buckets[0]), "org")
    assert (points[_hour(19, 3)].cost_usd, points[_hour(19, 3)].source) == (Decimal(0), "org")
    assert points[_hour(20, 14)].cost_usd == cost(buckets[1])
    assert (points[_hour(20, 15)].cost_usd, points[_hour(20, 15)].source) == (
        cost(buckets[2]) + Decimal("0.25"), "org+proxy")
    assert (points[_hour(10, 10)].cost_usd, points[_hour(10, 10)].source) == (
        Decimal("1.25"), "proxy")
    assert _hour(10, 11) not in points and min(points) == _hour(10, 10)
    assert [p.start for p in snap.hourly_spend] == sorted(points)
    # the same dollars the usage report counts for today
    assert sum((p.cost_usd for p in snap.hourly_spend if p.start.day == 20),
               Decimal(0)) == snap.today.cost_usd


def test_hourly_spend_without_any_data_still_lists_the_tested_hours(
        store: UsageStore, prices: PriceTable) -> None:
    snap = build_snapshot(store, prices, SETTINGS, RuntimeStatus(), NOW)
    assert [(p.start, p.cost_usd) for p in snap.hourly_spend] == [
        (_hour(20, 14), Decimal(0)), (_hour(20, 15), Decimal(0))]


def test_rejected_keys_are_those_whose_latest_request_got_401(store: UsageStore,
                                                             prices: PriceTable) -> None:
    import dataclasses

    from tests.e2e.seed import proxy_record

    def rec(at: datetime, label: str, status: int) -> object:
        return dataclasses.replace(proxy_record(at, Decimal(0), key_label=label),
                                   status=status, usage=TokenUsage(), cost_usd=None)
    store.add_proxy_records([  # type: ignore[list-item]
        rec(_hour(20, 12), "ci", 401), rec(_hour(20, 13), "ci", 401),
        rec(_hour(20, 12, 30), "ci", 429),
        rec(_hour(20, 12), "dev", 401), rec(_hour(20, 13), "dev", 200),  # fixed since
        rec(_hour(20, 13), "flaky", 200), rec(_hour(20, 14), "flaky", 500),
        rec(_hour(18, 9), "old", 401),  # two days ago: outside the window
    ])
    snap = build_snapshot(store, prices, SETTINGS, RuntimeStatus(), NOW)
    assert [(k.key_label, k.last_at, k.count) for k in snap.rejected_keys] == [
        ("ci", _hour(20, 13), 2)]


def test_credit_remaining_and_expiry(store: UsageStore, prices: PriceTable) -> None:
    seed_proxy_spend(store, [(datetime(2026, 10, 20, tzinfo=UTC), Decimal("10")),
                             (datetime(2026, 11, 2, tzinfo=UTC), Decimal("25.50")),
                             (datetime(2026, 11, 20, 9, tzinfo=UTC), Decimal("4.50"))])
    s = SETTINGS.replace(prepaid_credit_usd="50", prepaid_purchased="2026-10-25",
                         prepaid_expires="2026-12-01")
    snap = build_snapshot(store, prices, s, RuntimeStatus(), NOW)
    assert snap.credit is not None
    assert snap.credit.spent_usd == Decimal("30.00")  # since Oct 25, not the Oct 20 record
    assert snap.credit.remaining_usd == Decimal("20.00")
    assert snap.credit.days_to_expiry == 11
    assert build_snapshot(store, prices, SETTINGS, RuntimeStatus(), NOW).credit is None


def test_empty_store_has_no_data(store: UsageStore, prices: PriceTable) -> None:
    snap = build_snapshot(store, prices, SETTINGS, RuntimeStatus(org_configured=False), NOW)
    assert not snap.has_data and not snap.failing
    assert snap.cycle.cost_usd == 0 and snap.by_model == ()
    store.set_sync_state(ORG_SOURCE, SyncState(last_error="invalid key",
                                               last_error_at=NOW - timedelta(minutes=1)))
    failing = build_snapshot(store, prices, SETTINGS, RuntimeStatus(), NOW)
    assert failing.failing and failing.org.last_error == "invalid key"


def test_csv_has_every_section(store: UsageStore, prices: PriceTable) -> None:
    seed_month(store, prices, NOW)
    snap = build_snapshot(store, prices, SETTINGS, RuntimeStatus(), NOW)
    rows = list(csv.DictReader(io.StringIO(snapshot_csv(snap))))
    sections = {r["section"] for r in rows}
    assert sections == {"total", "day", "model", "project", "key"}
    [total] = [r for r in rows if r["section"] == "total"]
    # money in CSV follows the one display rule: half up to cents (monitor.core.money)
    assert Decimal(total["cost_usd"]) == snap.cycle.cost_usd.quantize(Decimal("0.01"),
                                                                      ROUND_HALF_UP)
    days = [r for r in rows if r["section"] == "day"]
    assert sum(Decimal(r["cost_usd"]) for r in days) == pytest.approx(
        snap.cycle.cost_usd, abs=Decimal("0.005") * len(days))
    # Day rows carry requests and tokens, which add up to the total's (issue 25).
    for column in ("requests", "input_tokens", "cached_input_tokens", "output_tokens"):
        assert sum(int(r[column]) for r in days) == int(total[column]) > 0, column
    ft = [r for r in rows if r["name"] == "acme-ft-summarizer"]
    assert ft and ft[0]["cost_usd"] == "" and ft[0]["basis"] == "unpriced"
    period = Period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    assert total["period_start"] == period.start.date().isoformat()


# --- start at login ---------------------------------------------------------------------------


def test_xdg_autostart_entry(tmp_path: Path) -> None:
    launcher = autostart.Launcher(("/opt/my venv/bin/python", "-m", "monitor"), "/data/tm")
    path = autostart.set_autostart(True, launcher, platform="linux", config_home=tmp_path)
    assert path == tmp_path / "autostart" / "token-monitor.desktop"
    text = path.read_text()
    assert "[Desktop Entry]" in text and "Type=Application" in text
    assert 'Exec=env MONITOR_HOME=/data/tm "/opt/my venv/bin/python" -m monitor\n' in text
    assert autostart.is_enabled("linux", config_home=tmp_path)
    autostart.set_autostart(True, launcher, platform="linux", config_home=tmp_path)  # idempotent
    assert autostart.set_autostart(False, launcher, platform="linux",
                                   config_home=tmp_path) is None
    assert not path.exists() and not autostart.is_enabled("linux", config_home=tmp_path)
    autostart.set_autostart(False, launcher, platform="linux", config_home=tmp_path)


def test_launch_agent_and_run_key_text() -> None:
    launcher = autostart.Launcher(("/usr/bin/python3", "-m", "monitor"), None)
    plist = plistlib.loads(autostart.launch_agent_plist(launcher))
    assert plist["ProgramArguments"] == ["/usr/bin/python3", "-m", "monitor"]
    assert plist["RunAtLoad"] is True and "EnvironmentVariables" not in plist
    win = autostart.Launcher((r"C:\Program Files\Python\python.exe", "-m", "monitor"))
    assert autostart.windows_command(win) == r'"C:\Program Files\Python\pythonw.exe" -m monitor'
    with pytest.raises(autostart.AutostartError):
        autostart.set_autostart(True, launcher, platform="sunos5")


# --- billed per model by line item (issue 13) -------------------------------------------------


def test_billed_vs_estimated_by_line_item(store: UsageStore, prices: PriceTable) -> None:
    from monitor.core.records import CostBucket, UsageBucket
    from monitor.services.billed_vs_estimated import BILL_DIFFERS, BILLED_SO_FAR, LINE_ITEM_ONLY

    nov5 = datetime(2026, 11, 5, tzinfo=UTC)

    def bucket(start: datetime, model: str, inp: int = 0, out: int = 0,
               endpoint: str = "completions", units: int = 0) -> UsageBucket:
        return UsageBucket(start=start, width="1d", endpoint=endpoint, model=model,
                           requests=1, units=units,
                           usage=TokenUsage(input_tokens=inp, output_tokens=out))

    store.upsert_usage_buckets([
        bucket(nov5, "gpt-4o", 1_000_000, 100_000),  # 2.5 + 1.0 = 3.5
        bucket(nov5, "gpt-4o-mini", 1_000_000),  # 0.15
        bucket(nov5, "whisper-1", endpoint="audio_transcriptions", units=60),  # no price
    ])
    store.upsert_usage_buckets([UsageBucket(
        start=datetime(2026, 11, 20, 9, tzinfo=UTC), width="1h", endpoint="images",
        model="gpt-image-1", requests=1, units=1)])
    store.replace_cost_window(date(2026, 11, 5), date(2026, 11, 6), [
        CostBucket(date(2026, 11, 5), Decimal("2.5"), line_item="gpt-4o, input"),
        CostBucket(date(2026, 11, 5), Decimal("1.0"), line_item="gpt-4o, output"),
        CostBucket(date(2026, 11, 5), Decimal("0.3"), line_item="gpt-4o-mini, input"),
        CostBucket(date(2026, 11, 5), Decimal("1.27"), line_item="whisper-1, input"),
        CostBucket(date(2026, 11, 5), Decimal("0.4"), line_item="Web search tool calls"),
    ])
    store.replace_cost_window(date(2026, 11, 20), date(2026, 11, 21), [
        CostBucket(date(2026, 11, 20), Decimal("1.13"), line_item="gpt-image-1, output")])
    store.set_sync_state(ORG_SOURCE, SyncState(last_success=NOW, settled_through=NOW))
    snap = build_snapshot(store, prices, SETTINGS, RuntimeStatus(), NOW)
    recon = {(r.day.day, r.item): (r.billed_usd, r.estimated_usd, r.explanation)
             for r in snap.recon}
    assert recon[(5, "(all models)")][:2] == (Decimal("5.47"), Decimal("3.65"))
    assert recon[(5, "gpt-4o")] == (Decimal("3.5"), Decimal("3.5"), "billed by line item")
    assert recon[(5, "gpt-4o-mini")] == (Decimal("0.3"), Decimal("0.15"), BILL_DIFFERS)
    assert recon[(5, "whisper-1")] == (Decimal("1.27"), None,
                                       "billed by line item; price unknown")
    assert recon[(5, "Web search tool calls")] == (Decimal("0.4"), None, LINE_ITEM_ONLY)
    # today is still open: the running bill is shown, never "not billed yet" above it
    assert recon[(20, "(all models)")] == (Decimal("1.13"), Decimal(0), BILLED_SO_FAR)
    assert recon[(20, "gpt-image-1")][0] == Decimal("1.13")
    # By model: the bill where a line item names the model; a line item of its own
    rows = {r.key: (r.cost_usd, r.basis) for r in snap.by_model}
    assert rows["gpt-4o"] == (Decimal("3.5"), "billed")
    assert rows["whisper-1"] == (Decimal("1.27"), "billed")
    assert rows["Web search tool calls"] == (Decimal("0.4"), "billed")
    csv_rows = {r["key"]: r for r in csv.DictReader(io.StringIO(snapshot_csv(snap)))
                if r["section"] == "model"}
    assert csv_rows["gpt-4o-mini"]["basis"] == "billed"
    assert csv_rows["gpt-image-1"]["basis"] == "unpriced"  # today's image: no price, no bill yet


def test_csv_labels_apportioned_dollars(store: UsageStore, prices: PriceTable) -> None:
    from monitor.core.records import CostBucket, UsageBucket

    store.upsert_usage_buckets([UsageBucket(
        start=datetime(2026, 11, 5, tzinfo=UTC), width="1d", endpoint="completions",
        model="gpt-4o", requests=1, usage=TokenUsage(input_tokens=1_000_000))])
    store.replace_cost_window(date(2026, 11, 5), date(2026, 11, 6),
                              [CostBucket(date(2026, 11, 5), Decimal("2.6"))])  # no line item
    store.set_sync_state(ORG_SOURCE, SyncState(last_success=NOW, settled_through=NOW))
    snap = build_snapshot(store, prices, SETTINGS, RuntimeStatus(), NOW)
    [row] = [r for r in csv.DictReader(io.StringIO(snapshot_csv(snap)))
             if r["section"] == "model"]
    # CSV money follows the one rule of monitor.core.money (half up to cents)
    assert (row["key"], row["cost_usd"], row["basis"]) == ("gpt-4o", "2.60", "apportioned")
