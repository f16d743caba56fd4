"""The alert engine (no Qt): spikes, new keys, key expiry/rejection, credit, dedupe, pause."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from monitor.core.alert_texts import english
from monitor.core.budget import billing_cycle, budget_status
from monitor.core.usage import TokenUsage
from monitor.services.alerting import AlertContext, AlertEngine, pause_until_for
from monitor.services.key_meta import KeyMeta
from monitor.services.snapshot import (
    CreditStatus,
    CycleFigures,
    DashboardSnapshot,
    DayPoint,
    GroupRow,
    HourPoint,
    RejectedKey,
    TodayFigures,
)
from monitor.services.store import UsageStore

NOW = datetime(2026, 11, 20, 15, tzinfo=UTC)
CYCLE = billing_cycle(NOW, 1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[UsageStore]:
    s = UsageStore(tmp_path / "usage.sqlite3")
    yield s
    s.close()


def snap(*, today: str = "0", history: list[str] | None = None,
         keys: Sequence[tuple[str, int]] = (), credit: CreditStatus | None = None,
         ) -> DashboardSnapshot:
    hist = tuple(DayPoint(date(2026, 11, 6) + timedelta(days=i), Decimal(v))
                 for i, v in enumerate(history or []))
    return DashboardSnapshot(
        generated_at=NOW, has_data=True,
        today=TodayFigures(date(2026, 11, 20), Decimal(today), 1, TokenUsage()),
        cycle=CycleFigures(date(2026, 11, 1), date(2026, 12, 1), Decimal(0), Decimal(120), 0.0,
                           Decimal(120), None, None, None, "estimated"),
        by_key=tuple(GroupRow(k, k, n, TokenUsage(), Decimal(1)) for k, n in keys),
        spend_history=hist, credit=credit,
    )


def ctx(spend: str = "0", **kw: object) -> AlertContext:
    status = budget_status(Decimal(spend), Decimal(120), CYCLE, NOW)
    return AlertContext(status=status, thresholds_pct=(50, 80, 90, 100), **kw)  # type: ignore[arg-type]


def kinds(alerts: list[object]) -> list[tuple[str, str]]:
    return [(a.kind, a.key) for a in alerts]  # type: ignore[attr-defined]


def test_spike_against_the_14_day_median_once_per_day(store: UsageStore,
                                                      tmp_path: Path) -> None:
    engine = AlertEngine(store)
    history = ["2.00"] * 10 + ["0", "0", "3.00", "1.00"]
    assert kinds(engine.evaluate(snap(today="5.00", history=history), ctx(), NOW)) == []
    alerts = engine.evaluate(snap(today="6.50", history=history), ctx(), NOW)
    assert kinds(alerts) == [("spike", "day:2026-11-20")]
    assert alerts[0].param("factor") == "3.2" and alerts[0].param("median") == "$2.00"
    assert engine.evaluate(snap(today="9.00", history=history), ctx(), NOW) == []
    # Too little history, or a zero median: no spike (on a store that never fired one).
    other = UsageStore(tmp_path / "other.sqlite3")
    try:
        fresh = AlertEngine(other)
        assert fresh.evaluate(snap(today="50", history=["1"] * 5), ctx(), NOW) == []
        assert fresh.evaluate(snap(today="50", history=["0"] * 14), ctx(), NOW) == []
        assert kinds(fresh.evaluate(snap(today="50", history=["1"] * 7), ctx(), NOW)) == [
            ("spike", "day:2026-11-20")]
    finally:
        other.close()


def hourly(baseline: list[str], last: str | None = None,
           current: str | None = None) -> tuple[HourPoint, ...]:
    """`baseline` for the hours before 14:00 (the last full hour at NOW), then 14:00, 15:00."""
    last_start = NOW - timedelta(hours=1)
    points = [HourPoint(last_start - timedelta(hours=len(baseline) - i), Decimal(v), "org")
              for i, v in enumerate(baseline)]
    for start, v in ((last_start, last), (NOW, current)):
        if v is not None:
            points.append(HourPoint(start, Decimal(v), "org+proxy"))
    return tuple(points)


def with_hours(points: tuple[HourPoint, ...]) -> DashboardSnapshot:
    return dataclasses.replace(snap(), hourly_spend=points)


def test_hourly_spike_against_the_hourly_median_once_per_day(store: UsageStore,
                                                            tmp_path: Path) -> None:
    engine = AlertEngine(store)
    base = ["0.40"] * 20 + ["0"] * 8 + ["0.50", "0.90"]  # median $0.40 over 30 hours
    assert engine.evaluate(with_hours(hourly(base, "1.15", "0.10")), ctx(), NOW) == []
    alerts = engine.evaluate(with_hours(hourly(base, "1.25", "0.10")), ctx(), NOW)
    assert kinds(alerts) == [("spike_hour", "hour:2026-11-20")]
    a = alerts[0]
    assert (a.param("factor"), a.param("median"), a.param("spend")) == ("3.1", "$0.40", "$1.25")
    assert a.param("hour") == "2026-11-20T14:00:00+00:00" and "14:00 UTC hour is" in english(a).body
    # once per UTC day, across a restart too
    assert engine.evaluate(with_hours(hourly(base, "1.25", "9.00")), ctx(), NOW) == []
    assert AlertEngine(store).evaluate(with_hours(hourly(base, "5", "9")), ctx(), NOW) == []

    other = UsageStore(tmp_path / "other.sqlite3")
    try:
        fresh = AlertEngine(other)
        # too little history (23 covered hours), a zero median, or cents: nothing
        assert fresh.evaluate(with_hours(hourly(["0.40"] * 23, "5")), ctx(), NOW) == []
        assert fresh.evaluate(with_hours(hourly(["0"] * 13 + ["1"] * 12, "5")), ctx(),
                              NOW) == []
        assert fresh.evaluate(with_hours(hourly(["0.10"] * 30, "0.45")), ctx(), NOW) == []
        # the hours tested are not part of their own baseline: 24 hours before them suffice
        alerts = fresh.evaluate(with_hours(hourly(["0.40"] * 24, "0.20", "1.30")), ctx(), NOW)
        assert kinds(alerts) == [("spike_hour", "hour:2026-11-20")]
        assert "15:00 UTC hour so far" in english(alerts[0]).body
    finally:
        other.close()


def test_proxy_key_rejected_once_per_cycle(store: UsageStore) -> None:
    engine = AlertEngine(store)
    rejected = (RejectedKey("ci-key", NOW - timedelta(minutes=5), 3),)
    s = dataclasses.replace(snap(), rejected_keys=rejected)
    alerts = engine.evaluate(s, ctx(), NOW)
    assert kinds(alerts) == [("proxy_key_rejected", "ci-key")]
    assert alerts[0].urgency == "critical" and alerts[0].param("count") == "3"
    assert "the key ci-key (401) on 3 request(s)" in english(alerts[0]).body
    assert engine.evaluate(s, ctx(), NOW) == []
    assert AlertEngine(store).evaluate(s, ctx(), NOW) == []  # persisted
    # the next cycle, still rejected: once more
    later = NOW + timedelta(days=15)
    status = budget_status(Decimal(0), Decimal(120), billing_cycle(later, 1), later)
    next_ctx = AlertContext(status=status, thresholds_pct=())
    assert kinds(engine.evaluate(s, next_ctx, later)) == [("proxy_key_rejected", "ci-key")]


def test_proxy_401_in_the_store_reaches_an_alert(store: UsageStore) -> None:
    from monitor.core.records import ProxyRecord
    from monitor.core.settings import Settings
    from monitor.services.price_files import load_price_table
    from monitor.services.snapshot import RuntimeStatus
    from monitor.services.snapshot_build import build_snapshot

    def rec(minutes_ago: int, status: int) -> ProxyRecord:
        return ProxyRecord(time=NOW - timedelta(minutes=minutes_ago), endpoint="/v1/responses",
                           model="gpt-4o", service_tier=None, key_label="laptop",
                           usage=TokenUsage(), cost_usd=None, price_as_of=None, status=status,
                           latency_ms=20.0)
    store.add_proxy_records([rec(30, 200), rec(10, 401), rec(5, 401)])
    snapshot = build_snapshot(store, load_price_table(), Settings(), RuntimeStatus(), NOW)
    assert kinds(AlertEngine(store).evaluate(snapshot, ctx(), NOW)) == [
        ("proxy_key_rejected", "laptop")]
    store.add_proxy_records([rec(1, 200)])  # the key works again: nothing new to say
    snapshot = build_snapshot(store, load_price_table(), Settings(), RuntimeStatus(), NOW)
    assert snapshot.rejected_keys == ()


def test_new_key_after_the_first_run_baseline(store: UsageStore) -> None:
    engine = AlertEngine(store)
    assert engine.evaluate(snap(keys=[("key_a", 5)]), ctx(), NOW) == []  # learns key_a
    alerts = engine.evaluate(snap(keys=[("key_a", 9), ("key_b", 3)]), ctx(), NOW)
    assert kinds(alerts) == [("new_key", "key_b")]
    assert alerts[0].param("requests") == "3"
    assert engine.evaluate(snap(keys=[("key_a", 9), ("key_b", 4)]), ctx(), NOW) == []
    # "Never seen before" spans cycles: next month key_b is not new.
    later = NOW + timedelta(days=20)
    assert engine.evaluate(snap(keys=[("key_b", 1)]), ctx(), later) == []


def _meta(label: str, expires: date | None) -> KeyMeta:
    return KeyMeta(label, "admin", date(2026, 1, 1), expires, "abcd")


def test_key_expiry_and_rejection(store: UsageStore) -> None:
    engine = AlertEngine(store)
    keys = [_meta("soon", date(2026, 11, 23)), _meta("later", date(2027, 1, 1)),
            _meta("gone", date(2026, 11, 1)), _meta("never", None)]
    alerts = engine.evaluate(snap(), ctx(keys=keys), NOW)
    assert sorted(kinds(alerts)) == [("key_expired", "gone:2026-11-01"),
                                     ("key_expiring", "soon:2026-11-23")]
    expired = next(a for a in alerts if a.kind == "key_expired")
    words = english(expired)
    assert words.title == "API key expired" and "expired on 2026-11-01" in words.body
    assert engine.evaluate(snap(), ctx(keys=keys), NOW) == []
    alerts = engine.evaluate(snap(), ctx(sync_error_kind="InvalidKeyError",
                                         sync_key_label="org-admin"), NOW)
    assert kinds(alerts) == [("key_rejected", "org-admin")]
    assert alerts[0].urgency == "critical"
    assert engine.evaluate(snap(), ctx(sync_error_kind="InvalidKeyError",
                                       sync_key_label="org-admin"), NOW) == []
    # Other failures (network) are not a rejected key.
    assert AlertEngine(store).evaluate(snap(), ctx(sync_error_kind="NetworkError"), NOW) == []


def test_prepaid_credit_low_and_expiring(store: UsageStore) -> None:
    engine = AlertEngine(store)
    plenty = CreditStatus(Decimal(100), date(2026, 10, 1), date(2027, 10, 1), Decimal(30),
                          Decimal(70), 315)
    assert engine.evaluate(snap(credit=plenty), ctx(), NOW) == []
    low = CreditStatus(Decimal(100), date(2026, 10, 1), date(2026, 11, 30), Decimal(85),
                       Decimal(15), 10)
    alerts = engine.evaluate(snap(credit=low), ctx(), NOW)
    assert sorted(kinds(alerts)) == [("credit_expiring", "2026-11-30"),
                                     ("credit_low", "2026-10-01:100")]
    assert engine.evaluate(snap(credit=low), ctx(), NOW) == []


def test_thresholds_and_projection_recorded_once_highest_shown(store: UsageStore) -> None:
    engine = AlertEngine(store)
    alerts = engine.evaluate(snap(), ctx("100"), NOW)
    assert kinds(alerts) == [("threshold", "80"), ("projection", "limit")]
    assert store.fired_alerts(CYCLE.start.date()) == {
        ("threshold", "50"), ("threshold", "80"), ("projection", "limit")}
    assert engine.evaluate(snap(), ctx("100"), NOW) == []
    assert kinds(engine.evaluate(snap(), ctx("121"), NOW)) == [("threshold", "100")]
    # A new cycle starts over.
    next_cycle = NOW + timedelta(days=15)
    status = budget_status(Decimal(70), Decimal(120), billing_cycle(next_cycle, 1), next_cycle)
    again = engine.evaluate(snap(), AlertContext(status, (50, 80, 90, 100)), next_cycle)
    assert ("threshold", "50") in kinds(again)


def test_pause_is_persisted_and_holds_everything(store: UsageStore, tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text('{"window": "kept"}')
    engine = AlertEngine(store, state_file)
    engine.pause(NOW + timedelta(hours=1))
    assert engine.evaluate(snap(), ctx("100"), NOW) == []
    assert store.fired_alerts(CYCLE.start.date()) == set()
    reopened = AlertEngine(store, state_file)
    assert reopened.paused_until == NOW + timedelta(hours=1)
    assert '"window": "kept"' in state_file.read_text()  # other UI state survives
    assert kinds(reopened.evaluate(snap(), ctx("100"), NOW + timedelta(hours=2)))[0] == (
        "threshold", "80")
    reopened.pause(None)
    assert AlertEngine(store, state_file).paused_until is None


def test_pause_choices() -> None:
    assert pause_until_for("1h", NOW) == NOW + timedelta(hours=1)
    tomorrow = pause_until_for("tomorrow", NOW)
    assert tomorrow is not None and tomorrow > NOW
    local = tomorrow.astimezone()
    assert (local.hour, local.minute) == (0, 0)
    assert local.date() == NOW.astimezone().date() + timedelta(days=1)
    assert pause_until_for("off", NOW) is None


def test_overspent_prepaid_credit_says_used_up_and_by_how_much(store: UsageStore) -> None:
    engine = AlertEngine(store)
    over = CreditStatus(Decimal(100), date(2026, 10, 1), None, Decimal("223.12"),
                        Decimal("-123.12"), None)
    (alert,) = engine.evaluate(snap(credit=over), ctx(), NOW)
    words = english(alert)
    assert words.title == "Prepaid credit used up" and alert.urgency == "critical"
    assert words.body == "The $100.00 prepaid credit is used up, $123.12 over."
    assert alert.param("over") == "$123.12" and "$0.00" not in words.body


def test_new_key_with_one_request_is_singular(store: UsageStore) -> None:
    engine = AlertEngine(store)
    engine.evaluate(snap(keys=[("key_a", 5)]), ctx(), NOW)
    alerts = engine.evaluate(snap(keys=[("key_a", 5), ("key_b", 1)]), ctx(), NOW)
    assert english(alerts[0]).body.startswith("key_b made 1 request this cycle")
    assert alerts[0].param("cost") == "$1.00"


def test_key_age_reminder_once_per_key(store: UsageStore) -> None:
    engine = AlertEngine(store)
    old = KeyMeta("old", "admin", date(2026, 8, 1), None, "abcd")  # 111 days on Nov 20
    young = KeyMeta("young", "admin", date(2026, 10, 1), None, "efgh")  # 50 days
    gone = KeyMeta("gone", "admin", date(2026, 1, 1), date(2026, 11, 1), "ijkl")
    keys = [old, young, gone]
    assert engine.evaluate(snap(), ctx(keys=keys), NOW) != []  # gone: expired alert
    assert kinds(engine.evaluate(snap(), ctx(keys=keys, renew_days=90), NOW)) == [
        ("key_age", "old:2026-08-01")]  # not "gone": expired says more
    assert engine.evaluate(snap(), ctx(keys=keys, renew_days=90), NOW) == []
    next_cycle = NOW + timedelta(days=40)  # once per key, not once per cycle
    assert [k for k in kinds(engine.evaluate(snap(), ctx(keys=keys, renew_days=90),
                                            next_cycle)) if k[0] == "key_age"] == [
        ("key_age", "young:2026-10-01")]


def test_budget_alerts_wait_for_a_chosen_limit(store: UsageStore) -> None:
    engine = AlertEngine(store)
    assert engine.evaluate(snap(), ctx("100", budget_alerts=False), NOW) == []
    assert ("threshold", "80") in kinds(engine.evaluate(snap(), ctx("100"), NOW))


class _Keys:
    """The two reads context_for makes of the key store."""

    def __init__(self, keys: list[KeyMeta]) -> None:
        self._keys = keys

    def list(self) -> list[KeyMeta]:
        return self._keys

    def sync_admin(self, today: date) -> KeyMeta | None:
        return next((k for k in self._keys if k.kind == "admin"), None)


def test_context_from_the_stores_evaluates_without_the_gui(store: UsageStore,
                                                          tmp_path: Path) -> None:
    """What the app evaluates, built from the stores alone (so the CLI can do the same)."""
    from monitor.core.alert_texts import english
    from monitor.core.settings import Settings
    from monitor.services.alerting import context_for
    from monitor.services.limit_choice import mark_limit_chosen

    state_file = tmp_path / "state.json"
    status = budget_status(Decimal(100), Decimal(120), CYCLE, NOW)
    keys = [_meta("org-admin", date(2026, 11, 1))]
    ctx = context_for(status, Settings(), usage=store, keys=lambda: _Keys(keys),
                      state_file=state_file, now=NOW, sync_error_kind="InvalidKeyError")
    assert ctx.sync_key_label == "org-admin" and not ctx.budget_alerts  # limit not chosen
    words = [english(a).title for a in AlertEngine(store).evaluate(snap(), ctx, NOW)]
    assert words == ["API key expired", "API key rejected"]

    mark_limit_chosen(state_file)

    def broken() -> _Keys:
        raise OSError("keys file unreadable")

    ctx = context_for(status, Settings(), usage=store, keys=broken, state_file=state_file,
                      now=NOW)
    alerts = AlertEngine(store).evaluate(snap(), ctx, NOW)  # a broken key list: budget still
    assert [english(a).title for a in alerts] == ["83 % of your monthly limit used",
                                                  "On pace to exceed your monthly limit"]
