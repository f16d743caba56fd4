"""Which exporters a proxy runs (/metrics, OTLP), from the settings and command-line overrides.

Shared by `token-monitor proxy` and the app's embedded proxy so both read the settings the
same way. Building the exporters imports prometheus_client (and, for OTLP, the OpenTelemetry
SDK) only here, when one is configured.

OTLP without the `otel` extra: an endpoint given on the command line (`--otlp-endpoint`) is
an explicit request, so a missing extra stops the proxy with an error naming what to install.
An endpoint from the `otlp_endpoint` setting (the tray app's proxy, or `proxy` without the
flag) does not stop the proxy: it meters as usual with OTLP export off, and an `ExportOff`
addon in its place says why (a log warning when the proxy starts, and `describe()`; the app
shows it as the proxy's note, see `MeteringProxy.notices`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.core.clock import Clock
from monitor.core.settings import Settings

if TYPE_CHECKING:
    from monitor.core.prices import PriceTable
    from monitor.core.records import ProxyRecord
    from monitor.services.proxy.addons import ProxyAddon

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportOptions:
    """Where /metrics listens (None: off) and where OTLP goes (None: off)."""

    metrics: tuple[str, int] | None = None
    otlp_endpoint: str | None = None
    otlp_interval_s: float = 30.0
    otlp_explicit: bool = False
    """The endpoint was given on the command line: a missing `otel` extra is an error."""


class ExportOff:
    """A ProxyAddon standing in for an exporter that is configured but cannot run: the proxy
    runs without it, and `problem` says why (logged once when the proxy starts)."""

    def __init__(self, problem: str) -> None:
        self.problem = problem

    def __repr__(self) -> str:
        return f"ExportOff({self.problem!r})"

    async def start(self) -> None:
        log.warning("%s", self.problem)

    def observe(self, record: ProxyRecord) -> None:
        pass

    def describe(self) -> str:
        return self.problem

    async def stop(self) -> None:
        pass


def export_options(
    settings: Settings,
    *,
    metrics_port: int | None = None,
    metrics_listen: str | None = None,
    no_metrics: bool = False,
    otlp_endpoint: str | None = None,
    otlp_interval_s: float = 30.0,
) -> tuple[ExportOptions, list[str]]:
    """The options, and warnings for the user (a non-loopback metrics address).

    Raises:
        MetricsError: a bad port, ADDR:PORT or interval.
    """
    from monitor.services.proxy.addresses import is_loopback_host
    from monitor.services.proxy.metrics import MetricsError, parse_listen

    warnings: list[str] = []
    metrics: tuple[str, int] | None = None
    if metrics_listen is not None:
        metrics = parse_listen(metrics_listen)
        if not is_loopback_host(metrics[0]):
            warnings.append(
                f"serving /metrics on {metrics_listen.strip()}: anyone who can reach this port "
                "can read this machine's usage figures (models, key labels, spend)"
            )
    elif metrics_port is not None:
        metrics = ("127.0.0.1", metrics_port)
    elif settings.metrics_enabled:
        metrics = ("127.0.0.1", settings.metrics_port)
    if no_metrics:
        metrics = None
    if metrics is not None and not 0 <= metrics[1] <= 65535:
        raise MetricsError(f"the metrics port must be between 0 and 65535, got {metrics[1]}")
    if not otlp_interval_s > 0:
        raise MetricsError(f"--otlp-interval must be more than 0 seconds, got {otlp_interval_s}")
    endpoint = settings.otlp_endpoint if otlp_endpoint is None else otlp_endpoint.strip()
    return ExportOptions(metrics, endpoint or None, otlp_interval_s,
                         otlp_explicit=otlp_endpoint is not None), warnings


def build_exporters(
    options: ExportOptions,
    *,
    store_path: Path,
    prices: PriceTable,
    settings: Callable[[], Settings],
    clock: Clock,
) -> list[ProxyAddon]:
    """The addons to hand to MeteringProxy (started and stopped by it).

    Raises:
        OtelError: an OTLP endpoint that is not an http(s) URL, or one given on the command
            line without the `otel` extra installed (from the settings: `ExportOff` instead).
    """
    addons: list[ProxyAddon] = []
    if options.metrics is not None:
        from monitor.services.proxy.metrics import MetricsExporter

        host, port = options.metrics
        addons.append(MetricsExporter(store_path=store_path, prices=prices, settings=settings,
                                      clock=clock, host=host, port=port))
    if options.otlp_endpoint:
        from monitor.services.otel_export import INSTALL_EXTRA, OtlpExport, sdk_installed

        if options.otlp_explicit or sdk_installed():
            addons.append(OtlpExport(options.otlp_endpoint, interval_s=options.otlp_interval_s))
        else:
            addons.append(ExportOff(
                f"OTLP export to {options.otlp_endpoint} is off: the OpenTelemetry extra is "
                f"not installed ({INSTALL_EXTRA}). The proxy meters as usual; install the "
                "extra, or clear the otlp_endpoint setting."))
    return addons
