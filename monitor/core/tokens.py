"""Offline token counting: shipped tiktoken encodings, model → encoding, counts, spans, text stats.

Encodings are built from the rank files under `resources/encodings/` (SHA-256 checked here);
tiktoken's own loader, download path and cache directory are never used, so counting works
with no network and never writes outside the app. The parsed ranks are cached in the app's
cache dir (`rank_cache`, keyed by the rank file's SHA-256) once `rank_cache.use_directory`
has been called (the CLI does); without it every load parses the file.

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
  `_cut_at_or_before`), so the per-chunk counts sum to exactly the single-call count. The
  chunks are encoded on 2 worker threads while the calling thread counts words.
* tiktoken 0.14 panics (`pyo3_runtime.PanicException`, not an Exception) on a run of ~1M
  blanks; runs of LONG_RUN_CHARS or more are cut out and BPE-encoded as the single piece the
  pre-tokenizer would make of them (see `_encode_ordinary`), so such texts count exactly too.
  A panic that still happens becomes a TokenizerError (a KnownError), never a crash.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import itertools
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tiktoken
import tiktoken.model

from monitor import resources
from monitor.core import rank_cache
from monitor.errors import KnownError

if TYPE_CHECKING:
    from monitor.core.pricing import PriceTable

ENCODING_NAMES = ("o200k_base", "cl100k_base")
# Encodings we can build from the shipped files: the two above plus o200k_harmony (gpt-oss),
# which is o200k_base's ranks with extra special tokens.
AVAILABLE_ENCODINGS = ("o200k_base", "cl100k_base", "o200k_harmony")
DEFAULT_ENCODING = "o200k_base"

# SHA-256 of the rank files, the same values tiktoken checks on download
# (../shared/encodings/README.md, tiktoken_ext/openai_public.py).
_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}

# Pre-tokenizer patterns and special tokens copied from tiktoken_ext/openai_public.py (0.14.0).
_ENDOFTEXT = "<|endoftext|>"
_ENDOFPROMPT = "<|endofprompt|>"
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_HARMONY_SPECIALS: dict[str, int] = {
    "<|startoftext|>": 199998,
    _ENDOFTEXT: 199999,
    "<|reserved_200000|>": 200000,
    "<|reserved_200001|>": 200001,
    "<|return|>": 200002,
    "<|constrain|>": 200003,
    "<|reserved_200004|>": 200004,
    "<|channel|>": 200005,
    "<|start|>": 200006,
    "<|end|>": 200007,
    "<|message|>": 200008,
    "<|reserved_200009|>": 200009,
    "<|reserved_200010|>": 200010,
    "<|reserved_200011|>": 200011,
    "<|call|>": 200012,
} | {f"<|reserved_{i}|>": i for i in range(200013, 201088)}

# name -> (rank file, pat_str, special tokens)
_SPECS: dict[str, tuple[str, str, dict[str, int]]] = {
    "o200k_base": ("o200k_base", _O200K_PAT, {_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018}),
    "cl100k_base": (
        "cl100k_base",
        _CL100K_PAT,
        {
            _ENDOFTEXT: 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            _ENDOFPROMPT: 100276,
        },
    ),
    "o200k_harmony": (
        "o200k_base",
        _O200K_PAT,
        {_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018} | _HARMONY_SPECIALS,
    ),
}

# Texts shorter than this are encoded in one call; longer ones in chunks of about this size.
CHUNK_CHARS = 256 * 1024
BATCH_THREADS = 2


class EncodingError(KnownError):
    """A tokenizer encoding is missing, corrupt, or not shipped with the app."""


# ---------------------------------------------------------------------------------------------
# Loading (per process, thread-safe)

_cache_lock = threading.Lock()
_encodings: dict[str, tiktoken.Encoding] = {}
_ranks: dict[str, dict[bytes, int]] = {}
_locks: dict[str, threading.Lock] = {}


def _lock_for(key: str) -> threading.Lock:
    with _cache_lock:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = threading.Lock()
        return lock


def _rank_file(base: str) -> Path:
    """Where the shipped rank file lives (a seam for tests)."""
    return resources.file_path("encodings", f"{base}.tiktoken")


def _clear_cache() -> None:
    """Forget every loaded encoding (tests only)."""
    with _cache_lock:
        _encodings.clear()
        _ranks.clear()


def _load_ranks(base: str) -> dict[bytes, int]:
    ranks = _ranks.get(base)
    if ranks is not None:
        return ranks
    with _lock_for("ranks:" + base):
        ranks = _ranks.get(base)
        if ranks is None:
            ranks = _read_rank_file(base, _rank_file(base))
            _ranks[base] = ranks
        return ranks


def _read_rank_file(base: str, path: Path) -> dict[bytes, int]:
    fix = (
        f"Reinstall Token Monitor (the file ships with it), or put a good copy of "
        f"{base}.tiktoken (SHA-256 {_SHA256[base]}) at that path."
    )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise EncodingError(f"the tokenizer file {path} is missing. {fix}") from None
    except OSError as exc:
        raise EncodingError(
            f"cannot read the tokenizer file {path}: {exc.strerror}. {fix}"
        ) from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != _SHA256[base]:
        raise EncodingError(
            f"the tokenizer file {path} is corrupt (SHA-256 {actual[:16]}…, expected "
            f"{_SHA256[base][:16]}…). {fix}"
        )
    cached = rank_cache.load(base, actual)
    if cached is not None:
        return cached
    ranks = _parse_ranks(data, path, fix)
    rank_cache.store(base, actual, ranks)
    return ranks


def _parse_ranks(data: bytes, path: Path, fix: str) -> dict[bytes, int]:
    a2b = binascii.a2b_base64
    ranks: dict[bytes, int] = {}
    try:
        for line in data.splitlines():
            if line:
                token, rank = line.split()
                ranks[a2b(token)] = int(rank)
    except (ValueError, binascii.Error) as exc:  # only reachable if the hash table above is wrong
        raise EncodingError(f"the tokenizer file {path} cannot be parsed ({exc}). {fix}") from None
    return ranks


def get_encoding(name: str) -> tiktoken.Encoding:
    """The named encoding, built offline from the shipped files (SHA-256 checked), cached.

    Raises EncodingError for a missing/corrupt file or an encoding the app does not ship.
    """
    enc = _encodings.get(name)
    if enc is not None:
        return enc
    spec = _SPECS.get(name)
    if spec is None:
        raise EncodingError(_not_shipped(name))
    with _lock_for("enc:" + name):
        enc = _encodings.get(name)
        if enc is None:
            base, pat_str, specials = spec
            enc = tiktoken.Encoding(
                name, pat_str=pat_str, mergeable_ranks=_load_ranks(base), special_tokens=specials
            )
            _encodings[name] = enc
        return enc


def encoding_ready(name: str) -> bool:
    """Whether `name` is built: counting (and token spans) with it costs no load time."""
    return name in _encodings


def load_encoding(name: str) -> None:
    """Build `name` now, e.g. on a worker before the first count."""
    get_encoding(name)


def _not_shipped(name: str) -> str:
    models = sorted(m for m, e in tiktoken.model.MODEL_TO_ENCODING.items() if e == name)
    more = "…" if len(models) > 4 else ""
    used_by = f" (used by {', '.join(models[:4])}{more})" if models else ""
    return (
        f"the tokenizer encoding {name!r}{used_by} is not shipped with Token Monitor, so it "
        f"cannot be counted offline. Available: {', '.join(AVAILABLE_ENCODINGS)} "
        f"(pass --encoding to count with one of them as an approximation)."
    )


_CONTINUATION_BYTES = bytes(range(0x80, 0xC0))


def _lead_counts(enc: tiktoken.Encoding, tokens: list[int]) -> list[int]:
    """Per token, the number of characters it starts: its UTF-8 bytes that are not
    continuation bytes (10xxxxxx). Asked of the tokens at hand (~0.2 µs each) rather than
    tabled for the whole vocabulary: a table took 30-80 ms to build, which the first count
    of a paste waited for."""
    decode = enc.decode_single_token_bytes
    continuation = _CONTINUATION_BYTES
    return [len(decode(t).translate(None, continuation)) for t in tokens]


# ---------------------------------------------------------------------------------------------
# Model → encoding


@dataclass(frozen=True)
class EncodingChoice:
    """Which encoding counts a model's text; `assumed` when no source names it for that model."""

    name: str
    assumed: bool
    source: str  # "tiktoken" | "price table" | "default"


