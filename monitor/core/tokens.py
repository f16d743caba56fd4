"""Offline token counts: exact, chunked on two threads, and short texts without building tiktoken.

The encodings themselves (shipped files, model → encoding) live in monitor.core.encodings,
token spans in monitor.core.token_spans, word counts in monitor.core.text_stats; the names
most callers need are re-exported here.

Rules this module keeps (tests pin each one):

* Counts are exactly `len(enc.encode_ordinary(text))`: special-token strings such as
  `<|endoftext|>` are plain text and never raise.
* Lone surrogates (e.g. ``"\\ud800"``, from `surrogateescape` file names) are handled like
  tiktoken itself does on its fallback path: the text is round-tripped through UTF-16 with
  `surrogatepass` and decoded with `replace`, so a valid surrogate *pair* becomes its one
  astral character and every lone surrogate becomes U+FFFD. NUL bytes are ordinary text.
* Big texts are cut only where the pre-tokenizer regex of both shipped encodings must start a
  new piece anyway (after the last newline of a whitespace run that ends before visible text,
  not directly before ``/``; failing that, at a space between two ASCII letters; see
  `cut_at_or_before`), so the per-chunk counts sum to exactly the single-call count. The
  chunks are encoded on 2 worker threads while the calling thread counts words.
* tiktoken 0.14 panics (`pyo3_runtime.PanicException`, not an Exception) on a run of ~1M
  blanks; runs of LONG_RUN_CHARS or more are cut out and BPE-encoded as the single piece the
  pre-tokenizer would make of them (see `encode_ordinary_exact`), so such texts count exactly too.
  A panic that still happens becomes a TokenizerError (a KnownError), never a crash.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import tiktoken

from monitor.core.encodings import (
    AVAILABLE_ENCODINGS,
    DEFAULT_ENCODING,
    ENCODING_NAMES,
    EncodingChoice,
    EncodingError,
    check_shipped,
    encoding_for_model,
    encoding_ready,
    get_encoding,
    load_encoding,
    ranks_and_pattern,
    special_tokens_in,
    uses_o200k_pattern,
)
from monitor.core.text_stats import TextStats, cjk_pattern, count_words, text_stats
from monitor.errors import KnownError

__all__ = [  # re-exported: most callers want one import for "tokens"
    "AVAILABLE_ENCODINGS",
    "BATCH_THREADS",
    "CHUNK_CHARS",
    "DEFAULT_ENCODING",
    "ENCODING_NAMES",
    "LONG_RUN_CHARS",
    "SHORT_TEXT_CHARS",
    "CountResult",
    "EncodingChoice",
    "EncodingError",
    "TextStats",
    "TokenCounter",
    "TokenizerError",
    "check_shipped",
    "chunk_bounds",
    "cjk_pattern",
    "count_short",
    "count_tokens",
    "cut_at_or_before",
    "encode",
    "encode_ordinary_exact",
    "encoding_for_model",
    "encoding_ready",
    "get_encoding",
    "has_surrogate",
    "load_encoding",
    "safe_cut_after",
    "special_tokens_in",
    "text_stats",
]

# Texts shorter than this are encoded in one call; longer ones in chunks of about this size.
CHUNK_CHARS = 256 * 1024
BATCH_THREADS = 2

# ---------------------------------------------------------------------------------------------
# Counting


@functools.cache
def _surrogate() -> re.Pattern[str]:
    return re.compile("[\ud800-\udfff]")


def has_surrogate(text: str) -> bool:
    """Whether `text` holds a surrogate code point (tiktoken then takes its fixup path)."""
    return _surrogate().search(text) is not None


def _utf16_fixup(text: str) -> str:
    """What tiktoken does to text that is not valid UTF-8 (lone surrogates); see module doc."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


