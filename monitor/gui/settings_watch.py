"""The running app follows settings.json: a change by the CLI or an editor reaches every surface.

`token-monitor budget --limit 90`, `config set …` or an editor's save while the app runs must
change the tray, the dashboard, the alerts and the embedded proxy's /metrics within seconds,
as it changes `status`. A QFileSystemWatcher on the settings folder (editors and our own
atomic writes replace the file by a rename, which a watch on the file alone loses) and on the
file (a write in place) wakes the app; a short debounce lets a multi-step save finish; then
`AppContext.reload_settings_if_changed` compares the content (length + CRC, not the mtime) and
re-reads it. When the folder cannot be watched (no folder yet, no inotify watch left) a slow
timer checks instead. The idle app is not woken otherwise.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer

from monitor.core.settings import Settings

if TYPE_CHECKING:
    from monitor.gui.state import AppState

log = logging.getLogger(__name__)

DEBOUNCE_MS = 150
"""After a change event, wait this long for more (a save is a write, a rename, a chmod…)."""
FALLBACK_CHECK_MS = 2000
"""How often the file is checked while its folder cannot be watched."""


class SettingsWatch(QObject):
    """Re-reads the settings when the file's content changes and hands them to AppState.

    `check()` is also called where the app must be current at once (Refresh now, opening the
    Settings dialog). Settings the app saved itself come back through `settings_changed` and
    are not announced twice.
    """

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settings-watch")
        self._state = state
        self._ctx = state.ctx
        self._last: Settings = state.ctx.settings
        self._watcher: QFileSystemWatcher | None = None
        self._debounce = QTimer(self)
        self._debounce.setObjectName("settings-debounce-timer")
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.check)
        self._fallback = QTimer(self)
        self._fallback.setObjectName("settings-fallback-timer")
        self._fallback.setInterval(FALLBACK_CHECK_MS)
        self._fallback.timeout.connect(self.check)
        state.settings_changed.connect(self._note)

    @property
    def watching(self) -> bool:
        """Whether change events come from the file system (else the fallback timer runs)."""
        return self._watcher is not None and self._fallback_reason() is None

    def start(self) -> None:
        if self._watcher is None:
            self._watcher = QFileSystemWatcher(self)
            self._watcher.directoryChanged.connect(self._soon)
            self._watcher.fileChanged.connect(self._soon)
        self.check()  # a change made between the first read and now

    def stop(self) -> None:
        self._debounce.stop()
        self._fallback.stop()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watched = watcher.files() + watcher.directories()
            if watched:
                watcher.removePaths(watched)
            watcher.deleteLater()

    def check(self) -> bool:
        """Re-read the file if its content changed; True when the settings in force changed."""
        self._rewatch()
        self._ctx.reload_settings_if_changed()
        new = self._ctx.settings
        if new == self._last:
            return False
        self._last = new
        log.info("settings.json changed outside the app: following it")
        self._state.settings_reloaded(new)  # its settings_changed comes back to _note
        return True

    def _note(self, settings: object) -> None:
        if isinstance(settings, Settings):
            self._last = settings

    def _soon(self, _path: str) -> None:
        self._debounce.start()

    def _wanted(self) -> list[str]:
        path = self._ctx.paths.settings_file
        wanted = [str(path.parent)]
        try:
            if path.is_symlink():  # a dotfiles repository: its own folder sees the renames
                wanted.append(str(path.resolve().parent))
            if path.exists():  # a rename-replace drops this watch: added back on each check
                wanted.append(str(path))
        except OSError:
            pass
        return wanted

    def _fallback_reason(self) -> str | None:
        if self._watcher is None:
            return "not started"
        folder = str(self._ctx.paths.settings_file.parent)
        return None if folder in self._watcher.directories() else folder

    def _rewatch(self) -> None:
        if self._watcher is None:
            return
        watched = set(self._watcher.files()) | set(self._watcher.directories())
        missing = [p for p in self._wanted() if p not in watched]
        if missing:
            self._watcher.addPaths(missing)  # a missing folder is refused: the timer checks
        reason = self._fallback_reason()
        if reason is not None and not self._fallback.isActive():
            log.info("cannot watch %s: checking settings.json every %d s", reason,
                     FALLBACK_CHECK_MS // 1000)
            self._fallback.start()
        elif reason is None and self._fallback.isActive():
            self._fallback.stop()
