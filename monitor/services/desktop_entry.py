"""The application-menu entry: an XDG .desktop file plus the icon in the hicolor theme.

Qt-free. `install()` writes `<data>/applications/token-monitor.desktop` (Exec = the running
interpreter's `python -m monitor`, `StartupWMClass` = the X11 class the app sets, so the
window groups with its launcher) and the icon (SVG and PNG 16–256 px, bundled in
`resources/icons/`) under `<data>/icons/hicolor/`. Start at login (`autostart`) writes the
same entry with the autostart keys added. `uninstall()` removes what `install()` wrote.

macOS (an `.app` bundle in ~/Applications whose launcher runs the same command) and Windows
(a Start-menu shortcut made through PowerShell's WScript.Shell) are written but untested:
this project's CI runs on Linux only.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from monitor import resources
from monitor.atomic import atomic_write_text
from monitor.errors import KnownError

APP_ID = "token-monitor"  # file name, icon name and QGuiApplication.desktopFileName()
WM_CLASS = "token-monitor"  # X11 WM_CLASS: run_app's QApplication argv[0]
ICON_PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)
MAC_APP = "Token Monitor.app"
WINDOWS_SHORTCUT = "Token Monitor.lnk"


class DesktopEntryError(KnownError):
    """The application-menu entry could not be written or removed."""


@dataclass(frozen=True)
class Launcher:
    """The command the entry runs: argv plus the MONITOR_HOME to keep, if any."""

    argv: tuple[str, ...]
    home: str | None = None


def default_launcher() -> Launcher:
    return Launcher((sys.executable, "-m", "monitor"), os.environ.get("MONITOR_HOME") or None)


def data_home(base: Path | None = None) -> Path:
    return base or Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def entry_file(base: Path | None = None) -> Path:
    return data_home(base) / "applications" / f"{APP_ID}.desktop"


def icon_files(base: Path | None = None) -> dict[str, Path]:
    """Bundled icon file name -> where it goes in the hicolor theme."""
    theme = data_home(base) / "icons" / "hicolor"
    out = {f"{APP_ID}.svg": theme / "scalable" / "apps" / f"{APP_ID}.svg"}
    for n in ICON_PNG_SIZES:
        out[f"{APP_ID}-{n}.png"] = theme / f"{n}x{n}" / "apps" / f"{APP_ID}.png"
    return out


def bundled_icon(name: str = f"{APP_ID}.svg") -> Path:
    return resources.file_path("icons", name)


def exec_line(launcher: Launcher) -> str:
    """The Exec value per the Desktop Entry spec: arguments quoted, then the whole value
    escaped as a key-file string (so a quoted `\\$` is written `\\\\$`)."""
    argv = list(launcher.argv)
    if launcher.home:
        argv = ["env", f"MONITOR_HOME={launcher.home}", *argv]
    return " ".join(_quote(a) for a in argv).replace("\\", "\\\\")


def _quote(arg: str) -> str:
    if arg and all(c.isalnum() or c in "-_./=:@+," for c in arg):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'


def application_entry(launcher: Launcher, *, autostart: bool = False) -> str:
    """The .desktop text for the application menu (or, with `autostart`, for login)."""
    text = (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Version=1.0\n"
        "Name=Token Monitor\n"
        "GenericName=API Spend Monitor\n"
        "GenericName[zh_CN]=API 花费监视器\n"
        "Comment=OpenAI API spend in the tray, against your monthly limit\n"
        "Comment[zh_CN]=在托盘中查看 OpenAI API 花费与月度限额\n"
        f"Exec={exec_line(launcher)}\n"
        f"Icon={APP_ID}\n"
        "Terminal=false\n"
        "Categories=Development;\n"
        "Keywords=OpenAI;tokens;usage;cost;budget;tokenizer;\n"
        f"StartupWMClass={WM_CLASS}\n"
        "StartupNotify=false\n"
    )
    if autostart:
        text += "X-GNOME-Autostart-enabled=true\nX-GNOME-Autostart-Delay=5\n"
    return text


def is_installed(platform: str | None = None, *, base: Path | None = None) -> bool:
    plat = platform or sys.platform
    if plat == "darwin":
        return (Path.home() / "Applications" / MAC_APP).exists()
    if plat == "win32":
        return _windows_shortcut().exists()
    return entry_file(base).exists()


def install_icons(base: Path | None = None) -> list[Path]:
    """Copy the bundled SVG and PNGs into the hicolor theme (also used by autostart)."""
    written = []
    for name, target in icon_files(base).items():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(bundled_icon(name), target)
        written.append(target)
    _refresh_icon_cache(data_home(base) / "icons" / "hicolor")
    return written


def install(launcher: Launcher | None = None, *, platform: str | None = None,
            base: Path | None = None) -> Path:
    """Write the entry and icons; returns the entry's path. Idempotent."""
    plat = platform or sys.platform
    launcher = launcher or default_launcher()
    try:
        if plat == "darwin":  # pragma: no cover - untested here (Linux CI)
            return _install_mac(launcher)
        if plat == "win32":  # pragma: no cover - untested here (Linux CI)
            return _install_windows(launcher)
        install_icons(base)
        path = entry_file(base)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, application_entry(launcher), mode=0o644)
        _refresh_menu(path.parent)
        return path
    except OSError as exc:
        raise DesktopEntryError(
            f"cannot add Token Monitor to the application menu: {exc.strerror or exc}"
            + (f" ({exc.filename})" if exc.filename else "")) from None


