"""/metrics end to end: the openai SDK -> proxy -> fake upstream, then a scrape parsed with
prometheus_client's parser, and a real Prometheus server's query results, must equal what
`token-monitor usage` reports for the same store.

The real Prometheus is the Debian `prometheus` binary (installed by `.ci/install --test`), run
on a loopback port with a temporary config and storage dir, scraping the proxy every second,
and stopped at the end (SIGTERM, then SIGKILL after a bounded wait). Without the binary that
test is skipped, except in CI (CI=true or MONITOR_REQUIRE_PROMETHEUS=1), where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.cli import main
from monitor.context import AppContext
from monitor.core.clock import system_clock
from monitor.core.prices import PriceTable
from monitor.core.records import ProxyRecord
from monitor.paths import Paths
from monitor.services.proxy import MeteringProxy
from monitor.services.proxy.metrics import MetricsError, MetricsExporter
from tests.fakes.server import ServerThread
from tests.integration.test_proxy import AUTH, CLIENT_KEY, MSG, raw_request, settled

Families = dict[str, list[tuple[dict[str, str], float]]]


def make_proxy(
    upstream: ServerThread, paths: Paths, prices: PriceTable, records: list[ProxyRecord],
    **caps: int,
) -> tuple[MeteringProxy, MetricsExporter]:  # fmt: skip
    ctx = AppContext(paths)
    exporter = MetricsExporter(store_path=paths.db_file, prices=prices,
                               settings=lambda: ctx.settings, clock=system_clock, port=0,
                               **caps)  # fmt: skip
    proxy = MeteringProxy(upstream=upstream.base_url + "/v1", store_path=paths.db_file,
                          prices=prices, port=0, on_record=records.append, addons=[exporter])
    proxy.start_in_thread()
    return proxy, exporter


@pytest.fixture
def records() -> list[ProxyRecord]:
    return []


@pytest.fixture
def running(
    upstream: ServerThread, paths: Paths, prices: PriceTable, records: list[ProxyRecord]
) -> Iterator[tuple[MeteringProxy, MetricsExporter]]:
    proxy, exporter = make_proxy(upstream, paths, prices, records)
    yield proxy, exporter
    proxy.stop()


def scrape(url: str, accept: str | None = None) -> Families:
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read().decode()
    out: Families = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, []).append((dict(s.labels), float(s.value)))
    return out


def total(fams: Families, name: str, where: Callable[[dict[str, str]], bool] = lambda _: True,
          ) -> float:  # fmt: skip
    return sum(v for labels, v in fams.get(name, []) if where(labels))


def by(fams: Families, name: str, label: str,
       where: Callable[[dict[str, str]], bool] = lambda _: True) -> dict[str, float]:
    out: dict[str, float] = {}
    for labels, v in fams.get(name, []):
        if where(labels):
            out[labels[label]] = out.get(labels[label], 0.0) + v
    return out


def usage_json(capsys: pytest.CaptureFixture[str], *extra: str) -> Any:
    capsys.readouterr()
    assert main(["usage", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def traffic(proxy: MeteringProxy) -> dict[str, int]:
    """Known mixed traffic through the proxy; returns how many requests of each kind."""
    assert proxy.url is not None
    with openai.OpenAI(base_url=proxy.url, api_key=CLIENT_KEY, max_retries=0) as client:
        client.chat.completions.create(model="gpt-4o", messages=MSG)  # type: ignore[arg-type]
        client.chat.completions.create(model="gpt-4o", messages=MSG)  # type: ignore[arg-type]
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=MSG,  # type: ignore[arg-type]
                                                stream=True):
            pass
        client.responses.create(model="gpt-4.1", input="hi")
        client.embeddings.create(model="text-embedding-3-small", input="hello")
        client.models.list()
        for model in ("force-429", "force-500"):
            with pytest.raises(openai.APIStatusError):
                client.chat.completions.create(model=model, messages=MSG)  # type: ignore[arg-type]
    status, _, _ = raw_request(proxy.url, "POST", "/files", b"x" * 1000,
                               {**AUTH, "Content-Type": "application/octet-stream"})
    assert status == 200
    return {"all": 9, "4xx": 1, "5xx": 1, "streamed": 1}


def test_scrape_equals_usage_report(
    running: tuple[MeteringProxy, MetricsExporter], records: list[ProxyRecord],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    proxy, exporter = running
    counts = traffic(proxy)
    settled(proxy, records, counts["all"])
    assert exporter.url is not None and exporter.url.startswith("http://127.0.0.1:")
    fams = scrape(exporter.url)
    usage = usage_json(capsys, "--source", "proxy")
    t = usage["totals"]

    ok = {"2xx", "unmetered"}
    assert total(fams, "token_monitor_requests_total",
                 lambda lb: lb["status_class"] in ok) == t["requests"] == counts["all"] - 2
    assert total(fams, "token_monitor_requests_total",
                 lambda lb: lb["status_class"] == "4xx") == counts["4xx"]
    assert total(fams, "token_monitor_requests_total",
                 lambda lb: lb["status_class"] == "5xx") == counts["5xx"]
    # the upload had no usage to read; GET /models is free and metered as such
    assert by(fams, "token_monitor_requests_total", "model",
              lambda lb: lb["status_class"] == "unmetered") == {"unknown": 1}
    for kind, field in (("input", "input_tokens"), ("cached_input", "cached_input_tokens"),
                        ("output", "output_tokens"), ("reasoning", "reasoning_tokens")):
        assert total(fams, "token_monitor_tokens_total",
                     lambda lb, k=kind: lb["type"] == k) == t[field], kind  # type: ignore[misc]
    assert t["input_tokens"] > 0 and t["output_tokens"] > 0
    assert total(fams, "token_monitor_cost_usd_total") == pytest.approx(t["cost_usd"], rel=1e-12)
    assert t["cost_usd"] > 0

    per_model = usage_json(capsys, "--source", "proxy", "--by", "model")["groups"]
    cost_by_model = by(fams, "token_monitor_cost_usd_total", "model")
    for g in per_model:
        assert cost_by_model.get(g["key"], 0.0) == pytest.approx(g["cost_usd"], rel=1e-12)
        inp = by(fams, "token_monitor_tokens_total", "model", lambda lb: lb["type"] == "input")
        assert inp.get(g["key"], 0.0) == g["input_tokens"]
    per_key = usage_json(capsys, "--source", "proxy", "--by", "key")["groups"]
    assert [g["key"] for g in per_key] == ["sk-…WXYZ"]
    assert set(by(fams, "token_monitor_requests_total", "key")) == {"sk-…WXYZ"}

    # histograms: one duration per request, one time-to-first-token per stream
    assert total(fams, "token_monitor_request_duration_seconds_count") == counts["all"]
    assert total(fams, "token_monitor_time_to_first_token_seconds_count") == counts["streamed"]
    # the fake sends x-ratelimit-remaining-* on every model response
    remaining = fams["token_monitor_ratelimit_remaining"]
    assert {lb["kind"] for lb, _ in remaining} == {"requests", "tokens"}
    assert all(v > 0 for _, v in remaining)

    everything = usage_json(capsys)
    assert total(fams, "token_monitor_cycle_spend_usd") == pytest.approx(
        everything["totals"]["cost_usd"], rel=1e-12)
    assert total(fams, "token_monitor_cycle_limit_usd") == everything["limit_usd"]
    today = usage_json(capsys, "--period", "today")
    assert total(fams, "token_monitor_today_spend_usd") == pytest.approx(
        today["totals"]["cost_usd"], rel=1e-12)
    assert "token_monitor_org_cycle_cost_usd" not in fams  # no admin-key sync here
    # nothing secret in the exposition
    with urllib.request.urlopen(exporter.url, timeout=10) as resp:
        body = resp.read().decode()
    assert CLIENT_KEY not in body and CLIENT_KEY[-12:] not in body


def test_openmetrics_is_negotiated(running: tuple[MeteringProxy, MetricsExporter]) -> None:
    _, exporter = running
    assert exporter.url is not None
    req = urllib.request.Request(
        exporter.url, headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
        assert resp.read().decode().rstrip().endswith("# EOF")
    base = exporter.url.removesuffix("/metrics")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(base + "/v1/models", timeout=10)
    assert err.value.code == 404
    err.value.close()


def test_counters_survive_a_restart(
    upstream: ServerThread, paths: Paths, prices: PriceTable, capsys: pytest.CaptureFixture[str]
) -> None:
    first: list[ProxyRecord] = []
    proxy, exporter = make_proxy(upstream, paths, prices, first)
    try:
        n = traffic(proxy)["all"]
        settled(proxy, first, n)
        assert exporter.url is not None
        before = scrape(exporter.url)
    finally:
        proxy.stop()
    second: list[ProxyRecord] = []
    proxy, exporter = make_proxy(upstream, paths, prices, second)
    try:
        assert exporter.url is not None
        after = scrape(exporter.url)  # a new process: primed from the store, not zero
        for name in ("token_monitor_requests_total", "token_monitor_tokens_total",
                     "token_monitor_cost_usd_total"):
            assert sorted(after[name], key=repr) == sorted(before[name], key=repr), name
        assert total(after, "token_monitor_request_duration_seconds_count") == 0
        assert proxy.url is not None
        with openai.OpenAI(base_url=proxy.url, api_key=CLIENT_KEY, max_retries=0) as client:
            client.chat.completions.create(model="gpt-4o", messages=MSG)  # type: ignore[arg-type]
        settled(proxy, second, 1)
        later = scrape(exporter.url)
        assert total(later, "token_monitor_requests_total") == total(
            before, "token_monitor_requests_total") + 1
        assert total(later, "token_monitor_cost_usd_total") == pytest.approx(
            usage_json(capsys, "--source", "proxy")["totals"]["cost_usd"], rel=1e-12)
    finally:
        proxy.stop()


def test_models_beyond_the_cap_fold_into_other(
    upstream: ServerThread, paths: Paths, prices: PriceTable, records: list[ProxyRecord]
) -> None:
    proxy, exporter = make_proxy(upstream, paths, prices, records, model_cap=2, key_cap=1)
    try:
        assert proxy.url is not None and exporter.url is not None
        for i, (model, key) in enumerate(
            [("gpt-4o", "a"), ("gpt-4o-mini", "b"), ("gpt-4.1", "a"), ("gpt-4.1-mini", "c")]
        ):
            with openai.OpenAI(base_url=proxy.url, api_key=f"sk-{key * 20}{i:04d}",
                               max_retries=0) as client:  # fmt: skip
                client.chat.completions.create(model=model, messages=MSG)  # type: ignore[arg-type]
        settled(proxy, records, 4)
        fams = scrape(exporter.url)
        req = by(fams, "token_monitor_requests_total", "model")
        assert req == {"gpt-4o-2024-08-06": 1, "gpt-4o-mini-2024-07-18": 1, "other": 2}
        keys = by(fams, "token_monitor_requests_total", "key")
        assert keys == {"sk-…0000": 1, "other": 3}
        cost = sum(r.cost_usd or 0 for r in records)
        assert total(fams, "token_monitor_cost_usd_total") == pytest.approx(float(cost))
    finally:
        proxy.stop()


def test_a_busy_metrics_port_stops_the_proxy_with_a_clear_error(
    upstream: ServerThread, paths: Paths, prices: PriceTable,
    running: tuple[MeteringProxy, MetricsExporter],
) -> None:  # fmt: skip
    _, taken = running
    ctx = AppContext(paths)
    exporter = MetricsExporter(store_path=paths.db_file, prices=prices,
                               settings=lambda: ctx.settings, clock=system_clock,
                               port=taken.port)  # fmt: skip
    proxy = MeteringProxy(upstream=upstream.base_url + "/v1", store_path=paths.db_file,
                          prices=prices, port=0, addons=[exporter])
    with pytest.raises(MetricsError, match=f"cannot listen for metrics on 127.0.0.1:{taken.port}"):
        proxy.start_in_thread()
    proxy.stop()


# -- a real Prometheus server ---------------------------------------------------------------

WAIT_S = 60.0


def _required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or \
        os.environ.get("MONITOR_REQUIRE_PROMETHEUS") == "1"


@pytest.fixture
def prometheus_bin() -> str:
    found = shutil.which("prometheus")
    if found is None:
        if _required():
            pytest.fail("the prometheus binary is missing; `bash .ci/install --test` installs "
                        "the Debian package `prometheus`")
        pytest.skip("no prometheus binary (apt-get install prometheus); required in CI")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Prometheus:
    """One Prometheus process on 127.0.0.1 scraping `target` (host:port) every second."""

    def __init__(self, binary: str, target: str, workdir: Path) -> None:
        self.port = free_port()
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: token-monitor\n"
            f"    static_configs:\n      - targets: ['{target}']\n"
        )
        self.log = workdir / "prometheus.log"
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h",
             "--log.level=warn"],
            stdout=self._log_file, stderr=subprocess.STDOUT, cwd=workdir,
        )  # fmt: skip

    def api(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as resp:
            doc = json.loads(resp.read())
        assert doc["status"] == "success", doc
        return doc["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        return list(self.api("query", query=promql)["result"])

    def wait_for(self, promql: str, want: float) -> list[dict[str, Any]]:
        """Poll `promql` until its single value equals `want` (bounded)."""
        deadline = time.monotonic() + WAIT_S
        last: Any = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited: {self.log.read_text()[-2000:]}")
            try:
                last = self.query(promql)
            except OSError:
                last = "not answering yet"
            else:
                if last and float(last[0]["value"][1]) == pytest.approx(want, rel=1e-9):
                    return last
            time.sleep(0.25)
        raise AssertionError(f"{promql} never reached {want}; last answer {last!r}; "
                             f"log: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log_file.close()


@pytest.fixture
def prometheus_for() -> Iterator[list[Prometheus]]:
    started: list[Prometheus] = []
    yield started
    for p in started:
        p.stop()


def test_a_real_prometheus_scrape_equals_usage(
    running: tuple[MeteringProxy, MetricsExporter], records: list[ProxyRecord],
    prometheus_bin: str, prometheus_for: list[Prometheus], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    proxy, exporter = running
    n = traffic(proxy)["all"]
    settled(proxy, records, n)
    assert exporter.url is not None
    ours = scrape(exporter.url)
    prom = Prometheus(prometheus_bin, f"127.0.0.1:{exporter.port}", tmp_path)
    prometheus_for.append(prom)

    usage = usage_json(capsys, "--source", "proxy")["totals"]
    assert usage["cost_usd"] > 0
    prom.wait_for("sum(token_monitor_cost_usd_total)", usage["cost_usd"])
    assert total(ours, "token_monitor_cost_usd_total") == pytest.approx(usage["cost_usd"],
                                                                         rel=1e-12)
    # the target is up and was scraped on 127.0.0.1
    [up] = prom.query('up{job="token-monitor"}')
    assert up["metric"]["instance"] == f"127.0.0.1:{exporter.port}" and up["value"][1] == "1"

    tokens = {r["metric"]["model"]: float(r["value"][1])
              for r in prom.query("sum by (model)(token_monitor_tokens_total)")}
    assert tokens == by(ours, "token_monitor_tokens_total", "model")
    groups = usage_json(capsys, "--source", "proxy", "--by", "model")["groups"]
    for g in groups:  # tokens of every kind; cached ⊂ input and reasoning ⊂ output
        want = (g["input_tokens"] + g["cached_input_tokens"] + g["output_tokens"]
                + g["reasoning_tokens"])
        assert tokens.get(g["key"] or "unknown", 0.0) == want, g["key"]
    requests = prom.query('sum(token_monitor_requests_total{status_class=~"2xx|unmetered"})')
    assert float(requests[0]["value"][1]) == usage["requests"]
    cycle = usage_json(capsys)
    [spend] = prom.query("token_monitor_cycle_spend_usd")
    assert float(spend["value"][1]) == pytest.approx(cycle["totals"]["cost_usd"], rel=1e-9)


# -- the standalone command -----------------------------------------------------------------


def _lines(proc: subprocess.Popen[str], n: int, timeout: float = 30) -> list[str]:
    stdout = proc.stdout
    assert stdout is not None
    got: list[str] = []

    def read() -> None:
        for _ in range(n):
            got.append(stdout.readline().rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    assert len(got) == n, got
    return got


def test_proxy_command_serves_metrics_and_exports_otlp(
    upstream: ServerThread, home: Path, paths: Paths
) -> None:
    collector = f"http://127.0.0.1:{free_port()}"  # nobody listens: logged, never fatal
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "proxy", "--port", "0", "--metrics-port", "0",
         "--otlp-endpoint", collector, "--otlp-interval", "0.2",
         "--upstream", upstream.base_url + "/v1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "MONITOR_HOME": str(home)},
    )  # fmt: skip
    try:
        listening, metrics_line, otlp_line = _lines(proc, 3)
        url = listening.removeprefix("Listening on ")
        assert metrics_line.startswith("Metrics on http://127.0.0.1:")
        metrics = metrics_line.removeprefix("Metrics on ")
        assert metrics.endswith("/metrics") and not metrics.endswith(":0/metrics")
        assert otlp_line == f"OTLP metrics to {collector}/v1/metrics every 0.2 s"
        assert total(scrape(metrics), "token_monitor_requests_total") == 0
        with openai.OpenAI(base_url=url, api_key=CLIENT_KEY, max_retries=0) as c:
            c.chat.completions.create(model="gpt-4o", messages=MSG)  # type: ignore[arg-type]
        deadline = time.monotonic() + 10
        while total(scrape(metrics), "token_monitor_requests_total") != 1:
            assert time.monotonic() < deadline, "the request never reached /metrics"
            time.sleep(0.05)
        time.sleep(1)  # a few failed pushes to the absent collector
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        for f in (proc.stdout, proc.stderr):
            if f:
                f.close()
    log = paths.log_file.read_text()
    assert log.count("is not accepting metrics") == 1
    assert CLIENT_KEY not in log


def test_proxy_command_refuses_a_bad_metrics_address(home: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "monitor", "proxy", "--port", "0", "--metrics-listen", "9787"],
        capture_output=True, text=True, env={**os.environ, "MONITOR_HOME": str(home)},
        timeout=60,
    )  # fmt: skip
    assert out.returncode == 2
    assert "--metrics-listen wants ADDR:PORT" in out.stderr
