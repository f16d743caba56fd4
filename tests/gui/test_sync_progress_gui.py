"""The first sync's progress in the Sources tab and on the tray tooltip, against the fake
organization API; gone when the pass ends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui.app import AppController
from monitor.services.keyring_vault import MemoryVault
from monitor.services.keyvault import KeyStore
from monitor.services.org_sync import SyncProgress
from tests.fakes import fake_org
from tests.fakes.fake_org import ADMIN_KEY, FakeOrg
from tests.fakes.server import ServerThread


@pytest.fixture
def server(ctx: AppContext) -> Iterator[ServerThread]:
    now = ctx.now()  # the fake API lives at the app's (pinned) time
    fake = FakeOrg(events=fake_org.generate_events(7, now - timedelta(days=40), now, 800),
                   delay_s=0.02, now=ctx.clock)
    with ServerThread(fake.make_app) as srv:
        yield srv


def test_first_sync_progress_in_sources_and_tooltip(
        qtbot: QtBot, ctx: AppContext, server: ServerThread,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    ctx.save_settings(ctx.settings.replace(openai_base_url=server.base_url + "/v1"))
    ctx._keys = KeyStore(ctx.paths.keys_file, MemoryVault())
    ctx.keys().add("org-admin", "admin", ADMIN_KEY)
    c = AppController(ctx, use_freedesktop=False, with_tokenizer=False)
    c.quit_requested = lambda: None
    seen: list[tuple[SyncProgress, bool, str, str]] = []

    def record(p: SyncProgress) -> None:  # connected after the controller's own slot
        assert c.tray is not None
        seen.append((p, not c.window.sources.progress_box.isHidden(),
                     c.window.sources.progress_text.text(), c.tray.icon.toolTip()))

    c.progress_relay.progress.connect(record)
    try:
        with qtbot.waitSignal(c.poller.poll_finished, timeout=30_000) as finished:
            c.start(poll=True)
        assert finished.args[0].ok, finished.args[0].error
        assert len(seen) >= 13
        last, visible, text, tip = seen[-1]
        assert visible and last.first_run and last.windows_done == last.windows_total == 13
        assert text.startswith("First sync (two billing cycles): 13 of 13 windows · ")
        assert f"· {last.requests:,} requests · " in text
        assert text in tip.splitlines()
        mid = seen[len(seen) // 2]
        assert f"{mid[0].windows_done} of 13 windows" in mid[2]
        assert c.window.sources.progress_bar.maximum() == 13
        # the pass is over: the progress goes away
        assert c.window.sources.progress_box.isHidden()
        assert c.tray is not None and "windows ·" not in c.tray.icon.toolTip()
        assert c.state.sync_key_label == "org-admin"
    finally:
        c.shutdown()
        c.window.deleteLater()
