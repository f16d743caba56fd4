"""The metering proxy: forwards /v1/... to the OpenAI API, streaming, and records usage per request.

Why aiohttp, for both the server and the upstream client: one asyncio event loop carries a
request end to end, so a streamed body never crosses a thread or a queue; the request body
is read from `request.content` and handed to the upstream request as an async generator,
and every upstream chunk is written to a `web.StreamResponse` the moment it arrives, so
neither direction buffers a whole body (a 100 MB upload passes in ~64 KiB pieces, and the
first SSE event reaches the client as soon as the upstream sends it). aiohttp sets
TCP_NODELAY on every socket by default, which avoids the ~40 ms Nagle/delayed-ACK stall
that plagues naive proxies on keep-alive connections, and its client keeps a pool of
keep-alive upstream connections in one shared `ClientSession`. The server side uses
aiohttp's low-level `web.Server` (no router, no middleware), so the per-request cost is the
HTTP parser plus our handler. It was already a dependency; an ASGI server plus httpx would
add two packages, an ASGI adaptation layer and a thread hop for nothing. Records are priced
and written to SQLite in batches on a separate writer thread, never on the event loop.

Never logs bodies, prompts or keys: records carry a key label or a masked fingerprint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import hdrs, web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from monitor.core.clock import Clock, system_clock
from monitor.core.records import ProxyRecord
from monitor.log import mask_secret, redact
from monitor.services.proxy.addresses import (
    ProxyConfigError,
    endpoint_of,
    format_host,
    host_kind,
    is_loopback_host,
    parse_upstream,
    points_at_self,
)
from monitor.services.proxy.finished import FinishedRequest
from monitor.services.proxy.guard import (
    GuardedServer,
    RequestGuard,
    local_addresses,
    route_library_logs,
)
from monitor.services.proxy.metering import (
    JsonObserver,
    Metered,
    StreamObserver,
    UsageChunkStripper,
)
from monitor.services.proxy.ratelimit import RATE_LIMIT_HEADERS
from monitor.services.proxy.record_writer import RecordWriter
from monitor.services.proxy.replies import json_error as _json_error
from monitor.services.proxy.unmetered import FREE_METHODS
from monitor.services.proxy.upstream import (
    BadBodyError,
    ClientGoneError,
    RequestState,
    bad_body,
    relay,
    request_body,
    upstream_headers,
)

if TYPE_CHECKING:
    from monitor.core.prices import PriceTable
    from monitor.services.proxy.addons import ProxyAddon
    from monitor.services.proxy.caps import SpendGate


log = logging.getLogger(__name__)

DEFAULT_UPSTREAM = "https://api.openai.com/v1"


SHUTDOWN_GRACE_S = 3.0
"""On stop, requests still running get this long to finish before they are cut (partial)."""


# ---------------------------------------------------------------------------------------
# helpers


def key_fingerprint(authorization: str | None) -> str:
    """A label for the key in an Authorization header: `sk-…abcd`, never the key itself."""
    if not authorization:
        return "(no key)"
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else authorization.strip()
    if not token:
        return "(no key)"
    return mask_secret(token)



_KEY_HEADERS = ("x-api-key", "api-key")
"""Other headers a client may put a key in (Anthropic's, Azure OpenAI's)."""

def _is_virtual(token: str) -> bool:
    return token[:3].lower() == "tm-"


def _names_virtual(value: str) -> bool:
    """True when a key header's value ends in a `tm-` token, however it is spelled."""
    words = value.split()
    return bool(words) and _is_virtual(words[-1])


def virtual_authorization(
    headers: CIMultiDictProxy[str],
) -> tuple[str | None, web.Response | None]:
    """The client's Authorization as the gate reads it, or the refusal of a `tm-` token the
    proxy must not forward as it is.

    A virtual token in any spelling of Authorization (no `Bearer`, lower case, extra or tab
    spaces) becomes `Bearer tm-…` so the gate swaps or refuses it; one in `x-api-key` or
    `api-key`, or among several Authorization headers, is refused (401/400): passed through
    it would reach the upstream unswapped and unmetered.
    """
    values = headers.getall(hdrs.AUTHORIZATION, [])
    virtual = [v.split()[-1] for v in values if _names_virtual(v)]
    for name in _KEY_HEADERS:
        if any(_names_virtual(v) for v in headers.getall(name, [])):
            return None, _json_error(
                401, f"The Token Monitor proxy takes virtual keys (tm-…) in the Authorization "
                f"header only (Authorization: Bearer tm-…), not in {name}.", "invalid_api_key",
                "invalid_request_error")
    if not virtual:
        return (values[0] if values else None), None
    if len(values) > 1:
        return None, _json_error(400, "The request has more than one Authorization header; "
                                 "send one (Authorization: Bearer tm-…).", "invalid_api_key",
                                 "invalid_request_error")
    return f"Bearer {virtual[0]}", None



