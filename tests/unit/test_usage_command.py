"""`token-monitor usage` and `token-monitor budget` through monitor.cli.main on a seeded store."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from monitor.cli import main
from monitor.core.records import CostBucket, ProxyRecord, UsageBucket
from monitor.core.settings import Settings
from monitor.core.usage import TokenUsage
from monitor.paths import Paths
from monitor.services.settings_file import load_settings, save_settings
from monitor.services.store import SyncState, UsageStore
from tests.unit.test_usage_report import TABLE

NOW = "2026-11-16T12:00:00+00:00"
CONTRACT_FIELDS = {"requests", "input_tokens", "cached_input_tokens", "output_tokens",
                   "reasoning_tokens", "cost_usd", "cost_basis"}


@pytest.fixture
def seeded(paths: Paths) -> Paths:
    paths.prices_override.write_text(json.dumps(TABLE))
    # "today" in UTC: the seeded days are UTC days whatever zone the suite runs in.
    save_settings(paths.settings_file,
                  Settings(monthly_limit_usd=Decimal(20), today_timezone="UTC"))
    store = UsageStore(paths.db_file)
    store.set_names({"key_1": "ci-key"})
    usage = TokenUsage(input_tokens=1_000_000, cached_input_tokens=200_000,
                       output_tokens=100_000)
    store.upsert_usage_buckets([
        UsageBucket(start=datetime(2026, 11, 5, tzinfo=UTC), width="1d", endpoint="completions",
                    model="m-std", api_key_id="key_1", requests=10, usage=usage),  # $2.50
        UsageBucket(start=datetime(2026, 11, 15, 23, tzinfo=UTC), width="1h",
                    endpoint="completions", model="m-std", requests=1234, usage=usage),  # $1.25
    ])
    store.replace_cost_window(date(2026, 11, 5), date(2026, 11, 6),
                              [CostBucket(date(2026, 11, 5), Decimal("3.10"))])
    store.set_sync_state("org", SyncState(last_success=datetime(2026, 11, 16, tzinfo=UTC),
                                          settled_through=datetime(2026, 11, 16, tzinfo=UTC)))
    store.add_proxy_record(ProxyRecord(
        time=datetime(2026, 11, 16, 9, tzinfo=UTC), endpoint="/v1/chat/completions",
        model="m-std", service_tier="default", key_label="dev",
        usage=TokenUsage(input_tokens=1000, output_tokens=500, reasoning_tokens=200),
        cost_usd=Decimal("0.006"), price_as_of=date(2026, 11, 1), status=200, latency_ms=9.0))
    store.close()
    return paths


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main([*argv, "--json", "--now", NOW]) == 0
    return json.loads(capsys.readouterr().out)


def test_usage_json_contract(seeded: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "usage", "--by", "model")
    assert out["period"] == {"start": "2026-11-01T00:00:00+00:00",
                             "end": "2026-12-01T00:00:00+00:00"}
    assert out["source"] == "all"
    assert set(out["totals"]) >= CONTRACT_FIELDS
    assert out["totals"]["requests"] == 10 + 1234 + 1
    assert out["totals"]["reasoning_tokens"] == 200
    assert out["totals"]["cost_usd"] == pytest.approx(3.10 + 1.25 + 0.006)
    assert out["totals"]["cost_basis"] == "mixed"
    assert [g["key"] for g in out["groups"]] == ["m-std"]
    assert set(out["groups"][0]) >= CONTRACT_FIELDS | {"key"}
    assert out["unpriced_models"] == []
    assert out["limit_usd"] == 20
    assert out["used_fraction"] == pytest.approx(4.356 / 20)
    assert out["projected_cost_usd"] == pytest.approx(4.356 * 30 / 15.5)
    assert out["sources"]["proxy"]["totals"]["requests"] == 1


def test_usage_periods_and_sources(seeded: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    org = run_json(capsys, "usage", "--source", "org", "--period", "2026-11-05")
    assert org["totals"]["cost_usd"] == pytest.approx(3.10)
    assert org["totals"]["cost_basis"] == "billed"
    rng = run_json(capsys, "usage", "--period", "2026-11-14..2026-11-16", "--by", "day")
    assert rng["period"]["end"] == "2026-11-17T00:00:00+00:00"
    assert [g["key"] for g in rng["groups"]] == ["2026-11-15", "2026-11-16"]
    prx = run_json(capsys, "usage", "--source", "proxy", "--period", "today")
    assert prx["totals"]["requests"] == 1 and prx["totals"]["cost_usd"] == pytest.approx(0.006)
    keys = run_json(capsys, "usage", "--by", "key", "--period", "2026-11")
    assert {(g["key"], g["name"]) for g in keys["groups"]} == {
        ("key_1", "ci-key"), (None, "(unattributed)"), ("dev", "dev")}


def test_today_follows_the_timezone_setting(seeded: Paths,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    save_settings(seeded.settings_file, Settings(today_timezone="Europe/Berlin"))
    out = run_json(capsys, "usage", "--period", "today", "--source", "org")
    assert out["period"] == {"start": "2026-11-15T23:00:00+00:00",
                             "end": "2026-11-16T23:00:00+00:00"}
    assert out["totals"]["requests"] == 1234  # the 23:00 UTC bucket is Berlin's today


def test_usage_human_table(seeded: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["usage", "--by", "key", "--now", NOW]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("KEY"))
    rule = lines[lines.index(header) + 1]
    assert set(rule.replace(" ", "")) == {"-"}
    assert "ci-key" in text and "1,234" in text and "1,000,000" in text
    assert "$3.10" in text  # the billed day of key_1
    total = next(line for line in lines if line.startswith("TOTAL"))
    assert total.rstrip().endswith("mixed") and "$4.36" in total
    assert len(header) >= len(total.rstrip()) - len("mixed")  # aligned columns
    assert "of $20.00" in text


@pytest.mark.parametrize("bad", ["2026-13", "2026-02-30", "fortnight", "2026-11-05..2026-11-01",
                                 "2026-11-05..", "26-11"])
def test_bad_period_exits_2(seeded: Paths, capsys: pytest.CaptureFixture[str], bad: str) -> None:
    assert main(["usage", "--period", bad]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --period:")
    assert err[-1] == "\n" and err.count("\n") == 1


def test_budget_show_and_set(seeded: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "budget")
    assert set(out) >= {"limit_usd", "cycle_start_day", "thresholds_pct", "cycle", "spend_usd",
                        "remaining_usd", "used_fraction", "projected_cost_usd",
                        "projection_basis_days", "limit_crossed_on"}
    assert out["spend_usd"] == pytest.approx(4.356)
    assert out["remaining_usd"] == pytest.approx(20 - 4.356)
    assert out["projection_basis_days"] == 15.5
    assert out["cycle"] == {"start": "2026-11-01T00:00:00+00:00",
                            "end": "2026-12-01T00:00:00+00:00"}

    out = run_json(capsys, "budget", "--limit", "$5", "--cycle-day", "15",
                   "--thresholds", "90, 50")
    assert out["saved"] and out["limit_usd"] == 5 and out["thresholds_pct"] == [50, 90]
    assert out["cycle"]["start"] == "2026-11-15T00:00:00+00:00"
    saved = load_settings(seeded.settings_file).settings
    assert (saved.monthly_limit_usd, saved.cycle_start_day, saved.alert_thresholds_pct) == (
        Decimal(5), 15, (50, 90))
    # Cycle from Nov 15: $1.25 (Nov 15 23:00) + $0.006 proxy; 36 h in.
    assert out["spend_usd"] == pytest.approx(1.256)
    assert out["limit_crossed_on"] is not None  # $1.256 in 1.5 days → $5 before Dec 15


def test_budget_rejects_bad_values_without_saving(seeded: Paths,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    for argv, flag in ((["--cycle-day", "40"], "--cycle-day"), (["--limit", "-3"], "--limit"),
                       (["--thresholds", "x"], "--thresholds")):
        assert main(["budget", *argv]) == 2
        assert capsys.readouterr().err.startswith(f"error: {flag}")
    assert load_settings(seeded.settings_file).settings.monthly_limit_usd == 20


def test_budget_human(seeded: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budget", "--now", NOW]) == 0
    text = capsys.readouterr().out
    assert "Monthly limit  $20.00" in text
    assert "Remaining" in text and "$15.64" in text and re.search(r"^Used +21 %$", text, re.M)
    assert "based on 15.5 days" in text


def test_usage_json_counts_unmetered_estimated_and_spooled(
    seeded: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.services.record_spool import RecordSpool, spool_path_for

    def proxied(hour: int, reason: str | None, estimated: bool) -> ProxyRecord:
        return ProxyRecord(
            time=datetime(2026, 11, 16, hour, tzinfo=UTC), endpoint="/chat/completions",
            model="m-std", service_tier=None, key_label="dev",
            usage=TokenUsage(input_tokens=40 if estimated else 0),
            cost_usd=Decimal("0.0001") if estimated else None, price_as_of=None,
            status=200, latency_ms=3.0, unmetered=reason, estimated=estimated)

    store = UsageStore(seeded.db_file)
    store.add_proxy_records([proxied(1, "client_disconnected", True),
                             proxied(2, "no_usage_in_response", False),
                             proxied(3, "malformed_usage", False),
                             proxied(4, None, False)])
    store.close()
    RecordSpool(spool_path_for(seeded.db_file)).append([proxied(5, None, False)] * 2)
    out = run_json(capsys, "usage", "--source", "proxy")
    assert (out["unmetered_requests"], out["estimated_requests"]) == (3, 1)
    assert out["spooled_records"] == 2
    assert main(["usage", "--source", "proxy", "--now", NOW]) == 0
    text = capsys.readouterr().out
    assert "3 proxied requests had no usable usage (1 with input estimated" in text
    assert "Waiting: 2 proxy records in the spool" in text


# ---- --reprice (issue 13) ----------------------------------------------------------------------


def test_reprice_json(seeded: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "usage", "--by", "model", "--reprice", "m-lc")
    r = out["reprice"]
    # Same tokens at m-lc's 2 / 0.2 / 10: each org bucket 800k x 2 + 200k x 0.2 + 100k x 10
    # = 2.64 (1M input over 10 or 1,234 requests: every request may be short, so standard
    # context, flagged as an estimate); the proxy request 1,000 x 2 + 500 x 10 = 0.007.
    # Actual: billed 3.10 + estimated 1.25 + recorded 0.006.
    assert r["model"] == r["resolved"] == "m-lc"
    assert Decimal(str(r["cost_usd"])) == Decimal("5.287")
    assert Decimal(str(r["actual_cost_usd"])) == Decimal("4.356")
    assert Decimal(str(r["difference_usd"])) == Decimal("0.931")
    assert r["long_context"] == "estimated"
    assert [(g["key"], Decimal(str(g["cost_usd"]))) for g in r["groups"]] == [
        ("m-std", Decimal("5.287"))]
    # by day: the repriced dollars land on the days their usage happened
    days = run_json(capsys, "usage", "--by", "day", "--reprice", "m-lc")["reprice"]["groups"]
    assert {g["key"]: Decimal(str(g["cost_usd"])) for g in days} == {
        "2026-11-05": Decimal("2.64"), "2026-11-15": Decimal("2.64"),
        "2026-11-16": Decimal("0.007")}


def test_reprice_uses_the_rates_in_force_at_each_time(seeded: Paths,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # m-std halves on Nov 10: Nov 5 at 2 / 0.5 / 8 = 2.5, Nov 15 at half = 1.25, the proxy
    # request (Nov 16) 1,000 x 1 + 500 x 4 = 0.003
    r = run_json(capsys, "usage", "--reprice", "m-std")["reprice"]
    assert Decimal(str(r["cost_usd"])) == Decimal("3.753")


def test_reprice_human_and_unknown_model(seeded: Paths,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["usage", "--by", "model", "--reprice", "m-lc", "--now", NOW]) == 0
    out = capsys.readouterr().out
    assert "On m-lc: $5.29 (actual $4.36, +$0.93)" in out
    assert "  m-std: $5.29 (actual $4.36, +$0.93)" in out
    assert main(["usage", "--reprice", "no-such-model", "--now", NOW]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err


def test_usage_human_says_estimates_and_bill_differences(
        paths: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    paths.prices_override.write_text(json.dumps(TABLE))
    store = UsageStore(paths.db_file)
    store.upsert_usage_buckets([  # 2 requests, 700k input: at least one was long-context
        UsageBucket(start=datetime(2026, 11, 3, tzinfo=UTC), width="1d", endpoint="completions",
                    model="m-lc", requests=2, usage=TokenUsage(input_tokens=700_000)),
        UsageBucket(start=datetime(2026, 11, 5, tzinfo=UTC), width="1d", endpoint="completions",
                    model="m-std", requests=1, usage=TokenUsage(input_tokens=1_000_000)),
    ])
    store.replace_cost_window(date(2026, 11, 5), date(2026, 11, 6), [
        CostBucket(date(2026, 11, 5), Decimal("2.5"), line_item="m-std, input")])
    store.set_sync_state("org", SyncState(last_success=datetime(2026, 11, 16, tzinfo=UTC),
                                          settled_through=datetime(2026, 11, 16, tzinfo=UTC)))
    store.close()
    assert main(["usage", "--by", "model", "--source", "org", "--now", NOW]) == 0
    out = capsys.readouterr().out
    # Nov 3 estimate 1.4 + (428/700) x 1.4 = 2.256 within 1.40 .. 2.80; plus the billed 2.50
    assert "Long context estimated" in out and "between $3.90 and $5.30" in out
    # m-std billed 2.50 against 1M x 2 = 2.00 estimated
    assert ("Billed vs tokens × price differ for m-std: billed $2.50, estimated $2.00 "
            "(+$0.50)") in out


def test_the_crossing_reads_as_future_or_past_and_over_the_limit_is_named(
        seeded: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    # $5 from Nov 15: $1.256 in 1.5 days, so the pace crosses $5 later this cycle.
    assert main(["budget", "--limit", "5", "--cycle-day", "15"]) == 0
    capsys.readouterr()
    assert main(["usage", "--now", NOW]) == 0
    text = capsys.readouterr().out
    assert "will cross the limit around " in text and "limit crossed" not in text
    assert main(["budget", "--now", NOW]) == 0
    text = capsys.readouterr().out
    assert "Remaining" in text and "Over the limit" not in text
    # $1: already crossed, and what is left is named as being over.
    assert main(["budget", "--limit", "1", "--now", NOW]) == 0
    text = capsys.readouterr().out
    assert "Over the limit by  $0.26" in text and "Remaining" not in text
    assert "limit crossed " in text and "will cross" not in text
    assert main(["usage", "--now", NOW]) == 0
    assert "limit crossed " in capsys.readouterr().out
