"""state.json has one owner: concurrent writers of different keys never lose each other's key."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from monitor.services import ui_state


def test_concurrent_writers_of_different_keys_keep_both(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"foreign": 1}')
    start = threading.Barrier(2)

    def writer(key: str) -> None:
        start.wait()
        for i in range(100):
            ui_state.update_key(path, key, i)

    threads = [threading.Thread(target=writer, args=(k,)) for k in ("alerts", "windows")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert json.loads(path.read_text()) == {"foreign": 1, "alerts": 99, "windows": 99}
    assert path.stat().st_mode & 0o777 == 0o600


def test_unreadable_file_reads_empty_and_is_replaced_on_write(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("[" * 100_000)  # over-deep JSON: treated as unreadable
    assert ui_state.read_key(path, "alerts") is None
    ui_state.change_key(path, "alerts", lambda old: [old, 1])
    assert json.loads(path.read_text()) == {"alerts": [None, 1]}


def test_a_fifo_or_device_state_file_reads_empty_without_blocking(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "state.json"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    found: list[object] = []
    reader = threading.Thread(target=lambda: found.extend(
        [ui_state.read_key(fifo, "alerts"), ui_state.read_key(zero, "alerts")]), daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "read_key blocked on a FIFO"
    assert found == [None, None]


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b'\xef\xbb\xbf{"alerts": 3}')
    assert ui_state.read_key(path, "alerts") == 3