# ---------------------------------------------------------------------------------------
# the proxy



class MeteringProxy:
    """Forward /v1/... to `upstream`, streaming both ways, and record every request.

    Args:
        upstream: base URL of the OpenAI API (default https://api.openai.com/v1).
        store_path: SQLite file of the UsageStore the records go to.
        prices: the price table used to cost each request.
        host, port: where to listen (port 0 picks a free one).
        key_label, key_secret: if set, every request is sent with `Bearer <key_secret>`
            and recorded under `key_label`; otherwise the client's Authorization passes
            through and records carry its masked fingerprint.
        on_record: called (on the writer thread) with each stored ProxyRecord.
        addons: exporters started and stopped with the proxy that see every stored record
            (/metrics, OTLP; see addons.py).
        shutdown_grace_s: on stop, how long running requests may still take.
        allow_origins: browser origins allowed to call the proxy (see guard.RequestGuard).
        gate: virtual keys and hard caps (caps.SpendGate); the default one knows no real
            keys, so every `tm-` key is refused and nothing is capped.

    Raises:
        ProxyConfigError: the upstream is not an http(s) URL, or points at the proxy itself.
    """

    def __init__(
        self,
        *,
        upstream: str,
        store_path: Path,
        prices: PriceTable,
        host: str = "127.0.0.1",
        port: int = 8787,
        key_label: str | None = None,
        key_secret: str | None = None,
        on_record: Callable[[ProxyRecord], None] | None = None,
        shutdown_grace_s: float = SHUTDOWN_GRACE_S,
        clock: Clock = system_clock,
        addons: Sequence[ProxyAddon] = (),
        allow_origins: Iterable[str] = (),
        gate: SpendGate | None = None,
    ) -> None:
        self._clock = clock  # stamps each record (tests pin it)
        self._upstream = parse_upstream(upstream)
        self._guard = RequestGuard(allow_origins)
        if gate is None:
            from monitor.core.settings import Settings
            from monitor.services.proxy.caps import SpendGate

            gate = SpendGate(prices=prices, clock=clock, settings=Settings)
        self._gate = gate
        self._grace = shutdown_grace_s
        self._upstream_str = str(self._upstream)
        self._upstream_host = self._upstream.host or ""
        self.host = host
        self.port = port
        if port and points_at_self(self._upstream, host, port):
            raise ProxyConfigError(
                f"upstream {self._upstream_str} is this proxy ({format_host(host)}:{port}); "
                "refusing to forward to myself"
            )
        if key_secret is not None and not key_secret.strip():
            raise ProxyConfigError("the key secret is empty")
        self._key_label = key_label if key_secret is None else (key_label or "proxy key")
        self._auth = f"Bearer {key_secret.strip()}" if key_secret is not None else None
        self._addons = tuple(addons)
        self._started_addons: list[ProxyAddon] = []
        self._writer = RecordWriter(store_path, prices, _fan_out(on_record, self._addons),
                                    clock=clock, gate=gate)
        self._via = f"1.1 token-monitor-{secrets.token_hex(4)}"
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.ServerRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._fingerprints: dict[str, str] = {}
        self.url: str | None = None

    def __repr__(self) -> str:  # never shows the key
        return f"MeteringProxy(upstream={self._upstream_str!r}, url={self.url!r})"

    @property
    def addons(self) -> tuple[ProxyAddon, ...]:
        return self._addons

    @property
    def gate(self) -> SpendGate:
        """The virtual keys and hard caps (the app asks it to re-read a changed setting)."""
        return self._gate

    @property
    def notices(self) -> tuple[str, ...]:
        """Why a configured exporter is off while the proxy runs (e.g. OTLP without the
        `otel` extra): for the app to show next to the proxy's address."""
        return tuple(p for a in self._addons if isinstance(p := getattr(a, "problem", None), str))

    # -- lifecycle ---------------------------------------------------------------------

    async def _start(self) -> str:
        route_library_logs()
        self._writer.start()
        loopback = is_loopback_host(self._upstream_host)
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=30)
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=3600),
            trust_env=not loopback,
            requote_redirect_url=False,
        )
        server = GuardedServer(self._handle, handler_cancellation=True, access_log=None)
        self._runner = web.ServerRunner(
            server, handle_signals=False, shutdown_timeout=self._grace
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await self._close_async()
            raise ProxyConfigError(
                f"cannot listen on {format_host(self.host)}:{self.port}: {exc.strerror or exc}"
            ) from None
        sockets = self._runner.addresses
        self.port = int(sockets[0][1]) if sockets else self.port
        if points_at_self(self._upstream, self.host, self.port):
            await self._close_async()
            raise ProxyConfigError(
                f"upstream {self._upstream_str} is this proxy; refusing to forward to myself"
            )
        self._guard.bind(self.host, self.port,
                         local_addresses() if host_kind(self.host) == "wildcard" else ())
        self.url = f"http://{format_host(self.host)}:{self.port}/v1"
        log.info("metering proxy listening on %s, upstream %s", self.url, self._upstream_str)
        return self.url

    async def _start_addons(self) -> None:
        for addon in self._addons:
            await addon.start()
            self._started_addons.append(addon)

    async def _stop_addons(self) -> None:
        while self._started_addons:
            addon = self._started_addons.pop()
            try:
                await addon.stop()
            except Exception:
                log.exception("an exporter did not stop cleanly")

    async def _close_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def serve(self, ready: Callable[[str], None] | None = None) -> None:
        """Run until cancelled or `stop()`; `ready(url)` is called once listening."""
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        try:
            await self._start_addons()  # before listening: no record precedes them
            url = await self._start()
            self._ready.set()
            if ready is not None:
                ready(url)
            await self._stop_event.wait()
        finally:
            await self._close_async()
            self._writer.close()
            await self._stop_addons()  # after the last record was stored and observed
            log.info("metering proxy stopped")

    def start_in_thread(self, timeout: float = 15.0) -> str:
        """Start on a daemon thread with its own event loop; returns the /v1 URL when listening.

        Raises:
            ProxyConfigError: could not listen, or the upstream is the proxy itself.
        """
        if self._thread is not None:
            raise RuntimeError("proxy already started")

        def run() -> None:
            try:
                asyncio.run(self.serve())
            except BaseException as exc:
                self._start_error = exc
            finally:
                self._ready.set()

        self._thread = threading.Thread(target=run, name="metering-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise ProxyConfigError("the proxy did not start in time")
        if self._start_error is not None:
            raise self._start_error
        assert self.url is not None
        return self.url

    def stop(self, timeout: float = 15.0) -> None:
        """Stop listening, close upstream connections and store the pending records."""
        loop, event = self._loop, self._stop_event
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every finished request is in the store (for tests and shutdown)."""
        return self._writer.flush(timeout)

    # -- one request ---------------------------------------------------------------------

    def _label_for(self, authorization: str | None) -> str:
        if self._key_label is not None:
            return self._key_label
        if not authorization:
            return "(no key)"
        label = self._fingerprints.get(authorization)
        if label is None:
            label = key_fingerprint(authorization)
            if len(self._fingerprints) < 1000:
                self._fingerprints[authorization] = label
        return label


    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        t0 = time.perf_counter()
        started = self._clock()
        verdict = self._guard.check(request)
        if verdict.refusal is not None:
            return verdict.refusal
        if self._via in ", ".join(request.headers.getall(hdrs.VIA, [])):
            log.error("request came back to the proxy: the upstream points at the proxy itself")
            return _json_error(508, "Proxy loop detected: the upstream points at this proxy.",
                               "proxy_loop")
        rest = verdict.rest
        endpoint = endpoint_of(rest.split("?", 1)[0])
        method = request.method
        authorization, refusal = virtual_authorization(request.headers)
        if refusal is not None:
            return refusal
        admission = await self._gate.authorize(authorization)
        if admission.refusal is not None:
            return admission.refusal
        headers = upstream_headers(request, self._via, self._auth)
        if admission.authorization is not None:
            headers[hdrs.AUTHORIZATION] = admission.authorization
        elif authorization is not None and _names_virtual(authorization):
            # a gate that let a virtual token through unswapped: never forward it
            return _json_error(401, "The Token Monitor proxy could not swap this virtual key.",
                               "invalid_api_key", "invalid_request_error")
        label = admission.label or self._label_for(request.headers.get(hdrs.AUTHORIZATION))
        state = RequestState(started, method, endpoint, label, t0)
        state.cors_origin = verdict.cors_origin
        if admission.accounts and method not in FREE_METHODS:
            state.capped = admission.accounts
        try:
            return await self._forward(request, rest, headers, state)
        except asyncio.CancelledError:
            if not state.delivered:
                state.partial = True
                state.client_gone = True  # aiohttp cancels the handler when the client leaves
            raise
        finally:
            self._finish(state)

    async def _forward(
        self, request: web.BaseRequest, rest: str, headers: CIMultiDict[str], state: RequestState
    ) -> web.StreamResponse:
        session = self._session
        assert session is not None
        try:
            body, strip = await request_body(request, headers, state)
        except BadBodyError:
            state.status = 400
            return bad_body(request)
        if state.capped:
            hold = await self._gate.reserve(state.capped, state.request_body, state.endpoint,
                                            state.request_model)
            if isinstance(hold, web.Response):
                state.status = hold.status
                return hold
            state.hold = hold
        url = URL(self._upstream_str + rest, encoded=True)
        try:
            up = await session.request(
                request.method, url, headers=headers, data=body, allow_redirects=False,
                auto_decompress=False,
            )
        except asyncio.CancelledError:
            raise
        except ClientGoneError:
            state.partial = True
            state.client_gone = True
            return web.Response(status=499)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            if state.client_gone:
                state.partial = True
                return web.Response(status=499)
            if state.bad_body:
                state.status = 400
                return bad_body(request)
            reason = redact(str(exc) or type(exc).__name__)
            log.warning("upstream %s unreachable: %s", self._upstream_host, reason)
            state.status = 502
            return _json_error(
                502,
                f"The metering proxy could not reach the upstream API at {self._upstream_str}: "
                f"{reason}",
                "upstream_unreachable",
            )
        try:
            return await relay(request, up, state, strip, clock=self._clock,
                               journal=self._journal)
        finally:
            if state.clean_end:
                up.release()
            else:
                up.close()  # never reuse a connection with unread bytes


    def _finished(self, state: RequestState) -> FinishedRequest:
        """The request's record-to-be as known now (the journal's pre-record, or the end)."""
        latency = (time.perf_counter() - state.t0) * 1000
        meter = state.meter
        metered = meter.result if meter is not None else Metered()
        partial = state.partial
        if isinstance(meter, StreamObserver | JsonObserver) and meter.undecodable:
            partial = True
        if meter is not None and not metered.complete and state.status < 400:
            partial = True
        rate_headers = None
        up_headers = state.upstream_headers
        if up_headers is not None:
            rate_headers = {
                name: value for name in RATE_LIMIT_HEADERS
                if (value := up_headers.get(name)) is not None
            }  # fmt: skip
        journal_id, segment = state.journal or (None, None)
        return FinishedRequest(
            time=state.started,
            method=state.method,
            endpoint=state.endpoint,
            model=metered.model,
            request_model=state.request_model,
            service_tier=metered.service_tier,
            key_label=state.key_label,
            usage=metered.usage,
            status=state.status,
            latency_ms=latency,
            ttfb_ms=state.ttfb_ms,
            request_id=state.request_id,
            partial=partial,
            rate_limit_headers=rate_headers,
            headers_at=state.headers_at,
            usage_malformed=metered.malformed,
            client_disconnected=state.client_gone,
            request_body=(state.request_body
                          if metered.usage is None or metered.malformed else None),
            streamed=isinstance(meter, StreamObserver | UsageChunkStripper),
            hold=state.hold,
            journal_id=journal_id,
            journal_segment=segment,
        )

    def _journal(self, state: RequestState) -> None:
        """Write the request's record to the journal before its answer's last bytes go out:
        a kill from then on cannot lose what the client was told (journal.py)."""
        if state.journal is None:
            state.journal = self._writer.journal.append(self._finished(state))

    def _finish(self, state: RequestState) -> None:
        if state.hold is not None:
            self._gate.finished(state.hold)
        # a reply aiohttp sends after this handler returns (an error, a refusal) is journaled
        # here, before it goes out; a relayed one was journaled before its last bytes
        self._journal(state)
        self._writer.submit(self._finished(state))


def _fan_out(
    on_record: Callable[[ProxyRecord], None] | None, addons: Sequence[ProxyAddon]
) -> Callable[[ProxyRecord], None] | None:
    """One writer-thread callback for the caller's `on_record` and every addon."""
    if not addons:
        return on_record
    calls = [*([on_record] if on_record else []), *(a.observe for a in addons)]

    def each(rec: ProxyRecord) -> None:
        for call in calls:
            try:
                call(rec)
            except Exception:  # one failing observer must not starve the others
                log.exception("a record observer failed")

    return each
