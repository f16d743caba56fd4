"""A running process follows settings.json by content: `AppContext.reload_settings_if_changed`
re-reads a changed file, keeps its settings over a file it cannot use (never moving it aside),
and a save merges the caller's changes onto the file as it is and runs on the result."""

from __future__ import annotations

import json
import logging
import os
from decimal import Decimal
from pathlib import Path

import pytest

from monitor.context import AppContext
from monitor.core.settings import Settings
from monitor.errors import ConfigError
from monitor.paths import Paths
from monitor.services.file_tag import content_tag
from monitor.services.settings_file import load_settings, reread_settings, save_settings


def _write(path: Path, doc: dict[str, object]) -> None:
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def test_unchanged_content_is_no_change_and_a_same_length_edit_in_place_is_one(
        paths: Paths) -> None:
    path = paths.settings_file
    _write(path, {"monthly_limit_usd": 60})
    ctx = AppContext(paths)
    assert ctx.settings.monthly_limit_usd == Decimal(60)
    assert ctx.reload_settings_if_changed() is None
    stat = path.stat()
    with path.open("r+", encoding="utf-8") as fh:  # same length; the mtime put back
        fh.write(path.read_text(encoding="utf-8").replace("60", "65"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    new = ctx.reload_settings_if_changed()
    assert new is not None and new.monthly_limit_usd == Decimal(65)
    assert ctx.settings is new
    assert ctx.reload_settings_if_changed() is None


def test_a_change_that_leaves_the_settings_equal_is_read_but_not_reported(
        paths: Paths) -> None:
    path = paths.settings_file
    _write(path, {"monthly_limit_usd": 60})
    ctx = AppContext(paths)
    before = ctx.settings
    _write(path, {"monthly_limit_usd": 60, "x_note": "mine"})
    assert ctx.reload_settings_if_changed() is None
    assert ctx.settings == before


def test_a_file_that_is_not_valid_settings_now_is_kept_in_place_and_logged_once(
        paths: Paths, caplog: pytest.LogCaptureFixture) -> None:
    path = paths.settings_file
    _write(path, {"monthly_limit_usd": 60})
    ctx = AppContext(paths)
    assert ctx.settings.monthly_limit_usd == Decimal(60)
    path.write_text('{"monthly_limit_usd": 7', encoding="utf-8")  # an editor halfway through
    with caplog.at_level(logging.WARNING, logger="monitor.context"):
        assert ctx.reload_settings_if_changed() is None
        assert ctx.reload_settings_if_changed() is None
    assert ctx.settings.monthly_limit_usd == Decimal(60)
    assert path.read_text(encoding="utf-8") == '{"monthly_limit_usd": 7'
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]
    [record] = [r for r in caplog.records if "settings.json" in r.getMessage()]  # once
    assert "the settings in use were kept" in record.getMessage()
    _write(path, {"monthly_limit_usd": 70})
    new = ctx.reload_settings_if_changed()
    assert new is not None and new.monthly_limit_usd == Decimal(70)


def test_a_removed_file_gives_the_defaults_as_the_cli_would(paths: Paths) -> None:
    _write(paths.settings_file, {"monthly_limit_usd": 60})
    ctx = AppContext(paths)
    assert ctx.settings.monthly_limit_usd == Decimal(60)
    paths.settings_file.unlink()
    assert ctx.reload_settings_if_changed() == Settings()


def test_reread_never_moves_a_bad_file_aside(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigError, match="kept"):
        reread_settings(path)
    assert path.read_text(encoding="utf-8") == "[1, 2]"
    assert reread_settings(tmp_path / "none.json").settings == Settings()


def test_save_returns_the_file_as_merged_and_the_tag_of_what_it_wrote(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    _write(path, {"monthly_limit_usd": 120, "poll_interval_s": 300})
    shown = load_settings(path)
    assert shown.tag == content_tag(path)
    _write(path, {"monthly_limit_usd": 90, "poll_interval_s": 300})  # the CLI, meanwhile
    saved = save_settings(path, shown.settings.replace(poll_interval_s=60),
                          before=shown.settings)
    assert json.loads(path.read_text()) == {"monthly_limit_usd": 90, "poll_interval_s": 60}
    assert saved.settings.monthly_limit_usd == Decimal(90)
    assert saved.settings.poll_interval_s == 60
    assert saved.tag == content_tag(path)
    same = save_settings(path, saved.settings, before=saved.settings)  # nothing to write
    assert same.settings == saved.settings and same.tag == saved.tag


def test_the_context_runs_on_the_merged_file_after_a_save(paths: Paths) -> None:
    _write(paths.settings_file, {"monthly_limit_usd": 120})
    ctx = AppContext(paths)
    shown = ctx.settings
    _write(paths.settings_file, {"monthly_limit_usd": 90})  # another process
    result = ctx.save_settings(shown.replace(poll_interval_s=60), before=shown)
    assert result.monthly_limit_usd == Decimal(90) and result.poll_interval_s == 60
    assert ctx.settings == result
    assert ctx.reload_settings_if_changed() is None  # its own write is no outside change
