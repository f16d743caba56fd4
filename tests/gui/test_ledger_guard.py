"""The tray app's ledger guard and the proxy pane's unmetered / spooled figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.core.clock import fixed_clock
from monitor.core.records import ProxyRecord
from monitor.core.usage import TokenUsage
from monitor.gui.app import AppController
from monitor.gui.ledger import LedgerGuard
from monitor.gui.tasks import TaskRunner
from monitor.services.record_spool import RecordSpool, spool_path_for
from monitor.services.store import backup as ledger
from tests.gui.conftest import NOW
from tests.gui.test_app import _first_snapshot
from tests.integration.test_ledger import damage


def proxied(at: datetime, reason: str | None, estimated: bool = False) -> ProxyRecord:
    return ProxyRecord(
        time=at, endpoint="/chat/completions", model="gpt-4o", service_tier=None,
        key_label="app", usage=TokenUsage(input_tokens=30 if estimated else 0),
        cost_usd=Decimal("0.0001") if estimated else None, price_as_of=None, status=200,
        latency_ms=2.0, unmetered=reason, estimated=estimated)




def test_start_backs_up_a_sound_database_once_a_day(
    qtbot: QtBot, ctx: AppContext, runner: TaskRunner
) -> None:
    ctx.store().add_proxy_record(proxied(NOW - timedelta(hours=1), None))
    guard = LedgerGuard(ctx.paths.db_file, fixed_clock(NOW), runner)
    with qtbot.waitSignal(guard.backed_up, timeout=10_000) as made:
        guard.start()
    assert made.args[0].endswith("usage-2026-11-20.sqlite3")
    guard.stop()
    assert [p.name for p in ledger.backups(ctx.paths.db_file)] == ["usage-2026-11-20.sqlite3"]


def test_start_reports_a_damaged_database_with_the_way_back(
    qtbot: QtBot, ctx: AppContext, runner: TaskRunner
) -> None:
    store = ctx.store()
    store.add_proxy_records([proxied(NOW - timedelta(minutes=i), None) for i in range(300)])
    good = ledger.backup_now(ctx.paths.db_file, fixed_clock(NOW - timedelta(days=1)))
    ctx.close()
    damage(ctx.paths.db_file)
    guard = LedgerGuard(ctx.paths.db_file, fixed_clock(NOW), runner)
    with qtbot.waitSignal(guard.damaged, timeout=10_000) as hit:
        guard.start()
    guard.stop()
    assert str(ctx.paths.db_file) in hit.args[0] and str(good) in hit.args[0]
    assert [p.name for p in ledger.backups(ctx.paths.db_file)] == [good.name]  # no bad copy


def test_proxy_pane_shows_unmetered_and_spooled(
    qtbot: QtBot, ctx: AppContext, make_app: Callable[..., AppController]
) -> None:
    at = ctx.now() - timedelta(minutes=5)  # this cycle, whatever the date
    ctx.store().add_proxy_records([
        proxied(at, "client_disconnected", estimated=True),
        proxied(at, "no_usage_in_response"), proxied(at, None)])
    # Records the store refuses stay in the spool (the start-up replay cannot empty it).
    refused = replace(proxied(at, None), usage=TokenUsage(input_tokens=10**30))
    RecordSpool(spool_path_for(ctx.paths.db_file)).append([refused] * 4)
    c = make_app()
    c.state.alerts.pause(ctx.now() + timedelta(hours=1))  # no banner after the teardown
    _first_snapshot(qtbot, c)
    pane = c.window.sources
    assert pane.proxy_unmetered.text() == (
        "2 this cycle (1 with input estimated from the request)")
    assert pane.proxy_spooled.text().startswith("4 records in the spool")


def test_start_replays_what_a_previous_run_left_in_the_spool(
    qtbot: QtBot, ctx: AppContext, runner: TaskRunner
) -> None:
    ctx.store()  # the database exists
    spool = RecordSpool(spool_path_for(ctx.paths.db_file))
    spool.append([proxied(NOW - timedelta(minutes=i), None) for i in range(5)])
    guard = LedgerGuard(ctx.paths.db_file, fixed_clock(NOW), runner)
    with qtbot.waitSignal(guard.backed_up, timeout=10_000):
        guard.start()
    guard.stop()
    assert spool.pending() == 0 and len(ctx.store().proxy_records()) == 5
