"""The proxy's request guard: foreign Host, web-page Origin, OPTIONS and dot-segment paths never
reach the upstream (least of all with a stored key), and malformed requests never print a key."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from monitor.core.prices import PriceTable
from monitor.paths import Paths
from monitor.services.proxy import MeteringProxy
from monitor.services.proxy.guard import normalise_path
from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.server import ServerThread, listening_url

STORED_KEY = "sk-proj-GUARDstored0123456789abcdefXYZ"
MSG = [{"role": "user", "content": "Say hello"}]
CHAT = json.dumps({"model": "gpt-4o", "messages": MSG}).encode()


@pytest.fixture
def lending(upstream: ServerThread, paths: Paths, prices: PriceTable) -> Iterator[MeteringProxy]:
    """`proxy --key LABEL`: the proxy adds a stored key to requests that carry none."""
    p = MeteringProxy(upstream=upstream.base_url + "/v1", store_path=paths.db_file, prices=prices,
                      port=0, key_label="team", key_secret=STORED_KEY,
                      allow_origins=["http://localhost:3000"])  # fmt: skip
    p.start_in_thread()
    yield p
    p.stop()


def send(port: int, method: str, target: str, headers: dict[str, str],
         body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """One request with exactly these headers (Host included), over a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_foreign_host_gets_421_and_is_never_forwarded(
    lending: MeteringProxy, fake: FakeUpstream
) -> None:
    port = lending.port
    # DNS rebinding: the browser still says the attacker's name in Host
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1:{port + 1}",
                 f"127.0.0.1.evil.example:{port}", ""):
        status, _, body = send(port, "POST", "/v1/chat/completions",
                               {"Host": host, "Content-Type": "text/plain"}, CHAT)
        assert status == 421, host
        assert json.loads(body)["error"]["code"] == "misdirected_request"
    assert fake.requests == []
    # the proxy's own names are served
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        status, _, _ = send(port, "POST", "/v1/chat/completions",
                            {"Host": host, "Content-Type": "application/json"}, CHAT)
        assert status == 200, host
    assert len(fake.requests) == 3
    assert {r.headers["authorization"] for r in fake.requests} == {f"Bearer {STORED_KEY}"}


