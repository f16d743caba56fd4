"""The proxy's request guard: only this machine's own clients, on /v1/ paths, get forwarded.

Why: the proxy adds a stored key to requests (`--key`, virtual keys), so whoever can make it
forward a request spends that key. A web page the user visits can reach 127.0.0.1 too, either
directly (a cross-site `fetch` or form post) or by DNS rebinding (a name of the attacker's that
first resolves to the attacker and then to 127.0.0.1). Both are stopped here, before anything
else runs and whatever the mode:

- `Host` must name the proxy's own loopback address and port (`127.0.0.1:P`, `localhost:P`,
  `[::1]:P`, or the address it listens on): a rebound name gets 421 Misdirected Request.
- A request carrying `Origin` comes from a browser page: 403 unless that origin was allowed
  (`--allow-origin`). Allowed origins get CORS headers; nothing else does. So does one a
  browser marks `Sec-Fetch-Site: cross-site` or `same-site` without an `Origin` (a link, an
  image, a form GET): a page, not a program on this machine.
- `OPTIONS` (a CORS preflight) is answered here and never forwarded, so it never carries a key.
- Only the methods the OpenAI and Anthropic APIs use (GET, POST, DELETE) are forwarded; any
  other (`TRACE`, `PUT`, `CONNECT`, …) gets 405, so an echoing upstream never hands a caller
  the key the proxy swapped in.
- The path is normalised (RFC 3986 dot segments, `%2e` included); anything that resolves
  outside `/v1/`, or hides a separator in a segment (`%2f`, `\\`), is refused.

It also routes aiohttp's own loggers through the redaction filter: aiohttp logs a malformed
request ("Error handling request") with the raw request line and headers, Authorization
included, and with no handler configured Python would print that to stderr unredacted.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import hdrs, web
from aiohttp.web_protocol import RequestHandler

from monitor.log import RedactingFilter
from monitor.services.proxy.replies import json_error

log = logging.getLogger(__name__)

AIOHTTP_LOGGERS = (
    "aiohttp", "aiohttp.access", "aiohttp.client", "aiohttp.internal", "aiohttp.server",
    "aiohttp.web", "aiohttp.websocket", "asyncio",
)  # fmt: skip
"""Loggers that can carry request bytes: each gets the redaction filter at the logger itself,
so a record is masked before any handler (even Python's last-resort stderr one) sees it."""

FORWARDED_METHODS = frozenset({"GET", "POST", "DELETE"})
"""The methods the OpenAI and Anthropic APIs use; anything else is never forwarded."""
_ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"
_FOREIGN_SITES = frozenset({"cross-site", "same-site"})
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_DOT = re.compile(r"%2e", re.IGNORECASE)
_HIDDEN_SEPARATOR = re.compile(r"%2f|%5c|\\", re.IGNORECASE)


def local_addresses() -> set[str]:
    """This machine's own addresses (for a server listening on a wildcard address)."""
    found: set[str] = set()
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.add(str(info[4][0]))
    return found


def route_library_logs() -> None:
    """Put the redaction filter on aiohttp's (and asyncio's) loggers; idempotent."""
    for name in AIOHTTP_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


class _QuietRequestHandler(RequestHandler):
    """aiohttp's connection handler, minus the echo of a malformed request.

    aiohttp answers a request it cannot parse with a 400 whose body, and a log record whose
    exception text, quote the raw bytes around the fault: with a bare-LF request that is every
    header, Authorization included. A key with a NUL inside is cut in two, so masking key
    shapes in the text cannot be relied on: this handler logs the fault's kind only and
    answers with a fixed text.
    """

    def handle_error(self, request: web.BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status == 500:
            return super().handle_error(request, status, exc, message)
        log.warning("refused a malformed HTTP request from %s (%s, HTTP %d)", request.remote,
                    type(exc).__name__ if exc is not None else "error", status)
        if request.writer.output_size > 0:
            raise ConnectionError("response already started; cannot send the error")
        resp = web.Response(status=status, text=f"{status} Bad Request: malformed HTTP request\n")
        resp.force_close()
        return resp


class GuardedServer(web.Server):
    """`web.Server` whose connections never echo a malformed request (see above)."""

    def __call__(self) -> RequestHandler:
        kwargs: dict[str, Any] = self._kwargs
        return _QuietRequestHandler(self, loop=self._loop, **kwargs)


def normalise_path(raw_path: str) -> str | None:
    """The request path below /v1 (e.g. `/chat/completions?x=1`), dot segments resolved;
    None when it resolves outside /v1 or hides a separator inside a segment."""
    path, sep, query = raw_path.partition("?")
    if _HIDDEN_SEPARATOR.search(path) or not path.startswith("/"):
        return None
    out: list[str] = []
    segments = path.split("/")[1:]
    for i, seg in enumerate(segments):
        plain = _DOT.sub(".", seg)
        if plain == ".":
            if i == len(segments) - 1:
                out.append("")
            continue
        if plain == "..":
            if out:
                out.pop()
            if i == len(segments) - 1:
                out.append("")
            continue
        out.append(seg)
    if not out or out[0] != "v1":
        return None
    rest = "/" + "/".join(out[1:]) if len(out) > 1 else ""
    return rest + sep + query


@dataclass(frozen=True)
class Verdict:
    """What the guard decided: a response to send instead of forwarding, or the normalised
    path below /v1 and the allowed Origin (for CORS headers on the real response)."""

    refusal: web.Response | None
    rest: str = ""
    cors_origin: str | None = None


def _refuse(status: int, message: str, code: str, etype: str = "invalid_request_error",
            headers: Mapping[str, str] | None = None) -> Verdict:
    return Verdict(json_error(status, message, code, etype, headers))


def _origin_key(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def cors_headers(origin: str) -> dict[str, str]:
    """Headers that let an allowed browser origin read the response."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Vary": "Origin",
        "Access-Control-Expose-Headers": "x-request-id, openai-processing-ms, x-ratelimit-limit-"
        "requests, x-ratelimit-remaining-requests, x-ratelimit-limit-tokens, "
        "x-ratelimit-remaining-tokens, x-should-retry",
    }


class RequestGuard:
    """Decides, from the request line and headers alone, whether a request may be forwarded.

    `bind(host, port)` must be called once the proxy knows its port (port 0 picks one).
    """

    def __init__(self, allow_origins: Iterable[str] = ()) -> None:
        self._origins = {_origin_key(o): o.strip().rstrip("/") for o in allow_origins if o.strip()}
        self._hosts: frozenset[str] = frozenset()
        self._ip_port: str | None = None
        self.refused = 0
        self._reported: set[str] = set()

    def _report(self, what: str, value: str) -> None:
        """Warn once per refused Host or Origin value (a hostile page may repeat itself
        thousands of times); repeats go to the debug log."""
        key = f"{what}:{value[:100]}"
        if key in self._reported:
            log.debug("refused another request for %s", key)
            return
        if len(self._reported) >= 200:
            self._reported.clear()
        self._reported.add(key)
        if what == "host":
            log.warning("refused a request for host %r: not this proxy's own address "
                        "(DNS rebinding?)", value[:100])
        else:
            log.warning("refused a request from the web page origin %r (allow it with "
                        "--allow-origin)", value[:100])

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        return tuple(self._origins.values())

    def bind(self, host: str, port: int, extra_hosts: Iterable[str] = (), *,
             ip_literals: bool = False) -> None:
        """Accept `Host` values naming this proxy: the loopback names, the listen address and
        `extra_hosts` (the machine's own addresses when listening on a wildcard); with
        `ip_literals`, also any IP address with this port (a scraper on another machine may
        know this one by an address not listed: an IP literal is never a rebound name)."""
        h = host.strip().lower()
        listen = f"[{h.strip('[]')}]" if ":" in h else h
        names = {*_LOOPBACK_NAMES, "localhost.localdomain", listen}
        names.update(f"[{x}]" if ":" in x else x for x in (e.lower() for e in extra_hosts))
        names.discard("0.0.0.0")
        names.discard("[::]")
        allowed = {f"{n}:{port}" for n in names}
        if port == 80:
            allowed.update(names)
        self._hosts = frozenset(allowed)
        self._ip_port = f":{port}" if ip_literals else None

    def host_refusal(self, request: web.BaseRequest) -> web.Response | None:
        """The 421 for a request whose `Host` does not name this server (DNS rebinding)."""
        host = request.headers.get(hdrs.HOST, "").strip().lower()
        if host in self._hosts or self._is_ip_literal(host):
            return None
        self.refused += 1
        self._report("host", host)
        return json_error(421, "The metering proxy only answers requests addressed to its own "
                          "loopback address (127.0.0.1, localhost or [::1] with its port).",
                          "misdirected_request", "invalid_request_error")

    def _is_ip_literal(self, host: str) -> bool:
        if self._ip_port is None or not host.endswith(self._ip_port):
            return False
        name = host[: -len(self._ip_port)]
        try:
            ipaddress.ip_address(name[1:-1] if name.startswith("[") and name.endswith("]")
                                 else name)
        except ValueError:
            return False
        return ":" not in name or name.startswith("[")

    def check(self, request: web.BaseRequest) -> Verdict:
        """The verdict for one request (cheap: a few set lookups and one split)."""
        refusal = self.host_refusal(request)
        if refusal is not None:
            return Verdict(refusal)
        headers = request.headers
        origin = headers.get(hdrs.ORIGIN)
        allowed_origin: str | None = None
        if origin is not None:
            allowed_origin = self._origins.get(_origin_key(origin))
        elif headers.get("Sec-Fetch-Site", "").strip().lower() in _FOREIGN_SITES:
            origin = f"(no Origin; Sec-Fetch-Site: {headers['Sec-Fetch-Site'].strip()})"
        if origin is not None and allowed_origin is None:
            self.refused += 1
            self._report("origin", origin)
            return _refuse(403, "The metering proxy does not serve requests from web pages "
                           "unless their origin is allowed (token-monitor proxy "
                           "--allow-origin ORIGIN).", "origin_not_allowed")
        if request.method == hdrs.METH_OPTIONS:
            return Verdict(self._preflight(request, allowed_origin))
        if request.method not in FORWARDED_METHODS:
            self.refused += 1
            return _refuse(405, f"The metering proxy does not forward {request.method[:20]} "
                           "requests (the OpenAI API uses GET, POST and DELETE).",
                           "method_not_allowed", headers={"Allow": _ALLOW_METHODS})
        rest = normalise_path(request.raw_path)
        if rest is None:
            self.refused += 1
            return _refuse(404, "The metering proxy forwards /v1/... paths only.", "unknown_url")
        return Verdict(None, rest, allowed_origin)

    @staticmethod
    def _preflight(request: web.BaseRequest, origin: str | None) -> web.Response:
        headers = {"Allow": _ALLOW_METHODS}
        if origin is not None:
            asked = request.headers.get(hdrs.ACCESS_CONTROL_REQUEST_HEADERS, "")
            headers.update(cors_headers(origin))
            headers.update({
                "Access-Control-Allow-Methods": _ALLOW_METHODS,
                "Access-Control-Allow-Headers": asked[:2000] or "authorization, content-type",
                "Access-Control-Max-Age": "600",
            })
        return web.Response(status=204, headers=headers)