def _tiktoken_encoding_name(model: str) -> str | None:
    """tiktoken's own mapping (exact name, then prefix); fine-tunes map by their base model.

    `ft:gpt-4.1-mini-…:org::id` would hit tiktoken's `ft:gpt-4` prefix (cl100k_base), which is
    wrong for the o200k gpt-4.1 family, so a fine-tune is looked up by the name after `ft:`.
    """
    names = [model]
    if model.startswith("ft:"):
        base = model[3:].split(":", 1)[0]
        if base:
            names.insert(0, base)
    for name in names:
        try:
            return tiktoken.model.encoding_name_for_model(name)
        except KeyError:
            continue
    return None


def encoding_for_model(model: str, table: PriceTable | None = None) -> EncodingChoice:
    """tiktoken's mapping where it knows the model, else the price table's, else o200k_base.

    tiktoken may name an encoding the app does not ship (p50k_base for text-davinci-003,
    r50k_base, gpt2); the choice still says so and `get_encoding` explains the problem.
    """
    model = model.strip()
    name = _tiktoken_encoding_name(model)
    if name is not None:
        return EncodingChoice(name, assumed=False, source="tiktoken")
    if table is not None:
        info = table.resolve(model).info
        if info is not None and info.encoding:
            return EncodingChoice(
                info.encoding, assumed=info.encoding_assumed, source="price table"
            )
    return EncodingChoice(DEFAULT_ENCODING, assumed=True, source="default")