def test_web_page_origin_is_refused_unless_allowed(
    lending: MeteringProxy, fake: FakeUpstream
) -> None:
    port, host = lending.port, f"127.0.0.1:{lending.port}"
    # the reported attack: a simple cross-site POST with text/plain and no Authorization
    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{port}",
                   "http://localhost:3000.evil.example"):
        status, headers, body = send(port, "POST", "/v1/chat/completions",
                                     {"Host": host, "Origin": origin,
                                      "Content-Type": "text/plain"}, CHAT)
        assert status == 403, origin
        assert json.loads(body)["error"]["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in headers
    assert fake.requests == []
    status, headers, _ = send(port, "POST", "/v1/chat/completions",
                              {"Host": host, "Origin": "http://localhost:3000",
                               "Content-Type": "application/json"}, CHAT)
    assert status == 200
    assert headers["access-control-allow-origin"] == "http://localhost:3000"
    assert len(fake.requests) == 1


def test_options_is_answered_by_the_proxy_never_forwarded(
    lending: MeteringProxy, fake: FakeUpstream
) -> None:
    port, host = lending.port, f"127.0.0.1:{lending.port}"
    preflight = {"Host": host, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}
    status, headers, _ = send(port, "OPTIONS", "/v1/chat/completions",
                              {**preflight, "Origin": "http://evil.example"})
    assert status == 403 and "access-control-allow-origin" not in headers
    status, headers, _ = send(port, "OPTIONS", "/v1/chat/completions",
                              {**preflight, "Origin": "http://localhost:3000"})
    assert status == 204
    assert headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "POST" in headers["access-control-allow-methods"]
    assert headers["access-control-allow-headers"] == "authorization, content-type"
    status, headers, _ = send(port, "OPTIONS", "/v1/models", {"Host": host})
    assert status == 204 and "GET" in headers["allow"]
    assert fake.requests == []


@pytest.mark.parametrize("target", [
    "/v1/../../x", "/v1/../x", "/v1/%2e%2e/%2E%2E/secret", "/v1/..", "/v1/chat/../../../etc",
    "/v1/%2e%2e%2fadmin", "/v1/..%5c..%5cadmin", "/x/../v1/../admin", "/v2/models", "/",
    "http://evil.example/v1/models",
])  # fmt: skip
def test_paths_resolving_outside_v1_never_reach_upstream(
    lending: MeteringProxy, fake: FakeUpstream, target: str
) -> None:
    status, _, body = send(lending.port, "GET", target, {"Host": f"127.0.0.1:{lending.port}"})
    assert status in (400, 404), target
    if status == 404:
        assert json.loads(body)["error"]["code"] == "unknown_url"
    assert fake.requests == []


def test_dot_segments_inside_v1_are_resolved_before_forwarding(
    lending: MeteringProxy, fake: FakeUpstream
) -> None:
    status, _, body = send(lending.port, "GET", "/v1/chat/../models?limit=2",
                           {"Host": f"localhost:{lending.port}"})
    assert status == 200 and json.loads(body)["object"] == "list"
    assert fake.requests[0].path == "/v1/models" and fake.requests[0].query == "limit=2"


@pytest.mark.parametrize(("raw", "rest"), [
    ("/v1", ""), ("/v1/", "/"), ("/v1/models", "/models"), ("/v1/a/./b", "/a/b"),
    ("/v1/a/b/..", "/a/"), ("/v1/files/%2E/x?q=../..", "/files/x?q=../.."),
    ("/v1/../v1/models", "/models"), ("/v1/models/gpt-4o%3Afoo", "/models/gpt-4o%3Afoo"),
])  # fmt: skip
def test_normalise_path(raw: str, rest: str) -> None:
    assert normalise_path(raw) == rest


def test_sdk_through_the_guarded_proxy_still_works(lending: MeteringProxy) -> None:
    with openai.OpenAI(base_url=lending.url, api_key="placeholder", max_retries=0) as c:
        assert c.chat.completions.create(model="gpt-4o", messages=MSG).usage is not None
        assert c.models.list().data


# -- nothing aiohttp prints goes around the redaction --------------------------------------

MARKER = "sk-proj-LEAKMARKER0123456789abcdefghij"
MARKER_VIRTUAL = "tm-LEAKMARKERvirtual0123456789abcdefghijklmnopq"


def _malformed(port: int) -> list[bytes]:
    host = f"127.0.0.1:{port}".encode()
    out = []
    for key in (MARKER, MARKER_VIRTUAL):
        k = key.encode()
        out += [
            # bare-LF line endings: aiohttp quotes the whole head
            b"POST /v1/chat/completions HTTP/1.1\nHost: " + host + b"\nAuthorization: Bearer "
            + k + b"\nContent-Length: 2\n\n{}",
            # a NUL inside the key: a regex over the text sees two halves
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: " + host + b"\r\nAuthorization: "
            b"Bearer " + k[:6] + b"\x00" + k[6:] + b"\r\nContent-Length: 2\r\n\r\n{}",
            # a NUL in another header after the key
            b"GET /v1/models HTTP/1.1\r\nHost: " + host + b"\r\nAuthorization: Bearer " + k
            + b"\r\nX-Bad: a\x00b\r\n\r\n",
            # garbage method and an over-long header line
            b"P\x01ST /v1/models HTTP/1.1\r\nAuthorization: Bearer " + k + b"\r\n\r\n",
            b"GET /v1/models HTTP/1.1\r\nHost: " + host + b"\r\nAuthorization: Bearer " + k
            + b"\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n",
        ]
    return out


def _raw_exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with contextlib.suppress(OSError):
            s.sendall(data)
        chunks = []
        with contextlib.suppress(OSError):
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def _listening_port(proc: subprocess.Popen[str]) -> int:
    url = listening_url(proc)
    assert url.startswith("http://127.0.0.1:"), url
    return int(url.rsplit(":", 1)[1].split("/")[0])


def _leaked(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    found = []
    for key in (MARKER, MARKER_VIRTUAL):
        for piece in (key, key[6:], key[-20:]):  # also a key cut in two by a NUL
            if piece.encode() in data:
                found.append(piece)
    return found


def test_malformed_requests_print_no_key_anywhere(
    upstream: ServerThread, fake: FakeUpstream, home: Path
) -> None:
    env = {**os.environ, "MONITOR_HOME": str(home), "PYTHONASYNCIODEBUG": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--log-level", "DEBUG", "proxy", "--port", "0",
         "--upstream", upstream.base_url + "/v1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    replies = []
    try:
        port = _listening_port(proc)
        for data in _malformed(port):
            replies.append(_raw_exchange(port, data))
        # and a well-formed one with the marker, refused upstream with 401 (echoes the key)
        status, _, _ = send(port, "GET", "/v1/models",
                            {"Host": f"127.0.0.1:{port}", "Authorization": f"Bearer {MARKER}"})
        assert status == 200
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=5)
    assert proc.returncode == 0
    assert all(r.startswith(b"HTTP/1.") for r in replies), replies
    assert any(b" 400 " in r.split(b"\r\n", 1)[0] for r in replies)
    assert "malformed HTTP request" in err  # the fault is reported, without its bytes
    for name, text in (("stdout", out), ("stderr", err)):
        assert _leaked(text) == [], f"key in {name}: {text[-2000:]}"
    for i, reply in enumerate(replies):
        assert _leaked(reply) == [], f"key echoed in reply {i}: {reply[-500:]!r}"
    files = [f for f in home.rglob("*") if f.is_file()]
    assert any(f.suffix == ".log" for f in files)
    for f in files:
        assert _leaked(f.read_bytes()) == [], f"key in {f}"
    # nothing malformed reached the upstream; only the well-formed request did
    assert [r.path for r in fake.requests] == ["/v1/models"]
