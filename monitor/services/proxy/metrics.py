"""Prometheus `/metrics` for the metering proxy: counters, histograms and the budget gauges.

The names and labels are a contract (README "Metrics for Prometheus and OpenTelemetry"): a
team's Prometheus adds up many machines with them, so they never change meaning.

Counters are this billing cycle's totals, not process-lifetime counts: on start they are
primed from the store (the proxy records of the current cycle, the same rows `usage --source
proxy` reads), then every record the proxy stores is added (on the record writer's thread,
never on the event loop). A restart therefore continues where the last run stopped instead of
dropping to zero, and a scrape equals `usage --source proxy --period cycle` per model and key.
At the cycle boundary (by the injected clock) they restart from zero, which Prometheus'
`increase()`/`rate()` read as an ordinary counter reset, so no cycle's totals are lost.
Histograms (durations, time to first token) cannot be rebuilt from the store's rows cheaply
and are process-lifetime; `rate()`-based quantiles handle their resets the same way.

The gauges (`token_monitor_cycle_*`, `today`, `org_cycle_cost_usd`) come from
`usage_report.build_report`, the code behind `usage`, at scrape time, on one worker thread
that owns this exporter's SQLite connection.

Cardinality: the first `model_cap` models and `key_cap` key labels (primed from the store,
busiest first, then in order of appearance) keep their names; later ones fold into `other`.
`key` is the record's key label (the stored key's label with `--key`, else the masked
`sk-…abcd` form every report shows), never a secret or a hash of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.core.budget import Period, billing_cycle, today_period
from monitor.core.clock import Clock
from monitor.core.records import ProxyRecord
from monitor.core.settings import Settings
from monitor.core.usage import TokenUsage
from monitor.errors import KnownError
from monitor.services.proxy.guard import RequestGuard, local_addresses
from monitor.services.proxy.labels import NO_MODEL, LabelCap, status_class

if TYPE_CHECKING:
    from monitor.core.prices import PriceTable
    from monitor.services.store import UsageStore

log = logging.getLogger(__name__)

MODEL_CAP = 30
KEY_CAP = 30
PROJECT_CAP = 30
TOKEN_TYPES = ("input", "cached_input", "output", "reasoning")
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
TTFT_BUCKETS = (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0)


class MetricsError(KnownError):
    """The metrics endpoint cannot start as configured (bad address, busy port)."""


class _Counts:
    """One cycle's counter values, keyed by their (folded) label values."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], int] = {}
        self.tokens: dict[tuple[str, str], list[int]] = {}
        self.cost: dict[tuple[str, str], Decimal] = {}

    def add(self, model: str, key: str, cls: str, requests: int, usage: TokenUsage,
            cost: Decimal | None) -> None:
        rk = (model, key, cls)
        self.requests[rk] = self.requests.get(rk, 0) + requests
        tk = (model, key)
        toks = self.tokens.get(tk)
        if toks is None:
            toks = self.tokens[tk] = [0, 0, 0, 0]
        toks[0] += usage.input_tokens
        toks[1] += usage.cached_input_tokens
        toks[2] += usage.output_tokens
        toks[3] += usage.reasoning_tokens
        if cost is not None:
            self.cost[tk] = self.cost.get(tk, Decimal(0)) + cost


