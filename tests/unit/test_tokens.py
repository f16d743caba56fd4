"""Offline encodings, counts equal to tiktoken's, chunked counting, spans and text stats."""

from __future__ import annotations

import hashlib
import random
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import tiktoken
import tiktoken.load

from monitor.core import encodings
from monitor.core import token_spans as token_spans_mod
from monitor.core import tokens as tk
from monitor.core.token_spans import token_spans
from monitor.core.tokens import (
    EncodingError,
    TokenCounter,
    count_tokens,
    encode,
    encoding_for_model,
    get_encoding,
    special_tokens_in,
    text_stats,
)
from monitor.errors import KnownError

ALL = ("o200k_base", "cl100k_base")


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    """Empty the per-process encoding cache for one test, then put the loaded ones back."""
    saved = (dict(encodings._encodings), dict(encodings._ranks))
    encodings._clear_cache()
    yield
    encodings._clear_cache()
    encodings._encodings.update(saved[0])
    encodings._ranks.update(saved[1])


def _copy_rank_file(tmp_path: Path, base: str) -> Path:
    dst = tmp_path / f"{base}.tiktoken"
    shutil.copyfile(encodings._rank_file(base), dst)
    return dst


# --- loading -----------------------------------------------------------------------------------


def test_shipped_files_match_the_published_hashes() -> None:
    for base, digest in encodings._SHA256.items():
        assert hashlib.sha256(encodings._rank_file(base).read_bytes()).hexdigest() == digest