def uninstall(*, platform: str | None = None, base: Path | None = None) -> list[Path]:
    """Remove the entry and icons install() wrote; returns what was removed."""
    plat = platform or sys.platform
    removed: list[Path] = []
    try:
        if plat == "darwin":  # pragma: no cover - untested here
            app = Path.home() / "Applications" / MAC_APP
            if app.exists():
                shutil.rmtree(app)
                removed.append(app)
            return removed
        if plat == "win32":  # pragma: no cover - untested here
            lnk = _windows_shortcut()
            if lnk.exists():
                lnk.unlink()
                removed.append(lnk)
            return removed
        for path in (entry_file(base), *icon_files(base).values()):
            if path.exists():
                path.unlink()
                removed.append(path)
        _refresh_menu(entry_file(base).parent)
        return removed
    except OSError as exc:
        raise DesktopEntryError(
            f"cannot remove the application-menu entry: {exc.strerror or exc}") from None


def _refresh_menu(folder: Path) -> None:
    """Tell menus about the change when the desktop's tool is there (optional)."""
    import subprocess  # only here: app_icon() imports this module at start-up

    tool = shutil.which("update-desktop-database")
    if tool and folder.is_dir():
        subprocess.run([tool, "-q", str(folder)], check=False, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _refresh_icon_cache(theme: Path) -> None:
    import subprocess  # only here: app_icon() imports this module at start-up

    tool = shutil.which("gtk-update-icon-cache")
    if tool and (theme / "index.theme").exists():  # only a full theme has a cache
        subprocess.run([tool, "-q", "-t", str(theme)], check=False, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _install_mac(launcher: Launcher) -> Path:  # pragma: no cover - untested here
    import plistlib

    app = Path.home() / "Applications" / MAC_APP
    macos = app / "Contents" / "MacOS"
    macos.mkdir(parents=True, exist_ok=True)
    (app / "Contents" / "Resources").mkdir(exist_ok=True)
    shutil.copyfile(bundled_icon(f"{APP_ID}-256.png"),
                    app / "Contents" / "Resources" / f"{APP_ID}.png")
    env = f"export MONITOR_HOME={_sh(launcher.home)}\n" if launcher.home else ""
    script = macos / APP_ID
    script.write_text("#!/bin/sh\n" + env + "exec " + " ".join(_sh(a) for a in launcher.argv)
                      + "\n", encoding="utf-8")
    script.chmod(0o755)
    (app / "Contents" / "Info.plist").write_bytes(plistlib.dumps({
        "CFBundleName": "Token Monitor", "CFBundleIdentifier": "io.github.token-monitor",
        "CFBundleExecutable": APP_ID, "CFBundlePackageType": "APPL", "LSUIElement": True,
    }))
    return app


def _sh(arg: str) -> str:  # pragma: no cover - used by the macOS path
    import shlex

    return shlex.quote(arg)


def _windows_shortcut() -> Path:  # pragma: no cover - Windows only
    appdata = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    return appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs" / WINDOWS_SHORTCUT


def _install_windows(launcher: Launcher) -> Path:  # pragma: no cover - untested here
    import subprocess

    lnk = _windows_shortcut()
    exe = launcher.argv[0]
    if exe.lower().endswith("python.exe"):
        exe = exe[: -len("python.exe")] + "pythonw.exe"
    args = " ".join(f'"{a}"' if " " in a else a for a in launcher.argv[1:])
    ps = ("$s=(New-Object -ComObject WScript.Shell).CreateShortcut($env:TM_LNK);"
          "$s.TargetPath=$env:TM_EXE;$s.Arguments=$env:TM_ARGS;$s.Save()")
    env = dict(os.environ, TM_LNK=str(lnk), TM_EXE=exe, TM_ARGS=args)
    if launcher.home:
        env["MONITOR_HOME"] = launcher.home
    done = subprocess.run(["powershell", "-NoProfile", "-Command", ps], env=env, check=False,
                          timeout=60, capture_output=True)
    if done.returncode != 0:
        raise DesktopEntryError("PowerShell could not create the Start-menu shortcut")
    return lnk
