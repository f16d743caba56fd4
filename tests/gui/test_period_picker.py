"""The dashboard's period picker (issue 25): the tables, the what-if and the CSV export show
a period `usage` has, with the same figures `usage --json --period P` prints for it."""

from __future__ import annotations

import csv
import io
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from monitor.cli import main
from monitor.context import AppContext
from monitor.gui.dashboard.tables import SORT_ROLE
from monitor.gui.dashboard.window import DashboardWindow
from monitor.gui.tasks import TaskRunner
from monitor.services.snapshot import DashboardSnapshot, GroupRow
from monitor.services.usage_report import money
from tests.e2e.seed import seed_month
from tests.gui.conftest import NOW, make_state, snapshot_of

PERIODS = ["today", "yesterday", "previous-cycle", "2026-10", "2026-11-03..2026-11-09",
           "cycle"]


def _usage(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    capsys.readouterr()
    assert main(["usage", "--json", "--now", NOW.isoformat(), *argv]) == 0
    return json.loads(capsys.readouterr().out, parse_float=Decimal, parse_int=int)


Row = tuple[int, int, int, Decimal]


def _figures(rows: tuple[GroupRow, ...]) -> dict[str, Row]:
    """A row of unknown price (None, "price unknown") counts 0 dollars, as in `usage`."""
    return {r.key: (r.requests, r.usage.input_tokens, r.usage.output_tokens,
                    r.cost_usd if r.cost_usd is not None else Decimal(0))
            for r in rows}


def _json_figures(groups: list[dict[str, Any]]) -> dict[str, Row]:
    return {g["key"] or "": (g["requests"], g["input_tokens"], g["output_tokens"],
                             Decimal(g["cost_usd"]))
            for g in groups}


@pytest.fixture
def window(qtbot: QtBot, utc_ctx: AppContext, runner: TaskRunner) -> Any:
    seed_month(utc_ctx.store(), utc_ctx.prices(), NOW)
    state = make_state(utc_ctx, runner, NOW)
    w = DashboardWindow()
    qtbot.addWidget(w)
    state.snapshot_changed.connect(w.show_snapshot)
    w.period_requested.connect(lambda name: state.update_runtime(period=name))
    w.what_if_requested.connect(lambda m: state.update_runtime(what_if_model=m or None))
    snapshot_of(qtbot, state)
    return w, state


def _pick(qtbot: QtBot, state: Any, w: DashboardWindow, name: str) -> DashboardSnapshot:
    with qtbot.waitSignal(state.snapshot_changed, timeout=20_000) as blocker:
        w.period_picker.choose(name)
    snap = blocker.args[0]
    assert isinstance(snap, DashboardSnapshot) and snap.tables.period.name == name
    assert snap.tables.period.error is None
    return snap


@pytest.mark.parametrize("name", PERIODS)
def test_the_picker_shows_what_usage_json_prints(
        qtbot: QtBot, window: Any, capsys: pytest.CaptureFixture[str], name: str) -> None:
    w, state = window
    snap = _pick(qtbot, state, w, name)
    assert w.period_picker.period() == name
    for by, rows in (("model", snap.tables.by_model), ("project", snap.tables.by_project)):
        out = _usage(capsys, "--period", name, "--by", by)
        assert snap.tables.period.start.isoformat() == out["period"]["start"]
        assert _figures(rows) == _json_figures(out["groups"]), by
    m = w.model_rows  # the By-model table shows these rows
    assert {(m.data(m.index(i, 0)), m.data(m.index(i, 1), SORT_ROLE))
            for i in range(m.rowCount())} == {(r.name, r.requests) for r in snap.tables.by_model}
    out = _usage(capsys, "--period", name)
    assert snap.tables.total.cost_usd == out["totals"]["cost_usd"]
    assert snap.tables.total.requests == out["totals"]["requests"]
    assert snap.cycle.cost_usd == snap.tables.total.cost_usd or name != "cycle"


def test_the_what_if_and_the_csv_follow_the_period(
        qtbot: QtBot, window: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    w, state = window
    snap = _pick(qtbot, state, w, "previous-cycle")
    assert snap.tables.total.cost_usd != snap.cycle.cost_usd  # really another period
    with qtbot.waitSignal(state.snapshot_changed, timeout=20_000) as blocker:
        w.what_if_model.setCurrentIndex(w.what_if_model.findData("gpt-4o-mini"))
    what_if = blocker.args[0].what_if
    out = _usage(capsys, "--period", "previous-cycle", "--by", "model",
                 "--reprice", "gpt-4o-mini")["reprice"]
    assert money(what_if.cost_usd) == out["cost_usd"]
    assert {g.key: money(g.cost_usd) for g in what_if.by_model} == {
        g["key"]: g["cost_usd"] for g in out["groups"]}
    table = w.what_if.table
    assert table is not None and table.rowCount() == len(out["groups"]) > 1

    target = tmp_path / "export.csv"
    w.export_csv(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    days = _usage(capsys, "--period", "previous-cycle", "--by", "day")
    [total] = [r for r in rows if r["section"] == "total"]
    assert (total["period_start"], total["period_end"]) == ("2026-10-01", "2026-10-31")
    assert Decimal(total["cost_usd"]) == Decimal(days["totals"]["cost_usd"]).quantize(
        Decimal("0.01"), ROUND_HALF_UP)
    assert int(total["requests"]) == days["totals"]["requests"]
    day_rows = {r["key"]: r for r in rows if r["section"] == "day"}
    assert set(day_rows) == {g["key"] for g in days["groups"]}
    for g in days["groups"]:  # day rows carry requests and tokens (issue 25)
        row = day_rows[g["key"]]
        assert (int(row["requests"]), int(row["input_tokens"]), int(row["output_tokens"]),
                int(row["cached_input_tokens"])) == (
            g["requests"], g["input_tokens"], g["output_tokens"], g["cached_input_tokens"])
    assert sum(int(r["requests"]) for r in day_rows.values()) == days["totals"]["requests"] > 0


def test_an_unreadable_period_shows_the_cycle_and_says_why(
        qtbot: QtBot, window: Any) -> None:
    _w, state = window
    with qtbot.waitSignal(state.snapshot_changed, timeout=20_000) as blocker:
        state.update_runtime(period="2026-13")
    snap = blocker.args[0]
    assert snap.tables.period.name == "cycle" and "month must be 01..12" in (
        snap.tables.period.error or "")
    assert snap.tables.by_model == snap.by_model
