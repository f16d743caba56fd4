"""`token-monitor count`: JSON contract, costs from the price table, streaming, bad input."""

from __future__ import annotations

import codecs
import io
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.commands import count as count_cmd
from monitor.core.tokens import count_tokens, text_stats
from monitor.core.usage import TokenUsage
from monitor.services.price_files import load_price_table

FIXTURES = Path(__file__).parent.parent / "fixtures"
KEYS = {"model", "encoding", "tokens", "characters", "words", "input_cost_usd",
        "output_cost_usd", "context_window"}

SAMPLE = (
    "The quick brown fox jumps over the lazy dog.\n"
    "这是一个用于测试分词的中文句子，包含标点符号。\n"
    "def f(x):\n    return x ** 2  # <|endoftext|>\n"
    "😀 emoji and naïve café\n"
)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], str]:
    code, out, err = _run([*argv, "--json"], capsys)
    assert code == 0, err
    return json.loads(out), err


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def _num(value: Decimal | None) -> Any:
    return None if value is None else pytest.approx(float(value), rel=1e-12)


def test_default_model_json_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.txt"
    f.write_text(SAMPLE, encoding="utf-8")
    data, err = _json(["count", str(f)], capsys)
    table = load_price_table()
    model = table.default_model
    info = table.resolve(model).info
    assert info is not None
    assert data.keys() >= KEYS
    n = count_tokens(SAMPLE, info.encoding)
    assert data["model"] == model
    assert data["encoding"] == info.encoding
    assert data["tokens"] == n
    assert (data["characters"], data["words"]) == (len(SAMPLE), text_stats(SAMPLE).words)
    assert data["input_cost_usd"] == _num(table.cost(model, TokenUsage(input_tokens=n)).usd)
    assert data["output_cost_usd"] == _num(table.cost(model, TokenUsage(output_tokens=n)).usd)
    assert isinstance(data["input_cost_usd"], float | int) and data["input_cost_usd"] > 0
    assert data["context_window"] == info.context_window
    assert err == ""


def test_model_picks_encoding_and_prices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "a.txt"
    f.write_text(SAMPLE, encoding="utf-8")
    data, _ = _json(["count", str(f), "--model", "gpt-4"], capsys)
    assert data["encoding"] == "cl100k_base"
    assert data["tokens"] == count_tokens(SAMPLE, "cl100k_base")
    assert data["estimate"] is False and data["encoding_assumed"] is False
    assert data["input_cost_usd"] > 0


def test_encoding_only_has_no_prices(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.txt"
    f.write_text(SAMPLE, encoding="utf-8")
    data, _ = _json(["count", str(f), "-e", "cl100k_base"], capsys)
    assert data["model"] is None and data["encoding"] == "cl100k_base"
    assert data["input_cost_usd"] is None and data["output_cost_usd"] is None
    assert data["context_window"] is None
    assert data["tokens"] == count_tokens(SAMPLE, "cl100k_base")


def test_model_and_encoding_together_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["count", "--model", "gpt-4o", "--encoding", "o200k_base"])
    assert exc.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_unknown_model_has_null_costs_and_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, b"hello world\n")
    data, err = _json(["count", "-", "--model", "zz-unknown-9"], capsys)
    assert data["input_cost_usd"] is None and data["output_cost_usd"] is None
    assert data["encoding"] == "o200k_base" and data["encoding_assumed"] is True
    assert data["tokens"] == 3
    assert "not in the price table" in err