def test_encodings_are_identical_to_tiktokens_own_constructors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seed a private tiktoken cache with the shipped files and compare every component."""
    from tiktoken_ext import openai_public

    cache = tmp_path / "tk-cache"
    cache.mkdir()
    for base in ALL:
        url = f"https://openaipublic.blob.core.windows.net/encodings/{base}.tiktoken"
        shutil.copyfile(encodings._rank_file(base), cache / hashlib.sha1(url.encode()).hexdigest())
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    for name, ctor in (
        ("o200k_base", openai_public.o200k_base),
        ("cl100k_base", openai_public.cl100k_base),
        ("o200k_harmony", openai_public.o200k_harmony),
    ):
        spec = ctor()
        ours = get_encoding(name)
        assert ours.name == spec["name"]
        assert ours._pat_str == spec["pat_str"]
        assert ours._special_tokens == spec["special_tokens"]
        assert ours._mergeable_ranks == spec["mergeable_ranks"]
    assert get_encoding("o200k_base").n_vocab == 200019
    assert get_encoding("cl100k_base").n_vocab == 100277


def test_known_token_ids() -> None:
    # From the cookbook notebook and ../shared/docs/platform-notes.md §5.
    assert encode("tiktoken is great!", "cl100k_base") == [83, 1609, 5963, 374, 2294, 0]
    assert encode("antidisestablishmentarianism", "cl100k_base") == [
        519, 85342, 34500, 479, 8997, 2191,
    ]
    assert encode("お誕生日おめでとう", "cl100k_base") == [
        33334, 45918, 243, 21990, 9080, 33334, 62004, 16556, 78699,
    ]
    assert encode("hello <|endoftext|> world", "o200k_base") == [
        24912, 464, 91, 419, 1440, 919, 91, 29, 2375,
    ]


def _forbid_network(monkeypatch: pytest.MonkeyPatch, calls: list[str]) -> None:
    def refuse(what: str) -> Any:
        def inner(*args: Any, **kwargs: Any) -> Any:
            calls.append(what)
            raise AssertionError(f"network/download attempted via {what}")

        return inner

    import requests

    monkeypatch.setattr(tiktoken.load, "read_file", refuse("tiktoken.load.read_file"))
    monkeypatch.setattr(tiktoken.load, "read_file_cached", refuse("read_file_cached"))
    monkeypatch.setattr(tiktoken.load, "load_tiktoken_bpe", refuse("load_tiktoken_bpe"))
    monkeypatch.setattr(requests, "get", refuse("requests.get"))
    monkeypatch.setattr(requests.Session, "request", refuse("requests.Session.request"))
    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))


def test_loading_never_downloads_or_touches_the_tiktoken_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    calls: list[str] = []
    _forbid_network(monkeypatch, calls)
    empty = tmp_path / "empty-cache"
    empty.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(empty))
    monkeypatch.setenv("DATA_GYM_CACHE_DIR", str(empty))
    for name in (*ALL, "o200k_harmony"):
        assert count_tokens("offline <|endoftext|> counting", name) > 0
    assert token_spans("héllo", "o200k_base")
    assert calls == []
    assert list(empty.iterdir()) == []


def test_missing_file_is_a_clear_known_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    gone = tmp_path / "nowhere" / "o200k_base.tiktoken"
    monkeypatch.setattr(encodings, "_rank_file", lambda _base: gone)
    with pytest.raises(EncodingError) as info:
        get_encoding("o200k_base")
    assert isinstance(info.value, KnownError)
    text = info.value.text()
    assert str(gone) in text and "missing" in text and "Reinstall" in text


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
def test_corrupt_file_is_a_clear_known_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: None, damage: str
) -> None:
    path = _copy_rank_file(tmp_path, "cl100k_base")
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[1000] ^= 0x01
    elif damage == "truncate":
        del data[len(data) // 2 :]
    else:
        data.clear()
    path.write_bytes(bytes(data))
    monkeypatch.setattr(encodings, "_rank_file", lambda _base: path)
    with pytest.raises(EncodingError, match="corrupt") as info:
        count_tokens("x", "cl100k_base")
    assert str(path) in info.value.text()
    assert encodings._SHA256["cl100k_base"][:16] in info.value.text()


def test_a_good_copy_loads_from_a_custom_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    path = _copy_rank_file(tmp_path, "cl100k_base")
    monkeypatch.setattr(encodings, "_rank_file", lambda _base: path)
    assert encode("tiktoken is great!", "cl100k_base") == [83, 1609, 5963, 374, 2294, 0]


@pytest.mark.parametrize("name", ["p50k_base", "r50k_base", "gpt2", "nonsense"])
def test_encodings_not_shipped_explain_themselves(name: str) -> None:
    with pytest.raises(EncodingError, match="not shipped") as info:
        get_encoding(name)
    assert "o200k_base" in info.value.text()


def test_cache_is_shared_and_built_once_across_threads(
    monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    reads: list[str] = []
    real = encodings._read_rank_file

    def counting(base: str, path: Path) -> dict[bytes, int]:
        reads.append(base)
        return real(base, path)

    monkeypatch.setattr(encodings, "_read_rank_file", counting)
    barrier = threading.Barrier(6)
    got: list[tiktoken.Encoding] = []
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            barrier.wait()
            got.append(get_encoding(name))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(n,))
        for n in ("o200k_base", "o200k_base", "o200k_harmony", "o200k_harmony", "cl100k_base",
                  "cl100k_base")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(reads) == ["cl100k_base", "o200k_base"]  # harmony reuses o200k's ranks
    assert len({id(e) for e in got}) == 3
    assert get_encoding("o200k_base") is get_encoding("o200k_base")


# --- model -> encoding ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-5.4-mini", "o200k_base"),
        ("o3-pro", "o200k_base"),
        ("chatgpt-4o-latest", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo-2024-04-09", "cl100k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("gpt-oss-120b", "o200k_harmony"),
        ("text-davinci-003", "p50k_base"),
        ("ft:gpt-4o-mini-2024-07-18:acme::abc123", "o200k_base"),
        # tiktoken alone would say cl100k_base (its "ft:gpt-4" prefix); the base model decides.
        ("ft:gpt-4.1-mini-2025-04-14:acme::abc123", "o200k_base"),
        ("ft:gpt-3.5-turbo-0125:acme::abc123", "cl100k_base"),
        ("ft:davinci-002:acme::x", "cl100k_base"),
    ],
)
def test_tiktoken_knows_these_models(model: str, expected: str) -> None:
    assert encoding_for_model(model) == tk.EncodingChoice(expected, False, "tiktoken")


def _fake_table(entries: dict[str, tuple[str, bool]]) -> Any:
    def resolve(model: str) -> Any:
        hit = entries.get(model)
        info = None if hit is None else SimpleNamespace(encoding=hit[0], encoding_assumed=hit[1])
        return SimpleNamespace(requested=model, info=info, how="exact" if hit else "unknown")

    return SimpleNamespace(resolve=resolve)


def test_unknown_to_tiktoken_falls_back_to_the_price_table_then_o200k() -> None:
    table = _fake_table(
        {"gpt-6.1-terra": ("o200k_base", True), "odd-model": ("cl100k_base", False)}
    )
    assert encoding_for_model("gpt-6.1-terra", table) == tk.EncodingChoice(
        "o200k_base", True, "price table"
    )
    assert encoding_for_model("odd-model", table) == tk.EncodingChoice(
        "cl100k_base", False, "price table"
    )
    assert encoding_for_model("gpt-4o", table).source == "tiktoken"
    assert encoding_for_model("mystery", table) == tk.EncodingChoice("o200k_base", True, "default")
    assert encoding_for_model("gpt-6") == tk.EncodingChoice("o200k_base", True, "default")


def test_every_model_in_the_real_price_table_gets_a_usable_encoding() -> None:
    pricing = pytest.importorskip("monitor.services.price_files")
    table = pricing.load_price_table()
    assert table.models
    for name in table.models:
        choice = encoding_for_model(name, table)
        if choice.name in tk.AVAILABLE_ENCODINGS:
            assert count_tokens("hello", choice.name) == 1
        else:  # a legacy model tiktoken maps to an encoding we do not ship
            with pytest.raises(EncodingError):
                get_encoding(choice.name)


# --- counting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*ALL, "o200k_harmony"])
def test_special_token_strings_count_as_plain_text(name: str) -> None:
    enc = get_encoding(name)
    text = "a <|endoftext|> b <|endofprompt|> <|fim_prefix|> <|start|> <|im_start|>"
    assert count_tokens(text, name) == len(enc.encode_ordinary(text))
    assert count_tokens(text, name) == len(enc.encode(text, disallowed_special=()))
    assert all(t not in enc._special_token_values for t in encode(text, name))


@pytest.mark.parametrize(
    "text",
    [
        "\ud800",
        "a\udc80b",
        "\ud83d\ude00 pair",
        "\udfff\ud800 reversed",
        "lone high then text \ud83dx",
        "x\x00y\x00\x00z",
        bytes(range(256)).decode("latin-1"),
        (bytes(range(256)) * 3).decode("utf-8", errors="replace"),
        (bytes(range(256)) * 3).decode("utf-8", errors="surrogateescape"),
    ],
)
def test_junk_never_crashes_and_matches_tiktokens_fallback(text: str) -> None:
    for name in ALL:
        enc = get_encoding(name)
        expected = len(enc.encode_ordinary(tk._utf16_fixup(text)))
        assert count_tokens(text, name) == expected
        assert len(encode(text, name)) == expected
        spans = token_spans(text, name)
        assert len(spans) == expected
        _assert_tiles(spans, text)


def test_surrogate_fixup_with_origins_is_tiktokens_fixup() -> None:
    rng = random.Random(7)
    alphabet = ["a", " ", "\n", "é", "世", "😀", "\ud800", "\udbff", "\udc00", "\udfff"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        fixed, origin = token_spans_mod._fixup_with_origins(text)
        assert fixed == tk._utf16_fixup(text)
        assert len(origin) == len(fixed) + 1 and origin[-1] == len(text)


_FRAGMENTS = [
    "The quick brown fox jumps over the lazy dog. ",
    "It's a dog's life, isn't it? We'll see; they'd've known.\n",
    "这是一个用于测试分词的中文句子，包含标点符号。\n",
    "日本語のテキストも少し混ぜます。",
    "한국어 문장도 있습니다.\n",
    "def f(x):\n    return x ** 2  # square\n",
    "\tif (a && b) { return c[i]; }\r\n",
    "    \n\n   \n",
    "\n\n\n",
    "/usr/local/bin\n/etc/passwd\n",
    ".\n/",
    "!\n\n/x",
    ".\n /x",
    "\n  \n\t\n    indented\n",
    "{\n    \"key\": \"value\",\n    \"n\": [1, 2]\n}\n",
    "\n \r\n x",
    "12345678901234567890",
    "\u3000\u00a0\u2028\u2029\x85\x0b\x0c\x1c\x1d\x1e\x1f",
    "\n\u3000x\n\u00a0y\n\x85z\n\x1cw",
    "😀🎉 emoji 👍🏽\n",
    "ÀÉÎÕÜ àéîõü ﬁ ǅ\n",
    "e\u0301\u0302 combining\n",
    "<|endoftext|>\n",
    "   trailing spaces   \n",
    "A",
    "a b c d e f ",
    "URL: https://example.com/a/b?c=d\n",
    "x" * 300,
    "ab " * 40,
    "\r\n\r\n",
    "'s 'll 'VE\n",
]


def _varied_text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_FRAGMENTS) for _ in range(n))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.no_faketime  # CPU-bound threads, no date logic (see pyproject: no_faketime)
def test_chunked_count_equals_one_call(name: str) -> None:
    enc = get_encoding(name)
    rng = random.Random(name)
    for trial in range(40):
        text = _varied_text(rng, rng.randint(1, 60))
        whole = len(enc.encode_ordinary(text))
        for target in (3, 17, 64, 400):
            chunks = list(tk._chunks(text, target))
            assert "".join(chunks) == text
            assert sum(len(enc.encode_ordinary(c)) for c in chunks) == whole, (trial, target)
            assert tk._count_chunked(enc, text, target) == whole


def test_cuts_are_only_made_where_they_are_safe() -> None:
    text = "a.\n/b\n c\n\td\nE f\n \n x\n\n\n\u3000y\n \r\nz"
    cuts = set()
    for lo in range(len(text)):
        for hi in range(lo, len(text) + 1):
            cut = tk.cut_at_or_before(text, lo, hi)
            if cut:
                assert lo < cut <= hi
                cuts.add(cut)
    expected = {
        text.index(" c"),  # whitespace then text after the last newline of a run
        text.index("\td"),
        text.index("E"),
        text.index(" f"),  # a space between ASCII letters
        text.index(" x"),  # "\n \n x": only after the second newline
        text.index("\u3000y"),
        text.index("z"),
    }
    assert cuts == expected
    # Never directly before "/" (o200k_base glues "\n/" to preceding punctuation).
    assert text.index("/") not in cuts


@pytest.mark.parametrize("name", ALL)
def test_big_text_is_counted_in_chunks_on_worker_threads_and_matches(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    enc = get_encoding(name)
    rng = random.Random(42)
    text = _varied_text(rng, 40_000)  # ~1.5 MB
    assert len(text) > 4 * tk.CHUNK_CHARS
    threads: list[str] = []
    real = tk._count_one

    def spy(enc: Any, chunk: str) -> int:
        threads.append(threading.current_thread().name)
        return real(enc, chunk)

    monkeypatch.setattr(tk, "_count_one", spy)
    assert count_tokens(text, name) == len(enc.encode_ordinary(text))
    assert len(threads) >= 4 and all(t.startswith("token-count") for t in threads)
    threads.clear()
    counter = TokenCounter(name)
    counter.feed(text)
    result = counter.finish()
    assert result.tokens == len(enc.encode_ordinary(text))
    assert result.words == text_stats(text).words and len(threads) >= 4


def test_one_huge_line_without_newlines_counts_the_same() -> None:
    enc = get_encoding("o200k_base")
    text = "word " * 120_000 + "中文" * 1000 + "x" * 5000
    assert count_tokens(text, "o200k_base") == len(enc.encode_ordinary(text))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.no_faketime  # CPU-bound threads, no date logic (see pyproject: no_faketime)
def test_streaming_counter_equals_whole_counts(name: str) -> None:
    rng = random.Random(3)
    text = _varied_text(rng, 3000)
    counter = TokenCounter(name, chunk_chars=500)
    pos = 0
    while pos < len(text):
        step = rng.randint(1, 2000)
        counter.feed(text[pos : pos + step])
        pos += step
    result = counter.finish()
    stats = text_stats(text)
    assert result.tokens == count_tokens(text, name)
    assert (result.characters, result.words) == (stats.characters, stats.words)


@pytest.mark.parametrize(
    "piece",
    ["x" * 997, "abc/" * 250, "\n" + "y" * 999, "z" * 999 + "\n", "é世😀 " * 200],
)
def test_streaming_counter_with_few_or_no_cuts(piece: str) -> None:
    counter = TokenCounter("o200k_base", chunk_chars=300)
    for _ in range(7):
        counter.feed(piece)
        counter.feed("")
    text = piece * 7
    assert counter.finish() == tk.CountResult(
        count_tokens(text, "o200k_base"), len(text), text_stats(text).words
    )


def test_empty_text() -> None:
    assert count_tokens("", "o200k_base") == 0
    assert token_spans("", "o200k_base") == []
    assert TokenCounter("o200k_base").finish().tokens == 0


# --- spans ---------------------------------------------------------------------------------------


def _assert_tiles(spans: list[token_spans_mod.TokenSpan], text: str) -> None:
    pos = 0
    for s in spans:
        assert s.start == pos and s.end >= s.start
        pos = s.end
    assert pos == len(text)


@pytest.mark.parametrize("name", ALL)
def test_spans_tile_the_text_and_follow_the_first_byte_rule(name: str) -> None:
    enc = get_encoding(name)
    rng = random.Random(11)
    text = _varied_text(rng, 400) + "お誕生日おめでとう 😀👍🏽 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"
    spans = token_spans(text, name)
    tokens = enc.encode_ordinary(text)
    assert [s.token_id for s in spans] == tokens
    _assert_tiles(spans, text)
    _, offsets = enc.decode_with_offsets(tokens)
    split_seen = 0
    for s, off in zip(spans, offsets, strict=True):
        first = enc.decode_single_token_bytes(s.token_id)[0]
        starts_mid_char = 0x80 <= first < 0xC0
        split_seen += starts_mid_char
        # tiktoken's offset is the character holding the token's first byte; a token that
        # starts inside a character leaves that character to the token before it.
        assert s.start == off + starts_mid_char
        # The span's text is the token's bytes without leading continuation bytes, plus the
        # rest of a character the token starts but does not finish.
        own = enc.decode_single_token_bytes(s.token_id).lstrip(bytes(range(0x80, 0xC0)))
        covered = text[s.start : s.end].encode()
        assert covered.startswith(own) and len(covered) - len(own) < 4
    assert split_seen > 0  # the text really has characters split across tokens


def test_spans_of_split_characters() -> None:
    text = "誕"  # cl100k: b"\xe8\xaa" + b"\x95"
    spans = token_spans(text, "cl100k_base")
    assert [(s.start, s.end) for s in spans] == [(0, 1), (1, 1)]


def test_spans_map_back_to_original_offsets_with_surrogates() -> None:
    text = "a\ud800b\ud83d\ude00c"  # lone surrogate, then a surrogate *pair* (2 code points)
    spans = token_spans(text, "cl100k_base")
    _assert_tiles(spans, text)
    covered = "".join(text[s.start : s.end] for s in spans)
    assert covered == text


@pytest.mark.parametrize("name", ALL)
def test_span_limit_only_encodes_what_it_needs_but_agrees(name: str) -> None:
    rng = random.Random(5)
    text = _varied_text(rng, 8000)
    for t in (text, "\ud800x\ud83d\ude00 " + text + "\udfff"):
        full = token_spans(t, name)
        for limit in (0, 1, 7, 500, len(full), len(full) + 10):
            assert token_spans(t, name, limit=limit) == full[:limit]


# --- text stats ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "chars", "words"),
    [
        ("", 0, 0),
        ("  hello   world \n", 17, 2),
        ("Hello 世界", 8, 3),
        ("abc世界def", 8, 4),
        ("お誕生日おめでとう", 9, 9),
        ("안녕 하세요", 6, 2),
        ("😀 a\x00b", 5, 2),
        ("\ud800 x", 3, 2),
    ],
)
def test_text_stats(text: str, chars: int, words: int) -> None:
    assert text_stats(text) == tk.TextStats(chars, words)


@pytest.mark.parametrize("seed", range(40))
def test_word_count_equals_splitting_around_every_cjk_character(seed: int) -> None:
    import random

    rng = random.Random(seed)
    alphabet = ["a", "Z", "9", " ", "\n", "\t", "\u3000", "世", "界", "お", "，", "。", "안",
                "😀", "\x00", "\u00a0", "-"]
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
    reference = len(tk.cjk_pattern().sub(" \x00 ", text).split())
    assert text_stats(text).words == reference, repr(text)


def test_hspace_chars_spell_out_the_regex_class() -> None:
    import re

    by_regex = "".join(c for c in map(chr, range(0x3001)) if re.fullmatch(f"[{tk._HSPACE}]", c))
    assert by_regex == tk._HSPACE_CHARS


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base", "o200k_harmony"])
@pytest.mark.parametrize(
    "text",
    [
        "plain words and <|endoftext|> and <|endofprompt|> as text",
        "<|start|>assistant<|channel|>final<|message|>hi<|end|><|fim_prefix|>",
        "lone \ud800 surrogate and a pair \ud83d\ude00 " * 20,
        "",
        "\x00 NUL " + "世界" * 50,
    ],
)
def test_buffer_count_equals_encode_ordinary(name: str, text: str) -> None:
    enc = get_encoding(name)
    expected = len(tk.encode_ordinary_exact(enc, text))
    assert tk._count_one(enc, text) == expected
    assert count_tokens(text * 3, name) == len(tk.encode_ordinary_exact(enc, text * 3))


# ---- short texts: tiktoken's merge in Python over the cached ranks ----------------------------


def _parity_corpus() -> list[str]:
    """Texts that stress the pre-tokenizer: every script class, digits, contractions, runs of
    spaces and newlines, specials as plain text, lone surrogates' neighbours, emoji ZWJ, plus
    seeded random strings drawn from all of those."""
    fixed = [
        "", " ", "\n", "  \n\n\t ", "Hello, world!", "I'll've y'all's DON'T can't",
        "1234567890 3.14159 1,000,000 0x1F 2026-12-03T10:00:00Z",
        "<|endoftext|> and <|fim_prefix|>", "日本語のテキストと中文文本，한국어 텍스트",
        "Ünïcödé ßtraße façade naïve Æsir", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and 👩\u200d👩\u200d👧 👍🏽",
        "def f(x):\n    return x**2  # comment\n\n\n", "a\r\nb\rc\u2028d\u00a0e\u3000f",
        "e\u0301 combining \u0627\u0644\u0639\u0631\u0628\u064a\u0629 "
        "\u05e2\u05d1\u05e8\u05d9\u05ea",
        "MixedCASEWords camelCase snake_case kebab-case ALLCAPS", "....!!!???---___===",
        "x" * 200, " " * 40 + "y", "\t" * 10 + "\n" * 5,
    ]
    import random

    rng = random.Random(20261203)
    alphabet = ("abcXYZ019 \n\t.,;:'\"!?-_()[]{}<>|/\\日本語中文한국어ßüéñ€£¥👍🏽👩"
                "\u200d\u00a0\u3000<|endoftext|>'s've")
    fixed += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300)))
              for _ in range(150)]
    return fixed


FUZZ_TEXTS = 20_000
_FUZZ_ALPHABET = (
    "abcXYZ019 \n\r\t.,;:'\"!?-_()[]{}<>|/\\^`~@#$%&*+=日本語中文한국어ßüéñ€£¥"
    "\u0301\u0627\u05e2\u0e01\u0915\u1100𝔘👍🏽👩\u200d\u00a0\u3000\u2028\u0085\x0b\x00"
    "\ud800\udbff\udc00\udfff\ud83d\ude00"  # lone surrogates and the halves of 😀
)
_FUZZ_WORDS = ("<|endoftext|>", "<|fim_prefix|>", "<|endofprompt|>", "<|start|>", "'s", "'ve",
               "'LL", "\ud83d\ude00", "  ", "\n\n", "1234567", "    \n")


def _fuzz_texts(seed: int) -> list[str]:
    import random

    rng = random.Random(seed)
    texts = []
    for _ in range(FUZZ_TEXTS):
        parts = []
        for _ in range(rng.randint(0, 24)):
            if rng.random() < 0.15:
                parts.append(rng.choice(_FUZZ_WORDS))
            else:
                parts.append(rng.choice(_FUZZ_ALPHABET))
        texts.append("".join(parts))
    return texts


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base", "o200k_harmony"])
def test_short_count_equals_tiktoken_on_seeded_random_texts(name: str) -> None:
    # Surrogates (lone and paired), specials as text, every script class, digits and runs of
    # whitespace: the Python merge must say what tiktoken says, text for text.
    enc = get_encoding(name)
    encodings._encodings.pop(name, None)
    try:
        wrong = []
        for text in _fuzz_texts(20261208):
            short = tk.count_short(text, name)
            assert short is not None, text
            expected = len(enc.encode_ordinary(text))
            if short != expected:
                wrong.append((text, short, expected))
        assert not wrong, (len(wrong), wrong[:5])
    finally:
        encodings._encodings[name] = enc


def test_short_count_handles_surrogates_as_tiktoken() -> None:
    enc = get_encoding("o200k_base")
    encodings._encodings.pop("o200k_base", None)
    try:
        for text in ("a\ud800b", "\ud83d\ude00 hi", "\udfff", "x\ud83d"):
            assert tk.count_short(text, "o200k_base") == len(enc.encode_ordinary(text)), text
    finally:
        encodings._encodings["o200k_base"] = enc


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base", "o200k_harmony"])
def test_short_count_equals_tiktoken(name: str) -> None:
    enc = get_encoding(name)
    encodings._encodings.pop(name, None)  # as in a fresh `count`: nothing built yet
    try:
        for text in _parity_corpus():
            short = tk.count_short(text, name)
            expected = len(enc.encode_ordinary(text))
            if short is None:  # only a long pre-token may decline
                pattern = encodings._SPECS[name][1]
                assert any(len(m.encode()) > tk._SHORT_PIECE_BYTES
                           for m in tk._pre_tokenizer(pattern).findall(text)), text
                continue
            assert short == expected, (name, text)
    finally:
        encodings._encodings[name] = enc


def test_a_short_count_does_not_build_the_encoding(fresh_cache: None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    real = tiktoken.Encoding

    def spy(*a: object, **k: object) -> tiktoken.Encoding:
        built.append("built")
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(tiktoken, "Encoding", spy)
    text = "The quick brown fox 跳过 the lazy dog.\n"
    counter = TokenCounter("o200k_base")
    counter.feed(text)
    result = counter.finish()
    assert built == []
    assert (result.tokens, result.characters, result.words) == (
        count_tokens(text, "o200k_base"), len(text), text_stats(text).words)
    assert built == ["built"]  # count_tokens itself builds it: the spy sees a build
    long = "word " * (tk.SHORT_TEXT_CHARS // 5 + 10)
    assert tk.count_short(long, "o200k_base") is None  # too long: tiktoken counts it
    with pytest.raises(EncodingError, match="not shipped"):
        TokenCounter("p50k_base")


def test_special_tokens_in_names_the_encodings_own_special_strings() -> None:
    text = "<|fim_prefix|> x <|endoftext|> <|endoftext|> <|reserved_200100|> <|nope|>"
    assert special_tokens_in(text, "cl100k_base") == ("<|fim_prefix|>", "<|endoftext|>")
    assert special_tokens_in(text, "o200k_base") == ("<|endoftext|>",)
    assert special_tokens_in(text, "o200k_harmony") == ("<|endoftext|>", "<|reserved_200100|>")
    assert special_tokens_in("plain <| text |>", "o200k_base") == ()
