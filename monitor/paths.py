"""Where Token Monitor keeps its files: platformdirs, or one folder given by MONITOR_HOME/--home."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "token-monitor"
HOME_ENV = "MONITOR_HOME"


@dataclass(frozen=True)
class Paths:
    """The four user directories, and the named files inside them."""

    config_dir: Path
    data_dir: Path
    log_dir: Path
    cache_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def prices_override(self) -> Path:
        return self.config_dir / "prices.json"

    @property
    def keys_file(self) -> Path:
        return self.config_dir / "keys.json"

    @property
    def state_file(self) -> Path:
        return self.config_dir / "state.json"

    @property
    def db_file(self) -> Path:
        return self.data_dir / "usage.sqlite3"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "token-monitor.log"

    def ensure(self) -> Paths:
        """Create the directories (owner-only) and return self."""
        for d in (self.config_dir, self.data_dir, self.log_dir, self.cache_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self


def resolve_paths(home: str | os.PathLike[str] | None = None) -> Paths:
    """Paths under `home`, else under $MONITOR_HOME, else platformdirs' user dirs.

    Does not create anything; call `ensure()` before writing.
    """
    base = home if home is not None else os.environ.get(HOME_ENV) or None
    if base is not None:
        root = Path(base).expanduser().resolve()
        return Paths(root / "config", root / "data", root / "log", root / "cache")
    import platformdirs  # here: with --home / $MONITOR_HOME it is not needed (start-up time)

    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    return Paths(
        Path(dirs.user_config_dir),
        Path(dirs.user_data_dir),
        Path(dirs.user_log_dir),
        Path(dirs.user_cache_dir),
    )
