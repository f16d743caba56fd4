"""The tray app starts without what it may never use: no tiktoken, no encoding, no charts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, os, sys
from PySide6.QtWidgets import QApplication
app = QApplication(["token-monitor"])
from monitor.context import AppContext
from monitor.gui.app import AppController
from monitor.gui.app_jobs import NO_ADMIN_KEY
from monitor.gui.tokenizer.compat import protect_none  # as run_app does
protect_none()
from monitor.paths import resolve_paths
ctx = AppContext(resolve_paths(sys.argv[1]).ensure())
c = AppController(ctx, tray=True, sync=lambda: NO_ADMIN_KEY, use_freedesktop=False)
c.quit_requested = lambda: None
c.start(poll=True)
deadline = __import__("time").monotonic() + 10
while (c.state.snapshot is None or c.runner.active) and __import__("time").monotonic() < deadline:
    app.processEvents()
heavy = ("tiktoken", "monitor.core.tokens", "monitor.gui.tokenizer.pane", "PySide6.QtCharts",
         "monitor.gui.dashboard.charts")
print(json.dumps({"snapshot": c.state.snapshot is not None,
                  "loaded": sorted(m for m in sys.modules if m.startswith(heavy))}))
c.shutdown()
"""


def test_tray_start_imports_no_tokenizer_and_no_charts(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "home")],
                         capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines, out.stderr[-2000:]
    result = json.loads(lines[-1])
    assert result["snapshot"] is True  # it really started and took its first snapshot
    assert result["loaded"] == []
