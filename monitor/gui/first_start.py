"""What a first start says outside the window (issue 25): the one line in the terminal.

Started from a terminal with a tray, the app used to print nothing and open nothing; the
only sign of life was the tray icon. The line says where it went and how to open it.
"""

from __future__ import annotations

TRAY_LINE = ("Token Monitor is running in the system tray: left-click the icon to open the "
             "dashboard, right-click it for the menu (Quit is there).")
