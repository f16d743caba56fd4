"""The welcome panel: shown on an empty home, gone once data arrives, dismissable, and each
path reaching its target (keys dialog → test → first sync; proxy on → lines to paste;
tokenizer)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.core.records import ProxyRecord
from monitor.gui.app import AppController
from monitor.gui.app_jobs import NO_ADMIN_KEY
from monitor.gui.keys_dialog import KeysDialog
from monitor.gui.welcome import (
    ADMIN_KEYS_URL,
    PATH_ADMIN,
    PATH_DESKTOP,
    PATH_PROXY,
    PATH_TOKENIZER,
)
from monitor.services.key_meta import KeyMeta
from monitor.services.keyring_vault import MemoryVault
from monitor.services.keyvault import KeyStore
from monitor.services.snapshot import DashboardSnapshot
from tests.e2e.seed import proxy_record
from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.server import ServerThread

SECRET = "sk-admin-welcomeTEST000000000000WXYZ"


@pytest.fixture
def make_app(make_app: Callable[..., AppController], ctx: AppContext,
             monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppController]:
    """conftest's make_app with a tray and an in-memory key vault."""
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    ctx._keys = KeyStore(ctx.paths.keys_file, MemoryVault())  # no keyring needed here
    return make_app


def _start(qtbot: QtBot, c: AppController, poll: bool = False) -> DashboardSnapshot:
    with qtbot.waitSignal(c.state.snapshot_changed, timeout=10_000) as blocker:
        c.start(poll=poll)
    snap = blocker.args[0]
    assert isinstance(snap, DashboardSnapshot)
    return snap


def test_shown_on_an_empty_home_and_stays_until_its_lines_are_copied_and_data_came(
        qtbot: QtBot, ctx: AppContext, make_app: Callable[..., AppController]) -> None:
    c = make_app()
    snap = _start(qtbot, c)
    assert not snap.has_data
    assert c.welcome.active
    w = c.window
    assert w.isVisible()  # a first start with a tray opens the dashboard on the panel
    assert w.welcome.intro.text().startswith("Nothing is set up yet")
    assert not w.welcome.isHidden() and w.charts.isHidden()  # no empty charts meanwhile
    assert w.header.isHidden()  # nor zero counters
    assert c.tray is not None
    assert c.tray.icon.toolTip().startswith("Token Monitor is not set up yet")
    c.tray.rebuild_menu()
    texts = c.tray.menu_texts()
    assert "Read my organization's usage…" in texts and "Just count tokens…" in texts
    assert c.tray.find_action("welcome-proxy") is not None

    w.welcome.show_proxy_lines(["export OPENAI_BASE_URL=http://127.0.0.1:8787/v1"])
    ctx.store().add_proxy_record(proxy_record(datetime.now(UTC), Decimal("0.50")))
    with qtbot.waitSignal(c.state.snapshot_changed, timeout=10_000) as blocker:
        c.state.refresh()
    assert blocker.args[0].has_data
    assert c.welcome.active and not w.welcome.isHidden()  # the lines not copied yet: stays
    assert "first figures in" in w.welcome.intro.text()
    w.welcome.copy_lines()
    with qtbot.waitSignal(c.state.snapshot_changed, timeout=10_000):
        c.state.refresh()
    assert not c.welcome.active
    assert w.welcome.isHidden() and not w.charts.isHidden()
    assert not w.header.isHidden()
    assert not c.tray.icon.toolTip().startswith("Token Monitor is not set up yet")
    c.tray.rebuild_menu()
    assert c.tray.find_action("welcome-proxy") is None


def test_without_lines_to_paste_it_goes_once_data_comes(
        qtbot: QtBot, ctx: AppContext, make_app: Callable[..., AppController]) -> None:
    c = make_app()  # e.g. the admin-key path: nothing to copy, the first sync brings data
    _start(qtbot, c)
    assert c.welcome.active
    ctx.store().add_proxy_record(proxy_record(datetime.now(UTC), Decimal("0.50")))
    with qtbot.waitSignal(c.state.snapshot_changed, timeout=10_000):
        c.state.refresh()
    assert not c.welcome.active and not c.window.charts.isHidden()


def test_not_shown_when_data_or_a_key_exists(qtbot: QtBot, ctx: AppContext,
                                             make_app: Callable[..., AppController]) -> None:
    ctx.keys().add("org-admin", "admin", SECRET)
    c = make_app()
    _start(qtbot, c)
    assert not c.welcome.active and c.window.welcome.isHidden()


def test_dismissed_stays_dismissed_across_restarts(
        qtbot: QtBot, make_app: Callable[..., AppController]) -> None:
    c = make_app()
    _start(qtbot, c)
    assert c.welcome.active
    c.window.welcome.findChild(object, "welcome-dismiss").click()
    assert not c.welcome.active and c.window.welcome.isHidden()
    assert not c.window.charts.isHidden()
    again = make_app()
    _start(qtbot, again)
    assert not again.welcome.active


