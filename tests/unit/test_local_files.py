"""monitor.core.local_files: the one reader of the user's small files."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from monitor.core.local_files import (
    UnsafeFileError,
    read_local_file,
    read_local_file_stat,
    read_local_text,
)


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b'{"x": 1}' * 1000)
    assert read_local_file(path) == b'{"x": 1}' * 1000
    data, st = read_local_file_stat(path)
    assert len(data) == st.st_size == 8000


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "settings.json"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []
    reader = threading.Thread(target=lambda: _catch(outcome, fifo), daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "read_local_file blocked on a FIFO"
    [exc] = outcome
    assert isinstance(exc, UnsafeFileError) and "FIFO" in str(exc) and str(fifo) in str(exc)


def _catch(outcome: list[BaseException], path: Path) -> None:
    try:
        read_local_file(path)
    except BaseException as exc:
        outcome.append(exc)


def test_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "prices.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(UnsafeFileError, match="device"):
        read_local_file(link)


def test_a_file_over_the_bound_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b"x" * 101)
    assert read_local_file(path, max_bytes=101) == b"x" * 101
    with pytest.raises(UnsafeFileError, match="too large"):
        read_local_file(path, max_bytes=100)


def test_missing_and_directory_keep_their_own_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_local_file(tmp_path / "missing.json")
    with pytest.raises(IsADirectoryError):
        read_local_file(tmp_path)


def test_unsafe_is_an_os_error_so_callers_report_it_as_unreadable(tmp_path: Path) -> None:
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    with pytest.raises(OSError) as caught:
        read_local_file(fifo)
    assert caught.value.strerror and "not a regular file" in caught.value.strerror


def test_a_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_bytes(b"\xef\xbb\xbf{}")
    assert read_local_text(path) == "{}"
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(UnicodeDecodeError):
        read_local_text(path)
