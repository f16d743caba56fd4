"""The guard's `Host` check as /metrics uses it when bound beyond loopback: this machine's
names and any IP literal with the port pass (a scraper on the LAN), a rebound name never."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from monitor.services.proxy.guard import RequestGuard


def refused(guard: RequestGuard, host: str) -> bool:
    return guard.host_refusal(make_mocked_request("GET", "/metrics", {"Host": host})) is not None


@pytest.mark.parametrize(("host", "ok"), [
    ("127.0.0.1:9787", True), ("localhost:9787", True), ("myhost:9787", True),
    ("192.168.1.5:9787", True), ("[fe80::1]:9787", True), ("10.0.0.7:9787", True),
    ("evil.example:9787", False), ("192.168.1.5.evil.example:9787", False),
    ("192.168.1.5:9788", False), ("192.168.1.5", False), ("fe80::1:9787", False), ("", False),
])  # fmt: skip
def test_beyond_loopback_own_names_and_ip_literals_pass(host: str, ok: bool) -> None:
    guard = RequestGuard()
    guard.bind("0.0.0.0", 9787, {"myhost"}, ip_literals=True)
    assert refused(guard, host) is not ok


@pytest.mark.parametrize("host", ["192.168.1.5:9787", "myhost:9787", "evil.example:9787"])
def test_on_loopback_only_loopback_names_pass(host: str) -> None:
    guard = RequestGuard()
    guard.bind("127.0.0.1", 9787)
    assert refused(guard, host)
    assert not refused(guard, "127.0.0.1:9787")
