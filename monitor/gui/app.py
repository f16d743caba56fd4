"""The tray app's composition root: `run_app(ctx)` builds the services and windows and runs Qt.

`AppController` wires AppState, Poller, ProxyHost, TrayIcon, DashboardWindow and Notifier
together (explicit constructor arguments, no globals), so tests can build the whole app
without entering the event loop. Its parts live apart: the jobs and factories it runs
(app_jobs.py), the welcome flow (welcome_flow.py), Ctrl+C and the crash path
(app_signals.py) and the single-instance socket (single_instance.py).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QTimer, QTranslator
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from monitor.context import AppContext
from monitor.core.settings import Settings
from monitor.errors import KnownError
from monitor.gui import i18n
from monitor.gui.app_icon import app_icon
from monitor.gui.app_jobs import (
    NO_ADMIN_KEY,
    OrgSyncPass,
    ProgressRelay,
    make_key_tester,
    make_proxy_factory,
    make_tokenizer_factory,
    proxy_config,
)
from monitor.gui.app_signals import install_excepthook, main_loop, quit_event_loop, quit_on_signals
from monitor.gui.dashboard.window import DashboardWindow
from monitor.gui.first_start import TRAY_LINE
from monitor.gui.ledger import LedgerGuard
from monitor.gui.notifier import Notifier
from monitor.gui.poller import Poller, PollResult, ProxyHost
from monitor.gui.settings_watch import SettingsWatch
from monitor.gui.single_instance import SingleInstance
from monitor.gui.state import AppState
from monitor.gui.tasks import TaskRunner
from monitor.gui.tokenizer.compat import protect_none
from monitor.gui.welcome_flow import WelcomeFlow
from monitor.gui.window_state import remember_tab, remember_window, restore_window
from monitor.services.desktop_notify import Notification

if TYPE_CHECKING:
    from monitor.core.records import ProxyRecord
    from monitor.gui.keys_dialog import KeysDialog
    from monitor.gui.limit_prompt import LimitPrompt
    from monitor.gui.tray import TrayIcon
    from monitor.services.alerting import Alert
    from monitor.services.org_sync import SyncProgress
    from monitor.services.snapshot import DashboardSnapshot

log = logging.getLogger(__name__)

RECORD_REFRESH_DELAY_MS = 250  # proxied requests show up well within 2 s
DASHBOARD_STATE_NAME = "dashboard"
LISTEN_AFTER_MS = 200  # single-instance socket: after the first frame; a 2nd launch retries
FIRST_FRAME_AT_THE_LATEST_MS = 500  # sources start then if no paint comes (a covered window)
DASHBOARD_TAB_PREF = "dashboard_tab"


class AppController(QObject):
    """Owns every long-lived GUI object and routes their signals.

    Args:
        ctx: the app context (paths, settings, store, keys).
        tray: force tray availability (tests); None asks Qt.
        sync: the org sync pass (default: OrgSync with the stored admin key).
        proxy_factory: builds the MeteringProxy (default: from settings).
        use_freedesktop: force the D-Bus notification path on/off (None: when a bus exists).
    """

    def __init__(
        self,
        ctx: AppContext,
        *,
        tray: bool | None = None,
        sync: Callable[[], object] | None = None,
        proxy_factory: Callable[[Callable[[ProxyRecord], None]], Any] | None = None,
        use_freedesktop: bool | None = None,
        with_tokenizer: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("app-controller")
        self._shut_down = False  # set by shutdown(): late deliveries are dropped
        self.ctx = ctx
        self.runner = TaskRunner(self)
        self.state = AppState(ctx, self.runner, self, clock=ctx.clock)
        self.settings_watch = SettingsWatch(self.state, self)  # follows settings.json
        self.has_tray = QSystemTrayIcon.isSystemTrayAvailable() if tray is None else tray
        self.window = DashboardWindow(
            tokenizer_factory=make_tokenizer_factory(ctx, self.runner) if with_tokenizer
            else None)
        self.geometry_restored = restore_window(self.window, ctx.paths.state_file,
                                                DASHBOARD_STATE_NAME)
        remember_tab(self.window.tabs, ctx.paths.state_file, DASHBOARD_TAB_PREF)
        self.with_tokenizer = with_tokenizer
        self.translators: list[QTranslator] = []  # installed by run_app or set_language
        self.language = i18n.pick_language(ctx.settings.language)
        self.tray: TrayIcon | None = None
        if self.has_tray:  # the tray's module and its icon painters only where a tray shows
            from monitor.gui.tray import TrayIcon

            self.tray = TrayIcon(self, clock=ctx.clock)
        self.notifier = Notifier(
            self.runner, lambda: self.tray.icon if self.tray is not None else None,
            use_freedesktop=use_freedesktop, parent=self)
        settings = ctx.settings
        self.progress_relay = ProgressRelay(self)
        self.progress_relay.setObjectName("sync-progress-relay")
        self.sync_progress: SyncProgress | None = None  # the running backfill's, if any
        self.org_sync = sync or OrgSyncPass(ctx, on_progress=self.report_progress)
        self.poller = Poller(self.runner, self.org_sync, lambda: True,
                             settings.poll_interval_s, self, clock=ctx.clock)
        self.proxy = ProxyHost(self.runner, proxy_factory or make_proxy_factory(ctx), self)
        self._record_timer = QTimer(self)
        self._record_timer.setObjectName("record-refresh-timer")
        self._record_timer.setSingleShot(True)
        self._record_timer.setInterval(RECORD_REFRESH_DELAY_MS)
        self._record_timer.timeout.connect(self.state.refresh)
        self.quit_requested: Callable[[], None] = self._quit_app
        self._proxy_config = proxy_config(settings)
        self.ledger = LedgerGuard(ctx.paths.db_file, ctx.clock, self.runner, self)
        self.ledger.damaged.connect(self._on_ledger_damaged)
        self.welcome = WelcomeFlow(self, self)  # decided on the first snapshot
        self.limit_prompt: LimitPrompt | None = None  # made on the first snapshot with data
        self._wire()

    # wiring -----------------------------------------------------------------------------

    def _wire(self) -> None:
        st = self.state
        st.snapshot_changed.connect(self._on_snapshot)
        st.alerts_fired.connect(self.deliver_alerts)
        self.notifier.banner_requested.connect(self._show_banner)
        self._wire_window(self.window)
        if self.tray is not None:
            from monitor.gui.tray import IconOptions  # loaded: a tray is shown

            t = self.tray
            t.set_icon_options(IconOptions.from_settings(self.ctx.settings))
            st.snapshot_changed.connect(t.set_snapshot)
            st.paused_changed.connect(t.set_paused_until)
            t.dashboard_requested.connect(self.show_dashboard)
            t.tokenizer_requested.connect(lambda: self.window.show_tokenizer())
            t.refresh_requested.connect(self.refresh_now)
            t.pause_requested.connect(self.pause_alerts)
            t.settings_requested.connect(self.open_settings)
            t.keys_requested.connect(self.open_keys)
            t.welcome_path_requested.connect(self.welcome.follow_path)
            t.quit_requested.connect(lambda: self.quit_requested())
        self.poller.poll_started.connect(self._on_poll_started)
        self.poller.poll_finished.connect(self._on_poll_finished)
        self.progress_relay.progress.connect(self._on_sync_progress)
        self.proxy.record_added.connect(self._on_proxy_record)
        self.proxy.started.connect(
            lambda url: st.update_runtime(proxy_enabled=True, proxy_address=url,
                                          proxy_error=None, proxy_notice=self.proxy.notice))
        self.proxy.started.connect(self.welcome.show_proxy_lines)
        self.proxy.failed.connect(self._on_proxy_failed)
        st.settings_changed.connect(self._on_settings_changed)

    def _wire_window(self, w: DashboardWindow) -> None:
        w.refresh_requested.connect(self.refresh_now)
        w.settings_requested.connect(self.open_settings)
        w.keys_requested.connect(self.open_keys)
        w.close_requested.connect(lambda: self.quit_requested())
        w.hidden.connect(self.remember_geometry)
        w.what_if_requested.connect(
            lambda model: self.state.update_runtime(what_if_model=model or None))
        w.period_requested.connect(lambda name: self.state.update_runtime(period=name))
        w.welcome_path_requested.connect(self.welcome.follow_path)
        w.welcome_dismissed.connect(self.welcome.dismiss)

    def _on_snapshot(self, snap: DashboardSnapshot) -> None:
        if self._shut_down or not shiboken6.isValid(self.window):
            return  # a build that finished after quit (or after the window went): nothing to show
        self.window.show_snapshot(snap)
        self.welcome.update(snap)
        if snap.has_data and self.limit_prompt is None:  # asks once for the monthly limit
            from monitor.gui.limit_prompt import LimitPrompt  # the data layer: after the frame

            self.limit_prompt = LimitPrompt(self.ctx, self.runner, lambda: self.window,
                                            self.apply_settings, self.state.refresh, self)
            self.limit_prompt.on_snapshot(snap)

    def start(self, *, poll: bool = True, after_first_frame: bool = False) -> None:
        """Show the tray (or the window), take the first snapshot, start polling and the proxy.

        With `after_first_frame` (run_app) the snapshot, integrity check, poll and proxy start
        once the event loop runs and a shown dashboard has painted its first frame (at the
        latest FIRST_FRAME_AT_THE_LATEST_MS later): their imports and queries hold the GIL on
        the workers, so started earlier they slow the first frame without making the first
        figures come any sooner (the snapshot took longer than the first frame anyway).
        """
        if self.tray is not None:
            self.tray.show()
            self.window.hide_on_close = True
        else:
            self.window.hide_on_close = False
            self._set_no_tray_notice()
            self.window.show()
        if after_first_frame:
            QTimer.singleShot(0, self, lambda: self._start_after_frame(poll))
        else:
            self._start_sources(poll)

    def _start_after_frame(self, poll: bool) -> None:
        """Start the sources now, or once a dashboard shown meanwhile has painted."""
        w = self.window
        if not w.isVisible() or w.painted_once:
            self._start_sources(poll)
            return
        started = False

        def go() -> None:
            nonlocal started
            if not started:
                started = True
                self._start_sources(poll)

        # Not inside the paint event: the frame reaches the screen when it returns.
        w.first_painted.connect(lambda: QTimer.singleShot(0, self, go))
        QTimer.singleShot(FIRST_FRAME_AT_THE_LATEST_MS, self, go)

    def _start_sources(self, poll: bool) -> None:
        if self._shut_down:  # quit before the event loop ever ran
            return
        if self.tray is not None:  # a pause chosen before a restart still holds
            self.tray.set_paused_until(self.state.alerts.paused_until)
        self.state.refresh()
        self.settings_watch.start()
        self.ledger.start()
        if poll:
            self.poller.start(poll_at_once=True)
        if self.ctx.settings.proxy_enabled:
            self.proxy.start()

    def _set_no_tray_notice(self) -> None:
        platform = QGuiApplication.platformName() or "?"
        self.window.set_notice(self.tr(
            "No system tray is available on this desktop (%1), so Token Monitor runs as a "
            "normal window; closing it quits the app.").replace("%1", platform))

    # language ---------------------------------------------------------------------------

    def set_language(self, language: str) -> None:
        """Switch the UI to `language` ("en", "zh_CN") now: new translators, the dashboard
        rebuilt in place (geometry, tab, visibility, figures and tokenizer text kept), the
        tray's tooltip redone (its menu is rebuilt each time it opens anyway)."""
        app = QCoreApplication.instance()
        if app is None:
            return
        i18n.remove(app, self.translators)
        self.translators = i18n.install(app, language)
        self.language = language
        self._rebuild_window()
        if self.tray is not None:
            if self.state.snapshot is not None:
                self.tray.set_snapshot(self.state.snapshot)
            self.tray.rebuild_menu()

    def _rebuild_window(self) -> None:
        from monitor.gui.tokenizer.pane import TokenizerPane  # tiktoken: once the tab is used

        old = self.window
        visible = old.isVisible()
        geometry = old.saveGeometry()
        tab = old.tabs.currentIndex()
        banner = None if old.banner.isHidden() else old.banner.label.text()
        text = None
        if isinstance(old.tokenizer, TokenizerPane):
            text = old.tokenizer.editor.toPlainText()
            old.tokenizer.shutdown()
        hide_on_close = old.hide_on_close
        old.blockSignals(True)  # its hide must not quit the app or overwrite the geometry
        old.hide_on_close = False
        old.hide()
        new = DashboardWindow(tokenizer_factory=old.tokenizer_factory)
        new.hide_on_close = hide_on_close
        new.restoreGeometry(geometry)
        self.window = new
        self._wire_window(new)
        if self.tray is None:
            self._set_no_tray_notice()
        if banner:
            new.banner.show_text(banner)
        new.set_welcome(self.welcome.active)
        if self.welcome.active and self.proxy.url:
            self.welcome.show_proxy_lines(self.proxy.url)
        if self.state.snapshot is not None:
            new.show_snapshot(self.state.snapshot)
        remember_tab(new.tabs, self.ctx.paths.state_file, DASHBOARD_TAB_PREF)
        new.tabs.setCurrentIndex(tab)
        if text and new.ensure_tokenizer() is not None and isinstance(new.tokenizer,
                                                                      TokenizerPane):
            new.tokenizer.set_text(text)
        if visible:
            new.show()
        old.deleteLater()

    def remember_geometry(self) -> None:
        remember_window(self.window, self.ctx.paths.state_file, DASHBOARD_STATE_NAME)

    def _on_ledger_damaged(self, message: str) -> None:
        self.window.set_notice(message)
        self.window.bring_forward()

    def _show_banner(self, n: Notification) -> None:
        # A delivery that finishes on the pool after shutdown must not touch a closed window.
        if not self._shut_down:
            self.window.show_banner(n)

    def shutdown(self) -> None:
        self._shut_down = True
        if self.limit_prompt is not None:
            self.limit_prompt.shutdown()
        self.settings_watch.stop()
        self.poller.stop()
        self.ledger.stop()
        self._record_timer.stop()
        if self.window.tokenizer is not None:
            from monitor.gui.tokenizer.pane import TokenizerPane  # tiktoken: once the tab is used

            if isinstance(self.window.tokenizer, TokenizerPane):
                self.window.tokenizer.shutdown()  # in-flight counts go stale, timers stop
        self.proxy.stop(wait=True)
        self.runner.wait(10_000)
        if self.tray is not None:
            self.tray.dispose()
        if self.window.isVisible():
            self.remember_geometry()
        self.window.blockSignals(True)  # closing now is not a user's request to quit
        self.window.hide_on_close = False
        self.window.close()

    # actions ----------------------------------------------------------------------------

    def show_dashboard(self) -> None:
        self.window.bring_forward()

    def refresh_now(self) -> None:
        self.settings_watch.check()
        self.poller.poll_now("manual")
        self.state.refresh()

    def pause_alerts(self, choice: str) -> None:
        from monitor.services.alerting import pause_until_for  # the alert engine: with data

        self.state.pause_alerts(pause_until_for(choice, self.ctx.now()))

    def deliver_alerts(self, alerts: tuple[Alert, ...]) -> None:
        from monitor.gui.alerts import notification_for

        for alert in alerts:
            n = notification_for(alert)
            if self.ctx.settings.notifications_enabled:
                self.notifier.notify(n)
            else:
                self.window.show_banner(n)

    def send_test_notification(self) -> None:
        from monitor.gui.alerts import test_notification

        self.notifier.notify(test_notification())

    def notify(self, n: Notification) -> None:
        self.notifier.notify(n)

    def open_settings(self) -> None:
        from monitor.gui.settings_dialog import SettingsDialog  # dialogs load when opened

        self.settings_watch.check()  # the dialog opens on the file as it is now
        shown = self.ctx.settings
        new = SettingsDialog.ask(shown, self.window if self.window.isVisible()
                                 else None, on_test_notification=self.send_test_notification,
                                 prices_as_of=self.ctx.prices().as_of,
                                 today=self.ctx.now().date())
        if new is not None and new != shown:
            self.apply_settings(new, before=shown)  # only what the user changed there

    def apply_settings(self, new: Settings, *, before: Settings | None = None) -> None:
        old = self.ctx.settings
        try:
            self.state.apply_settings(new, before=before)
        except KnownError as exc:  # the file cannot be read or written: it is left as it is
            self.window.show_banner(Notification(self.tr("Settings not saved"), exc.text()))
            return
        if self.ctx.settings.start_at_login != old.start_at_login:
            # the login files (a plist on macOS, a .desktop file here): only when this changes
            from monitor.services.autostart import AutostartError, set_autostart

            try:
                set_autostart(self.ctx.settings.start_at_login)
            except AutostartError as exc:
                self.window.show_banner(Notification(self.tr("Start at login"), exc.text()))

    def open_keys(self, kind: str | None = None, intro: str | None = None) -> None:
        dialog = self.make_keys_dialog(kind, intro)
        if dialog is None:
            return
        dialog.exec()
        dialog.deleteLater()

    def make_keys_dialog(self, kind: str | None = None,
                         intro: str | None = None) -> KeysDialog | None:
        """The keys dialog wired to this app (None when the key list cannot be read)."""
        from PySide6.QtWidgets import QMessageBox  # dialogs load when opened

        from monitor.gui.keys_dialog import KeysDialog  # (and the keyvault with it)
        from monitor.gui.virtual_keys_panel import add_to_keys_dialog

        try:
            keys = self.ctx.keys()
        except KnownError as exc:
            QMessageBox.warning(self.window, self.tr("API keys"), exc.text())
            return None
        dialog = KeysDialog(keys, self.runner, self.window if self.window.isVisible() else None,
                            tester=make_key_tester(self.ctx), clock=self.ctx.clock,
                            renew_days=self.ctx.settings.key_renew_days)
        if kind is not None:
            dialog.prepare_add(kind, intro)
        dialog.keys_changed.connect(lambda: self.poller.poll_now("keys"))
        add_to_keys_dialog(dialog, self.ctx, self.runner, dialog.keys_changed,
                           self.state.snapshot_changed)  # open, it follows new records
        return dialog

    def _quit_app(self) -> None:
        quit_event_loop()

    # signal handlers --------------------------------------------------------------------

    def _on_poll_started(self, _reason: str) -> None:
        self.state.update_runtime(org_syncing=True, next_sync=None)

    def report_progress(self, progress: SyncProgress) -> None:
        """Safe from any thread: shown on the GUI thread by `_on_sync_progress`."""
        self.progress_relay.progress.emit(progress)

    def _on_sync_progress(self, progress: SyncProgress) -> None:
        if not progress.first_run:  # routine passes take seconds: no progress display
            return
        self.sync_progress = progress
        self.window.sources.show_progress(progress)
        if self.tray is not None:
            self.tray.set_progress(progress)

    def _clear_progress(self) -> None:
        if self.sync_progress is None:
            return
        self.sync_progress = None
        self.window.sources.show_progress(None)
        if self.tray is not None:
            self.tray.set_progress(None)

    def _on_poll_finished(self, result: PollResult) -> None:
        self._clear_progress()
        if isinstance(self.org_sync, OrgSyncPass):
            self.state.sync_key_label = self.org_sync.key_label
        configured = not (result.ok and result.value == NO_ADMIN_KEY)
        if not result.ok:
            self.state.report_failure("org", result.error or "?", result.error_kind)
        else:
            self.state.sync_error_kind = None
        self.state.update_runtime(org_syncing=False, org_configured=configured,
                                  next_sync=self.poller.next_poll_at)

    def _on_proxy_record(self, _rec: ProxyRecord) -> None:
        # A record queued by the proxy's writer while it stopped arrives after shutdown.
        if not self._shut_down and not self._record_timer.isActive():
            self._record_timer.start()

    def _on_proxy_failed(self, message: str) -> None:
        self.state.report_failure("proxy", message)
        self.state.update_runtime(proxy_error=message, proxy_address=None)

    def _on_settings_changed(self, new: Settings) -> None:
        language = i18n.pick_language(new.language)
        if language != self.language:
            self.set_language(language)
        self.poller.set_interval(new.poll_interval_s)
        self.proxy.settings_changed()
        if self.tray is not None:
            from monitor.gui.tray import IconOptions  # loaded: a tray is shown

            self.tray.set_icon_options(IconOptions.from_settings(new))
        running = self.proxy.active
        if new.proxy_enabled and not running:
            self.state.update_runtime(proxy_enabled=True, proxy_error=None)
            self.proxy.start()
        elif running and not new.proxy_enabled:
            self.proxy.stop()
            self.state.update_runtime(proxy_enabled=False, proxy_address=None, proxy_error=None,
                                      proxy_notice=None)
        elif running and proxy_config(new) != self._proxy_config:
            self.proxy.stop(wait=True)
            self.proxy.start()
        self._proxy_config = proxy_config(new)


