"""Start at login: an XDG autostart entry (Linux), a LaunchAgent (macOS) or the Run key (Windows).

Qt-free. `set_autostart(True)` installs the platform's entry pointing at the running
interpreter (`python -m monitor`; on Linux the same entry `desktop install` writes, so the
login item has the app icon), `set_autostart(False)` removes it; both are idempotent.
"""

from __future__ import annotations

import contextlib
import os
import plistlib
import sys
from pathlib import Path

from monitor.atomic import atomic_write_text
from monitor.errors import KnownError
from monitor.services.desktop_entry import (
    Launcher,
    application_entry,
    default_launcher,
    install_icons,
)

__all__ = ["AutostartError", "Launcher", "default_launcher", "desktop_entry", "set_autostart"]

APP_ID = "token-monitor"
LAUNCH_AGENT_ID = "io.github.token-monitor"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


class AutostartError(KnownError):
    """The login item could not be written or removed."""


def xdg_autostart_file(config_home: Path | None = None) -> Path:
    base = config_home or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "autostart" / f"{APP_ID}.desktop"


def launch_agent_file(home: Path | None = None) -> Path:
    return (home or Path.home()) / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_ID}.plist"


def desktop_entry(launcher: Launcher) -> str:
    """The XDG autostart text: the application-menu entry plus the autostart keys."""
    return application_entry(launcher, autostart=True)


def launch_agent_plist(launcher: Launcher) -> bytes:
    data: dict[str, object] = {
        "Label": LAUNCH_AGENT_ID,
        "ProgramArguments": list(launcher.argv),
        "RunAtLoad": True,
        "ProcessType": "Interactive",
    }
    if launcher.home:
        data["EnvironmentVariables"] = {"MONITOR_HOME": launcher.home}
    return plistlib.dumps(data)


def windows_command(launcher: Launcher) -> str:
    exe = launcher.argv[0]
    if exe.lower().endswith("python.exe"):  # no console window at login
        exe = exe[: -len("python.exe")] + "pythonw.exe"
    return " ".join(f'"{a}"' if " " in a else a for a in (exe, *launcher.argv[1:]))


def is_enabled(platform: str | None = None, *, config_home: Path | None = None) -> bool:
    plat = platform or sys.platform
    if plat.startswith("linux") or plat.startswith("freebsd"):
        return xdg_autostart_file(config_home).exists()
    if plat == "darwin":
        return launch_agent_file().exists()
    if plat == "win32":  # pragma: no cover - Windows only
        return _win_get() is not None
    return False


def set_autostart(
    enabled: bool,
    launcher: Launcher | None = None,
    *,
    platform: str | None = None,
    config_home: Path | None = None,
    data_home: Path | None = None,
) -> Path | None:
    """Install or remove the login entry; returns the file written (None on Windows/removal)."""
    plat = platform or sys.platform
    launcher = launcher or default_launcher()
    try:
        if plat.startswith("linux") or plat.startswith("freebsd"):
            path = xdg_autostart_file(config_home)
            if enabled:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(path, desktop_entry(launcher), mode=0o644)
                if config_home is None or data_home is not None:  # not a test's bare folder
                    install_icons(data_home)  # the entry names the app icon from hicolor
                return path
            path.unlink(missing_ok=True)
            return None
        if plat == "darwin":
            path = launch_agent_file()
            if enabled:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(launch_agent_plist(launcher))
                return path
            path.unlink(missing_ok=True)
            return None
        if plat == "win32":  # pragma: no cover - Windows only
            _win_set(windows_command(launcher) if enabled else None)
            return None
    except OSError as exc:
        raise AutostartError(f"cannot change the login item: {exc.strerror or exc}") from None
    raise AutostartError(f"start at login is not supported on {plat}")


def _win_get() -> str | None:  # pragma: no cover - Windows only
    if sys.platform != "win32":
        return None
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            value, _ = winreg.QueryValueEx(key, "TokenMonitor")
            return str(value)
    except OSError:
        return None


def _win_set(command: str | None) -> None:  # pragma: no cover - Windows only
    if sys.platform != "win32":
        raise AutostartError("the Run key exists only on Windows")
    import winreg

    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
        if command is None:
            with contextlib.suppress(FileNotFoundError):
                winreg.DeleteValue(key, "TokenMonitor")
        else:
            winreg.SetValueEx(key, "TokenMonitor", 0, winreg.REG_SZ, command)
