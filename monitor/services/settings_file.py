"""Load and save settings.json: atomic writes; a corrupt file is moved aside, never deleted."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from monitor.core.clock import system_clock
from monitor.core.settings import Settings, settings_from_dict, settings_to_dict
from monitor.services.atomic import atomic_write_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedSettings:
    """Settings plus what went wrong reading them (each message names the file)."""

    settings: Settings
    warnings: list[str] = field(default_factory=list)


def load_settings(path: Path) -> LoadedSettings:
    """Read `path`; missing file → defaults; unreadable JSON → moved aside, defaults."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return LoadedSettings(Settings())
    except OSError as exc:
        msg = f"{path}: cannot be read ({exc.strerror}); using defaults"
        return LoadedSettings(Settings(), [msg])
    try:
        raw = json.loads(data.decode("utf-8"))  # UnicodeDecodeError is a ValueError
        if not isinstance(raw, dict):
            raise ValueError("the file must hold a JSON object")
    except ValueError as exc:
        stem = f"{path.name}.corrupt-{system_clock():%Y%m%dT%H%M%S}"
        aside, n = path.with_name(stem), 1
        while aside.exists():  # never overwrite an earlier copy
            n += 1
            aside = path.with_name(f"{stem}-{n}")
        try:
            path.replace(aside)
        except OSError as move_exc:
            msg = (f"{path}: not valid settings ({exc}) and it cannot be moved aside "
                   f"({move_exc.strerror}); using defaults")
            return LoadedSettings(Settings(), [msg])
        msg = f"{path}: not valid settings ({exc}); moved to {aside.name}, using defaults"
        log.info(msg)  # into the log file; the caller shows the returned warning once
        return LoadedSettings(Settings(), [msg])
    settings, problems = settings_from_dict(raw)
    return LoadedSettings(settings, [f"{path}: {p}" for p in problems])


def save_settings(path: Path, settings: Settings) -> None:
    atomic_write_text(path, json.dumps(settings_to_dict(settings), indent=2) + "\n")