# ---------------------------------------------------------------------------------------------
# Counting


def _utf16_fixup(text: str) -> str:
    """What tiktoken does to text that is not valid UTF-8 (lone surrogates); see module doc."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


# tiktoken 0.14's regex engine gives up (a Rust panic, `pyo3_runtime.PanicException`, which is
# a BaseException) on a run of about 1M whitespace characters other than \r/\n. Runs this
# long are cut out of the text before tiktoken sees it; see `_encode_ordinary`.
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


def _encode_ordinary(
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
    o200k = _SPECS.get(enc.name, ("", _O200K_PAT, {}))[1] == _O200K_PAT
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
    return _encode_ordinary(get_encoding(encoding), text)


# After a newline: a character that is neither whitespace nor "/", or a run of whitespace
# without \r/\n followed by any non-whitespace character.
_AFTER_NEWLINE = r"[^\s/]|[^\S\r\n]+\S"
_SAFE_NEWLINE = re.compile(rf"\n(?={_AFTER_NEWLINE})")
_SAFE_AFTER_NEWLINE = re.compile(_AFTER_NEWLINE)
_SAFE_SPACE = re.compile(r"(?<=[A-Za-z]) (?=[A-Za-z])")


def _cut_at_or_before(text: str, lo: int, hi: int) -> int:
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


def _chunks(text: str, target: int = CHUNK_CHARS) -> Iterator[str]:
    """Consecutive pieces of about `target` characters, split only at safe cuts."""
    n = len(text)
    newline = _ForwardSearch(_SAFE_NEWLINE, text)
    space = _ForwardSearch(_SAFE_SPACE, text)
    start = 0
    while start < n:
        if n - start <= target:
            cut = n
        else:
            cut = _cut_at_or_before(text, start + target // 2, start + target)
            if not cut:  # none near the target: the nearest safe cut after it, else the end
                after = [m.start() for m in (space.search(start + target),) if m is not None]
                m = newline.search(start + target)
                if m is not None:
                    after.append(m.end())
                cut = min(after, default=n)
        yield text[start:cut]
        start = cut


def _count_one(enc: tiktoken.Encoding, chunk: str) -> int:
    """`len(_encode_ordinary(enc, chunk))` without building a list of Python ints.

    tiktoken's `encode_to_tiktoken_buffer` (what `encode_to_numpy` uses) returns the ids as a
    buffer of uint32 and holds the GIL only to read the text, so counts on two threads really
    run in parallel. With no special token allowed it encodes special-token strings as plain
    text, exactly as `encode_ordinary` does (a test compares the two). Texts that need the
    careful path (long whitespace runs, lone surrogates, a Rust panic) take it.
    """
    if len(chunk) >= LONG_RUN_CHARS and _has_long_run(chunk, LONG_RUN_CHARS):
        return len(_encode_ordinary(enc, chunk))
    try:
        ids = enc._core_bpe.encode_to_tiktoken_buffer(chunk, _NO_SPECIALS)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # UnicodeEncodeError, a panic (not an Exception): the careful path
        return len(_encode_ordinary(enc, chunk))
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
        return _count_one(enc, text), _count_words(text) if words else 0
    with ThreadPoolExecutor(BATCH_THREADS, thread_name_prefix="token-count") as pool:
        futures = [pool.submit(_count_one, enc, chunk) for chunk in _chunks(text, target)]
        n_words = _count_words(text) if words else 0
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
def _special_shape() -> re.Pattern[str]:
    return re.compile(r"<\|[A-Za-z0-9_]{1,40}\|>")


def special_tokens_in(text: str, encoding: str) -> tuple[str, ...]:
    """The distinct special-token strings of `encoding` (`<|endoftext|>`, ...) that `text`
    contains, in order of first appearance. They are counted as plain text, as the API
    counts them in a request's text (see `encode`); the tokenizer pane says so."""
    if "<|" not in text or encoding not in _SPECS:
        return ()
    specials = _SPECS[encoding][2]
    found = dict.fromkeys(m[0] for m in _special_shape().finditer(text) if m[0] in specials)
    return tuple(found)


