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
import ipaddress
import logging
import re
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from monitor.core.clock import Clock, system_clock
from monitor.core.records import ProxyRecord
from monitor.errors import KnownError
from monitor.log import mask_secret, redact
from monitor.services.proxy.finished import FinishedRequest
from monitor.services.proxy.guard import (
    GuardedServer,
    RequestGuard,
    cors_headers,
    local_addresses,
    route_library_logs,
)
from monitor.services.proxy.metering import (
    JsonObserver,
    Metered,
    Observer,
    StreamObserver,
    UsageChunkStripper,
    decodable_accept_encoding,
    plan_chat_request,
    sniff_model,
)
from monitor.services.proxy.ratelimit import RATE_LIMIT_HEADERS
from monitor.services.proxy.record_writer import RecordWriter
from monitor.services.proxy.replies import json_error as _json_error
from monitor.services.proxy.unmetered import FREE_METHODS

if TYPE_CHECKING:
    from monitor.core.pricing import PriceTable
    from monitor.services.proxy.addons import ProxyAddon
    from monitor.services.proxy.caps import Hold, SpendGate
    from monitor.services.proxy.journal import Segment

log = logging.getLogger(__name__)

DEFAULT_UPSTREAM = "https://api.openai.com/v1"

CHAT_BODY_LIMIT = 16 * 1024 * 1024
"""Chat requests up to this size are read whole (to add `include_usage`); larger ones, and
ones that are not a JSON object, are streamed upstream unchanged."""

SMALL_BODY = 64 * 1024
"""JSON request bodies up to this size are read whole before forwarding (to learn the model);
everything else streams."""

SHUTDOWN_GRACE_S = 3.0
"""On stop, requests still running get this long to finish before they are cut (partial)."""

# RFC 9110 §7.6.1 connection-specific fields, plus the non-standard ones seen in the wild.
_HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate",
        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
    }
)
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_WILDCARD = frozenset({"0.0.0.0", "::", ""})


class ProxyConfigError(KnownError):
    """The proxy cannot start as configured (bad upstream, a loop, a busy port)."""


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
_DECODED_ENCODINGS = frozenset({"gzip", "deflate", "br", "zstd"})
"""Request `Content-Encoding`s aiohttp's server decodes before the handler reads the body."""


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


_ID_SEGMENT = re.compile(r"^(?=.*\d)(?:[A-Za-z0-9]+[-_:.][-_:.A-Za-z0-9]{5,}|[A-Za-z0-9]{24,})$")


def endpoint_of(path: str) -> str:
    """The record's endpoint for a path below /v1: object ids become `{id}`.

    `/chat/completions` stays; `/responses/resp_67c9…` and `/files/file-abc123/content`
    become `/responses/{id}` and `/files/{id}/content`, so endpoints group in reports.
    """
    parts = path.split("/")
    return "/".join("{id}" if _ID_SEGMENT.match(p) else p for p in parts) or "/"


def _host_kind(host: str) -> str:
    """"loopback", "wildcard" or "other" for a host name or literal address."""
    h = host.strip("[]").lower()
    if h in _WILDCARD:
        return "wildcard"
    if h in _LOOPBACK_NAMES:
        return "loopback"
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        return "other"
    if ip.is_unspecified:
        return "wildcard"
    return "loopback" if ip.is_loopback else "other"


def is_loopback_host(host: str) -> bool:
    """True for hosts only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    return _host_kind(host) == "loopback"


_local_addresses = local_addresses


def points_at_self(upstream: URL, host: str, port: int) -> bool:
    """True if `upstream` would reach a proxy listening on host:port (a forwarding loop).

    localhost, 127.x, ::1 and the wildcard addresses are treated as the same machine.
    """
    if upstream.port != port or not upstream.host:
        return False
    up, me = upstream.host.strip("[]").lower(), host.strip("[]").lower()
    if up == me:
        return True
    up_kind, me_kind = _host_kind(up), _host_kind(me)
    local = {"loopback", "wildcard"}
    if up_kind in local and me_kind in local:
        return True
    if me_kind == "wildcard" or up_kind == "other":
        try:
            resolved = {str(i[4][0]) for i in socket.getaddrinfo(up, port)}
        except OSError:
            return False
        if me_kind == "wildcard":
            return any(_host_kind(a) != "other" for a in resolved) or bool(
                resolved & _local_addresses()
            )
        return me in resolved or (
            me_kind == "loopback" and any(_host_kind(a) == "loopback" for a in resolved)
        )
    return False


def parse_upstream(upstream: str) -> URL:
    """The upstream base URL (http or https, with a host), without a trailing slash."""
    url = URL(upstream.strip())
    if url.scheme not in ("http", "https") or not url.host:
        raise ProxyConfigError(f"upstream must be an http(s) URL, got {upstream!r}")
    if url.user or url.password:
        raise ProxyConfigError("upstream URL must not contain credentials")
    if url.query_string or url.fragment:
        raise ProxyConfigError("upstream URL must not have a query or fragment")
    return url.with_path(url.raw_path.rstrip("/"), encoded=True)


def _format_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    tokens: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            tokens.update(t.strip().lower() for t in value.split(",") if t.strip())
    return tokens


# ---------------------------------------------------------------------------------------
# the proxy


class _ClientGoneError(Exception):
    """The client closed its connection while we were writing to it."""


_UNDECODABLE = (HttpProcessingError, RequestPayloadError)
"""What aiohttp raises from a request body it cannot decode."""


class _BadBodyError(Exception):
    """The client's request body could not be decoded (a broken gzip/deflate body)."""


