"""Nothing outlives a finished task: its function, callbacks, result and the snapshots it saw.

The tray app runs a few TaskRunner tasks a second under proxy traffic (a snapshot build and an
alert evaluation per refresh); whatever a finished task leaves referenced grows the app for good
(issue 21: PySide6 kept a third of the QRunnable subclasses it had run, each holding its
function's closure, e.g. a whole DashboardSnapshot).
"""

from __future__ import annotations

import gc
import weakref

from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui.state import AppState
from monitor.gui.tasks import TaskRunner
from tests.gui.conftest import NOW, seed_spend

TASKS = 300


class _Payload:
    """Something a task's function, callback or result holds (weak-referenceable)."""


def _alive(refs: weakref.WeakSet[_Payload]) -> int:
    gc.collect()
    return len(refs)


def test_finished_tasks_leave_nothing_referenced(qtbot: QtBot, runner: TaskRunner) -> None:
    refs: weakref.WeakSet[_Payload] = weakref.WeakSet()
    outcomes: list[str] = []

    def fail(arg: _Payload) -> _Payload:
        raise ValueError("expected")

    def start(i: int) -> None:  # its locals go when it returns: only the task holds them
        arg, result, seen = _Payload(), _Payload(), _Payload()
        refs.update((arg, result, seen))
        if i % 10 == 0:  # a few fail: on_error's path must not keep them either
            runner.run(lambda: fail(arg),
                       on_error=lambda _e: outcomes.append(f"failed {id(seen)}"))
        else:
            runner.run(lambda: (arg, result)[1],
                       on_done=lambda v: outcomes.append(f"done {id(v)} {id(seen)}"))

    for i in range(TASKS):
        start(i)
    qtbot.waitUntil(lambda: len(outcomes) == TASKS, timeout=30_000)
    assert sum(o.startswith("failed") for o in outcomes) == TASKS // 10
    assert runner.wait(5000) and runner.active == 0
    # The channels go with deleteLater (the next turns of the event loop), then nothing is left.
    qtbot.waitUntil(lambda: _alive(refs) == 0, timeout=5000)


def test_refreshes_keep_only_the_current_snapshot(qtbot: QtBot, utc_ctx: AppContext,
                                                   runner: TaskRunner) -> None:
    """Each refresh builds a snapshot and evaluates alerts on it (two tasks); after many,
    only the snapshot on show (and at most one in flight) is alive."""
    from monitor.services.snapshot import DashboardSnapshot

    seed_spend(utc_ctx, "3.00", "20.00")
    state = AppState(utc_ctx, runner, clock=lambda: NOW)
    shown: list[weakref.ref[DashboardSnapshot]] = []  # this state's only: other tests' may linger
    state.snapshot_changed.connect(lambda snap: shown.append(weakref.ref(snap)))
    refreshes = 60
    for _ in range(refreshes):
        with qtbot.waitSignal(state.snapshot_changed, timeout=10_000):
            state.refresh()
        qtbot.waitUntil(lambda: not state.busy, timeout=10_000)
    assert state.alerts_evaluated >= refreshes and len(shown) == refreshes

    def snapshots() -> int:
        gc.collect()
        return sum(ref() is not None for ref in shown)

    qtbot.waitUntil(lambda: snapshots() <= 2, timeout=5000)
    assert state.snapshot is not None


def test_refreshes_faster_than_builds_run_one_build_at_a_time(
        qtbot: QtBot, utc_ctx: AppContext, runner: TaskRunner) -> None:
    """Refreshes asked while a build runs wait as one: builds never queue up (under traffic a
    refresh comes every quarter second; a slow build must not pile more behind it), and the
    snapshot shown last was built after the last refresh was asked."""
    import threading

    from monitor.gui.state import default_builder

    gate = threading.Event()
    started: list[int] = []
    running = [0]
    most = [0]

    def slow_builder(ctx: AppContext, runtime: object, now: object) -> object:
        running[0] += 1
        most[0] = max(most[0], running[0])
        started.append(len(started))
        gate.wait(10)
        try:
            return default_builder(ctx, runtime, now)  # type: ignore[arg-type]
        finally:
            running[0] -= 1

    seed_spend(utc_ctx, "3.00", "20.00")
    state = AppState(utc_ctx, runner, clock=lambda: NOW, builder=slow_builder)  # type: ignore[arg-type]
    for _ in range(50):
        state.refresh()
    qtbot.waitUntil(lambda: len(started) == 1, timeout=5000)
    qtbot.wait(100)
    assert len(started) == 1 and runner.active == 1  # 49 refreshes wait as one
    with qtbot.waitSignal(state.snapshot_changed, timeout=20_000):
        gate.set()
    qtbot.waitUntil(lambda: not state.busy, timeout=10_000)
    assert len(started) == 2 and most[0] == 1  # the waiting one ran, alone
    assert state.snapshot is not None
