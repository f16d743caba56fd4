"""Leaving the event loop on Ctrl+C, SIGTERM or Quit, and the one crash path.

`quit_event_loop` leaves run_app's loop whatever windows are open; `SignalWakeup` lets Python
run a signal handler as soon as the signal arrives; `install_excepthook` logs an uncaught
exception and (unless told not to) shows a dialog.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, QSocketNotifier
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger(__name__)

_main_loop_running = False  # run_app's app.exec() is on the stack


def quit_event_loop(code: int = 0) -> None:
    """Leave run_app's event loop now, whatever windows are open (no-op outside it).

    Not `app.quit()`: in Qt 6 that first sends every visible window a close event, and the
    dashboard ignores it (closing hides to the tray), which cancels the quit — Ctrl+C or
    the tray's Quit would only hide the window. Only while run_app's loop runs: outside it
    `exit()` would make every later local event loop return at once (Qt's quitNow flag).
    """
    if _main_loop_running:
        QApplication.exit(code)


@contextlib.contextmanager
def main_loop() -> Iterator[None]:
    """Marks run_app's `app.exec()` as running, for `quit_event_loop`."""
    global _main_loop_running
    _main_loop_running = True
    try:
        yield
    finally:
        _main_loop_running = False


@contextlib.contextmanager
def quit_on_signals(parent: QObject) -> Iterator[None]:
    """Ctrl+C (and SIGTERM from a session manager) quit cleanly.

    Python runs signal handlers only between bytecodes; the wake-up socket makes Qt's loop
    run a bit of Python as soon as a signal arrives (no polling timer: the app sleeps
    between polls).
    """
    wakeup = SignalWakeup(parent)
    previous = signal.signal(signal.SIGINT, lambda *_a: quit_event_loop())
    previous_term = signal.signal(signal.SIGTERM, lambda *_a: quit_event_loop())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)
        wakeup.close()


class SignalWakeup(QObject):
    """Wakes Qt's event loop when a signal arrives, so Python runs its handler at once.

    `signal.set_wakeup_fd` makes the C-level handler write a byte to a pipe (a socket pair on
    Windows); a QSocketNotifier on the other end runs a (Python) slot, and Python runs pending
    signal handlers before that slot's bytecode. Replaces a 250 ms no-op timer that woke the
    idle app four times a second.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if os.name == "posix":
            self._read_fd, self._write_fd = os.pipe()
            self._sockets: tuple[Any, ...] = ()
        else:  # set_wakeup_fd takes only sockets there (Windows: the only use of socket)
            import socket

            self._sockets = socket.socketpair()
            self._read_fd, self._write_fd = (s.fileno() for s in self._sockets)
        for fd in (self._read_fd, self._write_fd):
            os.set_blocking(fd, False)
        self._previous = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        self._notifier = QSocketNotifier(self._read_fd, QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)

    def _drain(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self._read_fd, 512) if not self._sockets else \
                    self._sockets[0].recv(512):
                pass

    def close(self) -> None:
        signal.set_wakeup_fd(self._previous)
        self._notifier.setEnabled(False)
        if self._sockets:
            for sock in self._sockets:
                sock.close()
        else:
            os.close(self._read_fd)
            os.close(self._write_fd)


def install_excepthook(no_err_windows: bool) -> None:
    """One crash path: log at CRITICAL with the traceback, then (optionally) a dialog."""

    def hook(exc_type: type[BaseException], exc: BaseException,
             tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        log.critical("uncaught exception:\n%s", text)
        if not no_err_windows and QApplication.instance() is not None:
            QMessageBox.critical(
                None, "Token Monitor",
                QApplication.translate("app", "Something went wrong inside Token Monitor. "
                                       "The details are in the log file; please report this.")
                + f"\n\n{exc_type.__name__}: {exc}")

    sys.excepthook = hook
