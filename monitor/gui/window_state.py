"""Remember window geometry and small UI choices in the UI state file (paths.state_file).

The state file is a JSON object shared with the alert pause; monitor.services.ui_state owns
it (one key per feature, read-modify-write under a lock). Geometry is
Qt's `saveGeometry()` blob, base64-encoded under `"windows": {name: ...}`. A missing,
unreadable or foreign file is treated as "nothing remembered", never as an error.
"""

from __future__ import annotations

import base64
import binascii
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QComboBox, QTabWidget, QWidget

from monitor.services import ui_state

log = logging.getLogger(__name__)

WINDOWS_KEY = "windows"


def load_geometry(path: Path, name: str) -> bytes | None:
    """The remembered geometry blob of window `name`, or None."""
    windows = ui_state.read_key(path, WINDOWS_KEY)
    raw = windows.get(name) if isinstance(windows, dict) else None
    if not isinstance(raw, str):
        return None
    try:
        return base64.b64decode(raw.encode("ascii"), validate=True)
    except (ValueError, binascii.Error):
        return None


def save_geometry(path: Path, name: str, blob: bytes) -> None:
    """Store window `name`'s geometry blob, keeping every other key of the file."""
    encoded = base64.b64encode(blob).decode("ascii")

    def with_window(windows: Any) -> dict[str, Any]:
        return {**(windows if isinstance(windows, dict) else {}), name: encoded}

    try:
        ui_state.change_key(path, WINDOWS_KEY, with_window)
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
    prefs = ui_state.read_key(path, PREFS_KEY)
    return prefs.get(name) if isinstance(prefs, dict) else None


def save_pref(path: Path, name: str, value: Any) -> None:
    """Remember a small JSON value under `"ui": {name: value}`, keeping every other key."""
    if load_pref(path, name) == value:
        return

    def with_pref(prefs: Any) -> dict[str, Any]:
        return {**(prefs if isinstance(prefs, dict) else {}), name: value}

    try:
        ui_state.change_key(path, PREFS_KEY, with_pref)
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
