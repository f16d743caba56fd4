"""AppState: the one object views observe. Builds snapshots and evaluates alerts off-thread.

Snapshots are computed on the TaskRunner from the store (`services.snapshot_build.build_snapshot`);
a generation number drops results that a newer request superseded. Alerts are evaluated
after a snapshot is accepted, one evaluation at a time, so an alert is never recorded for a
snapshot that was thrown away.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from monitor.context import AppContext
from monitor.core.clock import Clock
from monitor.core.settings import Settings
from monitor.gui.tasks import TaskRunner

if TYPE_CHECKING:  # loaded on first use: after the window's first frame (see AppController)
    from monitor.services.alerting import Alert, AlertEngine
    from monitor.services.snapshot import DashboardSnapshot, RuntimeStatus

log = logging.getLogger(__name__)
# A busy app shows a finished snapshot even when a newer one was asked, once the one on screen
# is this old (seconds): builds slower than the refresh rate must not starve the display.
STALE_SHOWN_S = 2.0

SnapshotBuilder = Callable[["AppContext", "RuntimeStatus", datetime], "DashboardSnapshot"]


def default_builder(ctx: AppContext, runtime: RuntimeStatus, now: datetime) -> DashboardSnapshot:
    from monitor.services.snapshot_build import build_snapshot

    return build_snapshot(ctx.store(), ctx.prices(), ctx.settings, runtime, now,
                          prices_override=str(ctx.paths.prices_override))


@dataclass(frozen=True)
class SourceFailure:
    """A source stopped working: which one, why (safe to show), and when."""

    source: str  # "org" | "proxy"
    message: str
    at: datetime


class AppState(QObject):
    """The latest snapshot, runtime status of the sources, and alert evaluation.

    Signals:
        snapshot_changed(DashboardSnapshot): a newer snapshot is ready.
        source_failed(SourceFailure): the org sync or the proxy failed.
        settings_changed(Settings): new settings are in force (saved, or the file changed).
        alerts_fired(tuple[Alert, ...]): alerts to deliver (already recorded as fired).
        paused_changed(object): alerts paused until a datetime, or None when resumed.
    """

    snapshot_changed = Signal(object)
    source_failed = Signal(object)
    settings_changed = Signal(object)
    alerts_fired = Signal(object)
    paused_changed = Signal(object)

    def __init__(
        self,
        ctx: AppContext,
        runner: TaskRunner,
        parent: QObject | None = None,
        *,
        builder: SnapshotBuilder | None = None,
        alerts: AlertEngine | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("app-state")
        self.ctx = ctx
        self._runner = runner
        self._builder: SnapshotBuilder = builder or default_builder
        self._clock: Clock = clock or ctx.clock
        self._alerts = alerts
        self._runtime: RuntimeStatus | None = None
        self._proxy_enabled_at_start = ctx.settings.proxy_enabled
        self.snapshot: DashboardSnapshot | None = None
        self.sync_error_kind: str | None = None
        # The label of the admin key the latest sync pass used (set by the controller), so a
        # key alert names the key that failed; None: look it up as sync would.
        self.sync_key_label: str | None = None
        self._generation = 0
        self._building = 0  # builds running: 0 or 1 (see refresh)
        self._refresh_pending = False
        self._shown_at = time.monotonic()
        self._alerts_running = False
        self._alerts_pending: DashboardSnapshot | None = None
        self.alerts_evaluated = 0  # count of finished evaluations (tests wait on it)

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def alerts(self) -> AlertEngine:
        """The alert engine, made on first use (its module and the pause file are not
        needed for the first frame)."""
        if self._alerts is None:
            from monitor.services.alerting import AlertEngine

            self._alerts = AlertEngine(self.ctx.store, self.ctx.paths.state_file)
        return self._alerts

    @property
    def runtime(self) -> RuntimeStatus:
        """What the app knows about its sources (syncing, next sync, proxy)."""
        if self._runtime is None:
            from monitor.services.snapshot import RuntimeStatus

            self._runtime = RuntimeStatus(proxy_enabled=self._proxy_enabled_at_start)
        return self._runtime

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def busy(self) -> bool:
        return self._building > 0 or self._alerts_running

    # snapshots --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Build a new snapshot off the GUI thread; only the newest request is shown.

        At most one build runs and one waits (a bound: under traffic a refresh is asked every
        quarter second, and a build that takes longer must not queue more builds behind it).
        A build that finishes while another was asked meanwhile is dropped, unless the shown
        snapshot is older than STALE_SHOWN_S, so a busy app still updates."""
        if self._building:
            self._refresh_pending = True
            return
        self._start_build()

    def _start_build(self) -> None:
        self._refresh_pending = False
        self._generation += 1
        gen = self._generation
        ctx, runtime, now, builder = self.ctx, self.runtime, self._clock(), self._builder
        self._building += 1

        def next_or_drop() -> bool:
            """Start the waiting build, if any; True when this result is to be dropped."""
            self._building -= 1
            if not self._refresh_pending:
                return False
            shown_long_ago = time.monotonic() - self._shown_at > STALE_SHOWN_S
            self._start_build()
            return not shown_long_ago

        def done(value: object) -> None:
            if next_or_drop():
                log.debug("dropping snapshot %d: a newer one was asked (%d)", gen,
                          self._generation)
                return
            from monitor.services.snapshot import DashboardSnapshot

            assert isinstance(value, DashboardSnapshot)
            self._shown_at = time.monotonic()
            self.snapshot = value
            self.snapshot_changed.emit(value)
            self._evaluate_alerts(value)

        def failed(exc: BaseException) -> None:
            next_or_drop()
            log.error("building the dashboard snapshot failed", exc_info=exc)

        self._runner.run(lambda: builder(ctx, runtime, now), on_done=done, on_error=failed)

    def update_runtime(self, **changes: object) -> None:
        """Change what the app knows about its sources (syncing, next sync, proxy) and refresh."""
        self._runtime = dataclasses.replace(self.runtime, **changes)  # type: ignore[arg-type]
        self.refresh()

    def report_failure(self, source: str, message: str, kind: str | None = None) -> None:
        if source == "org":
            self.sync_error_kind = kind
        self.source_failed.emit(SourceFailure(source, message, self._clock()))

    # settings ---------------------------------------------------------------------------

    def apply_settings(self, new: Settings, *, before: Settings | None = None) -> None:
        """Save the fields where `new` differs from `before` (what the user was shown;
        default: the settings in use) onto the file as it is now, and run on the result
        (the caller runs this on the GUI thread: a small atomic file write)."""
        self.settings_reloaded(self.ctx.save_settings(new, before=before))

    def settings_reloaded(self, new: Settings) -> None:
        """`new` is in force now (saved here, or read back from a changed file): tell the
        views and the sources, and show figures made with it."""
        self.settings_changed.emit(new)
        self.refresh()

    # alerts -----------------------------------------------------------------------------

    def pause_alerts(self, until: datetime | None) -> None:
        self.alerts.pause(until)
        self.paused_changed.emit(until)
        if until is None and self.snapshot is not None:
            self._evaluate_alerts(self.snapshot)

    def _evaluate_alerts(self, snap: DashboardSnapshot) -> None:
        if self._alerts_running:
            self._alerts_pending = snap
            return
        if snap.budget is None:
            return
        self._alerts_running = True
        engine, ctx = self.alerts, self.ctx
        settings = ctx.settings
        error_kind = self.sync_error_kind if snap.org.failing else None
        now = self._clock()
        budget = snap.budget
        used_label = self.sync_key_label

        def op() -> list[Alert]:
            from monitor.services.alerting import context_for

            return engine.evaluate(snap, context_for(
                budget, settings, usage=ctx.store(), keys=ctx.keys,
                state_file=ctx.paths.state_file, now=now, sync_error_kind=error_kind,
                sync_key_label=used_label), now)

        def done(value: object) -> None:
            self._alerts_running = False
            self.alerts_evaluated += 1
            assert isinstance(value, list)
            if value:
                self.alerts_fired.emit(tuple(value))
            self._next_alerts()

        def failed(exc: BaseException) -> None:
            self._alerts_running = False
            self.alerts_evaluated += 1
            log.error("alert evaluation failed", exc_info=exc)
            self._next_alerts()

        self._runner.run(op, on_done=done, on_error=failed)

    def _next_alerts(self) -> None:
        pending, self._alerts_pending = self._alerts_pending, None
        if pending is not None:
            self._evaluate_alerts(pending)
