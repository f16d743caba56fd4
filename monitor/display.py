"""Is there a display for the tray app? Checked before Qt starts (no Qt here).

Without one, Qt's xcb plugin aborts the process (exit 134, a core dump) after a message
about `libxcb-cursor0` that points the wrong way. `missing_display` names the real cause
first, so `token-monitor` can say it in one line and exit with `exit_codes.NO_DISPLAY`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

# Qt platform plugins that need no display server (tests, kiosks, remote frame buffers).
HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal", "minimalegl", "vnc", "eglfs",
                                "linuxfb", "vkkhrdisplay"})
_X11_LIKE = ("linux", "freebsd", "openbsd", "netbsd", "dragonfly", "sunos")


def missing_display(env: Mapping[str, str] = os.environ,
                    platform: str = sys.platform) -> str | None:
    """Why no window can be shown here, or None when a display (or a headless Qt platform)
    is available. macOS and Windows always have one."""
    if not platform.startswith(_X11_LIKE):
        return None
    has_x = bool(env.get("DISPLAY", "").strip())
    has_wayland = bool(env.get("WAYLAND_DISPLAY", "").strip())
    wanted = [p.split(":", 1)[0].strip().lower()
              for p in env.get("QT_QPA_PLATFORM", "").split(";") if p.strip()]
    if not wanted:
        if has_x or has_wayland:
            return None
        return "no display found (neither $DISPLAY nor $WAYLAND_DISPLAY is set)"
    for name in wanted:
        if name in HEADLESS_PLATFORMS or (name == "xcb" and has_x) \
                or (name.startswith("wayland") and has_wayland):
            return None
        if name != "xcb" and not name.startswith("wayland"):
            return None  # a platform plugin we do not know: let Qt decide
    variables = " or ".join(sorted({"$DISPLAY" if n == "xcb" else "$WAYLAND_DISPLAY"
                                    for n in wanted}))
    return f"no display found (QT_QPA_PLATFORM={env.get('QT_QPA_PLATFORM')} needs {variables})"


def no_display_message(reason: str) -> str:
    """The one line `token-monitor` prints instead of starting the tray app."""
    return (f"error: {reason}: the tray app needs a desktop session; run it there, or use the "
            "command line here: token-monitor count|usage|status (token-monitor --help lists "
            "every command)")
