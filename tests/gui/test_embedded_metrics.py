"""The app's embedded proxy serves /metrics when "Expose metrics" is on, and stops serving it
when the setting is turned off (the proxy restarts with the new exporters)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui.app import AppController
from monitor.gui.app_jobs import NO_ADMIN_KEY
from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.server import ServerThread
from tests.integration.test_proxy_metrics import free_port


def _requests_total(url: str) -> float:
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    return sum(s.value for fam in text_string_to_metric_families(text) for s in fam.samples
               if s.name == "token_monitor_requests_total")


@pytest.fixture
def upstream() -> Iterator[ServerThread]:
    with ServerThread(FakeUpstream().make_app) as server:
        yield server


def test_expose_metrics_setting_serves_and_withdraws_metrics(
    qtbot: QtBot, ctx: AppContext, upstream: ServerThread
) -> None:
    metrics_port = free_port()
    ctx.save_settings(ctx.settings.replace(
        proxy_enabled=True, proxy_port=free_port(), openai_base_url=upstream.base_url + "/v1",
        metrics_enabled=True, metrics_port=metrics_port))
    c = AppController(ctx, sync=lambda: NO_ADMIN_KEY, use_freedesktop=False,
                      with_tokenizer=False)
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        with qtbot.waitSignal(c.proxy.started, timeout=15_000) as started:
            c.start(poll=False)
        proxy_url = started.args[0]
        assert _requests_total(metrics_url) == 0
        sources = c.window.sources  # the Sources tab says where (issue 25)
        qtbot.waitUntil(lambda: sources.proxy_metrics.text() == metrics_url, timeout=5000)
        assert sources._proxy_form.isRowVisible(sources.proxy_metrics)
        body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
        req = urllib.request.Request(proxy_url + "/chat/completions", data=body.encode(),
                                     headers={"Authorization": "Bearer sk-test-0123456789abcd",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        qtbot.waitUntil(lambda: _requests_total(metrics_url) == 1, timeout=5000)

        with qtbot.waitSignal(c.proxy.started, timeout=15_000):
            c.state.apply_settings(ctx.settings.replace(metrics_enabled=False))
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(metrics_url, timeout=5)
        qtbot.waitUntil(lambda: not sources._proxy_form.isRowVisible(sources.proxy_metrics),
                        timeout=5000)
    finally:
        c.shutdown()
        c.window.deleteLater()