def check_shipped(encoding: str) -> None:
    """Raise EncodingError now for an encoding the app does not ship (nothing is loaded)."""
    if encoding not in _SPECS:
        raise EncodingError(_not_shipped(encoding))


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
    if len(text) > SHORT_TEXT_CHARS or encoding in _encodings:
        return None
    base, pat_str, _specials = _SPECS[encoding]
    ranks = _load_ranks(base)
    pieces = [m.encode("utf-8", "surrogatepass") for m in _pre_tokenizer(pat_str).findall(text)]
    if any(len(p) > _SHORT_PIECE_BYTES for p in pieces):
        return None
    return sum(_merged_count(p, ranks) for p in pieces)


# ---------------------------------------------------------------------------------------------
# Text statistics

# Han ideographs and kana are written without spaces, so each one counts as a word; Hangul
# (written with spaces) and everything else counts by whitespace-separated runs.
_CJK_CLASS = ("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
              "\U00020000-\U0002fa1f\U00030000-\U0003134f]")


@functools.cache
def cjk_pattern() -> re.Pattern[str]:
    """One CJK character (see above)."""
    return re.compile(_CJK_CLASS)


@functools.cache
def _cjk_run() -> re.Pattern[str]:
    return re.compile(_CJK_CLASS + "+")


@dataclass(frozen=True)
class TextStats:
    """`characters`: Unicode code points; `words`: see `text_stats`."""

    characters: int
    words: int


