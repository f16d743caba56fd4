"""`token-monitor proxy`: run the local metering proxy in the foreground until Ctrl+C / SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import TYPE_CHECKING

from monitor import exit_codes
from monitor.context import AppContext
from monitor.services.proxy import MeteringProxy
from monitor.services.proxy.addresses import is_loopback_host
from monitor.services.proxy.caps import gate_for

if TYPE_CHECKING:
    from monitor.services.proxy.addons import ProxyAddon

EPILOG = """\
Point your app at the printed URL, e.g. OPENAI_BASE_URL=http://127.0.0.1:8787/v1.
With --key LABEL the proxy sends that stored key upstream, so the app can use any
placeholder key. Better, give each app a virtual key (`token-monitor keys virtual add`):
the proxy swaps in the real key, records the app's spend under its label and enforces its
cap. Requests are recorded in the usage database (`usage --source proxy`).
Only requests addressed to the proxy's own loopback address are served; requests from web
pages (an Origin header) are refused unless allowed with --allow-origin.
With --metrics-port (or the metrics_enabled setting) Prometheus metrics are served at
http://127.0.0.1:PORT/metrics; --otlp-endpoint URL pushes OpenTelemetry GenAI metrics
(needs `pip install 'token-monitor[otel]'`).
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "proxy",
        help="run the local metering proxy (live per-request usage and cost)",
        description="Forward OpenAI API calls to the upstream and record the tokens and cost "
        "of each one.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=None,
        help="port to listen on; 0 picks a free one (default: the proxy_port setting, 8787)",
    )  # fmt: skip
    p.add_argument(
        "--upstream", metavar="URL", default=None,
        help="OpenAI API base URL to forward to (default: the openai_base_url setting, "
        "https://api.openai.com/v1)",
    )  # fmt: skip
    p.add_argument(
        "--key", metavar="LABEL", default=None,
        help="send the stored key LABEL upstream instead of the client's Authorization header",
    )  # fmt: skip
    p.add_argument(
        "--allow-origin", metavar="ORIGIN", action="append", default=[],
        help="let web pages from ORIGIN (e.g. http://localhost:3000) call the proxy; "
        "repeatable. Requests from any other page are refused",
    )  # fmt: skip
    p.add_argument(
        "--allow-remote", action="store_true",
        help="allow listening on a non-loopback address (anyone who can reach it can use it)",
    )  # fmt: skip
    m = p.add_argument_group("metrics")
    m.add_argument(
        "--metrics-port", type=int, default=None, metavar="PORT",
        help="serve Prometheus /metrics on 127.0.0.1:PORT (0 picks a free one; default: the "
        "metrics_port setting, when metrics_enabled is on)",
    )  # fmt: skip
    m.add_argument(
        "--metrics-listen", default=None, metavar="ADDR:PORT",
        help="serve /metrics on another address, e.g. 0.0.0.0:9787 for a team's Prometheus "
        "(anyone who can reach it reads your usage figures)",
    )  # fmt: skip
    m.add_argument("--no-metrics", action="store_true",
                   help="do not serve /metrics even if the setting is on")
    m.add_argument(
        "--otlp-endpoint", default=None, metavar="URL",
        help="push OpenTelemetry GenAI metrics over OTLP/HTTP to this collector (e.g. "
        "http://127.0.0.1:4318; default: the otlp_endpoint setting)",
    )  # fmt: skip
    m.add_argument("--otlp-interval", type=float, default=30.0, metavar="SECONDS",
                   help="seconds between OTLP pushes (default 30)")
    p.set_defaults(func=run)


def build_addons(args: argparse.Namespace, ctx: AppContext) -> list[ProxyAddon] | None:
    """The exporters the arguments and settings ask for, or None after a usage error."""
    from monitor.services.otel_export import OtelError
    from monitor.services.proxy.exporters import build_exporters, export_options
    from monitor.services.proxy.metrics import MetricsError

    try:
        # getattr: callers that build the Namespace by hand (tests, other commands) may
        # leave the metrics flags out, which means "as the settings say".
        options, warnings = export_options(
            ctx.settings, metrics_port=getattr(args, "metrics_port", None),
            metrics_listen=getattr(args, "metrics_listen", None),
            no_metrics=getattr(args, "no_metrics", False),
            otlp_endpoint=getattr(args, "otlp_endpoint", None),
            otlp_interval_s=getattr(args, "otlp_interval", 30.0),
        )  # fmt: skip
        addons = build_exporters(options, store_path=ctx.paths.db_file, prices=ctx.prices(),
                                 settings=lambda: ctx.settings, clock=ctx.clock)
    except (MetricsError, OtelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return addons


def build_proxy(args: argparse.Namespace, ctx: AppContext) -> MeteringProxy | None:
    """The proxy the arguments describe, or None after printing a usage error."""
    port = ctx.settings.proxy_port if args.port is None else args.port
    if not 0 <= port <= 65535:
        print(f"error: --port must be between 0 and 65535, got {port}", file=sys.stderr)
        return None
    host = args.host.strip()
    if not is_loopback_host(host):
        if not args.allow_remote:
            print(
                f"error: {host} is not a loopback address; other machines could use the proxy "
                "(and your key). Pass --allow-remote if you mean it.",
                file=sys.stderr,
            )
            return None
        print(
            f"warning: listening on {host}: anyone who can reach this port can make API calls "
            "through the proxy" + (" with your key" if args.key else "") + ".",
            file=sys.stderr,
        )
    secret = ctx.keys().secret(args.key) if args.key else None
    addons = build_addons(args, ctx)
    if addons is None:
        return None
    return MeteringProxy(
        upstream=args.upstream or ctx.settings.openai_base_url,
        store_path=ctx.paths.db_file,
        prices=ctx.prices(),
        host=host,
        port=port,
        key_label=args.key,
        key_secret=secret,
        clock=ctx.clock,
        addons=addons,
        allow_origins=args.allow_origin,
        gate=gate_for(ctx),
    )


def run(args: argparse.Namespace, ctx: AppContext) -> int:
    proxy = build_proxy(args, ctx)
    if proxy is None:
        return 2

    def ready(url: str) -> None:
        print(f"Listening on {url}", flush=True)
        for addon in proxy.addons:
            print(addon.describe(), flush=True)
        print("Press Ctrl+C to stop.", file=sys.stderr, flush=True)

    stopped_by: list[int] = []

    def stop(sig: int) -> None:
        stopped_by.append(sig)
        proxy.stop()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Not available on Windows: Ctrl+C then arrives as KeyboardInterrupt below.
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop, sig)
        await proxy.serve(ready)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        stopped_by.append(signal.SIGINT)
    # Ctrl+C is 130, as for every command (README, Exit codes); SIGTERM is a normal stop: 0
    return exit_codes.INTERRUPTED if signal.SIGINT in stopped_by else 0
