"""One definition of a request count: answered requests (status < 400) are requests; a cap
refusal or an upstream failure is counted as such, never as a model's request.

Eight answered gpt-4o-mini requests and two refused gpt-4o ones (429, no tokens, no cost, as the
proxy records a hard-cap refusal): `usage`, the Sources tab, the CSV and the status tooltip all
say 8 requests and none of them lists a gpt-4o row."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from pytestqt.qtbot import QtBot

from monitor.cli import main
from monitor.context import AppContext
from monitor.core.usage import TokenUsage
from monitor.gui.dashboard.sources import SourcesPane
from monitor.gui.tasks import TaskRunner
from monitor.services.snapshot import DashboardSnapshot
from monitor.services.snapshot_csv import snapshot_csv
from tests.e2e.seed import proxy_record
from tests.gui.conftest import NOW, make_state, snapshot_of


def test_refusals_are_refusals_on_every_surface(
        utc_ctx: AppContext, runner: TaskRunner, qtbot: QtBot,
        capsys: pytest.CaptureFixture[str]) -> None:
    at = NOW - timedelta(hours=1)
    answered = [proxy_record(at - timedelta(minutes=i), Decimal("0.01"), model="gpt-4o-mini")
                for i in range(8)]
    refused = [dataclasses.replace(proxy_record(at, Decimal(0), model="gpt-4o"), status=429,
                                   usage=TokenUsage(), cost_usd=Decimal(0)) for _ in range(2)]
    utc_ctx.store().add_proxy_records(answered + refused)
    utc_ctx.save_settings(utc_ctx.settings.replace(poll_interval_s=86_400))
    utc_ctx.close()

    assert main(["usage", "--period", "today", "--by", "model", "--json",
                 "--now", NOW.isoformat()]) == 0
    usage = json.loads(capsys.readouterr().out)
    assert usage["totals"]["requests"] == 8
    assert [g["key"] for g in usage["groups"]] == ["gpt-4o-mini"]
    assert main(["status", "--format", "waybar", "--now", NOW.isoformat()]) == 0
    tooltip = json.loads(capsys.readouterr().out)["tooltip"]
    assert "gpt-4o-mini" in tooltip and "gpt-4o:" not in tooltip

    snap = snapshot_of(qtbot, make_state(utc_ctx, runner))
    assert isinstance(snap, DashboardSnapshot)
    assert snap.proxy.requests_today == 8 and snap.proxy.refused_or_failed_today == 2
    assert snap.today.requests == 8
    panel = SourcesPane()
    qtbot.addWidget(panel)
    panel.show_snapshot(snap)
    assert panel.proxy_requests.text() == "8 (2 refused or failed)"
    rows = list(csv.DictReader(io.StringIO(snapshot_csv(snap))))
    assert not [r for r in rows if r.get("key") == "gpt-4o" or r.get("model") == "gpt-4o"]
    assert [r for r in rows if "gpt-4o-mini" in r.values()]
