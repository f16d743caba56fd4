"""An OTLP endpoint without the `otel` extra installed: the proxy still meters (OTLP off, and
it says why), unless the endpoint was asked for on the command line.

The missing extra is simulated, not uninstalled: `sys.modules["opentelemetry"] = None` makes
every `import opentelemetry...` (and `importlib.util.find_spec`) fail as if the package were
absent. In a subprocess for the `proxy` command; in-process (every loaded `opentelemetry*`
module hidden, restored after) for the exporters the tray app's proxy is built from.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from monitor.core.prices import PriceTable
from monitor.core.records import ProxyRecord
from monitor.core.settings import Settings
from monitor.paths import Paths
from monitor.services.proxy import MeteringProxy
from monitor.services.proxy.exporters import (
    ExportOff,
    build_exporters,
    export_options,
)
from monitor.services.settings_file import load_settings, save_settings
from monitor.services.store import UsageStore
from tests.fakes.server import ServerThread, listening_url, reap
from tests.integration.test_proxy import CLIENT_KEY, MSG, settled

INSTALL = "pip install 'token-monitor[otel]'"
COLLECTOR = "http://127.0.0.1:9"  # never reached: the export is off
WITHOUT_OTEL = ("import sys; sys.modules['opentelemetry'] = None; "
                "from monitor.cli import main; raise SystemExit(main(sys.argv[1:]))")


@pytest.fixture
def no_otel(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The `otel` extra as if not installed, in this process (restored afterwards)."""
    for name in [m for m in sys.modules if m == "opentelemetry" or
                 m.startswith("opentelemetry.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    yield


def _with_endpoint(paths: Paths) -> None:
    settings = load_settings(paths.settings_file).settings
    save_settings(paths.settings_file, settings.replace(otlp_endpoint=COLLECTOR))


def test_the_apps_exporters_run_the_proxy_with_otlp_off(
    no_otel: None, paths: Paths, upstream: ServerThread, prices: PriceTable,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    settings = Settings(otlp_endpoint=COLLECTOR)
    options, warnings = export_options(settings)  # as the tray app builds its proxy
    addons = build_exporters(options, store_path=paths.db_file, prices=prices,
                             settings=lambda: settings, clock=prices.clock)
    assert warnings == [] and [type(a) for a in addons] == [ExportOff]
    records: list[ProxyRecord] = []
    proxy = MeteringProxy(upstream=upstream.base_url + "/v1", store_path=paths.db_file,
                          prices=prices, port=0, on_record=records.append, addons=addons)
    with caplog.at_level("WARNING", logger="monitor"):
        url = proxy.start_in_thread()
        try:
            with openai.OpenAI(base_url=url, api_key=CLIENT_KEY, max_retries=0) as c:
                c.chat.completions.create(model="gpt-4o", messages=MSG)  # type: ignore[arg-type]
            [rec] = settled(proxy, records, 1)
        finally:
            proxy.stop()
    assert rec.status == 200 and rec.cost_usd  # metered as usual
    [notice] = proxy.notices
    assert INSTALL in notice and COLLECTOR in notice and "meters as usual" in notice
    said = [r.getMessage() for r in caplog.records if INSTALL in r.getMessage()]
    assert said == [notice]  # once, when the proxy started


def test_the_command_line_flag_without_the_extra_is_an_error(
    no_otel: None, paths: Paths, prices: PriceTable
) -> None:
    from monitor.services.otel_export import OtelError

    options, _ = export_options(Settings(), otlp_endpoint=COLLECTOR)
    with pytest.raises(OtelError, match=r"pip install 'token-monitor\[otel\]'"):
        build_exporters(options, store_path=paths.db_file, prices=prices,
                        settings=Settings, clock=prices.clock)


def test_proxy_command_with_the_setting_meters_and_says_why(
    home: Path, paths: Paths, upstream: ServerThread
) -> None:
    _with_endpoint(paths)
    proc = subprocess.Popen(
        [sys.executable, "-c", WITHOUT_OTEL, "proxy", "--port", "0",
         "--upstream", upstream.base_url + "/v1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "MONITOR_HOME": str(home)},
    )  # fmt: skip
    try:
        url = listening_url(proc)
        with openai.OpenAI(base_url=url, api_key=CLIENT_KEY, max_retries=0) as c:
            c.chat.completions.create(model="gpt-4o", messages=MSG)  # type: ignore[arg-type]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert proc.stdout is not None and proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        reap(proc)
    assert f"OTLP export to {COLLECTOR} is off" in out  # the exporters' lines on stdout
    assert err.count(INSTALL) == 1 and "Traceback" not in err  # and one warning
    store = UsageStore(paths.db_file)
    try:
        assert [r.status for r in store.proxy_records(limit=5)] == [200]
    finally:
        store.close()
    assert paths.log_file.read_text().count(INSTALL) == 1


def test_proxy_command_with_the_flag_stops_with_a_clear_error(
    home: Path, upstream: ServerThread
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_OTEL, "proxy", "--port", "0", "--otlp-endpoint",
         COLLECTOR, "--upstream", upstream.base_url + "/v1"],
        capture_output=True, text=True, env={**os.environ, "MONITOR_HOME": str(home)},
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (
        f"error: OTLP export needs the OpenTelemetry extra: {INSTALL}")
