"""`token-monitor status` and `budget --check` through monitor.cli.main on seeded stores.

Every instant derives from the pinned clock NOW (passed as the hidden `--now`); "today" is
compared with `usage --period today` run at the same NOW, so the suite holds in any time zone.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from monitor.cli import main
from monitor.commands.status import TOOLTIP_MODELS
from monitor.core.limit_share import STATE_COLOURS, alert_levels
from monitor.core.settings import Settings
from monitor.paths import Paths
from monitor.services.settings_file import save_settings
from monitor.services.status import state_for
from monitor.services.store import ORG_SOURCE, SyncState, UsageStore
from tests.e2e.seed import seed_month, seed_proxy_spend

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
CONTRACT = {"today_usd", "today_tokens", "cycle_usd", "limit_usd", "used_fraction",
            "projected_usd", "cost_basis", "state", "as_of", "stale"}


def cli(capsys: pytest.CaptureFixture[str], *argv: str, now: datetime = NOW) -> tuple[int, str]:
    code = main([*argv, "--now", now.isoformat()])
    return code, capsys.readouterr().out


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str, now: datetime = NOW) -> Any:
    code, out = cli(capsys, *argv, now=now)
    assert code == 0
    return json.loads(out)


@pytest.fixture
def month(paths: Paths, ctx: Any) -> Paths:
    """A realistic cycle: org buckets (billed and estimated days), proxy records, a sync."""
    save_settings(paths.settings_file, Settings(monthly_limit_usd=Decimal(120)))
    seed_month(ctx.store(), ctx.prices(), NOW)
    ctx.close()
    return paths


def spend(paths: Paths, amounts: list[Decimal], *, limit: Decimal = Decimal(100),
          at: datetime = NOW - timedelta(minutes=1), **settings: Any) -> None:
    """Proxy records of exact dollars at `at` (the latest is the freshness mark)."""
    # "today" in UTC here: NOW − 1 minute is today in every zone only then.
    save_settings(paths.settings_file, Settings(monthly_limit_usd=limit, today_timezone="UTC")
                  .replace(**settings))
    store = UsageStore(paths.db_file)
    try:
        seed_proxy_spend(store, [(at - timedelta(seconds=i), a) for i, a in enumerate(amounts)])
    finally:
        store.close()


# ---- figures equal `usage`'s ---------------------------------------------------------------


def test_json_contract_equals_usage_figures(month: Paths,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    status = cli_json(capsys, "status", "--format", "json")
    today = cli_json(capsys, "usage", "--period", "today", "--json")
    cycle = cli_json(capsys, "usage", "--period", "cycle", "--json")
    assert set(status) == CONTRACT
    assert status["today_usd"] == today["totals"]["cost_usd"]
    assert status["today_tokens"] == (today["totals"]["input_tokens"]
                                      + today["totals"]["output_tokens"])
    assert status["cycle_usd"] == cycle["totals"]["cost_usd"] == cycle["cycle"]["cost_usd"]
    assert status["limit_usd"] == cycle["limit_usd"] == 120
    assert status["used_fraction"] == cycle["used_fraction"]
    assert status["projected_usd"] == cycle["projected_cost_usd"]
    assert status["cost_basis"] == cycle["totals"]["cost_basis"] == "mixed"
    assert status["today_usd"] > 0 and status["cycle_usd"] > status["today_usd"]
    # as_of: the later of the last successful sync and the newest proxy record.
    store = UsageStore(month.db_file)
    sync = store.get_sync_state(ORG_SOURCE)
    newest = store.proxy_records(limit=1)[0].time
    store.close()
    assert sync is not None and sync.last_success is not None
    assert status["as_of"] == max(sync.last_success, newest).isoformat()
    assert status["stale"] is False
    warn, critical = 0.5, 0.9
    fraction = status["used_fraction"]
    expected = ("over" if fraction >= 1 else "critical" if fraction >= critical
                else "warn" if fraction >= warn else "ok")
    assert status["state"] == expected


def test_text_line_and_template(month: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    s = cli_json(capsys, "status", "--format", "json")
    code, out = cli(capsys, "status")
    assert code == 0
    pct = int(s["used_fraction"] * 100)
    assert out == (f"${s['today_usd']:,.2f} today · ${s['cycle_usd']:,.2f} of $120 ({pct} %)\n")
    code, out = cli(capsys, "status", "--template",
                    "{today_usd}|{cycle_usd}|{limit_usd}|{pct}%|{projected_usd}|{state}")
    assert code == 0
    assert out == (f"${s['today_usd']:,.2f}|${s['cycle_usd']:,.2f}|$120|{pct}%|"
                   f"${s['projected_usd']:,.2f}|{s['state']}\n")


def test_template_errors_name_the_fields(month: Paths,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--template", "{today} {pct}"]) == 2
    err = capsys.readouterr().err
    assert "unknown field {today}" in err and "{today_usd}" in err
    assert main(["status", "--template", "{pct"]) == 2
    assert "--template" in capsys.readouterr().err


def test_waybar_tooltip_lists_models_of_usage(month: Paths,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    s = cli_json(capsys, "status", "--format", "json")
    by_model = cli_json(capsys, "usage", "--period", "cycle", "--by", "model", "--json")
    bar = cli_json(capsys, "status", "--format", "waybar")
    assert set(bar) == {"text", "tooltip", "class", "alt", "percentage"}
    assert bar["class"] == s["state"]
    assert bar["percentage"] == int(s["used_fraction"] * 100)
    assert isinstance(bar["percentage"], int)
    assert bar["text"].startswith(f"${s['today_usd']:,.2f} today")
    tip = bar["tooltip"].splitlines()
    models = by_model["groups"]
    assert len(models) > TOOLTIP_MODELS  # the biggest are listed, then "… N more"
    assert f"  … {len(models) - TOOLTIP_MODELS} more" in tip
    for g in models[:TOOLTIP_MODELS]:
        cost = "price unknown" if g["key"] in {u["model"] for u in by_model["unpriced_models"]} \
            else f"${g['cost_usd']:,.2f}"
        assert any(line.strip().startswith(f"{g['key']}: {cost}") for line in tip), g["key"]


def test_i3blocks_and_tmux_carry_the_state_colour(month: Paths,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    s = cli_json(capsys, "status", "--format", "json")
    text = cli(capsys, "status")[1].strip()
    code, out = cli(capsys, "status", "--format", "i3blocks")
    assert code == 0
    full, short, colour = out.splitlines()
    assert full == text
    assert short == f"${s['today_usd']:,.2f} · {int(s['used_fraction'] * 100)} %"
    assert colour == STATE_COLOURS[s["state"]]
    code, out = cli(capsys, "status", "--format", "tmux")
    bold = ",bold" if s["state"] == "over" else ""
    assert out == f"#[fg={STATE_COLOURS[s['state']].lower()}{bold}]{text}#[default]\n"


# ---- states ----------------------------------------------------------------------------


@pytest.mark.parametrize(("spent", "state"), [
    ("0.01", "ok"), ("49.99", "ok"), ("50", "warn"), ("89.99", "warn"), ("90", "critical"),
    ("99.99", "critical"), ("100", "over"), ("250", "over"),
])
def test_state_at_each_threshold(paths: Paths, capsys: pytest.CaptureFixture[str],
                                 spent: str, state: str) -> None:
    spend(paths, [Decimal(spent)])
    s = cli_json(capsys, "status", "--format", "json")
    assert s["cycle_usd"] == float(spent)
    assert s["state"] == state
    bar = cli_json(capsys, "status", "--format", "waybar")
    assert bar["class"] == state
    assert bar["percentage"] == int(Decimal(spent))  # limit 100: dollars are percent
    assert cli(capsys, "status", "--format", "i3blocks")[1].splitlines()[2] == \
        STATE_COLOURS[state]


def test_states_follow_the_configured_thresholds(paths: Paths,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # Thresholds 30/60/75/100: warn from the first (30), critical from the next-to-last (75).
    assert alert_levels((30, 60, 75, 100)) == (30, 75)
    spend(paths, [Decimal("29.99")], alert_thresholds_pct="30,60,75,100")
    assert cli_json(capsys, "status", "--format", "json")["state"] == "ok"
    spend(paths, [Decimal("0.01")], alert_thresholds_pct="30,60,75,100")  # now 30.00
    assert cli_json(capsys, "status", "--format", "json")["state"] == "warn"
    spend(paths, [Decimal("45")], alert_thresholds_pct="30,60,75,100")  # 75.00
    assert cli_json(capsys, "status", "--format", "json")["state"] == "critical"


def test_state_rules_pure() -> None:
    t = (50, 80, 90, 100)
    assert state_for(None, t, has_data=True, stale=False) == "ok"  # no limit set
    assert state_for(Decimal("2"), t, has_data=False, stale=True) == "no_data"
    assert state_for(Decimal("2"), t, has_data=True, stale=True) == "stale"
    assert state_for(Decimal("0.8"), (80,), has_data=True, stale=False) == "critical"
    assert state_for(Decimal("0.79"), (80,), has_data=True, stale=False) == "ok"


def test_no_data(paths: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    s = cli_json(capsys, "status", "--format", "json")
    assert s == {"today_usd": 0, "today_tokens": 0, "cycle_usd": 0, "limit_usd": 120,
                 "used_fraction": 0, "projected_usd": None, "cost_basis": "estimated",
                 "state": "no_data", "as_of": None, "stale": True}
    assert cli(capsys, "status")[1] == "no usage data yet\n"
    assert cli_json(capsys, "status", "--format", "waybar")["class"] == "no_data"


def test_stale_after_two_poll_intervals(paths: Paths,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    save_settings(paths.settings_file, Settings(poll_interval_s=60))
    store = UsageStore(paths.db_file)
    synced = NOW - timedelta(hours=3)
    store.set_sync_state(ORG_SOURCE, SyncState(last_success=synced))
    store.close()
    spend_at = synced + timedelta(minutes=1)  # a proxy record is news too
    spend(paths, [Decimal(5)], at=spend_at, poll_interval_s=60)
    edge = spend_at + timedelta(seconds=120)
    fresh = cli_json(capsys, "status", "--format", "json", now=edge)
    assert (fresh["stale"], fresh["state"], fresh["as_of"]) == (False, "ok",
                                                                spend_at.isoformat())
    late = cli_json(capsys, "status", "--format", "json", now=edge + timedelta(seconds=1))
    assert (late["stale"], late["state"]) == (True, "stale")
    assert late["cycle_usd"] == 5  # the figures are still shown
    assert cli(capsys, "status", now=edge + timedelta(seconds=1))[1].endswith(" · stale\n")


def test_no_limit_set(paths: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    spend(paths, [Decimal("12.5")], limit=Decimal(0))
    s = cli_json(capsys, "status", "--format", "json")
    assert (s["used_fraction"], s["state"], s["limit_usd"]) == (None, "ok", 0)
    assert cli(capsys, "status")[1] == "$12.50 today · $12.50 this cycle\n"
    assert cli_json(capsys, "status", "--format", "waybar")["percentage"] == 0


# ---- budget --check ----------------------------------------------------------------------


@pytest.mark.parametrize(("spent", "flags", "code", "word"), [
    ("99.99", [], 0, "under:"),
    ("100", [], 1, "over:"),
    ("79.99", ["--at", "80"], 0, "under:"),
    ("80", ["--at", "80%"], 1, "over:"),
    ("120", ["--at", "150"], 0, "under:"),
])
def test_budget_check_exit_codes(paths: Paths, capsys: pytest.CaptureFixture[str], spent: str,
                                 flags: list[str], code: int, word: str) -> None:
    spend(paths, [Decimal(spent)])
    got, out = cli(capsys, "budget", "--check", *flags)
    assert got == code
    assert out.startswith(word) and out.count("\n") == 1
    assert f"${Decimal(spent):,.2f} spent this cycle" in out


def test_budget_check_projected(paths: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    # $10 on the cycle's first day, seen from a day later: the pace leads past $100.
    first = datetime(2026, 11, 1, 1, tzinfo=UTC)
    now = first + timedelta(days=1)
    spend(paths, [Decimal(10)], at=now - timedelta(minutes=1))
    store = UsageStore(paths.db_file)
    seed_proxy_spend(store, [(first, Decimal(10))])  # data since the first hour
    store.close()
    usage = cli_json(capsys, "usage", "--json", now=now)
    assert usage["projected_cost_usd"] > 100
    assert cli(capsys, "budget", "--check", now=now)[0] == 0
    code, out = cli(capsys, "budget", "--check", "--projected", now=now)
    assert code == 1 and out.startswith("over: at this pace the cycle ends at")
    code, out = cli(capsys, "budget", "--check", "--projected", "--at", "1000", now=now)
    assert code == 0 and "projected $" in out


def test_budget_check_unknown_and_misuse(paths: Paths,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli(capsys, "budget", "--check")
    assert (code, out.split(":")[0]) == (3, "unknown")  # no data
    spend(paths, [Decimal(500)], at=NOW - timedelta(hours=2))  # over, but stale
    code, out = cli(capsys, "budget", "--check")
    assert code == 3 and "stale" in out
    assert cli(capsys, "budget", "--check", now=NOW - timedelta(hours=2))[0] == 1
    assert main(["budget", "--check", "--at", "0"]) == 2
    assert main(["budget", "--check", "--limit", "50"]) == 2
    assert main(["budget", "--at", "50"]) == 2
    spend(paths, [Decimal(5)], limit=Decimal(0))
    code, out = cli(capsys, "budget", "--check")
    assert code == 0 and "no monthly limit" in out


# ---- what `status` imports: tests/unit/test_cli_imports.py --------------------------------


def test_budget_check_unreadable_store_is_unknown_not_over(
        paths: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    paths.db_file.write_bytes(b"this is not a SQLite database, just a damaged file" * 100)
    code, out = cli(capsys, "budget", "--check")
    assert code == 3  # exit 1 would read as "over the budget"
    assert out.startswith("unknown: ")
