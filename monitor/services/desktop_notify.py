"""Send a desktop notification straight to org.freedesktop.Notifications over D-Bus (jeepney).

Qt-free. QtDBus cannot marshal Notify's uint32 `replaces_id` (platform-notes.md §3), so the
call is made with jeepney, a pure-Python D-Bus client keyring already depends on on Linux.
Blocking (a few ms with a daemon); run it off the GUI thread.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from monitor.errors import KnownError

APP_NAME = "Token Monitor"
URGENCY = {"low": 0, "normal": 1, "critical": 2}


class NotifyError(KnownError):
    """The notification service could not be reached or refused the call."""


@dataclass(frozen=True)
class Notification:
    """One desktop notification: what it says and how urgent it is."""

    title: str
    body: str
    urgency: str = "normal"  # "low" | "normal" | "critical"
    kind: str = "info"  # the alert kind that produced it (for tests and logs)


def freedesktop_available() -> bool:
    """True when a session bus is configured (Linux/BSD desktops); says nothing about a daemon."""
    return sys.platform.startswith(("linux", "freebsd", "openbsd")) and bool(
        os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    )


class FreedesktopNotifier:
    """Calls `Notify` on the session bus; `send` returns the server's notification id.

    Args:
        app_name: shown by the notification server as the sender.
        timeout_s: how long to wait for the bus and the server's reply.
        expire_ms: how long the server should show it (-1: server default).
    """

    def __init__(
        self, app_name: str = APP_NAME, timeout_s: float = 3.0, expire_ms: int = 10_000
    ) -> None:
        self._app_name = app_name
        self._timeout_s = timeout_s
        self._expire_ms = expire_ms

    def send(self, n: Notification) -> int:
        try:
            from jeepney import DBusAddress, new_method_call
            from jeepney.io.blocking import open_dbus_connection
            from jeepney.wrappers import DBusErrorResponse, unwrap_msg
        except ImportError as exc:  # not on Linux, or jeepney missing
            raise NotifyError(f"no D-Bus client available ({exc})") from None
        address = DBusAddress(
            "/org/freedesktop/Notifications",
            bus_name="org.freedesktop.Notifications",
            interface="org.freedesktop.Notifications",
        )
        hints: dict[str, tuple[str, Any]] = {
            "urgency": ("y", URGENCY.get(n.urgency, 1)),
            "desktop-entry": ("s", "token-monitor"),
        }
        msg = new_method_call(
            address,
            "Notify",
            "susssasa{sv}i",
            (self._app_name, 0, "dialog-information", n.title, n.body, [], hints,
             self._expire_ms),
        )
        try:
            with open_dbus_connection(bus="SESSION", auth_timeout=self._timeout_s) as conn:
                reply = conn.send_and_get_reply(msg, timeout=self._timeout_s)
                body = unwrap_msg(reply)
        except DBusErrorResponse as exc:
            raise NotifyError(f"the notification service refused the call: {exc.name}") from None
        except (OSError, KeyError, ValueError, TimeoutError) as exc:
            raise NotifyError(f"no session bus or notification service ({exc})") from None
        try:
            return int(body[0])
        except (IndexError, TypeError, ValueError):
            return 0
