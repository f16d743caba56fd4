"""`token-monitor price`: the whole table, one resolved model, JSON contract, unknown -> exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest

from monitor.cli import main
from monitor.paths import Paths
from monitor.services.price_files import load_price_table

CONTRACT_KEYS = {"model", "resolved", "input", "cached_input", "output", "context_window",
                 "encoding", "as_of"}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["price", *args])
    out, err = capsys.readouterr()
    return code, out, err


def parse(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def test_whole_table_human(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("model"))
    assert header.split() == ["model", "input", "cached", "output", "context", "encoding", "flags"]
    names = {line.split()[0] for line in lines if line.strip()}
    assert set(load_price_table().models) <= names
    gpt4o = next(line for line in lines if line.startswith("gpt-4o "))
    assert gpt4o.split()[:6] == ["gpt-4o", "2.5", "1.25", "10", "128,000", "o200k_base"]
    astra = next(line for line in lines if line.startswith("gpt-6-astra "))
    assert "o200k_base (assumed)" in astra and "uncertain" in astra
    # columns line up: every price row puts "input" right-aligned under its header
    end = header.index("input") + len("input")
    assert gpt4o[end - 3:end] == "2.5" and astra[end - 2:end] == "10"
    assert "gpt-5.6 → gpt-5.6-sol" in out


def test_whole_table_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--json")
    assert code == 0
    entries = parse(out)
    assert isinstance(entries, list)
    assert [e["model"] for e in entries] == list(load_price_table().models)
    for entry in entries:
        assert set(entry) >= CONTRACT_KEYS, entry["model"]
        assert entry["model"] == entry["resolved"]
        assert entry["input"] > 0 and entry["as_of"] == "2026-11-23"


def test_one_dated_model_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "gpt-4o-2024-08-06", "--json")
    assert code == 0
    entry = parse(out)
    assert {k: entry[k] for k in CONTRACT_KEYS} == {
        "model": "gpt-4o-2024-08-06", "resolved": "gpt-4o", "input": Decimal("2.5"),
        "cached_input": Decimal("1.25"), "output": 10, "context_window": 128_000,
        "encoding": "o200k_base", "as_of": "2026-11-23",
    }
    assert entry["resolved_by"] == "snapshot" and entry["encoding_assumed"] is False
    assert entry["tiers"]["batch"]["input"] == Decimal("1.25")
    assert entry["tiers"]["batch"]["derived"] == ["cached_input"]
    assert entry["tiers"]["flex"]["derived"] == ["input", "cached_input", "output"]


def test_one_model_without_cached_price_and_context(capsys: pytest.CaptureFixture[str]) -> None:
    entry = parse(run(capsys, "codex-mini-latest", "--json")[1])
    assert entry["context_window"] is None and entry["encoding_assumed"] is True
    entry = parse(run(capsys, "gpt-4-turbo", "--json")[1])
    assert entry["cached_input"] is None and entry["encoding"] == "cl100k_base"


def test_one_model_human_shows_the_resolution(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "gpt-4o-2024-08-06")
    assert code == 0
    assert out.splitlines()[0].startswith("gpt-4o-2024-08-06 → gpt-4o (dated snapshot")
    assert "context window 128,000" in out and "encoding o200k_base" in out
    standard = next(line for line in out.splitlines() if line.startswith("standard"))
    assert standard.split() == ["standard", "2.5", "1.25", "—", "10"]
    out = run(capsys, "ft:gpt-4o-mini-2024-07-18:org:x:1")[1]
    assert "→ ft:gpt-4o-mini-2024-07-18 (fine-tune, priced at the published" in out
    out = run(capsys, "ft:o3-2025-04-16:org:x:1")[1]
    assert "→ o3 (fine-tune with no published fine-tune rate: ESTIMATE" in out


def test_one_model_human_with_history_and_unoffered_tier(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = run(capsys, "o3")[1]
    assert "since launch: input 10, cached 2.5, output 40" in out
    assert "from 2025-06-10: input 2, cached 0.5, output 8" in out
    out = run(capsys, "gpt-5-nano")[1]
    assert "priority not offered" in out


@pytest.mark.parametrize(("when", "price"), [("2026-07-29", "2.5"), ("2026-07-30", "2")])
def test_at_picks_the_price_in_force(capsys: pytest.CaptureFixture[str], when: str,
                                     price: str) -> None:
    entry = parse(run(capsys, "gpt-5.6-terra", "--json", "--at", when)[1])
    assert entry["input"] == Decimal(price)
    assert entry["prices_on"] == when


def test_bad_at_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["price", "gpt-4o", "--at", "soon"])
    assert exc.value.code == 2
    assert "not a date" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [(), ("--json",)])
def test_unknown_model_exits_2(capsys: pytest.CaptureFixture[str], extra: tuple[str, ...]) -> None:
    code, out, err = run(capsys, "my-secret-model", *extra)
    assert code == 2 and out == ""
    assert "unknown model 'my-secret-model'" in err and "prices.json" in err


def test_override_is_shown_and_a_broken_one_warns(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    paths.prices_override.write_text(json.dumps(
        {"models": {"house-model": {"prices": [{"standard": {"input": 1, "output": 2}}]}}}))
    entry = parse(run(capsys, "house-model", "--json")[1])
    assert (entry["resolved"], entry["input"], entry["source"]) == ("house-model", 1,
                                                                     "user override")
    paths.prices_override.write_text('{"models": {\n"house-model": 1,\n}}')
    code, out, err = run(capsys, "gpt-4o", "--json")
    assert code == 0 and parse(out)["input"] == Decimal("2.5")
    assert f"warning: price override ignored, using the bundled prices: {paths.prices_override}" \
        in err
    assert run(capsys, "house-model")[0] == 2


def test_python_dash_m_price_json() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "price", "gpt-4o-2024-08-06", "--json"],
        capture_output=True, text=True, check=True, timeout=60,
    )
    entry = parse(proc.stdout)
    assert (entry["model"], entry["resolved"], entry["input"], entry["output"]) == (
        "gpt-4o-2024-08-06", "gpt-4o", Decimal("2.5"), 10)
    assert entry["as_of"] == "2026-11-23"


def test_fine_tune_and_modality_variant_done_when(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ft:gpt-4o-mini-2024-07-18:org::abc", "--json")
    entry = parse(out)
    assert code == 0
    assert (entry["input"], entry["cached_input"], entry["output"]) == (
        Decimal("0.3"), Decimal("0.15"), Decimal("1.2"))
    assert entry["resolved_by"] == "fine-tune" and entry["estimate"] is False
    code, out, _ = run(capsys, "ft:o3-2025-04-16:org::abc", "--json")
    entry = parse(out)
    assert entry["resolved"] == "o3" and entry["estimate"] is True
    assert "no published fine-tune rate" in entry["estimate_reason"]
    code, out, _ = run(capsys, "gpt-4o-mini-transcribe", "--json")
    assert parse(out)["resolved"] == "gpt-4o-mini-transcribe"
    code, _, err = run(capsys, "gpt-4o-mini-audio-preview")
    assert code == 2 and "unknown model" in err
