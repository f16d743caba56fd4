"""The shipped tiktoken encodings, built offline, and which one counts a model's text.

Encodings are built from the rank files under `resources/encodings/` (SHA-256 checked here);
tiktoken's own loader, download path and cache directory are never used, so counting works
with no network and never writes outside the app. The parsed ranks are cached in the app's
cache dir (`rank_cache`, keyed by the rank file's SHA-256) once `rank_cache.use_directory`
has been called (the CLI does); without it every load parses the file.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import tiktoken
import tiktoken.model

from monitor import resources
from monitor.core import rank_cache
from monitor.errors import KnownError

if TYPE_CHECKING:
    from monitor.core.prices import PriceTable

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


def check_shipped(encoding: str) -> None:
    """Raise EncodingError now for an encoding the app does not ship (nothing is loaded)."""
    if encoding not in _SPECS:
        raise EncodingError(_not_shipped(encoding))


@functools.cache
def _special_shape() -> re.Pattern[str]:
    return re.compile(r"<\|[A-Za-z0-9_]{1,40}\|>")


def special_tokens_in(text: str, encoding: str) -> tuple[str, ...]:
    """The distinct special-token strings of `encoding` (`<|endoftext|>`, ...) that `text`
    contains, in order of first appearance. They are counted as plain text, as the API
    counts them in a request's text (see `tokens.encode`); the tokenizer pane says so."""
    if "<|" not in text or encoding not in _SPECS:
        return ()
    specials = _SPECS[encoding][2]
    found = dict.fromkeys(m[0] for m in _special_shape().finditer(text) if m[0] in specials)
    return tuple(found)


def ranks_and_pattern(encoding: str) -> tuple[dict[bytes, int], str]:
    """The shipped encoding's mergeable ranks and pre-tokenizer pattern, without building it
    (the short-text count merges in Python over these)."""
    check_shipped(encoding)
    base, pat_str, _specials = _SPECS[encoding]
    return _load_ranks(base), pat_str


def uses_o200k_pattern(encoding: str) -> bool:
    """Whether `encoding` pre-tokenizes with o200k's pattern (unknown names: yes)."""
    return _SPECS.get(encoding, ("", _O200K_PAT, {}))[1] == _O200K_PAT


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
