"""ProxyMetrics without HTTP: priming, cycle roll-over by the injected clock, label caps, the
org gauge, and the exporter options (loopback by default, a warning otherwise)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.core.clock import ManualClock
from monitor.core.records import CostBucket, ProxyRecord, RateLimitSnapshot
from monitor.core.settings import Settings
from monitor.core.usage import TokenUsage
from monitor.paths import Paths
from monitor.services.price_files import load_price_table
from monitor.services.proxy.exporters import ExportOptions, build_exporters, export_options
from monitor.services.proxy.labels import LabelCap, status_class
from monitor.services.proxy.metrics import MetricsError, MetricsExporter, ProxyMetrics, parse_listen
from monitor.services.store import SyncState, UsageStore

START = datetime(2026, 11, 16, 12, tzinfo=UTC)


def rec(at: datetime, model: str | None = "gpt-4o", key: str = "dev", status: int = 200,
        cost: str | None = "0.01", inp: int = 100, out: int = 10) -> ProxyRecord:
    return ProxyRecord(time=at, endpoint="/chat/completions", model=model, service_tier=None,
                       key_label=key, usage=TokenUsage(input_tokens=inp, output_tokens=out),
                       cost_usd=None if cost is None else Decimal(cost), price_as_of=None,
                       status=status, latency_ms=120.0, ttfb_ms=40.0, streamed=True)


def samples(metrics: ProxyMetrics) -> dict[str, list[tuple[dict[str, str], float]]]:
    body, ctype = metrics.render()
    assert ctype.startswith("text/plain")
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            out.setdefault(s.name, []).append((dict(s.labels), s.value))
    return out


def value(fams: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for lb, v in fams.get(name, []) if labels.items() <= lb.items())


@pytest.fixture
def store(paths: Paths) -> Iterator[UsageStore]:
    s = UsageStore(paths.db_file)
    yield s
    s.close()


def test_primed_from_this_cycle_only_and_reset_when_the_clock_leaves_it(
    store: UsageStore,
) -> None:
    store.add_proxy_records([
        rec(datetime(2026, 10, 31, 23, 59, tzinfo=UTC), cost="5"),  # previous cycle
        rec(datetime(2026, 11, 2, tzinfo=UTC), cost="0.25"),
        rec(datetime(2026, 11, 3, tzinfo=UTC), status=429, cost="0", inp=0, out=0),
        rec(datetime(2026, 11, 4, tzinfo=UTC), model=None, cost=None, inp=0, out=0),
    ])
    clock = ManualClock(START)
    metrics = ProxyMetrics(store, load_price_table(), Settings, clock)
    metrics.prime()
    fams = samples(metrics)
    assert value(fams, "token_monitor_cost_usd_total") == 0.25
    assert value(fams, "token_monitor_requests_total", status_class="2xx") == 1
    assert value(fams, "token_monitor_requests_total", status_class="4xx") == 1
    assert value(fams, "token_monitor_requests_total", status_class="unmetered",
                 model="unknown") == 1
    assert value(fams, "token_monitor_tokens_total", type="input") == 100

    metrics.observe(rec(START, cost="0.5"))
    fams = samples(metrics)
    assert value(fams, "token_monitor_cost_usd_total") == 0.75
    assert value(fams, "token_monitor_time_to_first_token_seconds_count") == 1
    assert value(fams, "token_monitor_request_duration_seconds_sum") == pytest.approx(0.12)

    clock.set(datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC))  # a new cycle: counters restart
    fams = samples(metrics)
    assert value(fams, "token_monitor_cost_usd_total") == 0
    metrics.observe(rec(clock(), cost="0.125"))
    assert value(samples(metrics), "token_monitor_cost_usd_total") == 0.125


def test_budget_gauges_follow_the_clock_and_settings(store: UsageStore) -> None:
    store.add_proxy_records([rec(datetime(2026, 11, 16, 9, tzinfo=UTC), cost="2"),
                             rec(datetime(2026, 11, 10, 9, tzinfo=UTC), cost="3")])
    settings = Settings(monthly_limit_usd=Decimal(40), today_timezone="UTC")
    metrics = ProxyMetrics(store, load_price_table(), lambda: settings, ManualClock(START))
    fams = samples(metrics)
    assert value(fams, "token_monitor_cycle_spend_usd") == 5
    assert value(fams, "token_monitor_today_spend_usd") == 2
    assert value(fams, "token_monitor_cycle_limit_usd") == 40
    assert "token_monitor_org_cycle_cost_usd" not in fams


def test_org_cost_per_project_where_an_admin_key_syncs(store: UsageStore) -> None:
    store.set_names({"proj_a": "Search", "proj_b": "Support bot", "proj_c": "Batch"})
    store.replace_cost_window(date(2026, 11, 5), date(2026, 11, 6), [
        CostBucket(date(2026, 11, 5), Decimal("1.25"), project_id="proj_a"),
        CostBucket(date(2026, 11, 5), Decimal("0.50"), project_id="proj_b"),
        CostBucket(date(2026, 11, 5), Decimal("0.25"), project_id="proj_c"),
    ])
    store.set_sync_state("org", SyncState(last_success=START,
                                          settled_through=START - timedelta(hours=12)))
    metrics = ProxyMetrics(store, load_price_table(), Settings, ManualClock(START),
                           project_cap=2)
    got = {lb["project"]: v for lb, v in samples(metrics)["token_monitor_org_cycle_cost_usd"]}
    assert got == {"Search": 1.25, "Support bot": 0.5, "other": 0.25}


def test_label_cap_and_status_classes() -> None:
    cap = LabelCap(2)
    assert [cap(v) for v in ("a", "b", "c", "a", "other", "x" * 500)] == \
        ["a", "b", "other", "a", "other", "other"]
    assert LabelCap(5)("m" * 500) == "m" * 120
    none = TokenUsage()
    assert [status_class(s, p, u) for s, p, u in [
        (200, True, TokenUsage(input_tokens=1)), (200, True, none), (200, False, none),
        (200, False, TokenUsage(input_tokens=3)), (404, False, none), (499, False, none),
        (503, False, none), (304, True, none),
    ]] == ["2xx", "2xx", "unmetered", "2xx", "4xx", "4xx", "5xx", "2xx"]


def test_metrics_are_loopback_unless_listen_is_given(paths: Paths) -> None:
    off, _ = export_options(Settings())
    assert off == ExportOptions(None, None, 30.0)
    on, warnings = export_options(Settings(metrics_enabled=True, metrics_port=9100))
    assert on.metrics == ("127.0.0.1", 9100) and warnings == []
    flag, _ = export_options(Settings(), metrics_port=0)
    assert flag.metrics == ("127.0.0.1", 0)
    assert export_options(Settings(metrics_enabled=True), no_metrics=True)[0].metrics is None
    local, warnings = export_options(Settings(), metrics_listen="[::1]:9200")
    assert local.metrics == ("::1", 9200) and warnings == []
    wide, warnings = export_options(Settings(), metrics_listen="0.0.0.0:9787")
    assert wide.metrics == ("0.0.0.0", 9787)
    [warning] = warnings
    assert "anyone who can reach this port" in warning
    for bad in ("9787", "host:", ":9787", "h:99999", "h:port"):
        with pytest.raises(MetricsError, match="ADDR:PORT"):
            parse_listen(bad)
    with pytest.raises(MetricsError):
        export_options(Settings(), metrics_port=70000)
    with pytest.raises(MetricsError):
        export_options(Settings(), otlp_interval_s=0)
    settings = Settings(otlp_endpoint="http://127.0.0.1:4318")
    options, _ = export_options(settings, metrics_port=0)
    built = build_exporters(options, store_path=paths.db_file, prices=load_price_table(),
                            settings=lambda: settings, clock=ManualClock(START))
    assert [type(a).__name__ for a in built] == ["MetricsExporter", "OtlpExport"]
    assert isinstance(built[0], MetricsExporter) and built[0].port == 0
    assert export_options(settings, otlp_endpoint="")[0].otlp_endpoint is None


def test_readme_documents_exactly_the_exposed_metrics(store: UsageStore) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("## Metrics for Prometheus and OpenTelemetry", 1)[1].split("\n\n**", 1)[0]
    documented = set(re.findall(r"^\| `(token_monitor_\w+)`", table, re.M))
    store.add_proxy_records([rec(START - timedelta(days=d)) for d in range(3)])
    store.set_sync_state("org", SyncState(last_success=START))
    store.replace_cost_window(date(2026, 11, 5), date(2026, 11, 6),
                              [CostBucket(date(2026, 11, 5), Decimal(1), project_id="p")])
    store.add_rate_limit(RateLimitSnapshot(time=START, key_label="dev", model="gpt-4o",
                                           remaining_requests=499, remaining_tokens=29_000))
    metrics = ProxyMetrics(store, load_price_table(), Settings, ManualClock(START))
    metrics.observe(rec(START))
    body, _ = metrics.render()
    exposed = {re.sub(r"_(bucket|count|sum|created)$", "", s.name)
               for fam in text_string_to_metric_families(body.decode()) for s in fam.samples}
    assert exposed == documented


def test_a_failing_report_leaves_the_counters_served_and_logs_once(
    store: UsageStore, caplog: pytest.LogCaptureFixture
) -> None:
    calls = {"n": 0}

    def settings() -> Settings:
        calls["n"] += 1
        if calls["n"] > 1:  # the constructor's read works; the scrapes' reads fail
            raise RuntimeError("settings file vanished")
        return Settings()

    metrics = ProxyMetrics(store, load_price_table(), settings, ManualClock(START))
    metrics.observe(rec(START))
    for _ in range(3):
        fams = samples(metrics)
        assert value(fams, "token_monitor_requests_total") == 1
        assert "token_monitor_cycle_spend_usd" not in fams
    assert [r.levelname for r in caplog.records if "gauges" in r.getMessage()] == ["WARNING"]
