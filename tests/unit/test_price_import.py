"""`token-monitor price import FILE [--apply]`: LiteLLM's format and ours, diff, dated apply."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.core.price_import import diff, dump_table, read_import
from monitor.core.usage import TokenUsage
from monitor.paths import Paths
from monitor.services.price_files import load_price_table

FIXTURE = Path(__file__).parent.parent / "fixtures" / "litellm_model_prices.json"
D = Decimal
NOW = "2026-12-03T10:00:00+00:00"  # the import date comes from the clock given


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["price", *argv, "--now", NOW])
    out, err = capsys.readouterr()
    return code, out, err


def test_litellm_rows_are_read_per_1m_and_exactly() -> None:
    result = read_import(FIXTURE.read_text(), "fixture")
    assert result.format == "litellm"
    models = {m.name: m for m in result.models}
    assert set(models) == {"gpt-4o", "o3", "gpt-9-preview", "ft:gpt-4o-mini-2024-07-18"}
    # 2.5e-06 per token = 2.5 per 1M, exactly (read as decimals, never floats)
    assert models["gpt-4o"].tiers["standard"] == {"input": D("2.5"), "cached_input": D("1.25"),
                                                  "output": D(10)}
    assert models["gpt-4o"].tiers["priority"] == {"input": D("4.25"),
                                                  "cached_input": D("2.125"), "output": D(17)}
    assert models["gpt-9-preview"].tiers["long_context"] == {"input": D(6), "output": D(27)}
    assert models["gpt-9-preview"].context_window == 1_050_000
    assert result.skipped == 2  # azure/ and anthropic rows are not OpenAI's
    assert sorted(p.split(":")[0] for p in result.problems) == ["dall-e-3", "gpt-broken"]


def test_diff_against_the_table() -> None:
    result = read_import(FIXTURE.read_text(), "fixture")
    changes, unchanged = diff(result, load_price_table(), date(2026, 12, 3))
    assert [(c.model, c.kind, c.fields) for c in changes] == [
        ("o3", "changed", (("standard.output", D(8), D(9)),)),
        ("gpt-9-preview", "new", ()),
    ]
    assert unchanged == 2  # gpt-4o and the gpt-4o-mini fine-tune match the table


def test_dry_run_changes_nothing(paths: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "import", str(FIXTURE))
    assert code == 0
    assert "1 new, 1 changed, 2 unchanged, 2 bad" in out
    assert "  changed  o3: output 8 → 9" in out
    assert "  bad      gpt-broken: input_cost_per_token: expected a number >= 0" in out
    assert "--apply" in out and not paths.prices_override.exists()


def test_apply_writes_dated_rows_and_keeps_history(paths: Paths,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    mine = {"models": {"gpt-4o": {"note": "my own note"}}}  # the user's override, kept
    paths.prices_override.write_text(json.dumps(mine))
    code, out, _ = run(capsys, "import", str(FIXTURE), "--apply")
    assert code == 0 and "Applied: 2 models" in out and "from 2026-12-03" in out
    doc = json.loads(paths.prices_override.read_text(), parse_float=Decimal)
    assert doc["models"]["gpt-4o"] == {"note": "my own note"}
    assert "gpt-broken" not in doc["models"] and "dall-e-3" not in doc["models"]
    [row] = doc["models"]["o3"]["prices"]
    assert row["effective_from"] == "2026-12-03" and row["standard"]["output"] == 9
    table = load_price_table(paths.prices_override)
    assert table.warnings == []
    one_m = TokenUsage(output_tokens=1_000_000)
    # earlier usage keeps the old price, usage from the import date on gets the new one
    before = datetime.fromisoformat("2026-12-02T23:00:00+00:00")
    assert table.cost("o3", one_m, at=before).usd == D(8)
    assert table.cost("o3", one_m, at=datetime.fromisoformat(NOW)).usd == D(9)
    # 100k x 3 (one request under 272k: standard context)
    assert table.cost("gpt-9-preview", TokenUsage(input_tokens=100_000),
                      at=datetime.fromisoformat(NOW)).usd == D("0.3")
    assert table.models["gpt-4o"].note == "my own note"
    # importing again finds nothing new
    code, out, _ = run(capsys, "import", str(FIXTURE), "--apply")
    assert "0 new, 0 changed, 4 unchanged" in out and "Nothing to apply" in out


def test_apply_keeps_the_previous_override_as_bak(paths: Paths, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    override = paths.prices_override
    backup = override.with_name("prices.json.bak")
    # the first import with no override of the user's: nothing to keep, and no .bak
    code, out, _ = run(capsys, "import", str(FIXTURE), "--apply")
    assert code == 0 and "Applied: 2 models" in out
    assert not backup.exists() and "kept as" not in out
    first = override.read_bytes()
    # the user edits the file by hand (their spacing and notes are theirs), then imports again
    edited = first.replace(b'"models": {', b'"models": {\n  "gpt-4o": {"note": "mine"},', 1)
    override.write_bytes(edited)
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"models": {
        "o3": {"prices": [{"standard": {"input": 2, "cached_input": 0.5, "output": 10}}]}}}))
    code, out, err = run(capsys, "import", str(newer), "--apply", "--json")
    assert code == 0, err
    got: Any = json.loads(out)
    assert got["applied"] is True and got["backup"] == str(backup)
    assert backup.read_bytes() == edited  # byte for byte what was replaced
    assert backup.stat().st_mode & 0o777 == 0o600
    assert b"mine" in override.read_bytes() and override.read_bytes() != edited
    # the text output says where the old file went
    replaced = override.read_bytes()
    newer.write_text(json.dumps({"models": {
        "o3": {"prices": [{"standard": {"input": 2, "cached_input": 0.5, "output": 11}}]}}}))
    code, out, _ = run(capsys, "import", str(newer), "--apply")
    assert code == 0 and f"The previous override is kept as {backup}." in out
    assert backup.read_bytes() == replaced
    # nothing to apply: nothing is written, the .bak stays as it was
    code, out, _ = run(capsys, "import", str(newer), "--apply", "--json")
    assert json.loads(out)["backup"] is None and backup.read_bytes() == replaced


def test_apply_to_a_symlinked_override_writes_its_target(paths: Paths, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    dotfiles = tmp_path / "dotfiles" / "prices.json"
    dotfiles.parent.mkdir()
    dotfiles.write_text('{"models": {}}')
    paths.prices_override.symlink_to(dotfiles)
    code, out, _ = run(capsys, "import", str(FIXTURE), "--apply")
    assert code == 0 and "Applied: 2 models" in out
    assert paths.prices_override.is_symlink() and "o3" in dotfiles.read_text()
    assert paths.prices_override.with_name("prices.json.bak").read_text() == '{"models": {}}'


def test_own_table_format(paths: Paths, capsys: pytest.CaptureFixture[str],
                          tmp_path: Path) -> None:
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"models": {
        "gpt-4o": {"prices": [{"standard": {"input": 2, "cached_input": 1, "output": 8}}]},
        "bad-one": {"prices": [{"standard": {"input": -1, "output": 2}}]},
    }}))
    code, out, _ = run(capsys, "import", str(mine), "--json")
    assert code == 0
    got: Any = json.loads(out)
    assert got["format"] == "table" and got["applied"] is False
    assert got["changed"] == [{"model": "gpt-4o", "kind": "changed", "changes": {
        "standard.input": {"old": 2.5, "new": 2}, "standard.cached_input": {"old": 1.25, "new": 1},
        "standard.output": {"old": 10, "new": 8}}}]
    assert got["problems"] == ['bad-one: bad-one.prices[0].standard.input: expected a price '
                               '>= 0, got "-1"']


def test_bad_files_and_a_broken_override(paths: Paths, capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run(capsys, "import", str(bad))
    assert code == 1 and "line 1, column 2: invalid JSON" in err
    code, _, err = run(capsys, "import", str(tmp_path / "missing.json"))
    assert code == 1 and "cannot read" in err
    paths.prices_override.write_text('{"models": {"gpt-4o": {"prices": "oops"}}}')
    before = paths.prices_override.read_text()
    code, _, err = run(capsys, "import", str(FIXTURE), "--apply")
    assert code == 1 and "never rewritten" in err
    assert paths.prices_override.read_text() == before


def test_dump_table_round_trips_the_bundled_file() -> None:
    from monitor import resources

    text = resources.file_path("prices.json").read_text(encoding="utf-8")
    assert dump_table(json.loads(text, parse_float=Decimal)) == text