def test_stdin_is_the_default(monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    _stdin(monkeypatch, SAMPLE.encode())
    data, _ = _json(["count", "-e", "o200k_base"], capsys)
    assert data["tokens"] == count_tokens(SAMPLE, "o200k_base")


def test_human_output_is_aligned_with_separators_and_dollars(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "a.txt"
    text = SAMPLE * 400
    f.write_text(text, encoding="utf-8")
    code, out, _ = _run(["count", str(f), "--model", "gpt-4o"], capsys)
    assert code == 0
    lines = dict(line.split(None, 1) for line in out.splitlines() if not line.startswith("("))
    assert lines["tokens"] == f"{count_tokens(text, 'o200k_base'):,}"
    assert "," in lines["tokens"]
    assert "$" in out and "context" in out
    values = [line for line in out.splitlines() if not line.startswith(("(", "note"))]
    starts = {len(line) - len(line.split("  ")[-1].lstrip()) for line in values}
    assert len(starts) == 1  # every value starts in the same column


def test_invalid_utf8_is_replaced_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "latin1.txt"
    raw = "café olé naïve\n".encode("latin-1") * 3
    f.write_bytes(raw)
    data, err = _json(["count", str(f), "-e", "o200k_base"], capsys)
    expected = raw.decode("utf-8", errors="replace")
    assert data["tokens"] == count_tokens(expected, "o200k_base")
    assert data["characters"] == len(expected)
    assert "9 invalid UTF-8 byte sequence(s)" in err


def test_binary_file_is_refused_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "blob.bin"
    f.write_bytes(bytes(range(256)) * 64 + b"\x00" * 4096)
    code, out, err = _run(["count", str(f)], capsys)
    assert code == 1 and out == ""
    assert "looks like a binary file" in err and "NUL" in err


def test_random_bytes_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import random

    f = tmp_path / "random.bin"
    rng = random.Random(1)
    f.write_bytes(bytes(rng.randrange(1, 256) for _ in range(20000)))
    code, _, err = _run(["count", str(f)], capsys)
    assert code == 1 and "invalid UTF-8" in err


def test_a_few_nul_bytes_are_counted_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "nul.txt"
    text = ("abc\x00def " + "word " * 40 + "\n") * 100
    f.write_bytes(text.encode())
    data, err = _json(["count", str(f), "-e", "o200k_base"], capsys)
    assert data["tokens"] == count_tokens(text, "o200k_base")
    assert "NUL" in err


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_byte_order_marks(tmp_path: Path, capsys: pytest.CaptureFixture[str], codec: str) -> None:
    f = tmp_path / "bom.txt"
    raw = SAMPLE.encode(codec)
    if codec == "utf-16-be":
        raw = codecs.BOM_UTF16_BE + raw
    f.write_bytes(raw)
    data, err = _json(["count", str(f), "-e", "o200k_base"], capsys)
    assert data["tokens"] == count_tokens(SAMPLE, "o200k_base")
    assert data["characters"] == len(SAMPLE)
    assert err == ""


def test_missing_file_and_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["count", str(tmp_path / "nope.txt")], capsys)
    assert code == 1 and "no such file" in err
    code, _, err = _run(["count", str(tmp_path)], capsys)
    assert code == 1 and "directory" in err


def test_encoding_not_shipped_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, b"hello\n")
    code, _, err = _run(["count", "--model", "text-davinci-003"], capsys)
    assert code == 1 and "p50k_base" in err and "not shipped" in err


