"""Deliver desktop notifications: freedesktop Notify, else the tray balloon, else a window banner.

The GUI's notification port. Alerts and the "Send test notification" button call
`Notifier.notify`; nothing else knows how a message reaches the user.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from monitor.gui.tasks import TaskRunner
from monitor.services.desktop_notify import (
    FreedesktopNotifier,
    Notification,
    freedesktop_available,
)

log = logging.getLogger(__name__)

FREEDESKTOP = "freedesktop"
TRAY = "tray"
BANNER = "banner"

TRAY_MESSAGE_MS = 10_000


@dataclass(frozen=True)
class Delivery:
    """How one notification reached the user (`channel`), and why earlier channels failed."""

    notification: Notification
    channel: str  # FREEDESKTOP | TRAY | BANNER
    fallback_reason: str | None = None


class Notifier(QObject):
    """Shows notifications through the best channel this desktop has.

    Order: a direct freedesktop `Notify` call over D-Bus (Linux, off the GUI thread), else
    `QSystemTrayIcon.showMessage` (the native service on macOS/Windows; a balloon on
    XEmbed trays), else an in-window banner the dashboard draws.

    Signals:
        delivered(Delivery): a notification was handed to a channel.
        banner_requested(Notification): no desktop channel worked; show it in the window.
    """

    delivered = Signal(object)
    banner_requested = Signal(object)

    def __init__(
        self,
        runner: TaskRunner,
        tray: Callable[[], QSystemTrayIcon | None],
        *,
        freedesktop: FreedesktopNotifier | None = None,
        use_freedesktop: bool | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._tray = tray
        if use_freedesktop is None:
            use_freedesktop = freedesktop_available()
        self._freedesktop = (freedesktop or FreedesktopNotifier()) if use_freedesktop else None
        self.history: list[Delivery] = []

    def notify(self, n: Notification) -> None:
        """Show `n`; returns at once (the D-Bus call runs on the task runner)."""
        if self._freedesktop is None:
            self._fallback(n, None)
            return
        sender = self._freedesktop
        self._runner.run(
            lambda: sender.send(n),
            on_done=lambda _id: self._done(Delivery(n, FREEDESKTOP)),
            on_error=lambda exc: self._fallback(n, str(exc)),
        )

    def _fallback(self, n: Notification, reason: str | None) -> None:
        if reason:
            log.info("freedesktop notification failed (%s); falling back", reason)
        tray = self._tray()
        if (
            tray is not None
            and tray.isVisible()
            and QSystemTrayIcon.isSystemTrayAvailable()
            and tray.supportsMessages()
        ):
            icon = (
                QSystemTrayIcon.MessageIcon.Critical
                if n.urgency == "critical"
                else QSystemTrayIcon.MessageIcon.Warning
                if n.kind != "test"
                else QSystemTrayIcon.MessageIcon.Information
            )
            tray.showMessage(n.title, n.body, icon, TRAY_MESSAGE_MS)
            self._done(Delivery(n, TRAY, reason))
            return
        if reason is None and not sys.platform.startswith("linux"):
            reason = "no system tray"
        self.banner_requested.emit(n)
        self._done(Delivery(n, BANNER, reason))

    def _done(self, delivery: Delivery) -> None:
        self.history.append(delivery)
        self.delivered.emit(delivery)
