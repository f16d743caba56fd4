"""Background polling of the organization sync, and the embedded metering proxy.

`Poller` runs one sync at a time on the TaskRunner at the poll interval, on "Refresh now",
and after a resume from sleep (a jump of the wall clock against the monotonic clock).
`ProxyHost` starts/stops the MeteringProxy on its own thread and turns each record it
writes into a queued Qt signal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from monitor.core.clock import Clock, system_clock
from monitor.errors import KnownError
from monitor.gui.tasks import TaskRunner

if TYPE_CHECKING:
    from monitor.core.records import ProxyRecord

log = logging.getLogger(__name__)

WAKE_CHECK_INTERVAL_MS = 30 * 1000  # how often the clocks are compared
WAKE_GAP_THRESHOLD_S = 90.0  # wall clock ran this much ahead of monotonic: we slept
FAILURE_RETRY_MS = 60 * 1000  # after a failure, try again sooner than the poll interval


@dataclass(frozen=True)
class PollResult:
    """The outcome of one sync pass."""

    generation: int
    started_at: datetime
    finished_at: datetime
    ok: bool
    error: str | None = None
    error_kind: str | None = None  # exception class name (e.g. InvalidKeyError)
    reason: str = "timer"  # "timer" | "manual" | "wake" | "start"
    value: object = None  # what the sync function returned


class SyncFn(Protocol):
    def __call__(self) -> object: ...


class Poller(QObject):
    """Schedules org syncs; never runs two at once.

    Args:
        runner: where the blocking sync runs.
        sync: performs one sync pass (blocking; raises on failure).
        can_sync: whether a sync is possible now (an admin key is available).
        interval_s: the poll interval.

    Signals:
        poll_started(str): a sync pass began; carries the reason.
        poll_finished(PollResult): a sync pass ended (ok or failed).
        schedule_changed(): `next_poll_at` changed.
    """

    poll_started = Signal(str)
    poll_finished = Signal(object)
    schedule_changed = Signal()

    def __init__(
        self,
        runner: TaskRunner,
        sync: SyncFn,
        can_sync: Callable[[], bool],
        interval_s: int,
        parent: QObject | None = None,
        *,
        clock: Clock = system_clock,
        mono_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("poller")
        self._runner = runner
        self._sync = sync
        self._can_sync = can_sync
        self._interval_ms = interval_s * 1000
        self._clock = clock
        self._wall: Callable[[], float] = lambda: clock().timestamp()
        self._mono = mono_clock
        self._generation = 0
        self._running = False
        self._pending: str | None = None
        self._stopped = True
        self.next_poll_at: datetime | None = None
        self.last_result: PollResult | None = None

        self._timer = QTimer(self)
        self._timer.setObjectName("poll-timer")
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(lambda: self.poll_now("timer"))

        self._wake_timer = QTimer(self)
        self._wake_timer.setObjectName("wake-check-timer")
        self._wake_timer.setInterval(WAKE_CHECK_INTERVAL_MS)
        self._wake_timer.timeout.connect(self.check_wake)
        self._last_wall = self._wall()
        self._last_mono = self._mono()

    @property
    def running(self) -> bool:
        return self._running

    @property
    def generation(self) -> int:
        return self._generation

    def start(self, poll_at_once: bool = True) -> None:
        self._stopped = False
        self._last_wall, self._last_mono = self._wall(), self._mono()
        self._wake_timer.start()
        if poll_at_once:
            self.poll_now("start")
        else:
            self._schedule(self._interval_ms)

    def stop(self) -> None:
        """No more polls; a pass in flight finishes but its result is dropped."""
        self._stopped = True
        self._generation += 1
        self._timer.stop()
        self._wake_timer.stop()
        self.next_poll_at = None

    def set_interval(self, interval_s: int) -> None:
        """A new interval counts from now; the same one changes nothing (settings that
        changed elsewhere, or another field, must not push the next poll back)."""
        if interval_s * 1000 == self._interval_ms:
            return
        self._interval_ms = interval_s * 1000
        if not self._stopped and not self._running:
            self._schedule(self._interval_ms)

    def poll_now(self, reason: str = "manual") -> None:
        """Sync now; if a pass is running, run one more right after it."""
        if self._stopped:
            return
        if self._running:
            self._pending = reason
            return
        if not self._can_sync():
            self._schedule(self._interval_ms)
            return
        self._running = True
        self._timer.stop()
        self.next_poll_at = None
        self._generation += 1
        gen = self._generation
        started = self._clock()
        self.poll_started.emit(reason)
        self.schedule_changed.emit()
        sync = self._sync
        self._runner.run(
            sync,
            on_done=lambda v: self._finished(PollResult(gen, started, self._clock(), True,
                                                        reason=reason, value=v)),
            on_error=lambda exc: self._finished(PollResult(
                gen, started, self._clock(), False, _error_text(exc), type(exc).__name__,
                reason,
            )),
        )

    def _finished(self, result: PollResult) -> None:
        self._running = False
        if result.generation != self._generation or self._stopped:
            log.debug("dropping stale poll result (generation %d)", result.generation)
            return
        self.last_result = result
        pending, self._pending = self._pending, None
        if pending is None:
            # Schedule first, so listeners of poll_finished see the next poll time.
            delay = self._interval_ms if result.ok else min(self._interval_ms, FAILURE_RETRY_MS)
            self._schedule(delay)
        self.poll_finished.emit(result)
        if pending is not None:
            self.poll_now(pending)

    def _schedule(self, delay_ms: int) -> None:
        if self._stopped:
            return
        self._timer.start(delay_ms)
        self.next_poll_at = self._clock() + timedelta(milliseconds=delay_ms)
        self.schedule_changed.emit()

    def check_wake(self) -> bool:
        """Poll if the wall clock jumped ahead of the monotonic clock (suspend/resume)."""
        wall, mono = self._wall(), self._mono()
        gap = (wall - self._last_wall) - (mono - self._last_mono)
        self._last_wall, self._last_mono = wall, mono
        if gap > WAKE_GAP_THRESHOLD_S:
            log.info("clock gap of %.0f s: resumed from sleep, polling", gap)
            self.poll_now("wake")
            return True
        return False


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, KnownError):
        return exc.text()
    return f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------------------------


class ProxyHost(QObject):
    """Runs the metering proxy inside the app (its own event-loop thread).

    Args:
        runner: where the blocking start/stop calls run.
        factory: builds a MeteringProxy (`on_record` is passed in).

    Signals:
        record_added(ProxyRecord): the proxy stored a record (queued from its writer thread).
        started(str): listening; carries the base URL.
        stopped(): stopped.
        failed(str): could not start (e.g. the port is taken).
    """

    record_added = Signal(object)
    started = Signal(str)
    stopped = Signal()
    failed = Signal(str)

    def __init__(
        self,
        runner: TaskRunner,
        factory: Callable[[Callable[[ProxyRecord], None]], Any],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("proxy-host")
        self._runner = runner
        self._factory = factory
        self._proxy: Any = None
        self.url: str | None = None
        self.error: str | None = None
        self.notice: str | None = None  # running, but a configured exporter is off (why)
        self._generation = 0

    @property
    def active(self) -> bool:
        return self._proxy is not None

    def settings_changed(self) -> None:
        """The settings in force changed: the running proxy's caps re-read them at once
        (not at their next refresh; its /metrics reads them per scrape)."""
        gate = getattr(self._proxy, "gate", None)
        refresh = getattr(gate, "refresh_soon", None)
        if callable(refresh):
            refresh()

    def _on_record(self, rec: ProxyRecord) -> None:
        # Called on the proxy's writer thread: emitting crosses to the GUI thread (queued).
        self.record_added.emit(rec)

    def start(self) -> None:
        if self._proxy is not None:
            return
        self._generation += 1
        gen = self._generation
        self.error = None
        try:
            proxy = self._factory(self._on_record)
        except KnownError as exc:
            self._failed(gen, exc)
            return
        self._proxy = proxy

        def done(url: object) -> None:
            if gen != self._generation:
                return
            self.url = str(url)
            self.notice = " ".join(getattr(proxy, "notices", ())) or None
            self.started.emit(self.url)

        self._runner.run(proxy.start_in_thread, on_done=done,
                         on_error=lambda exc: self._failed(gen, exc))

    def _failed(self, gen: int, exc: BaseException) -> None:
        if gen != self._generation:
            return
        self._proxy = None
        self.url = None
        self.error = _error_text(exc)
        log.warning("proxy failed to start: %s", self.error)
        self.failed.emit(self.error)

    def stop(self, wait: bool = False) -> None:
        proxy, self._proxy = self._proxy, None
        self._generation += 1
        self.url = None
        if proxy is None:
            return
        if wait:
            proxy.stop()
            self.stopped.emit()
        else:
            self._runner.run(proxy.stop, on_done=lambda _v: self.stopped.emit())
