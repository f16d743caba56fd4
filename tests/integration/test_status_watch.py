"""`token-monitor status --watch` as a real process on a real store file.

It must print a line within 2 s of a store write that changes the figures, print nothing
otherwise (no time passes on its pinned clock, and a write that changes no figure changes no
line), and exit 0 without a traceback on SIGTERM and when its reader goes away.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from monitor import exit_codes
from monitor.core.settings import Settings
from monitor.paths import Paths
from monitor.services.settings_file import save_settings
from monitor.services.store import UsageStore
from tests.e2e.seed import seed_proxy_spend

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
STARTUP_S = 20.0  # a loaded CI machine can take long to start Python


class Watch:
    """A running `status --watch` and its stdout, read line by line with timeouts."""

    def __init__(self, home: Path, fmt: str = "json") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--home", str(home), "status", "--watch",
             "--format", fmt, "--now", NOW.isoformat()],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
        )
        assert self.proc.stdout is not None
        self.out = self.proc.stdout
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.out, selectors.EVENT_READ)
        self.buf = b""

    def line(self, timeout: float) -> str | None:
        """The next line, or None when none came within `timeout` s (a select timing out
        ends the wait even if a faked clock stands still)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = max(0.05, deadline - time.monotonic())
            if not self.sel.select(min(left, timeout)):
                return None
            chunk = os.read(self.out.fileno(), 65536)
            if not chunk:
                return None
            self.buf += chunk
        text, _, self.buf = self.buf.partition(b"\n")
        return text.decode()

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=15)
        assert self.proc.stderr is not None
        err = self.proc.stderr.read().decode()
        self.sel.close()
        self.out.close()
        self.proc.stderr.close()
        return code, err


@pytest.fixture
def store_home(home: Path, paths: Paths) -> Iterator[tuple[Path, UsageStore]]:
    save_settings(paths.settings_file, Settings(monthly_limit_usd=Decimal(100),
                                                today_timezone="UTC"))
    store = UsageStore(paths.db_file)
    seed_proxy_spend(store, [(NOW - timedelta(minutes=2), Decimal("10"))])
    yield home, store
    store.close()


def _json(line: str | None) -> Any:
    assert line is not None, "no line"
    return json.loads(line)


def test_watch_emits_on_store_writes_only(store_home: tuple[Path, UsageStore],
                                          paths: Paths) -> None:
    home, store = store_home
    w = Watch(home)
    try:
        first = _json(w.line(STARTUP_S))
        assert (first["cycle_usd"], first["state"]) == (10, "ok")
        assert w.line(3.0) is None, "a line without any change"

        seed_proxy_spend(store, [(NOW - timedelta(minutes=1), Decimal("45"))])
        written = time.monotonic()
        second = _json(w.line(5.0))
        elapsed = time.monotonic() - written
        assert elapsed < 2.0, f"took {elapsed:.2f} s"
        assert (second["cycle_usd"], second["state"]) == (55, "warn")

        store.set_names({"proj_x": "Project X"})  # a write that changes no figure
        assert w.line(2.5) is None

        save_settings(paths.settings_file, Settings(monthly_limit_usd=Decimal(50),
                                                    today_timezone="UTC"))
        third = _json(w.line(3.0))
        assert (third["limit_usd"], third["state"]) == (50, "over")
    finally:
        code, err = w.stop()
    assert code == 0
    assert "Traceback" not in err


@pytest.mark.parametrize("fmt", ["waybar", "i3blocks", "text", "tmux"])
def test_watch_prints_one_line_per_update(store_home: tuple[Path, UsageStore],
                                          fmt: str) -> None:
    home, store = store_home
    w = Watch(home, fmt)
    try:
        first = w.line(STARTUP_S)
        assert first is not None
        seed_proxy_spend(store, [(NOW - timedelta(minutes=1), Decimal("85"))])
        second = w.line(5.0)
        assert second is not None
        if fmt in ("waybar", "i3blocks"):  # one JSON object per line
            a, b = json.loads(first), json.loads(second)
            if fmt == "waybar":
                assert (a["class"], b["class"]) == ("ok", "critical")
                assert (a["percentage"], b["percentage"]) == (10, 95)
            else:
                assert a["full_text"].startswith("$10.00 today")
                assert b["urgent"] is False and b["color"] == "#E02E24"
        else:
            assert "$95.00 of $100 (95 %)" in second
        assert w.line(1.5) is None
    finally:
        code, _ = w.stop()
    assert code == 0


def test_watch_exits_cleanly_when_the_reader_goes_away(
        store_home: tuple[Path, UsageStore]) -> None:
    home, store = store_home
    w = Watch(home)
    assert w.line(STARTUP_S) is not None
    w.sel.close()
    w.out.close()  # the status bar died
    seed_proxy_spend(store, [(NOW - timedelta(minutes=1), Decimal("1"))])
    code = w.proc.wait(timeout=15)
    assert w.proc.stderr is not None
    err = w.proc.stderr.read().decode()
    w.proc.stderr.close()
    assert code == exit_codes.PIPE_CLOSED  # quietly, as `cat` would
    assert err == ""

