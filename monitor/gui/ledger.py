"""The tray app's ledger guard: an integrity check at start-up and a daily online backup.

At start-up it also replays proxy records a previous run left in the spool (the embedded
proxy replays while it runs; this covers a proxy that is off now).

Both run on the thread pool (a check reads every page); the result comes back as a signal.
The timer only asks "is today's backup there?" each hour; the date comes from the app's clock.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from monitor.core.clock import Clock
from monitor.gui.tasks import TaskRunner

log = logging.getLogger(__name__)

BACKUP_CHECK_MS = 60 * 60 * 1000
FIRST_BACKUP_MS = 2 * 60 * 1000


def replay_spool(db: Path, clock: Clock) -> int:
    """Store what a previous run left in the proxy-record spool (the proxy may be off now)."""
    from monitor.services.record_spool import RecordSpool, spool_path_for
    from monitor.services.store import UsageStore

    spool = RecordSpool(spool_path_for(db))
    if not spool.has_pending():
        return 0
    with UsageStore(db, clock=clock) as store:
        return spool.replay(store)


class LedgerGuard(QObject):
    """Signals:
        damaged(str): the database failed its check; the text names the file and the backup.
        backed_up(str): a backup was written (its path).
    """

    damaged = Signal(str)
    backed_up = Signal(str)

    def __init__(self, db_path: Path, clock: Clock, runner: TaskRunner,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db = db_path
        self._clock = clock
        self._runner = runner
        self._timer = QTimer(self)
        self._timer.setObjectName("ledger-backup-timer")
        self._timer.setInterval(BACKUP_CHECK_MS)
        self._timer.timeout.connect(self.backup_if_due)
        self.problem: str | None = None

    def start(self) -> None:
        """Check the database now, back it up if today's backup is missing, then hourly."""
        db, clock = self._db, self._clock

        def work() -> tuple[str | None, str | None]:
            from monitor.services.store import backup as ledger

            if not db.exists():
                return None, None
            problem = ledger.quick_check(db)
            if problem is not None:
                return ledger.damaged_message(db, problem), None
            replay_spool(db, clock)
            made = ledger.backup_if_due(db, clock)
            return None, None if made is None else str(made)

        self._runner.run(work, on_done=self._checked, on_error=self._failed)
        self._timer.start()
        # A first run creates the database only with its first snapshot: back it up soon after.
        QTimer.singleShot(FIRST_BACKUP_MS, self, self.backup_if_due)

    def stop(self) -> None:
        self._timer.stop()

    def backup_if_due(self) -> None:
        db, clock = self._db, self._clock

        def work() -> tuple[str | None, str | None]:
            from monitor.services.store import backup as ledger

            made = ledger.backup_if_due(db, clock)
            return None, None if made is None else str(made)

        self._runner.run(work, on_done=self._checked, on_error=self._failed)

    def _checked(self, value: object) -> None:
        assert isinstance(value, tuple)
        problem, made = value
        if problem is not None:
            self.problem = problem
            log.error("%s", problem)
            self.damaged.emit(problem)
        if made is not None:
            log.info("usage database backed up to %s", made)
            self.backed_up.emit(made)

    def _failed(self, exc: BaseException) -> None:
        log.warning("usage database check or backup failed: %s", exc)