# tiktoken 0.14's regex engine gives up (a Rust panic, `pyo3_runtime.PanicException`, which is
# a BaseException) on a run of about 1M whitespace characters other than \r/\n. Runs this
# long are cut out of the text before tiktoken sees it; see `encode_ordinary_exact`.
LONG_RUN_CHARS = 100_000
# Unicode White_Space (what the patterns' `\s` means) without \r and \n.
_HSPACE = "\t\x0b\x0c \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


class TokenizerError(KnownError):
    """tiktoken itself failed on a text (a panic inside its Rust code)."""


# The same set spelled out (no regex scan of 12k characters at import: that cost ~15 ms).
_HSPACE_CHARS = ("\t\x0b\x0c \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
                 + "\u2028\u2029\u202f\u205f\u3000")


@functools.cache
def _hspace_run() -> re.Pattern[str]:
    # Compiled on first use, as are the other character-class patterns below: together they
    # cost ~7 ms at import, which every `count` of a short text would pay.
    return re.compile(f"[{_HSPACE}]*")


def _has_long_run(text: str, limit: int) -> bool:
    """Whether `text` holds a run of at least `limit` characters of _HSPACE.

    Such a run covers `limit` consecutive positions, so it holds one of the positions sampled
    every limit // 2 characters; only the runs through those are measured (fast on any text).
    """
    step = max(limit // 2, 1)
    for p in range(step - 1, len(text), step):
        if text[p] in _HSPACE_CHARS:
            m = _hspace_run().match(text, p)  # `*`: always matches
            after = (m.end() if m else p) - p
            chunk = text[max(0, p - limit):p]
            before = len(chunk) - len(chunk.rstrip(_HSPACE_CHARS))
            if before + after >= limit:
                return True
    return False


@functools.lru_cache(maxsize=4)
def _long_run(limit: int) -> re.Pattern[str]:
    # The look-behind makes matches start only where a run starts: linear time.
    return re.compile(f"(?<![{_HSPACE}])[{_HSPACE}]{{{limit},}}")


def _encode_plain(enc: tiktoken.Encoding, text: str) -> list[int]:
    try:
        return enc.encode_ordinary(text)
    except UnicodeEncodeError:  # tiktoken retries itself today; do it here in case it stops
        return enc.encode_ordinary(_utf16_fixup(text))
    except BaseException as exc:  # a Rust panic is not an Exception
        if type(exc).__name__ != "PanicException":
            raise
        raise TokenizerError(
            f"the tokenizer ({enc.name}) failed on this text of {len(text):,} characters "
            f"({str(exc).splitlines()[0][:120] if str(exc) else 'Rust panic'}); it cannot be "
            "counted exactly. Try removing very long runs of repeated characters."
        ) from None


def encode_ordinary_exact(
    enc: tiktoken.Encoding, text: str, run_limit: int = LONG_RUN_CHARS
) -> list[int]:
    r"""`enc.encode_ordinary(text)`, also for texts with whitespace runs tiktoken cannot take.

    A run H = text[h:b] of at least `run_limit` whitespace characters other than \r/\n is
    cut out and encoded as one pre-tokenizer piece with tiktoken's own BPE
    (`_encode_single_piece`, no regex), giving the same tokens as one call would:

    * followed by a non-whitespace character (b < len): in both patterns no piece before h
      can take text[h] (only `\s*[\r\n]` could, and no \r/\n follows within the run; at h
      the patterns only look at `(?!\S)` and cl100k's `\s++$`, and the latter only chooses
      between two alternatives that both end at h), so a piece ends at h; from h only
      `\s+(?!\S)` matches, giving the piece text[h:b-1]; text[b-1:] then starts a piece and,
      with no look-behind in the patterns, is tokenized alone exactly as in the whole text;
    * at the end of the text (o200k patterns only; cl100k's possessive `\s++$` takes such a
      run without backtracking): a piece ends at h as above and `\s+(?!\S)` takes text[h:];
    * followed by \r/\n: left to tiktoken, which takes `\s*[\r\n]` with a one-step
      backtrack there (checked up to 3M characters).
    """
    if len(text) < run_limit or not _has_long_run(text, run_limit):
        return _encode_plain(enc, text)
    o200k = uses_o200k_pattern(enc.name)
    out: list[int] = []
    start = 0
    for m in _long_run(run_limit).finditer(text):
        h, b = m.span()
        if b < len(text) and text[b] in "\r\n":
            continue
        if b == len(text) and not o200k:
            continue
        end = b if b == len(text) else b - 1
        out += _encode_plain(enc, text[start:h])
        out += enc._encode_single_piece(text[h:end])
        start = end
    if start == 0:
        return _encode_plain(enc, text)
    out += _encode_plain(enc, text[start:])
    return out


def encode(text: str, encoding: str) -> list[int]:
    """Token ids of `text`, special-token strings as plain text (= encode_ordinary)."""
    return encode_ordinary_exact(get_encoding(encoding), text)


# After a newline: a character that is neither whitespace nor "/", or a run of whitespace
# without \r/\n followed by any non-whitespace character.
_AFTER_NEWLINE = r"[^\s/]|[^\S\r\n]+\S"
_SAFE_NEWLINE = re.compile(rf"\n(?={_AFTER_NEWLINE})")
_SAFE_AFTER_NEWLINE = re.compile(_AFTER_NEWLINE)
_SAFE_SPACE = re.compile(r"(?<=[A-Za-z]) (?=[A-Za-z])")


def cut_at_or_before(text: str, lo: int, hi: int) -> int:
    """The last safe cut position p with lo < p <= hi (0 if none).

    A cut at p means text[:p] and text[p:] are tokenized independently. The patterns of both
    encodings have no look-behind, so this holds when no pre-tokenizer piece of the whole
    text spans p. Safe cuts:

    * right after the last "\\n" of a whitespace run that ends in a non-whitespace character
      (the piece holding that newline ends there: `\\s*[\\r\\n]+` in o200k_base,
      `\\s*[\\r\\n]`/`\\s++$` in cl100k_base, or punctuation followed by newlines), except
      when "/" follows the newline directly (o200k_base's ` ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*`
      takes it);
    * right before a space between two ASCII letters (the word ends; " word" starts).

    Python's `\\s` is a superset of the Unicode White_Space the tokenizers use, so when
    they differ a cut is only refused, never wrongly made.
    """
    hi = min(hi, len(text) - 1)  # text[p] must exist to prove the cut safe
    if hi <= lo:
        return 0
    pos = text.rfind("\n", lo, hi)
    while pos >= lo:
        if _SAFE_AFTER_NEWLINE.match(text, pos + 1):
            return pos + 1
        pos = text.rfind("\n", lo, pos)
    last = 0
    for m in _SAFE_SPACE.finditer(text, max(lo, hi - 4096), hi + 2):
        if lo < m.start() <= hi:
            last = m.start()
    return last


class _ForwardSearch:
    """`pattern.search(text, pos)` for non-decreasing `pos`, each character scanned once."""

    def __init__(self, pattern: re.Pattern[str], text: str) -> None:
        self._pattern = pattern
        self._text = text
        self._from = -1  # the last search started here ...
        self._hit: re.Match[str] | None = None  # ... and found this (None = nothing after)

    def search(self, pos: int) -> re.Match[str] | None:
        if self._from >= 0 and pos >= self._from and (self._hit is None or
                                                       pos <= self._hit.start()):
            return self._hit
        self._from = pos
        self._hit = self._pattern.search(self._text, pos)
        return self._hit


def safe_cut_after(text: str, pos: int) -> int:
    """The first safe cut at or after `pos` (see `cut_at_or_before`), else len(text)."""
    return _cut_after(text, pos, _ForwardSearch(_SAFE_NEWLINE, text),
                      _ForwardSearch(_SAFE_SPACE, text))


def _cut_after(text: str, pos: int, newline: _ForwardSearch, space: _ForwardSearch) -> int:
    after = [m.start() for m in (space.search(pos),) if m is not None]
    m = newline.search(max(0, pos - 1))
    if m is not None:
        after.append(m.end())
    return min(after, default=len(text))


def chunk_bounds(text: str, target: int = CHUNK_CHARS) -> Iterator[tuple[int, int]]:
    """(start, end) ranges covering `text`, of about `target` characters, cut only at safe
    cuts: the one chunker of `count_tokens`, the CLI counter and the tokenizer pane. A text
    without safe cuts (one huge run of spaces, say) comes back as one range."""
    n = len(text)
    newline = _ForwardSearch(_SAFE_NEWLINE, text)
    space = _ForwardSearch(_SAFE_SPACE, text)
    start = 0
    while start < n:
        if n - start <= target:
            cut = n
        else:
            cut = cut_at_or_before(text, start + target // 2, start + target)
            if not cut:  # none near the target: the nearest safe cut after it, else the end
                cut = _cut_after(text, start + target, newline, space)
        yield start, cut
        start = cut


def _chunks(text: str, target: int = CHUNK_CHARS) -> Iterator[str]:
    """Consecutive pieces of about `target` characters, split only at safe cuts."""
    for start, end in chunk_bounds(text, target):
        yield text[start:end]


def _count_one(enc: tiktoken.Encoding, chunk: str) -> int:
    """`len(encode_ordinary_exact(enc, chunk))` without building a list of Python ints.

    tiktoken's `encode_to_tiktoken_buffer` (what `encode_to_numpy` uses) returns the ids as a
    buffer of uint32 and holds the GIL only to read the text, so counts on two threads really
    run in parallel. With no special token allowed it encodes special-token strings as plain
    text, exactly as `encode_ordinary` does (a test compares the two). Texts that need the
    careful path (long whitespace runs, lone surrogates, a Rust panic) take it.
    """
    if len(chunk) >= LONG_RUN_CHARS and _has_long_run(chunk, LONG_RUN_CHARS):
        return len(encode_ordinary_exact(enc, chunk))
    try:
        ids = enc._core_bpe.encode_to_tiktoken_buffer(chunk, _NO_SPECIALS)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # UnicodeEncodeError, a panic (not an Exception): the careful path
        return len(encode_ordinary_exact(enc, chunk))
    return memoryview(ids).nbytes // _ID_BYTES


_NO_SPECIALS: frozenset[str] = frozenset()
_ID_BYTES = 4  # tiktoken's buffer holds uint32 token ids


def _count_parallel(enc: tiktoken.Encoding, text: str, target: int,
                    words: bool) -> tuple[int, int]:
    """(tokens, words or 0): chunks are encoded on BATCH_THREADS workers (tiktoken releases
    the GIL while it encodes) while this thread counts the words, so the word count costs
    no time of its own on an idle core. Workers keep only the counts, never the token lists.
    """
    if len(text) <= target:
        return _count_one(enc, text), count_words(text) if words else 0
    with ThreadPoolExecutor(BATCH_THREADS, thread_name_prefix="token-count") as pool:
        futures = [pool.submit(_count_one, enc, chunk) for chunk in _chunks(text, target)]
        n_words = count_words(text) if words else 0
        return sum(f.result() for f in futures), n_words


def _count_chunked(enc: tiktoken.Encoding, text: str, target: int = CHUNK_CHARS) -> int:
    return _count_parallel(enc, text, target, words=False)[0]


def count_tokens(text: str, encoding: str) -> int:
    """Exactly `len(encode_ordinary(text))`; big texts are counted in chunks on 2 threads."""
    return _count_chunked(get_encoding(encoding), text)


# ---------------------------------------------------------------------------------------------
# Short texts without building tiktoken's CoreBPE

SHORT_TEXT_CHARS = 16_384
"""Up to this many characters, a one-off count (`token-monitor count` of a short file) runs
tiktoken's own algorithm in Python over the cached ranks instead of building its CoreBPE: the
build takes 0.12-0.2 s holding the GIL, the Python count of 1 KB about 1 ms."""
_SHORT_PIECE_BYTES = 128  # merging is quadratic in a piece: a longer one goes to tiktoken


@functools.cache
def _pre_tokenizer(pat_str: str) -> Any:
    # The `regex` module (a dependency of tiktoken) reads tiktoken's patterns as its Rust
    # fancy-regex does: tiktoken's own Python reference (tiktoken/_educational.py) uses it.
    import regex

    return regex.compile(pat_str)


def _merged_count(piece: bytes, ranks: dict[bytes, int]) -> int:
    """Tokens of one pre-token: tiktoken's byte-pair merge (lowest rank first, leftmost on a
    tie) until no adjacent pair is a token; the count of parts left."""
    if piece in ranks:
        return 1
    parts = [piece[i:i + 1] for i in range(len(piece))]
    while len(parts) > 1:
        best = -1
        at = 0
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and (best < 0 or rank < best):
                best, at = rank, i
        if best < 0:
            break
        parts[at:at + 2] = [parts[at] + parts[at + 1]]
    return len(parts)


def count_short(text: str, encoding: str) -> int | None:
    """`len(encode_ordinary(text))` for a short text without building the encoding, or None
    when the text is too long for it, has a very long pre-token, or the encoding is already
    built (then tiktoken is faster). Raises EncodingError as `get_encoding` does."""
    check_shipped(encoding)
    if len(text) > SHORT_TEXT_CHARS or encoding_ready(encoding):
        return None
    ranks, pat_str = ranks_and_pattern(encoding)
    if has_surrogate(text):  # as tiktoken: pairs joined, lone ones U+FFFD (module doc)
        text = _utf16_fixup(text)
    pieces = [m.encode("utf-8") for m in _pre_tokenizer(pat_str).findall(text)]
    if any(len(p) > _SHORT_PIECE_BYTES for p in pieces):
        return None
    return sum(_merged_count(p, ranks) for p in pieces)


@dataclass(frozen=True)
class CountResult:
    tokens: int
    characters: int
    words: int


class TokenCounter:
    """Counts a text fed in pieces (e.g. a file read in blocks) without keeping all of it.

    The sum equals `count_tokens` of the concatenation: pieces are buffered up to a safe cut.
    """

    def __init__(self, encoding: str, chunk_chars: int = CHUNK_CHARS) -> None:
        check_shipped(encoding)
        self._encoding = encoding
        self._chunk = chunk_chars
        self._parts: list[str] = []  # text not counted yet (no safe cut seen in it)
        self._size = 0
        self.tokens = 0
        self.characters = 0
        self.words = 0

    def feed(self, text: str) -> None:
        if not text:
            return
        self._parts.append(text)
        self._size += len(text)
        if self._size < self._chunk:
            return
        # Only the new piece can hold a cut not looked for yet; its left neighbour character
        # decides whether its very start is one.
        prev = self._parts[-2][-1] if len(self._parts) > 1 else ""
        probe = prev + text if prev else text
        found = cut_at_or_before(probe, 0, len(probe))
        if not found:
            return  # no safe cut yet (e.g. one huge line): keep going
        cut = found - len(prev)  # 0 = right before this piece
        head = "".join(self._parts[:-1]) + text[:cut]
        rest = text[cut:]
        self._parts = [rest] if rest else []
        self._size = len(rest)
        self._take(head)

    def _take(self, text: str) -> None:
        tokens, words = _count_parallel(get_encoding(self._encoding), text, self._chunk,
                                        words=True)
        self.tokens += tokens
        self.characters += len(text)
        self.words += words

    def finish(self) -> CountResult:
        if self._parts and not self.characters:  # the whole text is here: maybe a short one
            text = "".join(self._parts)
            short = count_short(text, self._encoding)
            if short is not None:
                self._parts = []
                self._size = 0
                return CountResult(short, len(text), count_words(text))
        if self._parts:
            self._take("".join(self._parts))
            self._parts = []
            self._size = 0
        return CountResult(self.tokens, self.characters, self.words)
