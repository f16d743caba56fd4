"""One request's way through the proxy: the body sent upstream and the response relayed back.

Streams both ways on the event loop: a request body is read whole only when it must be
(chat requests, to add `include_usage`; capped ones, for the reservation; small JSON, for
the model), every upstream chunk is written to the client the moment it arrives, and the
response is metered on the way (metering.py) without changing a byte. `RequestState` is the
per-request bookkeeping the handler (server.py) and these steps share.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from multidict import CIMultiDict, CIMultiDictProxy

from monitor.core.clock import Clock
from monitor.log import redact
from monitor.services.proxy.chat_request import plan_chat_request, sniff_model
from monitor.services.proxy.guard import (
    cors_headers,
)
from monitor.services.proxy.metering import (
    JsonObserver,
    Observer,
    StreamObserver,
    UsageChunkStripper,
)
from monitor.services.proxy.replies import json_error as _json_error
from monitor.services.proxy.streams import decodable_accept_encoding

if TYPE_CHECKING:
    from monitor.services.proxy.caps import Hold
    from monitor.services.proxy.finished import Segment


log = logging.getLogger(__name__)

CHAT_BODY_LIMIT = 16 * 1024 * 1024
"""Chat requests up to this size are read whole (to add `include_usage`); larger ones, and
ones that are not a JSON object, are streamed upstream unchanged."""

SMALL_BODY = 64 * 1024
"""JSON request bodies up to this size are read whole before forwarding (to learn the model);
everything else streams."""


# RFC 9110 §7.6.1 connection-specific fields, plus the non-standard ones seen in the wild.
_HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate",
        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
    }
)

_DECODED_ENCODINGS = frozenset({"gzip", "deflate", "br", "zstd"})
"""Request `Content-Encoding`s aiohttp's server decodes before the handler reads the body."""



def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    tokens: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            tokens.update(t.strip().lower() for t in value.split(",") if t.strip())
    return tokens



class ClientGoneError(Exception):
    """The client closed its connection while we were writing to it."""


UNDECODABLE = (HttpProcessingError, RequestPayloadError)
"""What aiohttp raises from a request body it cannot decode."""


class BadBodyError(Exception):
    """The client's request body could not be decoded (a broken gzip/deflate body)."""


def bad_body(request: web.BaseRequest) -> web.Response:
    encoding = request.headers.get(hdrs.CONTENT_ENCODING, "")[:40]
    return _json_error(400, f"The request body could not be decoded (Content-Encoding: "
                       f"{encoding}): it is not valid {encoding} data.", "invalid_request_body",
                       "invalid_request_error")



def upstream_headers(request: web.BaseRequest, via: str, auth: str | None) -> CIMultiDict[str]:
    """The headers sent upstream: hop-by-hop ones dropped, our Via added, a decoded body's
    Content-Encoding removed, the proxy's own key (`auth`) if it lends one."""
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
    out[hdrs.VIA] = ", ".join([*vias, via])
    if auth is not None:
        out[hdrs.AUTHORIZATION] = auth
    return out

def client_headers(up: aiohttp.ClientResponse, *, strip: bool) -> CIMultiDict[str]:
    drop = _HOP_BY_HOP | _connection_tokens(up.headers.items())
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in up.headers.items():
        low = name.lower()
        if low in drop or (strip and low == "content-length"):
            continue
        out.add(name, value)
    return out


async def request_body(
    request: web.BaseRequest, headers: CIMultiDict[str], state: RequestState
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
            except UNDECODABLE as exc:
                raise BadBodyError from exc
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
            state.request_body = head  # the one copy: see RequestState.request_body
            headers.popall(hdrs.TRANSFER_ENCODING, None)
            headers[hdrs.CONTENT_LENGTH] = str(len(head))
            if len(head) > _PIECE:  # aiohttp sends large bytes bodies in one blocking write
                return _pieces(head), strip
            return head, strip
        if is_json:
            state.request_model = sniff_model(head[:SMALL_BODY])
        return stream_body(head, content, state, False), False
    return stream_body(b"", content, state, is_json), False

async def stream_body(
    first: bytes, content: aiohttp.StreamReader, state: RequestState, sniff: bool
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
        raise ClientGoneError from exc
    except UNDECODABLE as exc:  # a broken gzip/deflate body, found mid-stream
        state.bad_body = True
        raise BadBodyError from exc

async def relay(
    request: web.BaseRequest,
    up: aiohttp.ClientResponse,
    state: RequestState,
    strip: bool,
    *,
    clock: Clock,
    journal: Callable[[RequestState], None],
) -> web.StreamResponse:
    """Send the upstream's response to the client as it arrives, metering it on the way;
    `journal(state)` is called before the client has the last bytes (see journal.py)."""
    state.status = up.status
    state.headers_at = clock()
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
        headers=client_headers(up, strip=stripper is not None),
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
                    journal(state)
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
        journal(state)  # before the end of a chunked body (or the headers of an
        # empty one) goes out
        try:
            await resp.write_eof()
        except (ConnectionResetError, aiohttp.ClientConnectionResetError) as exc:
            raise ClientGoneError from exc
    except ClientGoneError:
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
        raise ClientGoneError from exc



class RequestState:
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
