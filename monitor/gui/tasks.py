"""TaskRunner: run blocking work on a thread pool and hand the result back on the GUI thread.

The pool is given a plain Python callable, not a QRunnable subclass: PySide6 (6.11) keeps
the Python wrapper of about a third of the QRunnable subclasses started on a QThreadPool
referenced from the pool's wrapper after auto-delete destroyed their C++ side, and with it
the task's function, channel and callbacks: ~2 KB a task, for good. The tray app runs a few
tasks a second under proxy traffic (issue 21). tests/gui/test_tasks.py counts what is left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

log = logging.getLogger(__name__)


class _Channel(QObject):
    """Carries one task's outcome to the GUI thread (queued: emitted from a worker thread).

    Signals:
        finished(object): the value `fn` returned.
        failed(object): the exception `fn` raised.
    """

    finished = Signal(object)
    failed = Signal(object)


def _job(fn: Callable[[], Any], channel: _Channel) -> Callable[[], None]:
    """What a pool thread runs: `fn`, its outcome emitted on `channel` (never lost there)."""

    def run() -> None:
        try:
            value = fn()
        except BaseException as exc:  # delivered to on_error; never lost on a worker thread
            channel.failed.emit(exc)
        else:
            channel.finished.emit(value)

    return run


class TaskRunner(QObject):
    """Runs `fn` off the GUI thread; `on_done`/`on_error` run on the GUI thread.

    Never touch a widget inside `fn`. Keeps a reference to every running task's channel
    so its signals are not garbage-collected mid-flight.
    """

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._channels: set[_Channel] = set()

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        channel = _Channel(self)  # lives on the GUI thread, so its slots run there
        self._channels.add(channel)

        def done(value: object) -> None:
            self._forget(channel)
            if on_done is not None:
                on_done(value)

        def failed(exc: object) -> None:
            self._forget(channel)
            assert isinstance(exc, BaseException)
            if on_error is not None:
                on_error(exc)
            else:
                log.error("background task failed", exc_info=exc)

        channel.finished.connect(done)
        channel.failed.connect(failed)
        self._pool.start(_job(fn, channel))

    def _forget(self, channel: _Channel) -> None:
        self._channels.discard(channel)
        channel.deleteLater()

    @property
    def active(self) -> int:
        return len(self._channels)

    def wait(self, msecs: int = 5000) -> bool:
        """Block until all tasks finish (for shutdown and tests)."""
        return self._pool.waitForDone(msecs)


class Busy:
    """Counts an owner's tasks in flight (tests wait for `count == 0`) around TaskRunner.run."""

    def __init__(self, runner: TaskRunner) -> None:
        self._runner = runner
        self.count = 0

    def run(self, fn: Callable[[], Any], on_done: Callable[[Any], None],
            on_error: Callable[[BaseException], None]) -> None:
        self.count += 1

        def done(value: Any) -> None:
            self.count -= 1
            on_done(value)

        def failed(exc: BaseException) -> None:
            self.count -= 1
            on_error(exc)

        self._runner.run(fn, on_done=done, on_error=failed)
