"""Remember window geometry and small UI choices in the UI state file (paths.state_file).

The state file is a JSON object shared with the alert pause (monitor.services.alerting);
each writer reads it, changes only its own key and writes it back atomically. Geometry is
Qt's `saveGeometry()` blob, base64-encoded under `"windows": {name: ...}`. A missing,
unreadable or foreign file is treated as "nothing remembered", never as an error.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QComboBox, QTabWidget, QWidget

from monitor.services.atomic import atomic_write_text

log = logging.getLogger(__name__)

WINDOWS_KEY = "windows"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable UI state file %s: %s", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def load_geometry(path: Path, name: str) -> bytes | None:
    """The remembered geometry blob of window `name`, or None."""
    windows = _read(path).get(WINDOWS_KEY)
    raw = windows.get(name) if isinstance(windows, dict) else None
    if not isinstance(raw, str):
        return None
    try:
        return base64.b64decode(raw.encode("ascii"), validate=True)
    except (ValueError, binascii.Error):
        return None


def save_geometry(path: Path, name: str, blob: bytes) -> None:
    """Store window `name`'s geometry blob, keeping every other key of the file."""
    data = _read(path)
    windows = data.get(WINDOWS_KEY)
    if not isinstance(windows, dict):
        windows = {}
    windows[name] = base64.b64encode(blob).decode("ascii")
    data[WINDOWS_KEY] = windows
    try:
        atomic_write_text(path, json.dumps(data, indent=2) + "\n")
    except OSError as exc:  # a full disk must not stop the app from hiding or quitting
        log.warning("could not save window geometry to %s: %s", path, exc)


def restore_window(window: QWidget, path: Path, name: str) -> bool:
    """Apply the remembered geometry to `window`; False when none (or Qt refused it)."""
    blob = load_geometry(path, name)
    return blob is not None and window.restoreGeometry(QByteArray(blob))


def remember_window(window: QWidget, path: Path, name: str) -> None:
    save_geometry(path, name, bytes(window.saveGeometry().data()))


PREFS_KEY = "ui"
TOKENIZER_MODEL_PREF = "tokenizer_model"  # the dashboard tab and the tokenizer window share it


def load_pref(path: Path, name: str) -> Any:
    """A remembered UI choice (dashboard tab, tokenizer model, welcome dismissed), or None."""
    prefs = _read(path).get(PREFS_KEY)
    return prefs.get(name) if isinstance(prefs, dict) else None


def save_pref(path: Path, name: str, value: Any) -> None:
    """Remember a small JSON value under `"ui": {name: value}`, keeping every other key."""
    data = _read(path)
    prefs = data.get(PREFS_KEY)
    if not isinstance(prefs, dict):
        prefs = {}
    if prefs.get(name) == value:
        return
    prefs[name] = value
    data[PREFS_KEY] = prefs
    try:
        atomic_write_text(path, json.dumps(data, indent=2) + "\n")
    except OSError as exc:
        log.warning("could not save a UI preference to %s: %s", path, exc)


def remember_combo(combo: QComboBox, path: Path, name: str) -> None:
    """Select the remembered item (by its data) and remember each new choice."""
    value = load_pref(path, name)
    if isinstance(value, str):
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)
    combo.currentIndexChanged.connect(
        lambda _i: save_pref(path, name, str(combo.currentData() or "")))


def remember_tab(tabs: QTabWidget, path: Path, name: str) -> None:
    """Open on the remembered tab (by index) and remember each change."""
    value = load_pref(path, name)
    if isinstance(value, int) and 0 <= value < tabs.count():
        tabs.setCurrentIndex(value)
    tabs.currentChanged.connect(lambda index: save_pref(path, name, index))