def _bad_body(request: web.BaseRequest) -> web.Response:
    encoding = request.headers.get(hdrs.CONTENT_ENCODING, "")[:40]
    return _json_error(400, f"The request body could not be decoded (Content-Encoding: "
                       f"{encoding}): it is not valid {encoding} data.", "invalid_request_body",
                       "invalid_request_error")


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
                f"upstream {self._upstream_str} is this proxy ({_format_host(host)}:{port}); "
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
                f"cannot listen on {_format_host(self.host)}:{self.port}: {exc.strerror or exc}"
            ) from None
        sockets = self._runner.addresses
        self.port = int(sockets[0][1]) if sockets else self.port
        if points_at_self(self._upstream, self.host, self.port):
            await self._close_async()
            raise ProxyConfigError(
                f"upstream {self._upstream_str} is this proxy; refusing to forward to myself"
            )
        self._guard.bind(self.host, self.port,
                         _local_addresses() if _host_kind(self.host) == "wildcard" else ())
        self.url = f"http://{_format_host(self.host)}:{self.port}/v1"
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

    def _upstream_headers(self, request: web.BaseRequest) -> CIMultiDict[str]:
        raw = request.headers
        drop = _HOP_BY_HOP | _connection_tokens(raw.items())
        out: CIMultiDict[str] = CIMultiDict()
        for name, value in raw.items():
            low = name.lower()
            if low in drop or low in ("host", "expect", "via"):
                continue
            out.add(name, value)
        if hdrs.TRANSFER_ENCODING in raw:
            out.popall(hdrs.CONTENT_LENGTH, None)  # RFC 9112 §6.3: TE overrides CL
        encoding = raw.get(hdrs.CONTENT_ENCODING, "")
        if encoding.isascii() and encoding.lower() in _DECODED_ENCODINGS:
            # aiohttp hands us the body decoded: forward it as such (a whole body gets its
            # new Content-Length in _request_body, a streamed one goes chunked)
            out.popall(hdrs.CONTENT_ENCODING, None)
            out.popall(hdrs.CONTENT_LENGTH, None)
        accept = out.get(hdrs.ACCEPT_ENCODING)
        if accept is not None:
            out[hdrs.ACCEPT_ENCODING] = decodable_accept_encoding(accept)
        vias = raw.getall(hdrs.VIA, [])
        out[hdrs.VIA] = ", ".join([*vias, self._via])
        if self._auth is not None:
            out[hdrs.AUTHORIZATION] = self._auth
        return out

    @staticmethod
    def _client_headers(up: aiohttp.ClientResponse, *, strip: bool) -> CIMultiDict[str]:
        drop = _HOP_BY_HOP | _connection_tokens(up.headers.items())
        out: CIMultiDict[str] = CIMultiDict()
        for name, value in up.headers.items():
            low = name.lower()
            if low in drop or (strip and low == "content-length"):
                continue
            out.add(name, value)
        return out

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
        headers = self._upstream_headers(request)
        if admission.authorization is not None:
            headers[hdrs.AUTHORIZATION] = admission.authorization
        elif authorization is not None and _names_virtual(authorization):
            # a gate that let a virtual token through unswapped: never forward it
            return _json_error(401, "The Token Monitor proxy could not swap this virtual key.",
                               "invalid_api_key", "invalid_request_error")
        label = admission.label or self._label_for(request.headers.get(hdrs.AUTHORIZATION))
        state = _RequestState(started, method, endpoint, label, t0)
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
        self, request: web.BaseRequest, rest: str, headers: CIMultiDict[str], state: _RequestState
    ) -> web.StreamResponse:
        session = self._session
        assert session is not None
        try:
            body, strip = await self._request_body(request, headers, state)
        except _BadBodyError:
            state.status = 400
            return _bad_body(request)
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
        except _ClientGoneError:
            state.partial = True
            state.client_gone = True
            return web.Response(status=499)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            if state.client_gone:
                state.partial = True
                return web.Response(status=499)
            if state.bad_body:
                state.status = 400
                return _bad_body(request)
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
            return await self._relay(request, up, state, strip)
        finally:
            if state.clean_end:
                up.release()
            else:
                up.close()  # never reuse a connection with unread bytes

    async def _request_body(
        self, request: web.BaseRequest, headers: CIMultiDict[str], state: _RequestState
    ) -> tuple[bytes | AsyncIterator[bytes] | None, bool]:
        """The body to send upstream, and whether the response needs the usage chunk removed."""
        if not request.body_exists:
            return None, False
        if request.headers.get(hdrs.EXPECT, "").lower() == "100-continue":
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        is_json = "json" in request.headers.get(hdrs.CONTENT_TYPE, "").lower()
        length = request.content_length
        chunked = hdrs.TRANSFER_ENCODING in request.headers
        content = request.content
        is_chat = request.method == "POST" and state.endpoint in ("/chat/completions",
                                                                  "/chat/completions/")
        whole = is_chat or bool(state.capped)  # a reservation needs the whole prompt
        limit = CHAT_BODY_LIMIT if whole and is_json else SMALL_BODY if is_json else 0
        if limit and (chunked or (length is not None and length <= limit)):
            buf = bytearray()
            while len(buf) <= limit:
                try:
                    chunk = await content.read(limit + 1 - len(buf))
                except _UNDECODABLE as exc:
                    raise _BadBodyError from exc
                if not chunk:
                    break
                buf += chunk
            head = bytes(buf)
            if len(head) <= limit and content.at_eof():
                strip = False
                if is_chat:
                    plan = plan_chat_request(head)
                    if plan is not None:
                        state.request_model = plan.model
                        head = plan.body
                        if plan.added_include_usage:
                            strip = True
                            headers[hdrs.ACCEPT_ENCODING] = "identity"
                else:
                    state.request_model = sniff_model(head[:SMALL_BODY])
                state.request_body = head  # the one copy: see _RequestState.request_body
                headers.popall(hdrs.TRANSFER_ENCODING, None)
                headers[hdrs.CONTENT_LENGTH] = str(len(head))
                if len(head) > _PIECE:  # aiohttp sends large bytes bodies in one blocking write
                    return _pieces(head), strip
                return head, strip
            if is_json:
                state.request_model = sniff_model(head[:SMALL_BODY])
            return self._stream_body(head, content, state, False), False
        return self._stream_body(b"", content, state, is_json), False

    @staticmethod
    async def _stream_body(
        first: bytes, content: aiohttp.StreamReader, state: _RequestState, sniff: bool
    ) -> AsyncIterator[bytes]:
        if first:
            yield first
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    return
                if sniff:
                    sniff = False
                    state.request_model = sniff_model(chunk[:SMALL_BODY])
                yield chunk
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
            state.client_gone = True
            raise _ClientGoneError from exc
        except _UNDECODABLE as exc:  # a broken gzip/deflate body, found mid-stream
            state.bad_body = True
            raise _BadBodyError from exc

    async def _relay(
        self,
        request: web.BaseRequest,
        up: aiohttp.ClientResponse,
        state: _RequestState,
        strip: bool,
    ) -> web.StreamResponse:
        state.status = up.status
        state.headers_at = self._clock()
        state.request_id = up.headers.get("x-request-id")
        state.upstream_headers = up.headers
        ctype = up.headers.get(hdrs.CONTENT_TYPE, "").lower()
        encoding = up.headers.get(hdrs.CONTENT_ENCODING)
        stripper: UsageChunkStripper | None = None
        observer: Observer | None = None
        if 200 <= up.status < 300:
            if "text/event-stream" in ctype:
                if strip and not encoding:
                    stripper = UsageChunkStripper()
                else:
                    observer = StreamObserver(encoding)
            elif "json" in ctype:
                observer = JsonObserver(encoding)
        state.meter = stripper or observer
        resp = web.StreamResponse(
            status=up.status,
            reason=up.reason,
            headers=self._client_headers(up, strip=stripper is not None),
        )
        if state.cors_origin is not None:
            resp.headers.update(cors_headers(state.cors_origin))
        write = resp.write
        left = _declared_length(resp.headers)  # bytes until a Content-Length body is whole
        observed = False  # the observer has seen the whole body (and finished)
        try:
            await resp.prepare(request)
            async for chunk in up.content.iter_any():
                if state.ttfb_ms is None:
                    state.ttfb_ms = (time.perf_counter() - state.t0) * 1000
                if stripper is not None:
                    out = stripper.feed(chunk)
                    if out:
                        await _to_client(write, out)
                else:
                    if left is not None and (left := left - len(chunk)) <= 0 and not observed:
                        # this chunk completes the body: meter it and journal the record
                        # before the client has it all (the bytes are unchanged)
                        if observer is not None:
                            observer.observe(chunk)
                            observer.finish()
                        observed = True
                        self._journal(state)
                        await _to_client(write, chunk)
                    else:
                        await _to_client(write, chunk)
                        if observer is not None:
                            observer.observe(chunk)
                if state.meter is not None and state.meter.result.complete:
                    # The stream's end ([DONE], a terminal event) is with the client: one that
                    # hangs up now, before the upstream closes the body, got all of it.
                    state.delivered = True
            state.clean_end = True  # the upstream body was read to its end
            if stripper is not None:
                tail = stripper.finish()
                if tail:
                    await _to_client(write, tail)
            elif observer is not None and not observed:
                observer.finish()
            state.delivered = True  # every byte is with the transport; a client that hangs
            # up now (after reading [DONE]) got the whole response
            self._journal(state)  # before the end of a chunked body (or the headers of an
            # empty one) goes out
            try:
                await resp.write_eof()
            except (ConnectionResetError, aiohttp.ClientConnectionResetError) as exc:
                raise _ClientGoneError from exc
        except _ClientGoneError:
            if not state.delivered:
                state.partial = True  # the client went away: stop reading upstream
                state.client_gone = True
            return resp
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            state.partial = True  # upstream broke mid-body: cut the client off likewise
            log.warning("upstream response broke off: %s", redact(str(exc) or type(exc).__name__))
            if request.transport is not None:
                request.transport.close()
            return resp
        if state.ttfb_ms is None:
            state.ttfb_ms = (time.perf_counter() - state.t0) * 1000
        return resp

    def _finished(self, state: _RequestState) -> FinishedRequest:
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

    def _journal(self, state: _RequestState) -> None:
        """Write the request's record to the journal before its answer's last bytes go out:
        a kill from then on cannot lose what the client was told (journal.py)."""
        if state.journal is None:
            state.journal = self._writer.journal.append(self._finished(state))

    def _finish(self, state: _RequestState) -> None:
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


