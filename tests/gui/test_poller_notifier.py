"""Poller scheduling (one pass at a time, wake from sleep, stale results) and notifier fallbacks."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from monitor.core.clock import ManualClock
from monitor.errors import KnownError
from monitor.gui.notifier import BANNER, FREEDESKTOP, TRAY, Notifier
from monitor.gui.poller import WAKE_GAP_THRESHOLD_S, Poller
from monitor.gui.tasks import TaskRunner
from monitor.services.desktop_notify import Notification, NotifyError


class _Gate:
    """A sync function that blocks until released and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.event = threading.Event()

    def __call__(self) -> object:
        self.calls += 1
        if not self.event.wait(10):
            raise TimeoutError("gate never released")
        return "ok"


def test_refresh_during_a_pass_runs_one_more_after_it(qtbot: QtBot, runner: TaskRunner) -> None:
    gate = _Gate()
    p = Poller(runner, gate, lambda: True, 300)
    with qtbot.waitSignal(p.poll_started, timeout=2000):
        p.start(poll_at_once=True)
    assert p.running
    p.poll_now("manual")
    p.poll_now("manual")  # coalesced with the previous request
    qtbot.waitUntil(lambda: gate.calls == 1, timeout=2000)
    with qtbot.waitSignals([p.poll_finished, p.poll_finished], timeout=5000):
        gate.event.set()
    assert gate.calls == 2
    assert p.last_result is not None and p.last_result.ok and p.last_result.reason == "manual"
    assert p.next_poll_at is not None
    left = (p.next_poll_at - datetime.now(UTC)).total_seconds()
    assert 290 < left <= 300
    p.stop()


def test_stop_drops_the_result_in_flight(qtbot: QtBot, runner: TaskRunner) -> None:
    gate = _Gate()
    p = Poller(runner, gate, lambda: True, 300)
    p.start()
    p.stop()
    with qtbot.assertNotEmitted(p.poll_finished, wait=200):
        gate.event.set()
        runner.wait(5000)
    assert p.last_result is None and p.next_poll_at is None


def test_failed_pass_reports_and_retries_sooner(qtbot: QtBot, runner: TaskRunner) -> None:
    def sync() -> object:
        raise KnownError("the network is down")

    p = Poller(runner, sync, lambda: True, 3600)
    with qtbot.waitSignal(p.poll_finished, timeout=5000) as blocker:
        p.start()
    result = blocker.args[0]
    assert not result.ok and result.error == "the network is down"
    assert result.error_kind == "KnownError"
    assert p.next_poll_at is not None
    assert (p.next_poll_at - datetime.now(UTC)).total_seconds() <= 60
    p.stop()


def test_clock_gap_after_sleep_triggers_a_poll(qtbot: QtBot, runner: TaskRunner) -> None:
    wall = ManualClock(datetime(2026, 5, 1, 12, tzinfo=UTC))
    mono = [50.0]
    calls: list[int] = []
    p = Poller(runner, lambda: calls.append(1), lambda: True, 300,
               clock=wall, mono_clock=lambda: mono[0])
    p.start(poll_at_once=False)
    wall.advance(seconds=30)
    mono[0] += 30  # an ordinary 30 s tick
    with qtbot.assertNotEmitted(p.poll_started):
        assert not p.check_wake()
    wall.advance(seconds=30 + WAKE_GAP_THRESHOLD_S + 600)  # suspended for ten minutes
    mono[0] += 30
    with qtbot.waitSignal(p.poll_started, timeout=1000) as blocker:
        assert p.check_wake()
    assert blocker.args == ["wake"]
    qtbot.waitUntil(lambda: p.last_result is not None, timeout=5000)
    assert calls == [1]
    p.stop()


def test_without_a_key_nothing_runs(qtbot: QtBot, runner: TaskRunner) -> None:
    p = Poller(runner, lambda: pytest.fail("must not sync"), lambda: False, 300)
    with qtbot.assertNotEmitted(p.poll_started):
        p.start()
    assert p.next_poll_at is not None
    p.stop()


def test_the_same_interval_again_keeps_the_next_poll(qtbot: QtBot, runner: TaskRunner) -> None:
    """Settings that changed elsewhere (or another field) must not push the next poll back."""
    clock = ManualClock(datetime(2026, 11, 20, 15, tzinfo=UTC))
    p = Poller(runner, lambda: pytest.fail("must not sync"), lambda: False, 300, clock=clock)
    p.start()
    first = p.next_poll_at
    assert first is not None
    clock.advance(seconds=120)
    p.set_interval(300)
    assert p.next_poll_at == first
    p.set_interval(600)  # a new interval counts from now
    assert p.next_poll_at == clock() + timedelta(seconds=600)
    p.stop()


# --- notifier ------------------------------------------------------------------------------


class _Sender:
    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.sent: list[Notification] = []

    def send(self, n: Notification) -> int:
        self.sent.append(n)
        if self.fail:
            raise NotifyError("The name org.freedesktop.Notifications was not provided")
        return 7


N = Notification("Budget alert", "80 % used", "normal", "threshold")


def test_freedesktop_first(qtbot: QtBot, runner: TaskRunner) -> None:
    sender = _Sender(fail=False)
    n = Notifier(runner, lambda: None, freedesktop=sender, use_freedesktop=True)  # type: ignore[arg-type]
    with qtbot.waitSignal(n.delivered, timeout=5000) as blocker:
        n.notify(N)
    assert blocker.args[0].channel == FREEDESKTOP
    assert sender.sent == [N]


def test_falls_back_to_banner_without_bus_or_tray(qtbot: QtBot, runner: TaskRunner) -> None:
    sender = _Sender(fail=True)
    n = Notifier(runner, lambda: None, freedesktop=sender, use_freedesktop=True)  # type: ignore[arg-type]
    with qtbot.waitSignals([n.banner_requested, n.delivered], timeout=5000):
        n.notify(N)
    d = n.history[-1]
    assert d.channel == BANNER
    assert d.fallback_reason is not None and "org.freedesktop.Notifications" in d.fallback_reason


def test_falls_back_to_tray_balloon(qtbot: QtBot, runner: TaskRunner,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    tray = QSystemTrayIcon()
    tray.show()
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(tray, "showMessage", lambda title, body, *_a: shown.append((title, body)))
    n = Notifier(runner, lambda: tray, freedesktop=_Sender(fail=True),  # type: ignore[arg-type]
                 use_freedesktop=True)
    with qtbot.waitSignal(n.delivered, timeout=5000) as blocker:
        n.notify(N)
    assert blocker.args[0].channel == TRAY
    assert shown == [("Budget alert", "80 % used")]
    tray.hide()