class ProxyMetrics(Collector):
    """The proxy's metrics: counters primed from the store, histograms, budget gauges.

    Args:
        store: the usage store (read at `prime()` and at every `render()`; call both from
            the one thread that owns this store's connection).
        prices, settings: what `usage` reports with (`settings` is read per scrape, so a
            new limit shows at once).
        clock: the one clock (cycle boundaries, "today").
    """

    def __init__(
        self,
        store: UsageStore,
        prices: PriceTable,
        settings: Callable[[], Settings],
        clock: Clock,
        *,
        model_cap: int = MODEL_CAP,
        key_cap: int = KEY_CAP,
        project_cap: int = PROJECT_CAP,
    ) -> None:
        self._store = store
        self._prices = prices
        self._settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._models = LabelCap(model_cap)
        self._keys = LabelCap(key_cap)
        self._project_cap = project_cap
        self._cycle: Period = billing_cycle(clock(), settings().cycle_start_day)
        self._counts = _Counts()
        self._gauges_failing = False
        self.registry = CollectorRegistry(auto_describe=False)
        self._duration = Histogram(
            "token_monitor_request_duration_seconds",
            "Time from request to the last byte of the response, per proxied request.",
            ["model"], buckets=DURATION_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self._ttft = Histogram(
            "token_monitor_time_to_first_token_seconds",
            "Time from request to the first streamed event, per streamed response.",
            ["model"], buckets=TTFT_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.registry.register(self)

    # -- counting ------------------------------------------------------------------------

    def prime(self) -> None:
        """Start the counters at this cycle's stored totals (busiest models/keys get labels
        first). Call before the proxy serves, so no record is both stored and observed."""
        now = self._clock()
        cycle = billing_cycle(now, self._settings().cycle_start_day)
        rows = self._store.proxy_outcomes(cycle.start, cycle.end)
        models: dict[str, int] = {}
        keys: dict[str, int] = {}
        for r in rows:
            m = r.model or NO_MODEL
            models[m] = models.get(m, 0) + r.requests
            keys[r.key_label] = keys.get(r.key_label, 0) + r.requests
        with self._lock:
            for name in sorted(models, key=lambda m: (-models[m], m)):
                self._models(name)
            for name in sorted(keys, key=lambda k: (-keys[k], k)):
                self._keys(name)
            self._cycle = cycle
            self._counts = _Counts()
            for r in rows:
                self._counts.add(
                    self._models(r.model or NO_MODEL), self._keys(r.key_label),
                    status_class(r.status, r.priced, r.usage), r.requests, r.usage,
                    r.cost if r.priced else None,
                )  # fmt: skip

    def _roll_over(self) -> None:
        """Start a new cycle's counters at zero when the clock has left the current one
        (called with the lock held)."""
        now = self._clock()
        if self._cycle.start <= now < self._cycle.end:
            return
        cycle = billing_cycle(now, self._settings().cycle_start_day)
        if cycle != self._cycle:
            self._cycle = cycle
            self._counts = _Counts()

    def observe(self, rec: ProxyRecord) -> None:
        """Count one stored record (on the record writer's thread)."""
        with self._lock:
            self._roll_over()
            model = self._models(rec.model or NO_MODEL)
            key = self._keys(rec.key_label)
            cls = status_class(rec.status, rec.cost_usd is not None, rec.usage)
            self._counts.add(model, key, cls, 1, rec.usage, rec.cost_usd)
        self._duration.labels(model).observe(rec.latency_ms / 1000)
        if rec.streamed and rec.ttfb_ms is not None and rec.status < 400:
            self._ttft.labels(model).observe(rec.ttfb_ms / 1000)

    # -- exposition ----------------------------------------------------------------------

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition body and its content type (text 0.0.4 or OpenMetrics per Accept)."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type

    def collect(self) -> Iterator[Metric]:
        """The counters and gauges (the histograms are collected by the registry itself)."""
        with self._lock:
            self._roll_over()
            counts = self._counts
            requests = dict(counts.requests)
            tokens = {k: list(v) for k, v in counts.tokens.items()}
            cost = dict(counts.cost)
        yield from self._counters(requests, tokens, cost)
        try:  # the counters are served even when the store or a report fails
            gauges = [*self._rate_limits(), *self._budget()]
        except Exception as exc:
            if not self._gauges_failing:
                log.warning("/metrics: the rate-limit and budget gauges are left out until "
                            "they can be read again: %s", exc, exc_info=True)
            self._gauges_failing = True
            return
        if self._gauges_failing:
            log.info("/metrics: the rate-limit and budget gauges are back")
        self._gauges_failing = False
        yield from gauges

    @staticmethod
    def _counters(
        requests: dict[tuple[str, str, str], int], tokens: dict[tuple[str, str], list[int]],
        cost: dict[tuple[str, str], Decimal],
    ) -> Iterator[Metric]:
        req = CounterMetricFamily(
            "token_monitor_requests", "Proxied requests this billing cycle, by outcome.",
            labels=["model", "key", "status_class"],
        )  # fmt: skip
        for (model, key, cls), n in sorted(requests.items()):
            req.add_metric([model, key, cls], n)
        tok = CounterMetricFamily(
            "token_monitor_tokens",
            "Tokens this billing cycle; cached_input is part of input and reasoning part of "
            "output, as OpenAI counts them.",
            labels=["model", "key", "type"],
        )  # fmt: skip
        for (model, key), values in sorted(tokens.items()):
            for kind, n in zip(TOKEN_TYPES, values, strict=True):
                tok.add_metric([model, key, kind], n)
        usd = CounterMetricFamily(
            "token_monitor_cost_usd",
            "Estimated dollars this billing cycle (tokens x the price table, per request).",
            labels=["model", "key"],
        )  # fmt: skip
        for (model, key), amount in sorted(cost.items()):
            usd.add_metric([model, key], float(amount))
        return iter((req, tok, usd))

    def _rate_limits(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "token_monitor_ratelimit_remaining",
            "Requests or tokens left in the current rate-limit window, from the last "
            "x-ratelimit-remaining-* headers seen per key and model (the lowest when folded).",
            labels=["key", "model", "kind"],
        )  # fmt: skip
        lowest: dict[tuple[str, str, str], int] = {}
        snaps = self._store.latest_rate_limits()
        with self._lock:
            for snap in snaps:
                key, model = self._keys(snap.key_label), self._models(snap.model)
                for kind, value in (("requests", snap.remaining_requests),
                                    ("tokens", snap.remaining_tokens)):
                    if value is not None:
                        lk = (key, model, kind)
                        lowest[lk] = min(value, lowest.get(lk, value))
        for labels, value in sorted(lowest.items()):
            gauge.add_metric(list(labels), value)
        yield gauge

    def _budget(self) -> Iterator[Metric]:
        from monitor.services.store import ORG_SOURCE
        from monitor.services.usage_report import build_report

        settings = self._settings()
        now = self._clock()
        cycle = billing_cycle(now, settings.cycle_start_day)
        report = build_report(self._store, self._prices, settings, cycle, "all", None, now)
        today = build_report(self._store, self._prices, settings,
                             today_period(now, settings.today_timezone), "all", None, now,
                             cycle_report=report)  # fmt: skip

        def gauge(name: str, doc: str, value: Decimal) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, value=float(value))

        yield gauge("token_monitor_cycle_spend_usd",
                    "This billing cycle's spend, all sources (the figure `usage` shows).",
                    report.cycle_cost_usd)
        yield gauge("token_monitor_cycle_limit_usd", "The monthly limit set in the settings.",
                    report.limit_usd)
        yield gauge("token_monitor_today_spend_usd", "Today's spend, all sources.",
                    today.totals.cost_usd)
        if report.projected_cost_usd is not None:
            yield gauge("token_monitor_cycle_projected_usd",
                        "Month-end projection of this cycle's spend (absent with too little "
                        "data).", report.projected_cost_usd)
        if self._store.get_sync_state(ORG_SOURCE) is None:
            return  # no admin key syncs on this machine
        org = build_report(self._store, self._prices, settings, cycle, "org", "project", now)
        projects = LabelCap(self._project_cap)
        by_project: dict[str, Decimal] = {}
        for group in org.groups:
            name = projects(group.name)
            by_project[name] = by_project.get(name, Decimal(0)) + group.figures.cost_usd
        fam = GaugeMetricFamily(
            "token_monitor_org_cycle_cost_usd",
            "This billing cycle's organization cost per project (Costs API where billed, "
            "else estimated), from the admin-key sync.", labels=["project"],
        )  # fmt: skip
        for name, amount in sorted(by_project.items()):
            fam.add_metric([name], float(amount))
        yield fam


# ---------------------------------------------------------------------------------------
# the HTTP endpoint, on the proxy's event loop


def parse_listen(text: str) -> tuple[str, int]:
    """`ADDR:PORT` (IPv6 as `[::1]:9787`) → (host, port); raises MetricsError."""
    host, sep, port_text = text.strip().rpartition(":")
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise MetricsError(f"--metrics-listen wants ADDR:PORT (e.g. 0.0.0.0:9787), got {text!r}")
    return host, int(port_text)


class MetricsExporter:
    """A ProxyAddon serving `GET /metrics` on its own port, on the proxy's event loop.

    Scrapes are rendered on one worker thread this exporter owns (it also owns the SQLite
    connection the gauges read), so a slow query never stalls a proxied request. Started
    and stopped by the MeteringProxy it is given to. Its `Host` check is the proxy's (a
    rebound name gets 421), so a web page cannot read the figures by DNS rebinding; bound
    to another address it also accepts this machine's names and any IP address.
    """

    def __init__(
        self,
        *,
        store_path: Path,
        prices: PriceTable,
        settings: Callable[[], Settings],
        clock: Clock,
        host: str = "127.0.0.1",
        port: int,
        model_cap: int = MODEL_CAP,
        key_cap: int = KEY_CAP,
    ) -> None:
        self.host = host
        self.port = port
        self.url: str | None = None
        self._store_path = store_path
        self._prices = prices
        self._settings = settings
        self._clock = clock
        self._caps = (model_cap, key_cap)
        self._metrics: ProxyMetrics | None = None
        self._store: UsageStore | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._runner: web.ServerRunner | None = None
        self._guard = RequestGuard()

    @property
    def metrics(self) -> ProxyMetrics | None:
        return self._metrics

    def _open(self) -> ProxyMetrics:
        from monitor.services.store import UsageStore

        self._store = UsageStore(self._store_path)
        metrics = ProxyMetrics(self._store, self._prices, self._settings, self._clock,
                               model_cap=self._caps[0], key_cap=self._caps[1])
        metrics.prime()
        return metrics

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="proxy-metrics")
        try:
            self._metrics = await loop.run_in_executor(self._pool, self._open)
            server = web.Server(self._handle, access_log=None)
            self._runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=1.0)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
            try:
                await site.start()
            except OSError as exc:
                host = f"[{self.host}]" if ":" in self.host else self.host
                raise MetricsError(
                    f"cannot listen for metrics on {host}:{self.port}: {exc.strerror or exc}"
                ) from None
        except BaseException:
            await self.stop()
            raise
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else self.port
        own = self._own_names()
        self._guard.bind(self.host, self.port, own, ip_literals=bool(own))
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{self.port}/metrics"
        log.info("metrics on %s", self.url)

    def _own_names(self) -> set[str]:
        """Extra `Host` names a scraper on another machine may use (none on loopback)."""
        from monitor.services.proxy.addresses import is_loopback_host

        if is_loopback_host(self.host):
            return set()
        import socket

        return {*local_addresses(), socket.gethostname(), socket.getfqdn()}

    def describe(self) -> str:
        return f"Metrics on {self.url}"

    def observe(self, record: ProxyRecord) -> None:
        if self._metrics is not None:
            self._metrics.observe(record)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        pool, self._pool = self._pool, None
        if pool is not None:
            store, self._store = self._store, None
            if store is not None:
                with contextlib.suppress(Exception):
                    await asyncio.get_running_loop().run_in_executor(pool, store.close)
            pool.shutdown(wait=True)
        self.url = None

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        refusal = self._guard.host_refusal(request)
        if refusal is not None:
            return refusal
        if request.path != "/metrics":
            return web.Response(status=404, text="Token Monitor serves /metrics only.\n")
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, headers={"Allow": "GET, HEAD"})
        metrics, pool = self._metrics, self._pool
        if metrics is None or pool is None:
            return web.Response(status=503, text="stopping\n")
        try:
            body, content_type = await asyncio.get_running_loop().run_in_executor(
                pool, metrics.render, request.headers.get("Accept")
            )
        except Exception:
            log.exception("could not render /metrics")
            return web.Response(status=500, text="could not render the metrics; see the log\n")
        return web.Response(body=body, headers={"Content-Type": content_type})

