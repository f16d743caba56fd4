"""The tray app's proxy with an OTLP endpoint set and the `otel` extra missing: it starts and
meters, the Sources tab says why OTLP export is off (a note, not an error), and nothing is
marked failing. The extra is hidden from this process (`sys.modules` entries set to None)."""

from __future__ import annotations

import json
import socket
import sys
import urllib.request
from collections.abc import Callable

import pytest
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui.app import AppController
from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.server import ServerThread

INSTALL = "pip install 'token-monitor[otel]'"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_embedded_proxy_runs_with_otlp_off_and_says_why(
    qtbot: QtBot, ctx: AppContext, make_app: Callable[..., AppController],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for name in [m for m in sys.modules if m.startswith("opentelemetry.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with ServerThread(FakeUpstream().make_app) as upstream:
        ctx.save_settings(ctx.settings.replace(
            proxy_enabled=True, proxy_port=_free_port(), otlp_endpoint="http://127.0.0.1:9",
            openai_base_url=upstream.base_url + "/v1"))
        c = make_app()  # the app's own proxy factory, from the settings
        with qtbot.waitSignal(c.proxy.started, timeout=10_000) as started:
            c.start(poll=False)
        url = started.args[0]
        qtbot.waitUntil(lambda: c.state.snapshot is not None
                        and c.state.snapshot.proxy.address == url, timeout=5000)
        body = json.dumps({"model": "gpt-4o",
                           "messages": [{"role": "user", "content": "hello"}]}).encode()
        req = urllib.request.Request(url + "/chat/completions", data=body, headers={
            "Authorization": "Bearer sk-test-0123456789abcdef",
            "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        qtbot.waitUntil(lambda: c.state.snapshot is not None
                        and c.state.snapshot.proxy.requests_today == 1, timeout=5000)
        snap = c.state.snapshot
        assert snap is not None and snap.proxy.error is None and not snap.failing
        assert snap.proxy.notice is not None and INSTALL in snap.proxy.notice
        note = c.window.sources.proxy_notice
        assert INSTALL in note.text() and not note.isHidden()
        assert c.window.failing.isHidden()
        # the proxy turned off: the note goes with it
        c.apply_settings(ctx.settings.replace(proxy_enabled=False))
        qtbot.waitUntil(lambda: c.window.sources.proxy_notice.isHidden(), timeout=5000)
