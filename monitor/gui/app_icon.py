"""The application's own icon (windows, task switcher): the bundled gauge PNGs.

Apart from icons.py (the tray's painter code, ~4 ms to import) because run_app sets it
before the dashboard's first frame. Each file is added with its size, so Qt decodes it only
when that size is drawn (without a size, QIcon.addFile decodes every file at once).
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

from monitor import resources
from monitor.services.desktop_entry import APP_ID, ICON_PNG_SIZES


def app_icon() -> QIcon:
    icon = QIcon()
    for n in ICON_PNG_SIZES:  # a test checks each file is n×n px
        icon.addFile(str(resources.file_path("icons", f"{APP_ID}-{n}.png")), QSize(n, n))
    return icon