def test_streaming_in_small_blocks_counts_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tiny blocks split multi-byte characters and bad sequences; counts must not change."""
    text = SAMPLE * 300
    raw = text.encode() + b"tail \xff\xfe bad \xe4\xb8 end\n"
    f = tmp_path / "s.txt"
    f.write_bytes(raw)
    reads: list[int] = []
    real_read = count_cmd._read_blocks

    def spy(stream: Any, name: str, info: Any) -> Any:
        for piece in real_read(stream, name, info):
            reads.append(len(piece))
            yield piece

    monkeypatch.setattr(count_cmd, "BLOCK_BYTES", 7)
    monkeypatch.setattr(count_cmd, "_read_blocks", spy)
    data, err = _json(["count", str(f), "-e", "o200k_base"], capsys)
    expected = raw.decode("utf-8", errors="replace")
    assert data["tokens"] == count_tokens(expected, "o200k_base")
    assert data["characters"] == len(expected)
    assert data["words"] == text_stats(expected).words
    assert len(reads) > 1000 and max(reads) <= 7
    assert "3 invalid UTF-8 byte sequence(s)" in err


@pytest.mark.no_faketime  # CPU-bound threads, no date logic (see pyproject: no_faketime)
def test_fifty_megabyte_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    block = (SAMPLE * 50).encode()  # ends with "\n", starts with a letter: a safe cut
    reps = 50 * 1024 * 1024 // len(block) + 1
    f = tmp_path / "big.txt"
    with f.open("wb") as out:
        for _ in range(reps):
            out.write(block)
    assert f.stat().st_size >= 50 * 1024 * 1024
    text = block.decode()
    data, err = _json(["count", str(f), "--model", "gpt-4o"], capsys)
    assert data["tokens"] == reps * count_tokens(text, "o200k_base")
    assert data["characters"] == reps * len(text)
    assert data["words"] == reps * text_stats(text).words
    assert err == ""


# --- chat ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "model", "tokens"),
    [
        ("cookbook_messages.json", "gpt-4o", 124),
        ("cookbook_messages.json", "gpt-4", 129),
        ("cookbook_tools.json", "gpt-4o-mini", 101),
        ("cookbook_tools.json", "gpt-3.5-turbo", 105),
    ],
)
def test_chat_mode_counts_the_cookbook_examples(
    capsys: pytest.CaptureFixture[str], fixture: str, model: str, tokens: int
) -> None:
    data, _ = _json(["count", "--chat", str(FIXTURES / fixture), "-m", model], capsys)
    assert data["tokens"] == tokens
    assert data["estimate"] is False
    assert data["chat"]["reply_priming"] == 3
    assert data["input_cost_usd"] > 0


def test_chat_mode_uses_the_model_named_in_the_request(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads((FIXTURES / "cookbook_tools.json").read_text())
    doc["model"] = "gpt-4"
    _stdin(monkeypatch, json.dumps(doc).encode())
    data, _ = _json(["count", "--chat"], capsys)
    assert data["model"] == "gpt-4" and data["tokens"] == 105


def test_chat_mode_json_error_has_line_and_column(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, b'[\n  {"role": "user",\n   "content": "hi",}\n]')
    code, out, err = _run(["count", "--chat"], capsys)
    assert code == 1 and out == ""
    assert "line 3, column" in err and "not valid JSON" in err


def test_chat_mode_human_output_lists_the_parts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["count", "--chat", str(FIXTURES / "cookbook_tools.json"),
                         "-m", "gpt-5"], capsys)
    assert code == 0
    assert "101 (estimate)" in out and "tools" in out and "reply priming" in out
    assert "note:" in out


def test_costs_are_the_tokenizer_panes_in_the_one_money_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`count` prices a text with the pane's cost function and writes dollars as the GUI does
    (`$1.39`, never `$1.3910`)."""
    from monitor.core import money
    from monitor.core.tokenizer_model import text_costs

    f = tmp_path / "a.txt"
    text = SAMPLE * 4000 + "odd " * 7  # a count whose dollars have more than cents
    f.write_text(text, encoding="utf-8")
    code, out, _ = _run(["count", str(f), "--model", "gpt-4o"], capsys)
    assert code == 0
    lines = {k: v.split()[-1] for k, v in (line.split(None, 1) for line in out.splitlines()
                                            if " cost " in line)}
    costs = text_costs(load_price_table(), "gpt-4o", count_tokens(text, "o200k_base"))
    assert costs.input is not None and costs.output is not None
    assert lines["input"] == money.usd(costs.input.usd)
    assert lines["output"] == money.usd(costs.output.usd)
    assert costs.output.usd is not None and costs.output.usd != costs.output.usd.quantize(
        Decimal("0.01"))  # more than cents: the old format showed four places
    assert len(lines["output"].split(".")[1]) == 2
