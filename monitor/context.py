"""The composition root for the CLI and the app: paths, settings and lazily built services.

One explicit handle passed to every command and window (no module globals). Services are
built on first use, once: under a lock, because the tray app's first snapshot and first sync
ask for them at the same moment on two pool threads.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from monitor.core.clock import Clock, system_clock
from monitor.core.settings import Settings
from monitor.errors import ConfigError
from monitor.paths import Paths
from monitor.services.file_tag import FileTag, content_tag
from monitor.services.settings_file import load_settings, reread_settings, save_settings

if TYPE_CHECKING:
    from monitor.core.prices import PriceTable
    from monitor.services.keyvault import KeyStore
    from monitor.services.store import UsageStore

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    """Everything a command or window needs; services are built on first use."""

    paths: Paths
    clock: Clock = system_clock
    _settings: Settings | None = None
    _settings_tag: FileTag | None = None  # the content `_settings` came from (or wrote)
    _refused: tuple[FileTag | None, ...] = ()  # (tag,) of content not taken (logged once)
    _prices: PriceTable | None = None
    _store: UsageStore | None = None
    _keys: KeyStore | None = None
    warnings: list[str] = field(default_factory=list)
    _build_lock: threading.RLock = field(
        default_factory=threading.RLock, repr=False, compare=False
    )

    def now(self) -> datetime:
        """The current instant (aware UTC) from the one injected clock."""
        return self.clock()

    def today(self) -> date:
        """Today's date in the user's "today" time zone (settings), from the clock."""
        from monitor.core.budget import local_date

        return local_date(self.now(), self.settings.today_timezone)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            with self._build_lock:
                if self._settings is None:
                    loaded = load_settings(self.paths.settings_file)
                    for w in loaded.warnings:
                        self.warn(w)
                    self._settings, self._settings_tag = loaded.settings, loaded.tag
        return self._settings

    def save_settings(self, settings: Settings, *, before: Settings | None = None) -> Settings:
        """Write the fields where `settings` differs from `before` (default: the settings in
        use), merged onto the file as it is now (monitor/services/settings_file.py), and
        return the settings now in force: the file's, so a change made meanwhile by another
        process to another field is kept, not reverted. Raises ConfigError / CannotWriteError
        (then nothing changed)."""
        with self._build_lock:
            saved = save_settings(self.paths.settings_file, settings,
                                  before=self.settings if before is None else before)
            self._settings, self._settings_tag = saved.settings, saved.tag
        return saved.settings

    def reload_settings_if_changed(self) -> Settings | None:
        """Re-read settings.json when its content differs from what the settings in use came
        from; the new settings when they differ, else None.

        The one check of "did the settings file change" for a running process (content, not
        mtime: `file_tag`). A file that is not valid settings now (an editor's write caught
        halfway, a typo) is left in place and the settings in use are kept, with one log line
        per such content; the next change is read again.
        """
        path = self.paths.settings_file
        tag = content_tag(path)
        with self._build_lock:
            if self._settings is not None and tag == self._settings_tag:
                return None
            if self._refused == (tag,):
                return None
            old = self._settings
            try:
                loaded = reread_settings(path)
            except ConfigError as exc:
                self._refused = (tag,)
                log.warning("%s", exc.text())
                return None
            self._settings, self._settings_tag = loaded.settings, loaded.tag
        for w in loaded.warnings:
            self.warn(w)
        return None if loaded.settings == old else loaded.settings

    def reload_files(self) -> None:
        """Forget the loaded settings and price table: the next use re-reads the files
        (a long-running command noticed they changed)."""
        with self._build_lock:
            self._settings = self._settings_tag = None
            self._prices = None

    def prices(self) -> PriceTable:
        if self._prices is None:
            with self._build_lock:
                if self._prices is None:
                    from monitor.services.price_files import load_price_table

                    prices = load_price_table(self.paths.prices_override, clock=self.clock)
                    for w in prices.warnings:
                        self.warn(w)
                    self._prices = prices
        return self._prices

    def store(self) -> UsageStore:
        if self._store is None:
            with self._build_lock:
                if self._store is None:
                    from monitor.services.store import UsageStore

                    self._store = UsageStore(self.paths.db_file, clock=self.clock)
        return self._store

    def keys(self) -> KeyStore:
        if self._keys is None:
            with self._build_lock:
                if self._keys is None:
                    from monitor.services.keyvault import KeyStore

                    keys = KeyStore.open(self.paths.keys_file, today=self.today)
                    for w in keys.warnings:
                        self.warn(w)
                    self._keys = keys
        return self._keys

    def warn(self, message: str) -> None:
        """A problem the user should read; printed once to stderr, kept for the GUI."""
        with self._build_lock:
            if message in self.warnings:
                return
            self.warnings.append(message)
        print(f"warning: {message}", file=sys.stderr)

    def close(self) -> None:
        with self._build_lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()
