"""`token-monitor alerts`: the app's alerts, evaluated and worded without Qt, nothing recorded."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from monitor.cli import main
from monitor.core.settings import Settings
from monitor.paths import Paths
from monitor.services.settings_file import save_settings
from monitor.services.store import UsageStore
from tests.e2e.seed import seed_proxy_spend

NOW = "2026-11-16T12:00:00+00:00"
CYCLE = date(2026, 11, 1)


@pytest.fixture
def seeded(paths: Paths) -> Paths:
    save_settings(paths.settings_file,  # a limit the user set: budget alerts are on
                  Settings(monthly_limit_usd=Decimal(20), today_timezone="UTC"))
    with UsageStore(paths.db_file) as store:
        seed_proxy_spend(store, [(datetime(2026, 11, 1, 8, tzinfo=UTC), Decimal(9)),
                                 (datetime(2026, 11, 16, 9, tzinfo=UTC), Decimal(8))])
    return paths


def test_alerts_lists_what_the_app_would_show_in_its_words(
        seeded: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts", "--json", "--now", NOW]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["paused_until"] is None
    assert [(a["kind"], a["key"]) for a in out["alerts"]] == [
        ("threshold", "80"), ("projection", "limit")]  # 50 and 80 crossed: the higher one
    first = out["alerts"][0]
    assert first["title"] == "85 % of your monthly limit used"  # $17 of $20, the actual share
    assert first["body"] == "Spent $17.00 of $20.00 this cycle."
    assert first["params"]["spend"] == "$17.00" and first["period"] == "2026-11-01"

    assert main(["alerts", "--now", NOW]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "85 % of your monthly limit used: Spent $17.00 of $20.00 this cycle."
    assert lines[1].startswith("On pace to exceed your monthly limit: At this pace the cycle "
                               "ends at $")
    with UsageStore(seeded.db_file) as store:
        assert store.fired_alerts(CYCLE) == set()  # nothing recorded: the app still notifies


def test_alerts_the_app_showed_are_not_listed_again(
        seeded: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    with UsageStore(seeded.db_file) as store:
        for kind, key in (("threshold", "50"), ("threshold", "80"), ("projection", "limit")):
            store.record_alert(kind, key, CYCLE)
    assert main(["alerts", "--now", NOW]) == 0
    assert capsys.readouterr().out == "no alert due\n"


def test_a_hard_cap_refusing_is_listed_once_per_period(
        seeded: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.services.virtual_keys import CapRefusal, VirtualKeys, cap_period

    at = datetime.fromisoformat(NOW)
    day = cap_period("day", at, Settings(today_timezone="UTC"))
    with UsageStore(seeded.db_file) as store:
        for kind, key in (("threshold", "50"), ("threshold", "80"), ("projection", "limit")):
            store.record_alert(kind, key, CYCLE)
        VirtualKeys(store).note_refusals([CapRefusal("key", "notes-bot", day, at, at, 4, "")])
    assert main(["alerts", "--now", NOW]) == 0
    assert capsys.readouterr().out == (
        "! Hard cap reached: the proxy refuses requests for virtual key notes-bot: Requests get "
        f"HTTP 429 until the cap resets at {day.end:%Y-%m-%d %H:%M} UTC. Refused so far: 4.\n")
    with UsageStore(seeded.db_file) as store:  # the app showed it
        store.record_alert("hard_cap", "key:notes-bot", day.start.date())
    assert main(["alerts", "--now", NOW]) == 0
    assert capsys.readouterr().out == "no alert due\n"