def _count_words(text: str) -> int:
    """Runs of non-whitespace, where every CJK character is a word on its own.

    One `split()`; then only the runs that are not ASCII are looked at again, each cut at its
    CJK runs into non-CJK parts: the run is (its CJK characters) + (its non-empty parts)
    words instead of one. Equals splitting after putting spaces around every CJK character
    (a test checks), about 10x faster on mixed text than doing that substitution."""
    words = text.split()
    if text.isascii():
        return len(words)
    extra = 0
    for word in itertools.filterfalse(str.isascii, words):
        parts = _cjk_run().split(word)
        if len(parts) > 1:
            cjk_chars = len(word) - sum(map(len, parts))
            extra += cjk_chars + len(parts) - parts.count("") - 1
    return len(words) + extra


def text_stats(text: str) -> TextStats:
    """Code points, and words = runs of non-whitespace, where every CJK ideograph or kana
    counts as one word on its own ("Hello 世界" = 3 words, "abc世界" = 3)."""
    return TextStats(characters=len(text), words=_count_words(text))


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
        found = _cut_at_or_before(probe, 0, len(probe))
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
                return CountResult(short, len(text), _count_words(text))
        if self._parts:
            self._take("".join(self._parts))
            self._parts = []
            self._size = 0
        return CountResult(self.tokens, self.characters, self.words)


# ---------------------------------------------------------------------------------------------
# Token spans


@dataclass(frozen=True, slots=True)
class TokenSpan:
    """One token and the characters `text[start:end]` it covers (code point offsets).

    Spans tile the text: each starts where the previous one ended. A character whose UTF-8
    bytes are split over several tokens belongs to the token holding its first byte; a token
    made only of the remaining bytes of such a character gets an empty span (start == end)
    just after it.
    """

    token_id: int
    start: int
    end: int


@functools.cache
def _surrogate() -> re.Pattern[str]:
    return re.compile("[\ud800-\udfff]")


def _fixup_with_origins(text: str) -> tuple[str, list[int]]:
    """`_utf16_fixup(text)` plus, per character of the result, its offset in `text`."""
    out: list[str] = []
    origin: list[int] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        o = ord(c)
        if 0xD800 <= o <= 0xDBFF and i + 1 < n and 0xDC00 <= ord(text[i + 1]) <= 0xDFFF:
            out.append(chr(0x10000 + ((o - 0xD800) << 10) + (ord(text[i + 1]) - 0xDC00)))
            origin.append(i)
            i += 2
            continue
        out.append("\ufffd" if 0xD800 <= o <= 0xDFFF else c)
        origin.append(i)
        i += 1
    origin.append(n)
    return "".join(out), origin


def _safe_prefixes(text: str, limit: int) -> Iterator[str]:
    """Growing prefixes of text, each ending at a safe cut, then the whole text.

    The tokens of a prefix cut safely are exactly the first tokens of the whole text.
    """
    size = max(limit * 8, 4096)
    while size < len(text):
        cut = _cut_at_or_before(text, size // 2, size)
        if cut:
            yield text[:cut]
        size *= 2
    yield text


def token_spans(text: str, encoding: str, limit: int | None = None) -> list[TokenSpan]:
    """The tokens of `text` (at most `limit`) with their character offsets, in linear time.

    With a limit only a prefix of the text a little longer than needed is encoded.
    """
    if limit is not None and limit <= 0:
        return []
    enc = get_encoding(encoding)
    tokens: list[int] = []
    origin: list[int] | None = None
    for piece in [text] if limit is None else _safe_prefixes(text, limit):
        work, origin = piece, None
        if _surrogate().search(piece):
            work, origin = _fixup_with_origins(piece)
        tokens = _encode_ordinary(enc, work)
        if limit is None or len(tokens) >= limit:
            tokens = tokens if limit is None else tokens[:limit]
            break
    ends = itertools.accumulate(_lead_counts(enc, tokens))
    spans: list[TokenSpan] = []
    append = spans.append
    start = 0
    if origin is None:
        for t, end in zip(tokens, ends, strict=True):
            append(TokenSpan(t, start, end))
            start = end
    else:
        for t, end in zip(tokens, ends, strict=True):
            append(TokenSpan(t, origin[start], origin[end]))
            start = end
    return spans
