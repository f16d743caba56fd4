"""The composition root for the CLI and the app: paths, settings and lazily built services.

One explicit handle passed to every command and window (no module globals). Services are
built on first use, once: under a lock, because the tray app's first snapshot and first sync
ask for them at the same moment on two pool threads.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from monitor.core.clock import Clock, system_clock
from monitor.core.settings import Settings
from monitor.paths import Paths
from monitor.services.settings_file import load_settings, save_settings

if TYPE_CHECKING:
    from monitor.core.pricing import PriceTable
    from monitor.services.keyvault import KeyStore
    from monitor.services.store import UsageStore


@dataclass
class AppContext:
    """Everything a command or window needs; services are built on first use."""

    paths: Paths
    clock: Clock = system_clock
    _settings: Settings | None = None
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
                    self._settings = loaded.settings
        return self._settings

    def save_settings(self, settings: Settings) -> None:
        """Write what changed since the settings were loaded, merged into the file as it is
        now (monitor/services/settings_file.py); raises ConfigError / CannotWriteError."""
        save_settings(self.paths.settings_file, settings, before=self.settings)
        self._settings = settings

    def reload_files(self) -> None:
        """Forget the loaded settings and price table: the next use re-reads the files
        (a long-running command noticed they changed)."""
        self._settings = None
        self._prices = None

    def prices(self) -> PriceTable:
        if self._prices is None:
            with self._build_lock:
                if self._prices is None:
                    from monitor.core.pricing import load_price_table

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
