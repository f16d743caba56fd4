"""The parsed-ranks cache: used when verified, rebuilt when missing/stale/damaged, and never
trusted from a file or folder another user could have written."""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.core import encodings, rank_cache
from monitor.core import tokens as tk

BASE = "cl100k_base"
TEXT = "Token Monitor counts tokens offline: 世界, <|endoftext|>, 12345."


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Path]:
    encodings._clear_cache()
    rank_cache.use_directory(tmp_path / "cache")
    try:
        yield tmp_path / "cache" / "encodings"
    finally:
        rank_cache.use_directory(None)
        encodings._clear_cache()


def _sha() -> str:
    return hashlib.sha256(encodings._rank_file(BASE).read_bytes()).hexdigest()


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls of the base64 parser (a cache hit makes none)."""
    calls: list[int] = []
    real = encodings._parse_ranks

    def counting(*args: object) -> dict[bytes, int]:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(encodings, "_parse_ranks", counting)
    return calls


def _fresh_count() -> int:
    encodings._clear_cache()
    return tk.count_tokens(TEXT, BASE)


_REAL_PARSE = encodings._parse_ranks


@functools.cache
def _expected() -> int:
    """The count from an encoding built here from the shipped file, bypassing any cache."""
    import tiktoken

    ranks = _REAL_PARSE(encodings._rank_file(BASE).read_bytes(), encodings._rank_file(BASE), "")
    _, pat, specials = encodings._SPECS[BASE]
    enc = tiktoken.Encoding("check", pat_str=pat, mergeable_ranks=ranks, special_tokens=specials)
    return len(enc.encode_ordinary(TEXT))


def test_first_load_writes_a_private_cache_and_the_next_load_uses_it(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses = _parses(monkeypatch)
    first = _fresh_count()
    path = rank_cache.cache_path(cache, BASE, _sha())
    assert path.is_file() and len(parses) == 1
    assert path.stat().st_mode & 0o777 == 0o600
    assert cache.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in cache.iterdir()] == [path.name]  # no temp file left behind
    second = _fresh_count()
    assert len(parses) == 1  # read back from the cache, not parsed again
    assert first == second == _expected()
    assert rank_cache.load(BASE, _sha()) == _REAL_PARSE(
        encodings._rank_file(BASE).read_bytes(), encodings._rank_file(BASE), "")


@pytest.mark.parametrize("where", ["payload", "payload-hash", "magic", "truncated", "empty"])
def test_a_damaged_or_tampered_cache_is_rebuilt(
    cache: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    _fresh_count()
    path = rank_cache.cache_path(cache, BASE, _sha())
    data = bytearray(path.read_bytes())
    head = len(rank_cache.MAGIC)
    if where == "payload":  # e.g. a rank changed: the payload no longer matches its hash
        data[-40] ^= 0x01
    elif where == "payload-hash":
        data[head + 40] ^= 0x01
    elif where == "magic":
        data[0:5] = b"XXXXX"
    elif where == "truncated":
        del data[len(data) // 2 :]
    else:
        data.clear()
    path.write_bytes(bytes(data))
    assert rank_cache.load(BASE, _sha()) is None
    parses = _parses(monkeypatch)
    assert _fresh_count() == _expected()
    assert len(parses) == 1
    assert rank_cache.load(BASE, _sha()) is not None  # rewritten, good again


def test_a_stale_cache_is_not_used_and_is_replaced(cache: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh_count()
    good = rank_cache.cache_path(cache, BASE, _sha())
    other_sha = hashlib.sha256(b"an older rank file").hexdigest()
    # A cache made from another rank file, even if renamed to this file's key, is refused:
    # the header names the rank file it was parsed from.
    stale = rank_cache.cache_path(cache, BASE, other_sha)
    ranks = rank_cache.load(BASE, _sha())
    assert ranks is not None
    rank_cache.store(BASE, other_sha, {b"x": 0, **{k: v + 1 for k, v in ranks.items()}})
    assert stale.exists() and not good.exists()  # storing removes other keys' caches
    stale.rename(good)
    assert rank_cache.load(BASE, _sha()) is None
    parses = _parses(monkeypatch)
    assert _fresh_count() == _expected()
    assert len(parses) == 1
    assert sorted(p.name for p in cache.iterdir()) == [good.name]


def _make_foreign(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.getuid() == 0:
        os.chown(path, 65534, 65534)  # really another user's file
    else:
        monkeypatch.setattr(os, "getuid", lambda: os.stat(path).st_uid + 1)


@pytest.mark.parametrize("problem", ["file-owner", "file-mode", "folder-owner", "folder-mode",
                                     "symlink"])
def test_a_cache_another_user_could_write_is_never_trusted(
    cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, problem: str
) -> None:
    _fresh_count()
    path = rank_cache.cache_path(cache, BASE, _sha())
    assert rank_cache.load(BASE, _sha()) is not None
    if problem == "file-owner":
        _make_foreign(path, monkeypatch)
    elif problem == "file-mode":
        path.chmod(0o666)
    elif problem == "folder-owner":
        _make_foreign(cache, monkeypatch)
    elif problem == "folder-mode":
        cache.chmod(0o777)
    else:
        elsewhere = tmp_path / "planted.ranks"
        path.rename(elsewhere)
        path.symlink_to(elsewhere)
    assert rank_cache.load(BASE, _sha()) is None
    parses = _parses(monkeypatch)
    assert _fresh_count() == _expected()
    assert len(parses) == 1  # parsed from the shipped file instead
    if problem.startswith("folder"):  # nothing is written into a folder that is not ours
        assert rank_cache.store(BASE, _sha(), {b"a": 0}) is None


def test_no_directory_means_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rank_cache.use_directory(None)
    encodings._clear_cache()
    parses = _parses(monkeypatch)
    try:
        assert tk.count_tokens(TEXT, BASE) == _expected()
        encodings._clear_cache()
        tk.count_tokens(TEXT, BASE)
    finally:
        encodings._clear_cache()
    assert len(parses) == 2
    assert rank_cache.store(BASE, "00" * 32, {b"a": 0}) is None


def test_non_sequential_ranks_round_trip(tmp_path: Path) -> None:
    ranks = {b"a": 5, b"bc": 0, b"\xff": 7}
    rank_cache.store("test_enc", "ab" * 32, ranks, folder=tmp_path / "c")
    assert rank_cache.load("test_enc", "ab" * 32, folder=tmp_path / "c") == ranks


def test_count_command_writes_the_cache_under_home(tmp_path: Path) -> None:
    import subprocess
    import sys

    home = tmp_path / "home"
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-m", "monitor", "--home", str(home), "count", "-", "--encoding",
             BASE, "--json"], input=TEXT, capture_output=True, text=True, check=True)
        assert f'"tokens": {_expected()}' in out.stdout
    cached = list((home / "cache" / "encodings").glob(f"{BASE}-*.ranks"))
    assert [p.name for p in cached] == [f"{BASE}-{_sha()}.ranks"]


def test_a_fifo_in_place_of_the_cache_is_ignored_without_blocking(cache: Path) -> None:
    import threading

    path = rank_cache.cache_path(cache, BASE, _sha())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    os.mkfifo(path, 0o600)
    result: list[object] = []
    reader = threading.Thread(target=lambda: result.append(rank_cache.load(BASE, _sha())),
                              daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "rank_cache.load blocked on a FIFO"
    assert result == [None]
