"""`token-monitor proxy` follows settings.json while it runs: `budget --limit` reaches its
/metrics budget gauges at the caps' next refresh (every 5 s), without a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.cli import main
from tests.fakes.server import ServerThread
from tests.integration.test_proxy_metrics import _lines, scrape, total

LIMIT = "token_monitor_cycle_limit_usd"
REFRESH_DEADLINE_S = 8.0  # the caps' 5 s refresh, plus start-up slack on a loaded machine


def test_budget_limit_reaches_a_running_proxy_commands_metrics(
        upstream: ServerThread, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "proxy", "--port", "0", "--metrics-port", "0",
         "--upstream", upstream.base_url + "/v1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "MONITOR_HOME": str(home)},
    )  # fmt: skip
    try:
        _listening, metrics_line = _lines(proc, 2)
        metrics = metrics_line.removeprefix("Metrics on ")
        assert total(scrape(metrics), LIMIT) == 120
        assert main(["budget", "--limit", "90"]) == 0
        assert "saved." in capsys.readouterr().out
        deadline = time.monotonic() + REFRESH_DEADLINE_S
        while total(scrape(metrics), LIMIT) != 90:
            assert time.monotonic() < deadline, "the new limit never reached /metrics"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        for f in (proc.stdout, proc.stderr):
            if f:
                f.close()
