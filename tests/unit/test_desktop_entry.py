"""The application-menu entry: written and removed by `token-monitor desktop`, valid per
desktop-file-validate, icon files in the hicolor theme, and reused by start at login."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.services import autostart, desktop_entry
from monitor.services.desktop_entry import ICON_PNG_SIZES, Launcher, application_entry

LAUNCHER = Launcher(("/opt/my venv/bin/python", "-m", "monitor"), "/data/token $monitor")


def _validate(path: Path) -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        if os.environ.get("MONITOR_REQUIRE_XVFB") == "1":  # CI installs desktop-file-utils
            pytest.fail("desktop-file-validate is missing (Debian: desktop-file-utils)")
        pytest.skip("desktop-file-validate is missing (Debian: desktop-file-utils)")
    done = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def exec_argv(value: str) -> list[str]:
    """Exec back to argv as the Desktop Entry spec reads it: the key-file string escape
    (`\\\\` → `\\`) first, then the arguments, where a double-quoted one may escape
    `"`, `` ` ``, `$` and `\\` with a backslash."""
    text = value.replace("\\\\", "\\")
    argv: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == " ":
            i += 1
            continue
        if text[i] == '"':
            out, i = [], i + 1
            while text[i] != '"':
                if text[i] == "\\" and text[i + 1] in '"`$\\':
                    i += 1
                out.append(text[i])
                i += 1
            argv.append("".join(out))
            i += 1
        else:
            end = text.find(" ", i)
            end = len(text) if end < 0 else end
            argv.append(text[i:end])
            i = end
    return argv


def _keys(text: str) -> dict[str, str]:
    lines = text.splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if line)


def test_install_writes_a_valid_entry_and_the_icons(tmp_path: Path) -> None:
    path = desktop_entry.install(LAUNCHER, platform="linux", base=tmp_path)
    assert path == tmp_path / "applications" / "token-monitor.desktop"
    _validate(path)
    keys = _keys(path.read_text(encoding="utf-8"))
    assert keys["StartupWMClass"] == "token-monitor"  # run_app's WM_CLASS instance
    assert keys["Icon"] == "token-monitor" and keys["Terminal"] == "false"
    # Exec survives the Desktop Entry quoting: the same argv comes back out.
    assert exec_argv(keys["Exec"]) == ["env", "MONITOR_HOME=/data/token $monitor",
                                         "/opt/my venv/bin/python", "-m", "monitor"]
    theme = tmp_path / "icons" / "hicolor"
    assert (theme / "scalable" / "apps" / "token-monitor.svg").read_bytes() == \
        desktop_entry.bundled_icon().read_bytes()
    for n in ICON_PNG_SIZES:
        png = (theme / f"{n}x{n}" / "apps" / "token-monitor.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert (width, height) == (n, n)
    assert desktop_entry.is_installed("linux", base=tmp_path)
    assert desktop_entry.install(LAUNCHER, platform="linux", base=tmp_path) == path  # again

    removed = desktop_entry.uninstall(platform="linux", base=tmp_path)
    assert path in removed and len(removed) == 1 + 1 + len(ICON_PNG_SIZES)
    assert not path.exists() and not desktop_entry.is_installed("linux", base=tmp_path)
    assert not list(theme.rglob("*.png"))
    assert desktop_entry.uninstall(platform="linux", base=tmp_path) == []


def test_start_at_login_reuses_the_entry(tmp_path: Path) -> None:
    written = autostart.set_autostart(True, LAUNCHER, platform="linux",
                                      config_home=tmp_path / "config",
                                      data_home=tmp_path / "data")
    assert written is not None
    text = written.read_text(encoding="utf-8")
    assert text.startswith(application_entry(LAUNCHER))  # the same entry …
    assert text.endswith("X-GNOME-Autostart-enabled=true\nX-GNOME-Autostart-Delay=5\n")
    assert (tmp_path / "data" / "icons" / "hicolor" / "48x48" / "apps" /
            "token-monitor.png").exists()  # … with its icon
    _validate(written)


def test_desktop_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    entry = tmp_path / "share" / "applications" / "token-monitor.desktop"
    assert main(["desktop", "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"action": "status", "installed": False,
                                                   "entry": str(entry)}
    assert main(["--home", str(tmp_path / "tm"), "desktop", "install"]) == 0
    assert capsys.readouterr().out.strip() == f"added to the application menu: {entry}"
    argv = exec_argv(_keys(entry.read_text(encoding="utf-8"))["Exec"])
    assert argv[:2] == ["env", f"MONITOR_HOME={(tmp_path / 'tm').resolve()}"]
    assert argv[-2:] == ["-m", "monitor"]
    assert main(["desktop", "uninstall", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["installed"] is False and str(entry) in out["removed"]
    assert not entry.exists()
