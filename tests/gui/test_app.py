"""The whole app wired together: tray vs no-tray, live proxy records, refresh, single instance,
CSV export."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot
from shiboken6 import isValid

from monitor.context import AppContext
from monitor.core.records import ProxyRecord
from monitor.errors import KnownError
from monitor.gui.app import AppController
from monitor.gui.app_jobs import NO_ADMIN_KEY
from monitor.gui.single_instance import SingleInstance
from monitor.services.snapshot import DashboardSnapshot
from monitor.services.store import ORG_SOURCE, SyncState
from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.server import ServerThread
from tests.gui.conftest import seed_spend

ROOT = Path(__file__).resolve().parents[2]


def _first_snapshot(qtbot: QtBot, c: AppController, *, poll: bool = False) -> DashboardSnapshot:
    with qtbot.waitSignal(c.state.snapshot_changed, timeout=10_000) as blocker:
        c.start(poll=poll)
    snap = blocker.args[0]
    assert isinstance(snap, DashboardSnapshot)
    return snap


def test_no_tray_opens_window_with_notice(qtbot: QtBot, make_app: Callable[..., AppController],
                                          ) -> None:
    assert not QSystemTrayIcon.isSystemTrayAvailable()  # offscreen has no tray
    c = make_app()
    assert not c.has_tray and c.tray is None
    _first_snapshot(qtbot, c)
    assert c.window.isVisible()
    assert not c.window.notice.isHidden()
    assert c.window.notice.label.text().startswith(
        "No system tray is available on this desktop (offscreen)")
    # Without a tray, closing the window must quit (nothing would bring it back).
    c.window.close()
    assert getattr(c, "quit_called", False)


def test_tray_path_hides_window_and_click_opens_it(
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, ctx: AppContext,
        make_app: Callable[..., AppController]) -> None:
    from monitor.gui.welcome_flow import WELCOME_DISMISSED_PREF
    from monitor.gui.window_state import save_pref

    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    # Not a first start (that opens the welcome panel: tests/gui/test_welcome.py).
    save_pref(ctx.paths.state_file, WELCOME_DISMISSED_PREF, True)
    c = make_app()
    assert c.has_tray and c.tray is not None
    _first_snapshot(qtbot, c)
    assert c.tray.icon.isVisible()
    assert not c.window.isVisible()
    assert c.window.notice.isHidden()
    c.tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    qtbot.waitUntil(c.window.isVisible, timeout=2000)
    c.window.close()  # closing hides to the tray, it does not quit
    assert not c.window.isVisible()
    assert not getattr(c, "quit_called", False)
    c.tray.quit_requested.emit()
    assert getattr(c, "quit_called", False)


def test_proxied_request_reaches_the_counters_within_two_seconds(
        qtbot: QtBot, ctx: AppContext, make_app: Callable[..., AppController]) -> None:
    from monitor.services.proxy.server import MeteringProxy

    ctx.save_settings(ctx.settings.replace(proxy_enabled=True))
    with ServerThread(FakeUpstream().make_app) as upstream:

        def factory(on_record: Callable[[ProxyRecord], None]) -> MeteringProxy:
            return MeteringProxy(upstream=upstream.base_url + "/v1",
                                 store_path=ctx.paths.db_file, prices=ctx.prices(), port=0,
                                 on_record=on_record, clock=ctx.clock)

        c = make_app(proxy_factory=factory)
        with qtbot.waitSignal(c.proxy.started, timeout=10_000) as started:
            snap = _first_snapshot(qtbot, c)
        assert snap.today.requests == 0
        url = started.args[0]
        qtbot.waitUntil(lambda: c.state.snapshot is not None
                        and c.state.snapshot.proxy.address == url, timeout=5000)
        assert c.window.sources.proxy_address.text().startswith(url)

        body = json.dumps({"model": "gpt-4o",
                           "messages": [{"role": "user", "content": "hello"}]}).encode()
        req = urllib.request.Request(url + "/chat/completions", data=body, headers={
            "Authorization": "Bearer sk-test-0123456789abcdef", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            reply = json.loads(resp.read())
        tokens = reply["usage"]["total_tokens"]
        # Counted, priced and shown: the header and the tray tooltip follow the store.
        qtbot.waitUntil(lambda: c.window.header.today_requests.text().startswith("1 request"),
                        timeout=2000)
        assert f"{tokens:,} tokens" in c.window.header.today_requests.text()
        snap2 = c.state.snapshot
        assert snap2 is not None and snap2.today.cost_usd > 0
        assert snap2.proxy.requests_today == 1
        assert c.window.header.today_cost.text() != "$0.00"


def test_refresh_now_polls_and_a_failing_sync_keeps_the_numbers(
        qtbot: QtBot, ctx: AppContext, make_app: Callable[..., AppController]) -> None:
    store = ctx.store()
    calls: list[int] = []

    def failing_sync() -> object:
        calls.append(1)
        now = ctx.now()
        store.set_sync_state(ORG_SOURCE, SyncState(last_success=None,
                                                   last_error="network down", last_error_at=now))
        raise KnownError("network down")

    from tests.e2e.seed import proxy_record

    store.add_proxy_record(proxy_record(ctx.now(), Decimal("2.50")))
    c = make_app(sync=failing_sync)
    _first_snapshot(qtbot, c)
    c.poller.start(poll_at_once=False)
    assert not calls
    with qtbot.waitSignal(c.state.source_failed, timeout=5000) as failed:
        c.refresh_now()
    assert failed.args[0].source == "org" and failed.args[0].message == "network down"
    assert calls
    qtbot.waitUntil(lambda: c.state.snapshot is not None and c.state.snapshot.org.failing,
                    timeout=5000)
    assert c.window.header.today_cost.text() == "$2.50"  # last numbers stay visible
    assert not c.window.failing.isHidden()
    assert "network down" in c.window.failing.label.text()
    assert c.window.sources.org_error.text().startswith("network down")
    # A failure retries sooner than the poll interval, and the dashboard says when.
    assert c.poller.next_poll_at is not None
    qtbot.waitUntil(lambda: c.state.snapshot is not None
                    and c.state.snapshot.org.next_sync == c.poller.next_poll_at, timeout=5000)
    assert c.window.sources.org_next.text() != "–"
    left = (c.poller.next_poll_at - ctx.now()).total_seconds()
    assert 0 < left <= 61


def test_csv_export_of_the_shown_cycle(qtbot: QtBot, utc_ctx: AppContext, tmp_path: Path,
                                       make_app: Callable[..., AppController]) -> None:
    seed_spend(utc_ctx, today_usd="1.23", earlier_usd="46.87")
    c = make_app()
    c.state._clock = lambda: datetime(2026, 11, 20, 15, tzinfo=UTC)  # the seeded month
    snap = _first_snapshot(qtbot, c)
    out = tmp_path / "export.csv"
    c.window.export_csv(out)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    total = [r for r in rows if r["section"] == "total"]
    assert len(total) == 1
    assert Decimal(total[0]["cost_usd"]) == Decimal("48.10")
    assert total[0]["period_start"] == "2026-11-01" and total[0]["period_end"] == "2026-11-30"
    days = {r["key"]: Decimal(r["cost_usd"]) for r in rows if r["section"] == "day"}
    assert days == {"2026-11-05": Decimal("46.87"), "2026-11-20": Decimal("1.23")}
    models = [r for r in rows if r["section"] == "model"]
    assert [(m["name"], m["requests"], m["input_tokens"]) for m in models] == [
        ("gpt-4o", "2", "2000")]
    keys = [r for r in rows if r["section"] == "key"]
    assert [k["name"] for k in keys] == ["laptop"]
    assert sum(Decimal(d.cost_usd) for d in snap.daily) == Decimal("48.10")


def test_second_launch_shows_the_first_and_exits_0(qtbot: QtBot, ctx: AppContext) -> None:
    first = SingleInstance(ctx.paths)
    assert first.acquire()
    try:
        env = {**os.environ, "MONITOR_HOME": str(ctx.paths.config_dir.parent),
               "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
        with qtbot.waitSignal(first.activation_requested, timeout=30_000):
            proc = subprocess.Popen([sys.executable, "-m", "monitor"], env=env, cwd=ROOT,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "already running" in err
        # Another SingleInstance in this process cannot take the lock either.
        assert not SingleInstance(ctx.paths).acquire()
    finally:
        first.release()
    again = SingleInstance(ctx.paths)
    assert again.acquire()  # released: the next launch becomes the first
    again.release()


def test_tokenizer_tab_is_built_on_first_use(qtbot: QtBot,
                                             make_app: Callable[..., AppController]) -> None:
    c = make_app(with_tokenizer=True)
    _first_snapshot(qtbot, c)
    assert c.window.tokenizer is None  # not built at start-up (it loads tiktoken)
    c.window.show_tokenizer()
    pane = c.window.tokenizer
    assert pane is not None and pane.objectName() == "tokenizer-pane"
    assert c.window.tabs.tabText(c.window.tabs.currentIndex()) == "Tokenizer"
    assert c.window.isVisible()


def test_a_banner_arriving_after_shutdown_is_dropped(qtbot: QtBot, ctx: AppContext) -> None:
    """An alert delivery that finishes on the pool after Quit must not touch the closed
    (deleted) window: that raised in the event loop of whatever ran next."""
    from monitor.services.desktop_notify import Notification

    c = AppController(ctx, sync=lambda: NO_ADMIN_KEY, use_freedesktop=False,
                      with_tokenizer=False)
    c.shutdown()
    window = c.window
    window.deleteLater()
    qtbot.waitUntil(lambda: not isValid(window), timeout=5000)
    c.notifier.banner_requested.emit(Notification("late", "after quit"))  # must not raise
    c.deleteLater()
