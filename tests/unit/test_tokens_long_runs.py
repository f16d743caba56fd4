"""Whitespace runs tiktoken's regex cannot take (a Rust panic at ~1M) are counted exactly anyway."""

from __future__ import annotations

import random

import pytest

from monitor.core import tokens
from monitor.core.token_spans import token_spans
from monitor.core.tokens import (
    LONG_RUN_CHARS,
    TokenCounter,
    TokenizerError,
    count_tokens,
    get_encoding,
)

ENCODINGS = ("o200k_base", "cl100k_base")
# Unicode White_Space other than \r\n, as the pre-tokenizers' `\s` sees it.
HSPACE = " \t\u3000\xa0\x0b\x0c\u2028\u2000"


def _contexts() -> list[tuple[str, str]]:
    before = ["", "x", "word", "!", ".\n", "x\n\n", "\r\n", "12", "\u0301", "/", "a\n \n"]
    after = ["", "y", "Word", "1", "!", "\n", "\r\nz", "/", "\u0301", " x", "'s", "\ny"]
    return [(b, a) for b in before for a in after]


@pytest.mark.parametrize("name", ENCODINGS)
def test_split_gives_exactly_tiktokens_tokens(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the run limit lowered to 500, runs of 2k-12k characters (which tiktoken itself can
    take) go through the split path; the token ids must equal one encode_ordinary call."""
    enc = get_encoding(name)
    rnd = random.Random(20261123)
    calls: list[int] = []
    real = enc._encode_single_piece

    def spy(piece: str | bytes) -> list[int]:
        calls.append(len(piece))
        return real(piece)

    monkeypatch.setattr(enc, "_encode_single_piece", spy)
    for before, after in _contexts():
        size = rnd.randrange(2_000, 12_000)
        kind = rnd.randrange(3)
        if kind == 0:
            run = " " * size
        elif kind == 1:
            run = "\t" * size
        else:
            run = "".join(rnd.choice(HSPACE) for _ in range(size))
        text = before + run + after
        if rnd.random() < 0.4:  # a second run further on
            text += " and more " + run[: size // 2] + rnd.choice(["end", "", "\n", "7"])
        expected = enc.encode_ordinary(text)
        assert tokens.encode_ordinary_exact(enc, text, run_limit=500) == expected, (before, after)
    assert len(calls) > 50  # the split path really ran


@pytest.mark.parametrize("name", ENCODINGS)
def test_mixed_whitespace_with_newlines_matches(name: str) -> None:
    enc = get_encoding(name)
    rnd = random.Random(7)
    for _ in range(6):
        text = "".join(rnd.choice(" \t\n \u3000 ") for _ in range(rnd.randrange(10_000, 40_000)))
        text = rnd.choice(["", "a", "!"]) + text + rnd.choice(["", "b", "?"])
        assert tokens.encode_ordinary_exact(enc, text, run_limit=300) == enc.encode_ordinary(text)


def test_a_million_spaces_do_not_crash_and_count_exactly() -> None:
    n = LONG_RUN_CHARS * 10 + 5  # past the ~1M characters where tiktoken panics
    text = "x" + " " * n + "y"
    cl = get_encoding("cl100k_base")
    # cl100k_base's possessive `\s++$` takes a run at the end without panicking, so the
    # pieces "x", " " * (n - 1), " y" can each be counted by tiktoken alone.
    expected_cl = (len(cl.encode_ordinary("x")) + len(cl.encode_ordinary(" " * (n - 1)))
                   + len(cl.encode_ordinary(" y")))
    assert count_tokens(text, "cl100k_base") == expected_cl
    o2 = get_encoding("o200k_base")
    expected_o2 = 1 + len(o2._encode_single_piece(" " * (n - 1))) + len(o2.encode_ordinary(" y"))
    assert count_tokens(text, "o200k_base") == expected_o2
    counter = TokenCounter("o200k_base", chunk_chars=64 * 1024)
    for i in range(0, len(text), 300_000):
        counter.feed(text[i:i + 300_000])
    assert counter.finish().tokens == expected_o2
    spans = token_spans("\t" * n, "o200k_base", limit=3)
    assert [s.start for s in spans] == [0, spans[0].end, spans[1].end]


def test_a_panic_that_still_happens_is_a_known_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class PanicException(BaseException):  # the name pyo3 gives it
        pass

    enc = get_encoding("o200k_base")

    def boom(text: str) -> list[int]:
        raise PanicException("called `Result::unwrap()` on an `Err` value: StackOverflow")

    class Core:  # counting goes through the core's buffer encoder first
        def __init__(self, error: type[BaseException]) -> None:
            self.error = error

        def encode_to_tiktoken_buffer(self, text: str, allowed: object) -> object:
            raise self.error("called `Result::unwrap()` on an `Err` value: StackOverflow")

    monkeypatch.setattr(enc, "encode_ordinary", boom)
    monkeypatch.setattr(enc, "_core_bpe", Core(PanicException))
    with pytest.raises(TokenizerError, match="tokenizer \\(o200k_base\\) failed"):
        count_tokens("hello", "o200k_base")
    def interrupted(text: str) -> list[int]:
        raise KeyboardInterrupt

    monkeypatch.setattr(enc, "encode_ordinary", interrupted)
    monkeypatch.setattr(enc, "_core_bpe", Core(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):  # other BaseExceptions pass through
        count_tokens("hello", "o200k_base")


def test_long_run_detection_matches_a_plain_regex() -> None:
    """The sampled detector finds exactly the runs `[blank]{limit,}` finds."""
    rnd = random.Random(11)
    pieces = ["a", " ", "\t", "\u3000", "\n", "\r", "  ", "x\u2028", "\u200a"]
    for _ in range(3000):
        limit = rnd.randrange(1, 60)
        text = "".join(rnd.choice(pieces) * rnd.randrange(1, 40)
                       for _ in range(rnd.randrange(0, 20)))
        assert tokens._has_long_run(text, limit) == bool(tokens._long_run(limit).search(text))
