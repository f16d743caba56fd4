"""One money rule everywhere: $48.105 reads `$48.11` in the CLI, the GUI and CSV export."""

from __future__ import annotations

import csv
import io
import json

import pytest
from pytestqt.qtbot import QtBot

from monitor.cli import main
from monitor.context import AppContext
from monitor.gui import texts
from monitor.gui.dashboard.header import HeaderPanel
from monitor.gui.tasks import TaskRunner
from monitor.services.snapshot import DashboardSnapshot
from monitor.services.snapshot_csv import snapshot_csv
from tests.gui.conftest import NOW, make_state, seed_spend, snapshot_of


def test_a_tie_rounds_half_up_the_same_in_cli_gui_and_csv(
        utc_ctx: AppContext, runner: TaskRunner, qtbot: QtBot,
        capsys: pytest.CaptureFixture[str]) -> None:
    seed_spend(utc_ctx, today_usd="48.105", earlier_usd="0")  # the whole cycle is today
    utc_ctx.close()  # the CLI below opens the same files

    assert main(["usage", "--period", "today", "--now", NOW.isoformat()]) == 0
    cli_usage = capsys.readouterr().out
    assert main(["budget", "--now", NOW.isoformat()]) == 0
    cli_budget = capsys.readouterr().out
    assert main(["usage", "--period", "today", "--json", "--now", NOW.isoformat()]) == 0
    cli_json = capsys.readouterr().out

    snap = snapshot_of(qtbot, make_state(utc_ctx, runner))
    assert isinstance(snap, DashboardSnapshot)
    header = HeaderPanel()
    qtbot.addWidget(header)
    header.show_snapshot(snap)
    rows = list(csv.DictReader(io.StringIO(snapshot_csv(snap))))
    [total] = [r for r in rows if r["section"] == "total"]

    assert "$48.11" in cli_usage and "$48.10" not in cli_usage
    assert "Spend" in cli_budget and "$48.11" in cli_budget and "$48.10" not in cli_budget
    assert header.today_cost.text() == "$48.11"
    assert "Today $48.11" in texts.tooltip(snap)
    assert total["cost_usd"] == "48.11"
    # JSON keeps the exact amount, as a plain number
    assert '"cost_usd": 48.105' in cli_json
    assert json.loads(cli_json)["totals"]["cost_usd"] == 48.105
