"""The alert rules run on plain figures, without Qt or a store, and every alert they can raise
has words: each kind a template (every variant of it), each template filled completely."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from monitor.core import alert_rules as rules
from monitor.core.alert_rules import KINDS, Alert, AlertInputs, HardCapRefusals, SoftCap
from monitor.core.alert_texts import TEXTS, VARIANTS, english, render, text_id
from monitor.core.budget import billing_cycle, budget_status
from monitor.services.key_meta import KeyMeta

NOW = datetime(2026, 11, 20, 15, 20, tzinfo=UTC)
TODAY = date(2026, 11, 20)
CYCLE = billing_cycle(NOW, 1)
D = Decimal


@dataclass(frozen=True)
class Row:
    key: str
    name: str
    requests: int
    cost_usd: Decimal | None


@dataclass(frozen=True)
class Rejected:
    key_label: str
    last_at: datetime
    count: int


@dataclass(frozen=True)
class Credit:
    amount_usd: Decimal
    purchased: date | None
    expires: date | None
    remaining_usd: Decimal
    days_to_expiry: int | None


def _hours(last: str, current: str) -> list[tuple[datetime, Decimal]]:
    start = NOW.replace(minute=0) - timedelta(hours=1)
    base = [(start - timedelta(hours=i + 1), D("0.40")) for i in range(30)]
    return [*base, (start, D(last)), (start + timedelta(hours=1), D(current))]


def inputs(variant: int = 0) -> AlertInputs:
    """Figures that raise every kind of alert (`variant` 1: the other wording of each)."""
    first = variant == 0
    return AlertInputs(
        status=budget_status(D(100), D(120), CYCLE, NOW), thresholds_pct=(50, 80, 90, 100),
        at=NOW, today=TODAY, today_usd=D("6.50"), day_history=[D(2)] * 14,
        hours=_hours("1.25", "0.10") if first else _hours("0.10", "1.32"),
        rejected_keys=[Rejected("ci-key", NOW - timedelta(minutes=5), 3)],
        spending_keys=[Row("k1", "laptop", 1, D(1)), Row("k2", "ci", 1204, None)],
        keys=[KeyMeta("soon", "admin", date(2026, 1, 1), date(2026, 11, 23), "abcd"),
              KeyMeta("gone", "project" if first else "admin", date(2026, 1, 1),
                      date(2026, 11, 1), "efgh"),
              KeyMeta("old", "admin", date(2026, 8, 1), None, "ijkl")],
        local_today=TODAY, sync_error_kind="InvalidKeyError", sync_key_label="org-admin",
        renew_days=90,
        credit=Credit(D(100), date(2026, 10, 1), date(2026, 11, 30),
                      D(15) if first else D(-20), 10),
        soft_caps=[SoftCap("bot", D("1.10"), D(1), "day" if first else "month", TODAY)],
        hard_caps=[HardCapRefusals("cycle", "", 2, CYCLE.start.date(), CYCLE.end),
                   HardCapRefusals("key", "notes-bot", 4, TODAY,
                                   datetime(2026, 11, 21, tzinfo=UTC))],
    )


def every_alert() -> list[Alert]:
    """What the rules raise for both sets of figures, nothing fired yet."""
    return [*rules.due(inputs(0), set(), set()), *rules.due(inputs(1), set(), set())]


def test_the_rules_raise_every_kind_from_plain_figures() -> None:
    alerts = every_alert()
    assert {a.kind for a in alerts} == set(KINDS) - {"test"}
    # every variant of every kind's words is reached by some figures
    assert {text_id(a) for a in alerts} == set(TEXTS) - {"test"}
    threshold = next(a for a in alerts if a.kind == "threshold" and a.key == "80")
    assert threshold.param("pct") == "83" and threshold.period == date(2026, 11, 1)
    assert next(a for a in alerts if a.kind == "new_key").period == rules.EVER


def test_every_kind_has_a_template_and_no_template_is_orphaned() -> None:
    named = {t for kind in KINDS for t in VARIANTS.get(kind, (kind,))}
    assert named == set(TEXTS)
    assert set(VARIANTS) <= set(KINDS)


def test_every_alert_renders_fully_in_english() -> None:
    for alert in [*every_alert(), Alert("test", "", urgency="low")]:
        words = english(alert)
        assert words.title and words.body, alert
        assert not re.search(r"%\d", words.title + words.body), (alert, words)
        assert "$" not in words.title or alert.kind == "threshold", words
    spike = next(a for a in rules.due(inputs(1), set(), set()) if a.kind == "spike_hour")
    assert english(spike).body == (
        "Spend in the 15:00 UTC hour so far is $1.32, 3.3× your usual hour ($0.40).")
    cap = next(a for a in every_alert() if a.key == "key:notes-bot")
    assert english(cap) == english(cap)  # a value type
    assert english(cap).title == ("Hard cap reached: the proxy refuses requests for virtual "
                                  "key notes-bot")
    assert english(cap).body == ("Requests get HTTP 429 until the cap resets at 2026-11-21 "
                                 "00:00 UTC. Refused so far: 4.")


def test_a_parameter_is_filled_once_not_read_as_a_placeholder() -> None:
    alert = Alert("key_expiring", "x", params=(("label", "%2 key"), ("date", "2026-11-23")))
    assert english(alert).body == "The key %2 key expires on 2026-11-23."
    day_first = render(alert, day=lambda d: f"{d.day}/{d.month}")
    assert day_first.body == "The key %2 key expires on 23/11."


def test_fired_alerts_are_not_raised_again() -> None:
    first = rules.due(inputs(0), set(), set())
    fired = {(a.kind, a.key) for a in first if a.period != rules.EVER}
    seen = {(a.kind, a.key) for a in first if a.period == rules.EVER}
    again = rules.due(inputs(0), fired, seen)
    # only the caps come again: the store deduplicates them per cap period
    assert again == rules.soft_caps(inputs(0).soft_caps) + rules.hard_caps(inputs(0).hard_caps)
    # thresholds crossed together: all raised, the highest shown
    assert [a.key for a in first if a.kind == "threshold"] == ["50", "80"]
    assert [a.key for a in rules.shown(first) if a.kind == "threshold"] == ["80"]


def test_the_alert_engine_loads_without_qt() -> None:
    root = Path(__file__).resolve().parents[2]
    probe = ("import sys; import monitor.core.alert_rules, monitor.core.alert_texts, "
             "monitor.services.alerting, monitor.services.cap_alerts; "
             "print(sorted(m for m in sys.modules if m.startswith('PySide6')))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_a_threshold_alert_states_the_actual_share_by_the_one_percent_rule() -> None:
    for spend, title in (("1114.80", "929 %"), ("95.52", "79 %"), ("120", "100 %")):
        status = budget_status(D(spend), D(120), CYCLE, NOW)
        top = rules.shown(rules.budget(status, (50, 70), set()))[0]
        assert english(top).title == f"{title} of your monthly limit used", spend
