"""The tray icon: the gauge, the one-line tooltip, and a menu rebuilt each time it opens.

All tray chores live here (style.md §16): the availability check, the menu rebuilt on
`aboutToShow`, left click opening the dashboard, re-applying the tooltip after `show()`.
The tray only emits requests; AppController decides what they do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from monitor.core.clock import Clock, system_clock
from monitor.core.settings import Settings
from monitor.gui import fmt, icon_numbers, icons, texts

if TYPE_CHECKING:
    from monitor.services.org_sync import SyncProgress
    from monitor.services.snapshot import DashboardSnapshot

PAUSE_HOUR = "1h"
PAUSE_TOMORROW = "tomorrow"
PAUSE_OFF = "off"


@dataclass(frozen=True)
class IconOptions:
    """What the icon shows (setting "Tray icon shows") and the rules that colour a number."""

    shows: str = "gauge"  # gauge | today_usd | cycle_pct
    thresholds_pct: tuple[int, ...] = (50, 80, 90, 100)
    poll_interval_s: int = 300

    @classmethod
    def from_settings(cls, s: Settings) -> IconOptions:
        return cls(s.tray_icon_shows, s.alert_thresholds_pct, s.poll_interval_s)


def look_of(snap: DashboardSnapshot | None) -> icons.GaugeLook:
    if snap is None:
        return icons.look_for(None, state="ok", has_data=False, failing=False)
    return icons.look_for(snap.cycle.fraction, state=snap.cycle.state, has_data=snap.has_data,
                          failing=snap.failing)


class TrayIcon(QObject):
    """Wraps QSystemTrayIcon; shows the latest snapshot.

    Signals:
        dashboard_requested(): left click or "Open dashboard".
        tokenizer_requested(): "Tokenizer".
        refresh_requested(): "Refresh now".
        pause_requested(str): PAUSE_HOUR, PAUSE_TOMORROW or PAUSE_OFF.
        settings_requested(): "Settings…".
        keys_requested(): "API keys…".
        quit_requested(): "Quit".
        welcome_path_requested(str): a welcome path (monitor.gui.welcome.PATH_*) from the menu.
    """

    dashboard_requested = Signal()
    tokenizer_requested = Signal()
    refresh_requested = Signal()
    pause_requested = Signal(str)
    settings_requested = Signal()
    keys_requested = Signal()
    quit_requested = Signal()
    welcome_path_requested = Signal(str)

    def __init__(self, parent: QObject | None = None, *, clock: Clock = system_clock) -> None:
        super().__init__(parent)
        self.setObjectName("tray")
        self._clock = clock
        self._snap: DashboardSnapshot | None = None
        self._paused_until: datetime | None = None
        self._look: icons.GaugeLook | icon_numbers.NumberLook | None = None
        self._options = IconOptions()
        self._painted_paused = False
        self._pause_timer = QTimer(self)  # the mark goes when the pause ends
        self._pause_timer.setObjectName("pause-end-timer")
        self._pause_timer.setSingleShot(True)
        self._pause_timer.timeout.connect(self._apply)
        self._submenus: list[QMenu] = []
        self._welcome = False
        self._progress: SyncProgress | None = None
        self.icon = QSystemTrayIcon(self)
        self.icon.setObjectName("tray-icon")
        self.menu = QMenu()
        self.menu.setObjectName("tray-menu")
        self.menu.aboutToShow.connect(self.rebuild_menu)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self._apply()
        self.rebuild_menu()

    # state -----------------------------------------------------------------------------

    @property
    def look(self) -> icons.GaugeLook:
        return look_of(self._snap)

    def show(self) -> None:
        self.icon.show()
        self.icon.setToolTip(self.tooltip_text())  # some hosts drop it before show()

    def hide(self) -> None:
        self.icon.hide()

    def set_snapshot(self, snap: DashboardSnapshot) -> None:
        self._snap = snap
        self._apply()

    def set_paused_until(self, until: datetime | None) -> None:
        self._paused_until = until
        self._pause_timer.stop()
        if until is not None:
            left_ms = (until - self._clock()).total_seconds() * 1000
            if left_ms > 0:
                self._pause_timer.start(int(min(left_ms + 1000, 2**31 - 1)))
        self._apply()

    @property
    def paused(self) -> bool:
        """Alerts are paused right now (by the injected clock)."""
        return self._paused_until is not None and self._paused_until > self._clock()

    def set_welcome(self, active: bool) -> None:
        """While nothing is set up, tooltip and menu offer the welcome panel's paths."""
        self._welcome = active
        self._apply()

    def set_progress(self, progress: SyncProgress | None) -> None:
        """A running backfill's progress on the tooltip (None: done)."""
        self._progress = progress
        self.icon.setToolTip(self.tooltip_text())

    def tooltip_text(self) -> str:
        text = texts.tooltip(self._snap)
        if self._welcome:
            text = self.tr("Token Monitor is not set up yet: click to choose what to see "
                           "(organization usage, your apps through the proxy, or token "
                           "counts).")
        if self._progress is not None:
            text += "\n" + texts.sync_progress(self._progress)
        if self.paused and self._paused_until is not None:
            text += "\n" + self.tr("Alerts paused until %1").replace(
                "%1", fmt.when_text(self._paused_until, self._clock().astimezone()))
        return text

    def set_icon_options(self, options: IconOptions) -> None:
        """Gauge or number, and the thresholds/poll interval that colour a number."""
        self._options = options
        self._apply()

    @property
    def shown_look(self) -> icons.GaugeLook | icon_numbers.NumberLook:
        """What the icon draws now: a number when the setting asks and there is one."""
        o = self._options
        number = icon_numbers.number_look(self._snap, o.shows, o.thresholds_pct,
                                          o.poll_interval_s)
        return number if number is not None else look_of(self._snap)

    def _apply(self) -> None:
        look = self.shown_look
        paused = self.paused
        if look != self._look or paused != self._painted_paused:  # repaint on a change only
            icon = (icon_numbers.number_icon(look) if isinstance(look, icon_numbers.NumberLook)
                    else icons.tray_icon(look))
            self.icon.setIcon(icons.with_pause_mark(icon) if paused else icon)
            self._look = look
            self._painted_paused = paused
        self.icon.setToolTip(self.tooltip_text())

    def current_icon(self) -> QIcon:
        return self.icon.icon()

    # menu ------------------------------------------------------------------------------

    def rebuild_menu(self) -> None:
        m = self.menu
        m.clear()
        for sub in self._submenus:  # clear() deletes actions, not submenu widgets
            sub.deleteLater()
        self._submenus = []
        snap = self._snap
        if self._welcome:
            from monitor.gui.welcome import PATH_ADMIN, PATH_PROXY, PATH_TOKENIZER

            self._info(self.tr("Not set up yet — start with:"))
            for path, text in ((PATH_ADMIN, self.tr("Read my organization's usage…")),
                               (PATH_PROXY, self.tr("Meter my apps on this machine…")),
                               (PATH_TOKENIZER, self.tr("Just count tokens…"))):
                self._action(text, f"welcome-{path}",
                             lambda _c=False, p=path: self.welcome_path_requested.emit(p))
        elif snap is None:
            self._info(self.tr("Loading usage…"))
        else:
            t = snap.today.usage
            self._info(texts.today_line(snap))
            if texts.unpriced_note(snap):
                self._info("    " + texts.unpriced_note(snap))
            self._info(
                self.tr("    input %1 · cached %2 · output %3 · reasoning %4")
                .replace("%1", fmt.tokens(t.input_tokens))
                .replace("%2", fmt.tokens(t.cached_input_tokens))
                .replace("%3", fmt.tokens(t.output_tokens))
                .replace("%4", fmt.tokens(t.reasoning_tokens))
            )
            self._info(texts.cycle_line(snap))
            self._info("    " + texts.projection(snap.cycle))
            if snap.failing:
                reason = snap.org.last_error if snap.org.failing else snap.proxy.error
                if not snap.org.failing and snap.org.key_lost:
                    reason = self.tr("no admin key for the organization sync")
                self._info(self.tr("⚠ Source failing: %1").replace("%1", reason or "?"))
            elif not snap.has_data:
                self._info(self.tr("No usage data yet"))
        if snap is not None:
            self._info(self.proxy_text(snap)).setObjectName("proxy-state")
        m.addSeparator()
        self._action(self.tr("Open dashboard"), "open-dashboard", self.dashboard_requested.emit)
        self._action(self.tr("Tokenizer"), "tokenizer", self.tokenizer_requested.emit)
        self._action(self.tr("Refresh now"), "refresh", self.refresh_requested.emit)
        pause = m.addMenu(self.tr("Pause alerts"))
        pause.setObjectName("pause-menu")
        self._submenus.append(pause)
        if self.paused and self._paused_until is not None:
            pause.setTitle(self.tr("Pause alerts (paused)"))
            paused = pause.addAction(
                self.tr("Paused until %1").replace(
                    "%1", fmt.when_text(self._paused_until, self._clock().astimezone()))
            )
            paused.setEnabled(False)
            resume = pause.addAction(self.tr("Resume alerts"))
            resume.setObjectName("pause-off")
            resume.triggered.connect(lambda: self.pause_requested.emit(PAUSE_OFF))
        hour = pause.addAction(self.tr("For 1 hour"))
        hour.setObjectName("pause-1h")
        hour.triggered.connect(lambda: self.pause_requested.emit(PAUSE_HOUR))
        tomorrow = pause.addAction(self.tr("Until tomorrow"))
        tomorrow.setObjectName("pause-tomorrow")
        tomorrow.triggered.connect(lambda: self.pause_requested.emit(PAUSE_TOMORROW))
        m.addSeparator()
        self._action(self.tr("Settings…"), "settings", self.settings_requested.emit)
        self._action(self.tr("API keys…"), "keys", self.keys_requested.emit)
        m.addSeparator()
        self._action(self.tr("Quit"), "quit", self.quit_requested.emit)

    def proxy_text(self, snap: DashboardSnapshot) -> str:
        """Whether the metering proxy is on, and where (the menu's proxy line)."""
        p = snap.proxy
        if p.error:
            return self.tr("Proxy: not running (%1)").replace("%1", p.error)
        if p.enabled and p.address:
            return self.tr("Proxy: on at %1").replace("%1", p.address)
        if p.enabled:
            return self.tr("Proxy: starting…")
        return self.tr("Proxy: off")

    def _info(self, text: str) -> QAction:
        # Enabled (readable, not greyed out); clicking a figure opens the dashboard.
        a = self.menu.addAction(text)
        a.triggered.connect(self.dashboard_requested.emit)
        return a

    def _action(self, text: str, name: str, slot: object) -> QAction:
        a = self.menu.addAction(text)
        a.setObjectName(name)
        a.triggered.connect(slot)
        return a

    def menu_texts(self) -> list[str]:
        """Every entry's text (submenus by title), for tests and the screenshot script."""
        out: list[str] = []
        for a in self.menu.actions():
            if a.isSeparator():
                continue
            out.append(a.text())
        return out

    def find_action(self, name: str) -> QAction | None:
        found = self.menu.findChild(QAction, name)
        return found if isinstance(found, QAction) else None

    # clicks ----------------------------------------------------------------------------

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.dashboard_requested.emit()

    def dispose(self) -> None:
        self.icon.hide()
        self.icon.setContextMenu(None)  # type: ignore[arg-type]
        self.menu.deleteLater()