def test_admin_path_opens_the_add_form_tests_the_key_then_syncs(
        qtbot: QtBot, ctx: AppContext, make_app: Callable[..., AppController],
        monkeypatch: pytest.MonkeyPatch) -> None:
    syncs: list[int] = []

    def sync() -> object:
        syncs.append(1)
        return NO_ADMIN_KEY if ctx.keys().admin_credential() is None else "synced"

    tested: list[str] = []

    def tester(meta: KeyMeta, secret: str) -> str:
        tested.append(meta.label)
        return "valid: the key can read organization usage"

    monkeypatch.setattr("monitor.gui.app.make_key_tester", lambda _ctx: tester)
    opened: list[KeysDialog] = []

    def fake_exec(dialog: KeysDialog) -> int:  # instead of a modal loop: the user's clicks
        opened.append(dialog)
        dialog.label_edit.setText("org-admin")
        dialog.secret_edit.setText(SECRET)
        with qtbot.waitSignal(dialog.keys_changed, timeout=5000):
            dialog.add_button.click()
        return 0

    monkeypatch.setattr(KeysDialog, "exec", fake_exec)
    c = make_app(sync=sync)
    _start(qtbot, c, poll=True)
    qtbot.waitUntil(lambda: bool(syncs) and not c.poller.running, timeout=5000)
    first = len(syncs)
    c.window.welcome.buttons[PATH_ADMIN].click()
    assert len(opened) == 1
    d = opened[0]
    assert "Admin keys" in d.intro.text() and not d.intro.isHidden()
    assert f'<a href="{ADMIN_KEYS_URL}">' in d.intro.text() and d.intro.openExternalLinks()
    assert tested == ["org-admin"]  # tested before it was stored
    qtbot.waitUntil(lambda: len(syncs) > first, timeout=5000)  # the first sync started
    assert ctx.keys().admin_credential() is not None


def test_proxy_path_turns_the_proxy_on_and_shows_lines_to_paste(
        qtbot: QtBot, ctx: AppContext, make_app: Callable[..., AppController]) -> None:
    from monitor.services.proxy.server import MeteringProxy

    with ServerThread(FakeUpstream().make_app) as upstream:
        def factory(on_record: Callable[[ProxyRecord], None]) -> MeteringProxy:
            return MeteringProxy(upstream=upstream.base_url + "/v1",
                                 store_path=ctx.paths.db_file, prices=ctx.prices(), port=0,
                                 on_record=on_record)

        c = make_app(proxy_factory=factory)
        # issue 12's virtual keys hook in here: one more line once they exist
        c.welcome.line_providers.append(lambda url: f"# proxy at {url}")
        _start(qtbot, c)
        assert c.welcome.active and not ctx.settings.proxy_enabled
        with qtbot.waitSignal(c.proxy.started, timeout=10_000) as started:
            c.window.welcome.buttons[PATH_PROXY].click()
        url = started.args[0]
        assert ctx.settings.proxy_enabled  # saved: it stays on after a restart
        lines = c.window.welcome.lines.toPlainText().splitlines()
        assert lines == [f"export OPENAI_BASE_URL={url}", f"# proxy at {url}"]
        assert not c.window.welcome.lines.isHidden()
        assert not c.window.welcome.buttons[PATH_PROXY].isEnabled()
        c.window.welcome.copy_button.click()
        assert QGuiApplication.clipboard().text() == "\n".join(lines)
        assert c.welcome.active  # still up: nothing was metered yet
        # It says what is set up, not "Nothing is set up yet".
        qtbot.waitUntil(lambda: f"Proxy on at {url}" in c.window.welcome.intro.text(),
                        timeout=10_000)
        assert c.window.welcome.intro.text().startswith("Set up so far:")


def test_the_admin_keys_page_is_a_link(qtbot: QtBot,
                                       make_app: Callable[..., AppController]) -> None:
    from PySide6.QtWidgets import QLabel

    c = make_app()
    _start(qtbot, c)
    text = c.window.welcome.findChild(QLabel, "welcome-admin-text")
    assert isinstance(text, QLabel)
    assert f'<a href="{ADMIN_KEYS_URL}">' in text.text() and text.openExternalLinks()
    assert ADMIN_KEYS_URL.startswith("https://platform.openai.com/")


def test_tokenizer_path_opens_the_tokenizer(qtbot: QtBot,
                                            make_app: Callable[..., AppController]) -> None:
    c = make_app(with_tokenizer=True)
    _start(qtbot, c)
    c.window.welcome.buttons[PATH_TOKENIZER].click()
    assert c.window.tabs.tabText(c.window.tabs.currentIndex()) == "Tokenizer"
    assert c.window.tokenizer is not None and c.window.isVisible()


def test_the_tray_menu_offers_the_same_paths(qtbot: QtBot,
                                             make_app: Callable[..., AppController]) -> None:
    c = make_app(with_tokenizer=True)
    _start(qtbot, c)
    assert c.tray is not None
    c.tray.rebuild_menu()
    action = c.tray.find_action("welcome-tokenizer")
    assert action is not None
    action.trigger()
    assert c.window.tabs.tabText(c.window.tabs.currentIndex()) == "Tokenizer"


def test_desktop_path_adds_the_app_to_the_menu(qtbot: QtBot, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               make_app: Callable[..., AppController]) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    c = make_app()
    _start(qtbot, c)
    button = c.window.welcome.buttons[PATH_DESKTOP]
    assert button.isEnabled()
    button.click()
    entry = tmp_path / "share" / "applications" / "token-monitor.desktop"
    assert entry.exists() and "StartupWMClass=token-monitor" in entry.read_text()
    assert not button.isEnabled()
    assert "added to the application menu" in c.window.banner.label.text()


def test_the_panel_speaks_chinese(qtbot: QtBot, qapp: Any) -> None:
    from monitor.gui import i18n
    from monitor.gui.welcome import WelcomePanel

    translators = i18n.install(qapp, "zh_CN")
    try:
        panel = WelcomePanel()
        qtbot.addWidget(panel)
        assert panel.buttons[PATH_ADMIN].text() == "添加管理员密钥…"
        assert panel.buttons[PATH_TOKENIZER].text() == "打开分词器"
        assert panel.buttons[PATH_DESKTOP].text() == "添加到应用程序菜单"
    finally:
        i18n.remove(qapp, translators)
