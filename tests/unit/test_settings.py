"""Settings schema, validation, atomic save, and corrupt-file handling."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from monitor.core.settings import SCHEMA, SettingError, Settings, settings_from_dict
from monitor.services.settings_file import load_settings, save_settings


def test_defaults_match_the_documented_ones() -> None:
    s = Settings()
    assert s.monthly_limit_usd == Decimal(120)
    assert s.cycle_start_day == 1
    assert s.alert_thresholds_pct == (50, 80, 90, 100)
    assert s.poll_interval_s == 300
    assert s.today_timezone == "local"
    assert s.openai_base_url == "https://api.openai.com/v1"


def test_every_field_has_a_schema_entry() -> None:
    keys = {spec.key for spec in SCHEMA}
    assert keys == set(Settings.__dataclass_fields__)


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("cycle_start_day", 0, "between 1 and 31"),
        ("cycle_start_day", 32, "between 1 and 31"),
        ("monthly_limit_usd", -5, "at least 0"),
        ("monthly_limit_usd", "lots", "not a number"),
        ("monthly_limit_usd", "1e999", "at most"),
        ("alert_thresholds_pct", [], "at least one"),
        ("today_timezone", "Mars/Olympus", "unknown time zone"),
        ("openai_base_url", "ftp://x", "http"),
        ("poll_interval_s", 5, "between 30"),
        ("language", "xx", "one of"),
    ],
)
def test_invalid_values_are_refused_with_a_reason(key: str, value: object, reason: str) -> None:
    with pytest.raises(SettingError, match=reason):
        Settings().replace(**{key: value})


def test_replace_parses_and_normalises() -> None:
    s = Settings().replace(
        monthly_limit_usd="250.50",
        alert_thresholds_pct="90, 50,50,100",
        today_timezone="Europe/Berlin",
        openai_base_url="http://127.0.0.1:9/v1/",
        prepaid_purchased="2026-11-01",
    )
    assert s.monthly_limit_usd == Decimal("250.50")
    assert s.alert_thresholds_pct == (50, 90, 100)
    assert s.openai_base_url == "http://127.0.0.1:9/v1"
    assert s.prepaid_purchased is not None and s.prepaid_purchased.isoformat() == "2026-11-01"


def test_round_trip_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    original = Settings().replace(monthly_limit_usd="42.5", cycle_start_day=31,
                                  prepaid_credit_usd=50, today_timezone="UTC")
    save_settings(path, original)
    loaded = load_settings(path)
    assert loaded.warnings == []
    assert loaded.settings == original
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_missing_file_gives_defaults_silently(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path / "nope.json")
    assert loaded.settings == Settings() and loaded.warnings == []


def test_corrupt_file_is_moved_aside_not_deleted(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"monthly_limit_usd": 10,', encoding="utf-8")
    loaded = load_settings(path)
    assert loaded.settings == Settings()
    assert len(loaded.warnings) == 1
    assert str(path) in loaded.warnings[0]
    aside = list(tmp_path.glob("settings.json.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_text(encoding="utf-8") == '{"monthly_limit_usd": 10,'
    assert not path.exists()


def test_one_bad_value_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"monthly_limit_usd": 80, "cycle_start_day": 99}), encoding="utf-8")
    loaded = load_settings(path)
    assert loaded.settings.monthly_limit_usd == Decimal(80)
    assert loaded.settings.cycle_start_day == 1
    assert any("cycle_start_day" in w and str(path) in w for w in loaded.warnings)


def test_unknown_keys_are_reported() -> None:
    settings, warnings = settings_from_dict({"colour": "red"})
    assert settings == Settings()
    assert warnings and "colour" in warnings[0]
