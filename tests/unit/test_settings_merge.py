"""Saving settings merges into the file on disk: nothing the user wrote is lost."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from monitor.core.settings import Settings
from monitor.errors import CannotWriteError, ConfigError
from monitor.services.settings_file import load_settings, save_settings


def _write(path: Path, doc: object) -> bytes:
    data = (json.dumps(doc, indent=1) + "\n").encode()
    path.write_bytes(data)
    return data


def test_unknown_keys_and_unchanged_invalid_values_survive_a_save(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    original = _write(path, {"cycle_start_day": 15, "today_timezone": "Europe/Paris",
                             "poll_interval_s": 5, "x_future_setting": {"a": [1, 2]}})
    loaded = load_settings(path)
    assert any("poll_interval_s" in w for w in loaded.warnings)  # 5 is below the minimum
    save_settings(path, loaded.settings.replace(monthly_limit_usd="5"), before=loaded.settings)
    assert json.loads(path.read_text()) == {
        "cycle_start_day": 15, "today_timezone": "Europe/Paris", "poll_interval_s": 5,
        "x_future_setting": {"a": [1, 2]}, "monthly_limit_usd": 5}
    assert (tmp_path / "settings.json.bak").read_bytes() == original
    assert os.stat(tmp_path / "settings.json.bak").st_mode & 0o777 == 0o600


def test_every_write_keeps_the_previous_file_as_bak(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(path, Settings(monthly_limit_usd=Decimal(10)))
    assert not (tmp_path / "settings.json.bak").exists()  # there was no previous file
    first = path.read_bytes()
    save_settings(path, Settings(monthly_limit_usd=Decimal(20)))
    assert (tmp_path / "settings.json.bak").read_bytes() == first
    second = path.read_bytes()
    save_settings(path, Settings(monthly_limit_usd=Decimal(30)))
    assert (tmp_path / "settings.json.bak").read_bytes() == second
    assert load_settings(path).settings.monthly_limit_usd == 30


def test_a_change_made_meanwhile_to_another_setting_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    _write(path, {"monthly_limit_usd": 40})
    mine = load_settings(path).settings
    _write(path, {"monthly_limit_usd": 50})  # another process (the GUI) saved meanwhile
    save_settings(path, mine.replace(cycle_start_day=9), before=mine)
    assert json.loads(path.read_text()) == {"monthly_limit_usd": 50, "cycle_start_day": 9}


def test_setting_a_value_back_to_its_default_is_written(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    _write(path, {"monthly_limit_usd": 40})
    save_settings(path, Settings())  # no `before`: compared with the file
    assert load_settings(path).settings.monthly_limit_usd == Settings().monthly_limit_usd


def test_nothing_changed_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    data = _write(path, {"monthly_limit_usd": 40, "mine": True})
    loaded = load_settings(path).settings
    save_settings(path, loaded, before=loaded)
    assert path.read_bytes() == data and not (tmp_path / "settings.json.bak").exists()


@pytest.mark.parametrize("content", [b'{"monthly_limit_usd": 10,', b"[" * 100_000,
                                     b"\xff\xfe not text"])
def test_a_file_that_cannot_be_parsed_at_save_time_is_not_overwritten(
        tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(content)  # written after the app loaded its settings
    with pytest.raises(ConfigError, match="not valid settings") as err:
        save_settings(path, Settings(monthly_limit_usd=Decimal(5)), before=Settings())
    assert str(path) in err.value.text()
    assert path.read_bytes() == content
    assert not (tmp_path / "settings.json.bak").exists()


def test_a_directory_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.mkdir()
    (path / "inside").write_text("mine")
    loaded = load_settings(path)
    assert loaded.settings == Settings() and "cannot be read" in loaded.warnings[0]
    with pytest.raises(ConfigError, match="is a directory"):
        save_settings(path, Settings(monthly_limit_usd=Decimal(5)), before=loaded.settings)
    assert (path / "inside").read_text() == "mine"


def test_a_write_the_disk_refuses_is_a_clear_error(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.json"
    data = _write(path, {"monthly_limit_usd": 40})

    def full(*_a: object, **_k: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("monitor.services.settings_file.atomic_write_text", full)
    with pytest.raises(CannotWriteError, match="No space left on device"):
        save_settings(path, Settings(monthly_limit_usd=Decimal(5)))
    assert path.read_bytes() == data


def test_over_deep_settings_are_corrupt_and_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("[" * 100_000)
    loaded = load_settings(path)
    assert loaded.settings == Settings()
    assert "nested too deeply" in loaded.warnings[0] and "moved to" in loaded.warnings[0]
    [aside] = tmp_path.glob("settings.json.corrupt-*")
    assert aside.read_text() == "[" * 100_000 and not path.exists()
    assert load_settings(path).warnings == []  # the next run is clean


def test_a_symlinked_settings_file_stays_a_link(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "token-monitor.json"
    _write(real, {"cycle_start_day": 3})
    path = tmp_path / "settings.json"
    path.symlink_to(real)
    save_settings(path, Settings(cycle_start_day=3, monthly_limit_usd=Decimal(9)))
    assert path.is_symlink() and path.resolve() == real
    assert json.loads(real.read_text()) == {"cycle_start_day": 3, "monthly_limit_usd": 9}
