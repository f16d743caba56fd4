"""OpenTelemetry export of the proxy's requests: OTLP/HTTP metrics a team's collector adds up.

Per the OpenTelemetry GenAI semantic conventions (client metrics):
- `gen_ai.client.token.usage` histogram, unit `{token}`, one point per token type
  (`gen_ai.token.type` = `input` | `output`) of each metered request;
- `gen_ai.client.operation.duration` histogram, unit `s`, every GenAI request (with
  `error.type` = the HTTP status when it failed);
both with `gen_ai.operation.name` (`chat` for chat completions and responses,
`text_completion`, `embeddings`), `gen_ai.provider.name` = `openai`, `gen_ai.request.model`
and `gen_ai.response.model`, and the conventions' advised bucket boundaries. Cost has no
convention: `token_monitor.cost.usage` is a counter in `USD` with the same model attributes
and `token_monitor.key` (the key label, never the secret).

The SDK aggregates in memory; its reader thread pushes every `interval_s` seconds, so a
request never waits for the collector (records are observed on the proxy's record writer
thread anyway). A collector that cannot be reached is logged once when it goes away and once
when it is back, not at every push (the SDK exporter's own per-attempt log lines are muted).

Needs the optional extra: `pip install 'token-monitor[otel]'`; the SDK is imported only when
an export is configured.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from yarl import URL

from monitor import __version__
from monitor.core.records import ProxyRecord
from monitor.errors import KnownError
from monitor.services.proxy.labels import NO_MODEL, LabelCap, status_class

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider

log = logging.getLogger(__name__)

TOKEN_USAGE = "gen_ai.client.token.usage"
OPERATION_DURATION = "gen_ai.client.operation.duration"
COST_USAGE = "token_monitor.cost.usage"
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                 16777216, 67108864)
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48,
                    40.96, 81.92)
OPERATIONS: Mapping[str, str] = {
    "/chat/completions": "chat",
    "/responses": "chat",
    "/completions": "text_completion",
    "/embeddings": "embeddings",
}
DEFAULT_INTERVAL_S = 30.0
EXPORT_TIMEOUT_S = 5.0
_SDK_EXPORTER_LOGGER = "opentelemetry.exporter.otlp.proto.http.metric_exporter"
_CAP = 30
INSTALL_EXTRA = "pip install 'token-monitor[otel]'"
_NO_EXTRA = f"OTLP export needs the OpenTelemetry extra: {INSTALL_EXTRA}"


class OtelError(KnownError):
    """OTLP export cannot start (the extra is missing, or the endpoint is not a URL)."""


def metrics_url(endpoint: str) -> str:
    """The OTLP/HTTP metrics URL for a collector base URL (`http://host:4318` →
    `http://host:4318/v1/metrics`); a URL already ending in /v1/metrics is kept."""
    url = URL(endpoint.strip())
    if url.scheme not in ("http", "https") or not url.host:
        raise OtelError(f"the OTLP endpoint must be an http(s) URL, got {endpoint!r}")
    path = url.path.rstrip("/")
    if not path.endswith("/v1/metrics"):
        path += "/v1/metrics"
    return str(url.with_path(path))


def sdk_installed() -> bool:
    """True when the `otel` extra (the OpenTelemetry SDK) can be imported."""
    try:
        return importlib.util.find_spec("opentelemetry.sdk.metrics") is not None
    except ModuleNotFoundError:  # no `opentelemetry` package at all
        return False


class _Mute(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:  # noqa: ARG002
        return False


class OtlpExport:
    """A ProxyAddon that turns every stored proxy record into GenAI metric points and pushes
    them to an OTLP/HTTP collector on the SDK's reader thread.

    Raises (from `start`):
        OtelError: the `otel` extra is not installed, or the endpoint is not an http(s) URL.
    """

    def __init__(self, endpoint: str, *, interval_s: float = DEFAULT_INTERVAL_S,
                 timeout_s: float = EXPORT_TIMEOUT_S, machine: str | None = None) -> None:
        self.url = metrics_url(endpoint)
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._machine = machine
        self._provider: MeterProvider | None = None
        self._instruments: tuple[Any, Any, Any] | None = None
        self._models = LabelCap(_CAP)
        self._keys = LabelCap(_CAP)
        self._mute = _Mute()
        self.down = False
        """True while the collector is unreachable (set by the reader thread)."""
        self.failed_exports = 0

        if not sdk_installed():
            raise OtelError(_NO_EXTRA)

    def __repr__(self) -> str:
        return f"OtlpExport(url={self.url!r})"

    def describe(self) -> str:
        return f"OTLP metrics to {self.url} every {self._interval_s:g} s"

    async def start(self) -> None:
        self._provider, self._instruments = self._build()
        logging.getLogger(_SDK_EXPORTER_LOGGER).addFilter(self._mute)
        log.info("exporting OTLP metrics to %s every %g s", self.url, self._interval_s)

    def _build(self) -> tuple[MeterProvider, tuple[Any, Any, Any]]:
        try:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter,
            )
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
            from opentelemetry.sdk.resources import Resource
        except ImportError:
            raise OtelError(_NO_EXTRA) from None
        inner = OTLPMetricExporter(endpoint=self.url, timeout=self._timeout_s)
        exporter = _outage_logging(inner, self)
        reader = PeriodicExportingMetricReader(
            exporter, export_interval_millis=self._interval_s * 1000,
            export_timeout_millis=(self._timeout_s + 1) * 1000,
        )  # fmt: skip
        attrs: dict[str, str] = {"service.name": "token-monitor",
                                 "service.version": __version__}
        if self._machine:
            attrs["host.name"] = self._machine
        provider = MeterProvider(metric_readers=[reader], resource=Resource.create(attrs))
        meter = provider.get_meter("token_monitor", __version__)
        tokens = meter.create_histogram(
            TOKEN_USAGE, unit="{token}", description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )  # fmt: skip
        duration = meter.create_histogram(
            OPERATION_DURATION, unit="s", description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )  # fmt: skip
        cost = meter.create_counter(
            COST_USAGE, unit="USD",
            description="Estimated cost of the requests (tokens x the price table).",
        )  # fmt: skip
        return provider, (tokens, duration, cost)

    def observe(self, record: ProxyRecord) -> None:
        """Record one stored request's points (on the writer thread; in-memory only)."""
        if self._instruments is None:
            return
        tokens, duration, cost = self._instruments
        request_model = self._models(record.request_model or record.model or NO_MODEL)
        attrs: dict[str, str] = {"gen_ai.provider.name": "openai",
                                 "gen_ai.request.model": request_model}
        if record.model:
            attrs["gen_ai.response.model"] = self._models(record.model)
        operation = OPERATIONS.get(record.endpoint.rstrip("/"))
        if operation is not None:
            op_attrs = {"gen_ai.operation.name": operation, **attrs}
            failed = record.status >= 400
            duration.record(record.latency_ms / 1000,
                            {**op_attrs, "error.type": str(record.status)} if failed else op_attrs)
            cls = status_class(record.status, record.cost_usd is not None, record.usage)
            if cls == "2xx":
                for kind, n in (("input", record.usage.input_tokens),
                                ("output", record.usage.output_tokens)):
                    tokens.record(n, {**op_attrs, "gen_ai.token.type": kind})
        if record.cost_usd:
            cost.add(float(record.cost_usd),
                     {**attrs, "token_monitor.key": self._keys(record.key_label)})

    def _outage(self, down: bool, reason: str = "") -> None:
        """Called by the exporter on the reader thread after every push."""
        if down:
            self.failed_exports += 1
        if down and not self.down:
            log.warning("OTLP collector %s is not accepting metrics (%s); totals stay in memory "
                        "and are pushed when it is back", self.url, reason or "export failed")
        elif not down and self.down:
            log.info("OTLP collector %s reachable again", self.url)
        self.down = down

    async def stop(self) -> None:
        """Push what is left (bounded by the export timeout) and stop the reader thread."""
        provider, self._provider = self._provider, None
        self._instruments = None
        if provider is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._shutdown, provider)
        logging.getLogger(_SDK_EXPORTER_LOGGER).removeFilter(self._mute)

    def _shutdown(self, provider: MeterProvider) -> None:
        try:
            provider.shutdown(timeout_millis=(self._timeout_s + 1) * 1000)
        except Exception:
            log.warning("OTLP export did not shut down cleanly", exc_info=True)


def _outage_logging(inner: Any, owner: OtlpExport) -> Any:
    """Wrap the SDK's OTLP exporter so the owner hears of outages, not of every attempt."""
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

    class OutageLoggingExporter(MetricExporter):
        def __init__(self) -> None:
            super().__init__(
                preferred_temporality=inner._preferred_temporality,
                preferred_aggregation=inner._preferred_aggregation,
            )

        def export(self, metrics_data: Any, timeout_millis: float = 10_000,
                   **kwargs: Any) -> Any:
            try:
                result = inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
            except Exception as exc:  # the SDK's reader would log a traceback per push
                owner._outage(True, type(exc).__name__)
                return MetricExportResult.FAILURE
            owner._outage(result is not MetricExportResult.SUCCESS)
            return result

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return bool(inner.force_flush(timeout_millis))

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            inner.shutdown(timeout_millis=timeout_millis, **kwargs)

    return OutageLoggingExporter()

