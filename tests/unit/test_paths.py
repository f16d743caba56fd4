"""Where files go: MONITOR_HOME, --home, and platformdirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.paths import resolve_paths


def test_monitor_home_puts_everything_under_one_folder(home: Path) -> None:
    p = resolve_paths().ensure()
    for d in (p.config_dir, p.data_dir, p.log_dir, p.cache_dir):
        assert d.is_dir()
        assert home in d.parents
    assert p.db_file.parent == p.data_dir
    assert p.settings_file.parent == p.config_dir


def test_explicit_home_wins_over_environment(tmp_path: Path, home: Path) -> None:
    p = resolve_paths(tmp_path / "other")
    assert (tmp_path / "other") in p.config_dir.parents
    assert home not in p.config_dir.parents


def test_platformdirs_when_no_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MONITOR_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    p = resolve_paths()
    assert p.config_dir == tmp_path / "xdg-config" / "token-monitor"
    assert p.data_dir == tmp_path / "xdg-data" / "token-monitor"
