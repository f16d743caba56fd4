"""The welcome panel's flow: when it shows on a first start, what its paths do, when it goes.

Decided on the first snapshot (no key, no data, not dismissed); it stays until dismissed or
its "paste these" lines are copied, not until data comes. The controller hands it what it
needs through `WelcomeHost` (the window, tray and proxy it owns, and three actions).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject

from monitor.context import AppContext
from monitor.core.settings import Settings
from monitor.errors import KnownError
from monitor.gui.dashboard.window import DashboardWindow
from monitor.gui.poller import ProxyHost
from monitor.gui.welcome import (
    PATH_ADMIN,
    PATH_DESKTOP,
    PATH_PROXY,
    PATH_TOKENIZER,
    admin_keys_link,
    proxy_lines,
    welcome_due,
)
from monitor.gui.window_state import load_pref, save_pref
from monitor.services.desktop_notify import Notification

if TYPE_CHECKING:
    from monitor.gui.tray import TrayIcon
    from monitor.services.snapshot import DashboardSnapshot

WELCOME_DISMISSED_PREF = "welcome_dismissed"


class WelcomeHost(Protocol):
    """What the flow uses of the app controller (AppController satisfies it)."""

    ctx: AppContext
    window: DashboardWindow
    tray: TrayIcon | None
    proxy: ProxyHost

    def show_dashboard(self) -> None: ...

    def open_keys(self, kind: str | None = None, intro: str | None = None) -> None: ...

    def apply_settings(self, new: Settings, *, before: Settings | None = None) -> None: ...


class WelcomeFlow(QObject):
    """The welcome panel's state on the dashboard and the tray, and its paths' targets."""

    def __init__(self, host: WelcomeHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome-flow")
        self.host = host
        self.active = False
        self._decided = False
        self.dismissed = load_pref(host.ctx.paths.state_file, WELCOME_DISMISSED_PREF) is True
        # Hook for other features (e.g. virtual keys): given the proxy's base URL, each
        # provider may return one more line for the welcome panel's "paste these" box.
        self.line_providers: list[Callable[[str], str | None]] = []

    def _has_key(self) -> bool:
        if (os.environ.get("OPENAI_ADMIN_KEY") or "").strip():
            return True
        try:
            return bool(self.host.ctx.keys().list())  # the metadata file only, no keyring call
        except KnownError:
            return False

    def update(self, snap: DashboardSnapshot) -> None:
        """Follow a new snapshot: decide on the first one, then keep or drop the panel."""
        host = self.host
        if not self._decided:
            self._decided = True
            active = welcome_due(snap, has_key=self._has_key(), dismissed=self.dismissed)
            first_start = active and host.tray is not None
        else:  # it stays until dismissed or its lines are copied, not until data comes
            active = self.active and not host.window.welcome.done(snap)
            first_start = False
        if active != self.active:
            self._set_active(active)
        if active:
            host.window.welcome.show_setup(snap, has_key=self._has_key())
        if first_start:  # not only a grey icon: the window opens on the welcome panel
            host.show_dashboard()

    def _set_active(self, active: bool) -> None:
        host = self.host
        self.active = active
        host.window.set_welcome(active)
        if host.tray is not None:
            host.tray.set_welcome(active)
        if active and host.proxy.url:
            self.show_proxy_lines(host.proxy.url)

    def dismiss(self) -> None:
        """The user closed the welcome panel: not shown again at start-up."""
        self.dismissed = True
        save_pref(self.host.ctx.paths.state_file, WELCOME_DISMISSED_PREF, True)
        self._set_active(False)

    def follow_path(self, path: str) -> None:
        """One click from the welcome panel (or the tray's copy of it) to its target."""
        host = self.host
        if path == PATH_ADMIN:
            host.show_dashboard()
            host.open_keys(kind="admin", intro=self.tr(
                "To read your organization's usage, add an Admin key. Create one on the "
                "OpenAI platform under %1, paste it below and press Add: it is tested first, "
                "then the first sync starts.").replace("%1", admin_keys_link()))
        elif path == PATH_PROXY:
            host.show_dashboard()
            if host.proxy.url:
                self.show_proxy_lines(host.proxy.url)
            elif not host.ctx.settings.proxy_enabled:
                host.apply_settings(host.ctx.settings.replace(proxy_enabled=True))
        elif path == PATH_TOKENIZER:
            host.window.show_tokenizer()
        elif path == PATH_DESKTOP:
            self.install_desktop_entry()

    def show_proxy_lines(self, url: str) -> None:
        if not self.active:
            return
        extra = [line for p in self.line_providers if (line := p(url))]
        self.host.window.welcome.show_proxy_lines(proxy_lines(url, extra))

    def install_desktop_entry(self) -> None:
        # the menu entry's files and icons (shutil): only when the user asks for one
        from monitor.services.desktop_entry import DesktopEntryError, install

        window = self.host.window
        try:
            path = install()
        except DesktopEntryError as exc:
            window.show_banner(Notification(self.tr("Application menu"), exc.text()))
            return
        window.welcome.set_desktop_installed(True)
        window.show_banner(Notification(
            self.tr("Application menu"),
            self.tr("Token Monitor was added to the application menu (%1).")
            .replace("%1", str(path))))
