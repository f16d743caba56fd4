"""A real tmux whose status-right runs `token-monitor status --format tmux`.

An inner tmux server draws the status line; an outer tmux session runs a client attached to
it, so `capture-pane -e` on the outer pane reads back what the user sees: the text and its
colour escape. A store write then changes both within a few status intervals.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from monitor.core.settings import Settings
from monitor.paths import Paths
from monitor.services.settings_file import save_settings
from monitor.services.store import UsageStore
from tests.e2e.seed import seed_proxy_spend

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="needs tmux (bash .ci/install --test)")
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def _tmux(sock: Path, *args: str) -> str:
    assert TMUX is not None
    out = subprocess.run([TMUX, "-S", str(sock), "-f", "/dev/null", *args],
                         capture_output=True, text=True, timeout=20, check=True)
    return out.stdout


@pytest.fixture
def tmux_pair(tmp_path: Path, home: Path) -> Iterator[tuple[Path, Path]]:
    inner, outer = tmp_path / "inner.sock", tmp_path / "outer.sock"
    status = (f"{shlex.quote(sys.executable)} -m monitor --home {shlex.quote(str(home))} "
              f"status --format tmux --now {NOW.isoformat()}")
    _tmux(inner, "new-session", "-d", "-s", "work", "-x", "110", "-y", "6")
    try:
        _tmux(inner, "set", "-g", "status-interval", "1")
        _tmux(inner, "set", "-g", "status-right-length", "200")
        _tmux(inner, "set", "-as", "terminal-features", ",xterm-256color:RGB")
        _tmux(inner, "set", "-g", "status-right", f"#({status})")
        assert TMUX is not None
        attach = (f"env -u TMUX TERM=xterm-256color {shlex.quote(TMUX)} -S "
                  f"{shlex.quote(str(inner))} attach -t work")
        _tmux(outer, "new-session", "-d", "-s", "view", "-x", "120", "-y", "8", attach)
        yield inner, outer
    finally:
        for sock in (outer, inner):
            subprocess.run([TMUX or "tmux", "-S", str(sock), "kill-server"],
                           capture_output=True, timeout=20)


def _status_row(outer: Path, expect: str, timeout: float = 30.0) -> str:
    """The drawn status line of the inner session once it shows `expect` (with escapes)."""
    row = ""
    for _ in range(int(timeout / 0.3)):  # counted, not timed: a faked clock may stand still
        screen = _tmux(outer, "capture-pane", "-p", "-e", "-t", "view")
        rows = [r for r in screen.splitlines() if r.strip()]
        row = rows[-1] if rows else ""
        if expect in SGR.sub("", row):
            return row
        time.sleep(0.3)
    raise AssertionError(f"status line never showed {expect!r}; last: {row!r}")


def _fg_before(row: str, text: str) -> str:
    """The foreground colour the row's text starts in, as `r;g;b`."""
    at = row.index(text[:8])
    fg = ""
    for m in SGR.finditer(row[:at]):
        for part in re.finditer(r"38;2;(\d+);(\d+);(\d+)", m.group(1)):
            fg = ";".join(part.groups())
    return fg


def test_tmux_status_right_shows_the_figures_in_the_state_colour(
        tmux_pair: tuple[Path, Path], paths: Paths) -> None:
    inner, outer = tmux_pair
    save_settings(paths.settings_file, Settings(monthly_limit_usd=Decimal(100),
                                                today_timezone="UTC"))
    store = UsageStore(paths.db_file)
    try:
        seed_proxy_spend(store, [(NOW - timedelta(minutes=2), Decimal("10"))])
        # What the command prints is what tmux was told to show (display -p reads the option).
        assert "status --format tmux" in _tmux(inner, "display", "-p", "#{status-right}")
        text = "$10.00 today · $10.00 of $100 (10 %)"
        row = _status_row(outer, text)
        assert _fg_before(row, text) == "46;160;67"  # #2ea043: ok

        seed_proxy_spend(store, [(NOW - timedelta(minutes=1), Decimal("82.5"))])
        text = "$92.50 today · $92.50 of $100 (92 %)"
        row = _status_row(outer, text)
        assert _fg_before(row, text) == "224;46;36"  # #e02e24: critical
    finally:
        store.close()