def run_app(ctx: AppContext) -> int:
    """Run the tray app until Quit; a second launch shows the first one's window and exits 0."""
    protect_none()  # no-op unless a PySide6 build that leaks None is installed
    app = QApplication.instance()
    if app is None:
        # argv[0] names the X11 WM_CLASS; under `python -m monitor` it would be "__main__.py".
        app = QApplication(["token-monitor"])
    assert isinstance(app, QApplication)
    app.setApplicationName("Token Monitor")
    app.setApplicationDisplayName("Token Monitor")
    app.setDesktopFileName("token-monitor")
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)

    single = SingleInstance(ctx.paths)
    if not single.acquire(listen=False):  # listens once the first frame is up (below)
        if single.activate_existing():
            print("Token Monitor is already running; showed its window.", file=sys.stderr)
        else:
            print("Token Monitor is already running.", file=sys.stderr)
        return 0

    translators = i18n.install(app, i18n.pick_language(ctx.settings.language))
    install_excepthook(bool(os.environ.get("MONITOR_NO_ERR_WINDOWS")))
    controller = AppController(ctx)
    controller.translators = translators  # a language change in settings swaps them
    single.activation_requested.connect(controller.show_dashboard)

    with quit_on_signals(app):  # through shutdown: a second Ctrl+C does not cut it short
        controller.start(after_first_frame=True)
        if controller.tray is not None:  # where the app went, for whoever started it
            print(TRAY_LINE, file=sys.stderr, flush=True)
        if os.environ.get("MONITOR_SHOW_WINDOW"):
            controller.show_dashboard()
        QTimer.singleShot(LISTEN_AFTER_MS, single.listen)
        try:
            with main_loop():
                rc = app.exec()
        finally:
            controller.shutdown()
            single.release()
            i18n.remove(app, controller.translators)
    return rc
