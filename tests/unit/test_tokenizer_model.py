"""The tokenizer pane's Qt-free side: exact chunked counts, samples, costs, budget, input."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal
from pathlib import Path

import pytest

from monitor.core import tokenizer_model as tm
from monitor.core.chat_tokens import ChatFormatError, count_chat
from monitor.core.prices import PriceTable
from monitor.core.tokens import get_encoding
from monitor.core.usage import TokenUsage
from monitor.services.price_files import load_price_table

FIXTURES = Path(__file__).parent.parent / "fixtures"
ENCODINGS = ("o200k_base", "cl100k_base")

# Pieces chosen to sit on both sides of every cut rule and to stress the regexes around them:
# newlines before letters/CJK/digits/"/", spaces between letters, runs of whitespace,
# contractions, punctuation tails, surrogate pairs, combining marks, specials as text.
_PIECES = (
    "Hello", " world", "\n", "\n\n", "  ", "\t", "don't", "I'm", "'s", "的", "中文", "令牌",
    "123", "4567", "!", "?!\n", "/", "//", "\n/", "x/y", ".\n", "<|endoftext|>", "😀", "é",
    "e\u0301", "ǅ", "ABC", "camelCase", " ", "\r\n", "\u00a0", "—", "#", "====", "\x00",
)


def _fuzz_text(seed: int, n: int) -> str:
    rnd = random.Random(seed)
    return "".join(rnd.choice(_PIECES) for _ in range(n))


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return load_price_table()


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("seed", range(6))
def test_chunked_count_equals_one_call(encoding: str, seed: int) -> None:
    text = _fuzz_text(seed, 6000)
    expected = len(get_encoding(encoding).encode_ordinary(text))
    for chunk in (7, 64, 1000, tm.CHUNK_CHARS):
        assert tm.count_chunked(text, encoding, chunk_chars=chunk) == expected


def test_chunks_are_cut_only_at_safe_places() -> None:
    text = _fuzz_text(99, 20_000)
    bounds = list(tm.chunk_bounds(text, 50))
    assert bounds[0][0] == 0 and bounds[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    assert len(bounds) > 10
    enc = get_encoding("o200k_base")
    whole = enc.encode_ordinary(text)
    # Each cut is a place where the whole text's tokens are cut too: chunk by chunk the ids
    # are the whole text's ids.
    assert [t for a, b in bounds for t in enc.encode_ordinary(text[a:b])] == whole
    for _start, end in bounds[:-1]:
        before, after = text[end - 1], text[end]
        assert before == "\n" or (after == " " and before.isascii() and before.isalpha())


def test_text_without_safe_cuts_is_one_chunk() -> None:
    text = " " * 5000
    assert list(tm.chunk_bounds(text, 100)) == [(0, 5000)]
    assert tm.count_chunked(text, "o200k_base", chunk_chars=100) == len(
        get_encoding("o200k_base").encode_ordinary(text)
    )


def test_analyze_text_counts_stats_and_sample() -> None:
    text = "Hello world! 你好世界。\n<|endoftext|> is text here.\n" * 50
    enc = get_encoding("o200k_base")
    ids = enc.encode_ordinary(text)
    result = tm.analyze_text(text, "o200k_base", shade_limit=25, chunk_chars=40)
    assert result.tokens == len(ids)
    assert result.characters == len(text)
    assert result.words > 0 and result.tokens_per_word == result.tokens / result.words
    assert result.sample.ids == tuple(ids[:25])
    assert "".join(result.sample.texts) == enc.decode(ids[:25])
    assert result.sample.byte_lengths == tuple(len(enc.decode_single_token_bytes(t))
                                               for t in ids[:25])
    assert result.shading_truncated


def test_sample_marks_split_characters_with_empty_text() -> None:
    text = "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🤖🦜"  # rare astral characters take several tokens each
    result = tm.analyze_text(text, "cl100k_base")
    assert len(result.sample) == result.tokens
    assert "".join(result.sample.texts) == text
    assert "" in result.sample.texts
    assert sum(result.sample.byte_lengths) == len(text.encode("utf-8"))


def test_empty_text() -> None:
    result = tm.analyze_text("", "o200k_base")
    assert (result.tokens, result.characters, result.words, len(result.sample)) == (0, 0, 0, 0)
    assert result.tokens_per_word is None and not result.shading_truncated


def test_analysis_stops_when_superseded() -> None:
    gen = tm.Generation()
    first = gen.advance()
    cancelled = gen.canceller(first)
    assert not cancelled()
    gen.advance()
    assert cancelled() and not gen.is_current(first)
    with pytest.raises(tm.Superseded):
        tm.analyze_text("some text " * 100, "o200k_base", cancelled=cancelled, chunk_chars=50)


def test_token_ids_text_matches_encode() -> None:
    text = _fuzz_text(5, 3000)
    ids = get_encoding("cl100k_base").encode_ordinary(text)
    assert tm.token_ids_text(text, "cl100k_base", chunk_chars=100) == str(ids)
    assert tm.token_ids_text("", "cl100k_base") == "[]"


def test_analyze_chat_matches_engine(table: PriceTable) -> None:
    text = (FIXTURES / "cookbook_messages.json").read_text(encoding="utf-8")
    result = tm.analyze_chat(text, "gpt-4o", table)
    engine = count_chat(text, "gpt-4o", table)
    assert result.tokens == engine.total == 124
    assert [r.tokens for r in result.rows] == list(engine.per_message)
    assert [r.role for r in result.rows][:2] == ["system", "system"]
    assert result.rows[1].name == "example_user"
    with pytest.raises(ChatFormatError) as info:
        tm.analyze_chat('[{"role": "user",\n "content": }]', "gpt-4o", table)
    assert info.value.line == 2


def test_text_costs(table: PriceTable) -> None:
    costs = tm.text_costs(table, "gpt-4o", 1_000_000)
    assert costs.known and costs.input is not None and costs.output is not None
    assert costs.input.usd == table.cost("gpt-4o", TokenUsage(input_tokens=1_000_000)).usd
    assert costs.output.usd == table.cost("gpt-4o", TokenUsage(output_tokens=1_000_000)).usd
    assert costs.cached_input is not None and costs.cached_input.usd is not None
    assert costs.cached_input.usd < costs.input.usd
    assert costs.batch_input is not None and costs.batch_input.usd is not None
    assert costs.batch_input.usd < costs.input.usd
    no_cache = tm.text_costs(table, "gpt-4", 1000)
    assert no_cache.cached_input is None and no_cache.known
    unknown = tm.text_costs(table, "no-such-model", 1000)
    assert not unknown.known and unknown.output is None


def test_budget_estimate(table: PriceTable) -> None:
    est = tm.budget_estimate(
        table, "gpt-4o", tokens_per_call=1000, calls_per_day=100, tier="batch",
        cached_share_pct=25, output_tokens_per_call=10, remaining_usd=Decimal("50"),
    )
    usage = TokenUsage(input_tokens=3_000_000, cached_input_tokens=750_000,
                       output_tokens=30_000)
    expected = table.cost("gpt-4o", usage, batch=True).usd
    assert expected is not None
    assert est.offered and est.calls_per_month == 3000 and est.monthly_usd == expected
    assert est.per_call_usd == expected / 3000
    assert est.share_of_remaining == expected / Decimal("50")
    flex = tm.budget_estimate(table, "gpt-4o", tokens_per_call=1000, calls_per_day=100,
                              tier="flex")
    assert flex.monthly_usd == table.cost(
        "gpt-4o", TokenUsage(input_tokens=3_000_000), service_tier="flex").usd
    assert flex.share_of_remaining is None
    realtime = tm.budget_estimate(table, "gpt-realtime", tokens_per_call=10, calls_per_day=1,
                                  tier="batch")
    assert not realtime.offered and realtime.monthly_usd is None
    spent = tm.budget_estimate(table, "gpt-4o", tokens_per_call=10, calls_per_day=1,
                               tier="standard", remaining_usd=Decimal(0))
    assert spent.share_of_remaining == Decimal("Infinity")
    with pytest.raises(ValueError, match="tier"):
        tm.budget_estimate(table, "gpt-4o", tokens_per_call=1, calls_per_day=1, tier="cheap")


def test_decode_text_reports_what_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tm, "_DECODE_BLOCK_BYTES", 5)  # characters split across blocks
    assert tm.decode_text("héllo wörld 中文字 😀".encode(), "f") == "héllo wörld 中文字 😀"
    for data in (b"abc\xffdef", "ab中".encode() + b"\xff", "abcd中".encode()[:-1],
                 b"\x89PNG\r\n\x1a\n", "中中中中".encode()[:7] + b"zz"):
        with pytest.raises(tm.TextFileError) as info:
            tm.decode_text(data, "f.bin")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as ref:
            assert info.value.reason == "binary"
            assert info.value.offset == ref.start and info.value.byte == data[ref.start]
    with pytest.raises(tm.TextFileError) as info:
        tm.decode_text("hi".encode("utf-16"), "w.txt")
    assert info.value.reason == "utf16"
    assert tm.decode_text(b"nul\x00byte", "n") == "nul\x00byte"


def test_prepare_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tm, "_NEWLINE_BLOCK_CHARS", 3)  # a CRLF pair on a block boundary
    prepared = tm.prepare_text("ab\r\ncd\ref\r\n", 100)
    assert prepared.text == "ab\ncd\nef\n" and prepared.converted_newlines
    assert prepared.long_line == 0
    assert tm.prepare_text("x" * 10 + "\n" + "y" * 30 + "\nz", 20).long_line == 30
    assert tm.prepare_text("y" * 30, 20).long_line == 30
    assert tm.prepare_text("a\n" * 50, 20) == tm.PreparedText("a\n" * 50, False, 0)


def test_word_counts_add_up_across_stats_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.core.tokens import text_stats

    text = _fuzz_text(11, 5000) + " tail"
    whole = text_stats(text)
    monkeypatch.setattr(tm, "_STATS_PIECE_CHARS", 10)
    pieces = list(tm._stats_pieces(text))
    assert "".join(pieces) == text and len(pieces) > 50
    assert sum(text_stats(p).words for p in pieces) == whole.words
    result = tm.analyze_text(text, "o200k_base", chunk_chars=300)
    assert (result.characters, result.words) == (whole.characters, whole.words)


def test_load_time_is_reported_apart_from_counting_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import time as time_module

    from monitor.core import tokens

    tokens.load_encoding("o200k_base")
    warm = tm.analyze_text("hello there", "o200k_base")
    assert warm.load_s == 0.0
    slow_load = 0.3

    def not_ready(name: str) -> bool:
        return False

    def slow(name: str) -> None:
        time_module.sleep(slow_load)

    monkeypatch.setattr(tm, "encoding_ready", not_ready)
    monkeypatch.setattr(tm, "load_encoding", slow)
    cold = tm.analyze_text("hello there", "o200k_base")
    assert cold.load_s >= slow_load > cold.elapsed_s
    assert cold.tokens == warm.tokens
    chat = tm.analyze_chat('[{"role": "user", "content": "hi"}]', "gpt-4o", None)
    assert chat.load_s >= slow_load > chat.elapsed_s