_PIECE = 256 * 1024


async def _pieces(body: bytes) -> AsyncIterator[bytes]:
    view = memoryview(body)
    for i in range(0, len(body), _PIECE):
        yield bytes(view[i : i + _PIECE])


def _declared_length(headers: CIMultiDict[str] | CIMultiDictProxy[str]) -> int | None:
    """The Content-Length the client was promised, if one (a valid one) was."""
    value = headers.get(hdrs.CONTENT_LENGTH)
    if value is None or not value.isdigit():
        return None
    return int(value)


async def _to_client(
    write: Callable[[bytes], Awaitable[None]], data: bytes
) -> None:
    try:
        await write(data)
    except (ConnectionResetError, aiohttp.ClientConnectionResetError) as exc:
        raise _ClientGoneError from exc


class _RequestState:
    """Mutable per-request bookkeeping shared by the handler's steps."""

    __slots__ = (
        "bad_body", "capped", "clean_end", "client_gone", "cors_origin", "delivered",
        "endpoint", "headers_at", "hold", "journal", "key_label", "meter", "method", "partial",
        "request_body",
        "request_id", "request_model", "started", "status", "t0", "ttfb_ms", "upstream_headers",
    )

    def __init__(
        self, started: datetime, method: str, endpoint: str, key_label: str, t0: float
    ) -> None:
        self.started = started
        self.method = method
        self.endpoint = endpoint
        self.key_label = key_label
        self.t0 = t0
        self.status = 499
        self.request_id: str | None = None
        self.request_model: str | None = None
        self.ttfb_ms: float | None = None
        self.partial = False
        self.client_gone = False
        self.bad_body = False
        self.clean_end = False
        self.delivered = False
        self.meter: UsageChunkStripper | Observer | None = None
        self.upstream_headers: CIMultiDictProxy[str] | None = None
        self.headers_at: datetime | None = None
        self.request_body: bytes | None = None
        """The request body as forwarded, when it was read whole: JSON bodies up to
        SMALL_BODY, chat and hard-capped ones up to CHAT_BODY_LIMIT (the bound); None when it
        streamed. Owned by this request: the cap reservation reads it before forwarding, and
        `_finish` hands it to the record writer only when the response had no usable usage
        (for the input estimate); it goes when the request's state does."""
        self.cors_origin: str | None = None  # an allowed browser origin (CORS headers)
        self.capped: tuple[Any, ...] = ()  # hard-cap accounts this request reserves against
        self.hold: Hold | None = None
        self.journal: tuple[str, Segment] | None = None  # its journal line (id, segment)
