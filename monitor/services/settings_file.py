"""Load and save settings.json without ever destroying what the user wrote.

Loading: a missing file gives defaults; corrupt JSON (including JSON nested too deeply) is
moved aside, never deleted; a file that cannot be read (permissions, a directory) gives
defaults with a warning and is left alone.

Saving merges into the file as it is on disk now: only the settings that changed are written;
unknown keys, and values the app could not use but did not change, stay as they are. The
previous file is kept as `settings.json.bak`. A file that cannot be read or parsed is never
overwritten: saving raises ConfigError instead (and CannotWriteError when the folder or disk
refuses the write).

A running process (the tray app, the proxy's caps) re-reads the file with `reread_settings`,
which never moves anything aside: an editor may be halfway through writing it, and the next
change is read again. Every read and save says which content it saw (`file_tag.tag_of`), so
the owner of the loaded settings can tell whether the file changed since.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.atomic import atomic_write_bytes, atomic_write_text
from monitor.core.clock import system_clock
from monitor.core.json_limits import loads_bounded
from monitor.core.local_files import decode_text, read_local_file
from monitor.core.settings import Settings, settings_from_dict, settings_to_dict
from monitor.errors import CannotWriteError, ConfigError
from monitor.services.file_tag import FileTag, tag_of

log = logging.getLogger(__name__)

BACKUP_SUFFIX = ".bak"


@dataclass(frozen=True)
class LoadedSettings:
    """Settings plus what went wrong reading them (each message names the file), and the
    tag of the content they came from (None: no file, or one that could not be read)."""

    settings: Settings
    warnings: list[str] = field(default_factory=list)
    tag: FileTag | None = None


def _parse(data: bytes) -> dict[str, Any]:
    raw = loads_bounded(decode_text(data))  # UnicodeDecodeError is a ValueError
    if not isinstance(raw, dict):
        raise ValueError("the file must hold a JSON object")
    return raw


def load_settings(path: Path) -> LoadedSettings:
    """Read `path`; missing file → defaults; unreadable JSON → moved aside, defaults."""
    try:
        data = read_local_file(path)  # never a FIFO, a device or a huge file
    except FileNotFoundError:
        return LoadedSettings(Settings())
    except OSError as exc:
        msg = f"{path}: cannot be read ({exc.strerror}); using defaults"
        return LoadedSettings(Settings(), [msg])
    try:
        raw = _parse(data)
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
    return LoadedSettings(settings, [f"{path}: {p}" for p in problems], tag_of(data))


def reread_settings(path: Path) -> LoadedSettings:
    """The file as it is now, for a process already running on its settings: a missing file
    gives defaults; one that cannot be read or parsed raises ConfigError and is left where it
    is (unlike `load_settings`: it may be an editor's write caught halfway)."""
    data, raw = _read_for_update(
        path, "the settings in use were kept and the file was left as it is")
    settings, problems = settings_from_dict(raw)
    return LoadedSettings(settings, [f"{path}: {p}" for p in problems],
                          None if data is None else tag_of(data))


def _read_for_update(path: Path, keep: str = "settings were not saved and the file was left "
                     "as it is") -> tuple[bytes | None, dict[str, Any]]:
    """The file's bytes (None when absent) and its object; ConfigError when it cannot be
    read or parsed, so that nothing overwrites it."""
    try:
        data = read_local_file(path)  # never a FIFO, a device or a huge file
    except FileNotFoundError:
        return None, {}
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not a settings file; {keep}: move it "
                          "away and try again") from None
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read ({exc.strerror or exc}); {keep}: fix its "
                          "permissions and try again") from None
    try:
        return data, _parse(data)
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid settings ({exc}); {keep}: fix or remove it "
                          "and try again") from None


def save_settings(path: Path, settings: Settings, *,
                  before: Settings | None = None) -> LoadedSettings:
    """Write the settings that differ from `before` into the file at `path`, as it is now.

    `before` is what the caller showed or loaded (so a change made meanwhile by another
    process to another setting survives); without it, what the file holds now is compared.
    Returns the settings the file holds afterwards (the caller's changes merged onto the
    file's current content) and the tag of that content.

    Raises:
        ConfigError: the file cannot be read or parsed; it is not touched.
        CannotWriteError: the folder or disk refuses the write; nothing changed.
    """
    data, raw = _read_for_update(path)
    if before is None:
        before, _ = settings_from_dict(raw)
    new_values = settings_to_dict(settings)
    old_values = settings_to_dict(before)
    changed = {k: v for k, v in new_values.items() if old_values[k] != v}
    if not changed:
        return _in_file(path, raw, None if data is None else tag_of(data))
    merged = {**raw, **changed}  # keeps the file's order and every key we do not own
    text = json.dumps(merged, indent=2, ensure_ascii=False) + "\n"
    # A symlinked settings.json (a dotfiles repository) stays a link: write its target.
    target = path.resolve() if path.is_symlink() else path
    try:
        if data is not None:
            atomic_write_bytes(path.with_name(path.name + BACKUP_SUFFIX), data)
        atomic_write_text(target, text)
    except OSError as exc:
        raise CannotWriteError(f"cannot save the settings to {path} ({exc.strerror or exc}; "
                               f"its folder must be writable); the file was left as it "
                               "was") from None
    log.info("settings saved (%s)", ", ".join(sorted(changed)))
    return _in_file(path, merged, tag_of(text.encode("utf-8")))


def _in_file(path: Path, raw: dict[str, Any], tag: FileTag | None) -> LoadedSettings:
    settings, problems = settings_from_dict(raw)
    return LoadedSettings(settings, [f"{path}: {p}" for p in problems], tag)
