"""Where the proxy listens and forwards: upstream URLs, host kinds, forwarding loops, endpoints.

Pure functions of names and addresses (one DNS lookup in `points_at_self`), shared by the
proxy, its exporters and the `proxy` command.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import TYPE_CHECKING

from yarl import URL

from monitor.errors import KnownError
from monitor.services.proxy.guard import (
    local_addresses,
)

if TYPE_CHECKING:
    pass


_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_WILDCARD = frozenset({"0.0.0.0", "::", ""})


class ProxyConfigError(KnownError):
    """The proxy cannot start as configured (bad upstream, a loop, a busy port)."""



_ID_SEGMENT = re.compile(r"^(?=.*\d)(?:[A-Za-z0-9]+[-_:.][-_:.A-Za-z0-9]{5,}|[A-Za-z0-9]{24,})$")


def endpoint_of(path: str) -> str:
    """The record's endpoint for a path below /v1: object ids become `{id}`.

    `/chat/completions` stays; `/responses/resp_67c9…` and `/files/file-abc123/content`
    become `/responses/{id}` and `/files/{id}/content`, so endpoints group in reports.
    """
    parts = path.split("/")
    return "/".join("{id}" if _ID_SEGMENT.match(p) else p for p in parts) or "/"



def host_kind(host: str) -> str:
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
    return host_kind(host) == "loopback"




def points_at_self(upstream: URL, host: str, port: int) -> bool:
    """True if `upstream` would reach a proxy listening on host:port (a forwarding loop).

    localhost, 127.x, ::1 and the wildcard addresses are treated as the same machine.
    """
    if upstream.port != port or not upstream.host:
        return False
    up, me = upstream.host.strip("[]").lower(), host.strip("[]").lower()
    if up == me:
        return True
    up_kind, me_kind = host_kind(up), host_kind(me)
    local = {"loopback", "wildcard"}
    if up_kind in local and me_kind in local:
        return True
    if me_kind == "wildcard" or up_kind == "other":
        try:
            resolved = {str(i[4][0]) for i in socket.getaddrinfo(up, port)}
        except OSError:
            return False
        if me_kind == "wildcard":
            return any(host_kind(a) != "other" for a in resolved) or bool(
                resolved & local_addresses()
            )
        return me in resolved or (
            me_kind == "loopback" and any(host_kind(a) == "loopback" for a in resolved)
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


def format_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
