"""App polish: no encoding is loaded until the tokenizer opens (then off the GUI thread), the
dashboard's geometry survives a restart (UI state file), and the tray's Tokenizer item opens a
working pane."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QSize
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.core import encodings, tokens
from monitor.gui.app import DASHBOARD_STATE_NAME, AppController
from monitor.gui.tokenizer.pane import TokenizerPane
from monitor.gui.window_state import WINDOWS_KEY, load_geometry, save_geometry
from monitor.services.alerting import PAUSE_KEY
from monitor.services.desktop_notify import Notification


def test_no_encoding_at_start_it_loads_off_the_gui_thread_when_the_tokenizer_opens(
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch,
        make_app: Callable[..., AppController]) -> None:
    monkeypatch.setattr(encodings, "_encodings", {})  # as in a fresh process
    built_on: list[threading.Thread] = []
    real = tokens.get_encoding

    def spy(name: str) -> Any:
        built_on.append(threading.current_thread())
        return real(name)

    monkeypatch.setattr(tokens, "get_encoding", spy)
    monkeypatch.setattr(encodings, "get_encoding", spy)
    c = make_app(with_tokenizer=True)
    c.start(poll=False)
    qtbot.wait(1000)  # the old preload fired after 300 ms: nothing may load by itself
    qtbot.waitUntil(lambda: c.runner.active == 0, timeout=10_000)
    assert encodings._encodings == {} and built_on == []
    assert c.window.tokenizer is None
    c.window.show_tokenizer()
    pane = c.window.tokenizer
    assert isinstance(pane, TokenizerPane)
    pane.set_text("hello tokens")
    qtbot.waitUntil(lambda: "o200k_base" in encodings._encodings, timeout=20_000)
    assert built_on and all(t is not threading.main_thread() for t in built_on)


def test_nothing_runs_in_the_background_without_the_tokenizer(
        qtbot: QtBot, make_app: Callable[..., AppController]) -> None:
    c = make_app(with_tokenizer=False)
    c.start(poll=False)
    qtbot.waitUntil(lambda: c.runner.active == 0, timeout=10_000)
    qtbot.wait(600)
    assert c.runner.active == 0


def test_dashboard_geometry_survives_a_restart(
        qtbot: QtBot, ctx: AppContext, make_app: Callable[..., AppController]) -> None:
    state = ctx.paths.state_file
    state.write_text(json.dumps({PAUSE_KEY: None, "future-key": [1, 2]}))
    first = make_app()
    assert not first.geometry_restored
    w = first.window
    w.show()
    w.resize(700, 640)
    w.move(33, 44)  # fits the offscreen screen (restore clamps to it)
    qtbot.waitUntil(lambda: w.size() == QSize(700, 640))
    w.close()  # tray mode: hides; remembered now, not only at quit
    data = json.loads(state.read_text())
    assert DASHBOARD_STATE_NAME in data[WINDOWS_KEY]
    assert data[PAUSE_KEY] is None and data["future-key"] == [1, 2]  # other state kept
    first.shutdown()

    second = make_app()
    assert second.geometry_restored
    assert second.window.size() == QSize(700, 640)
    moved = second.window.pos() - QPoint(33, 44)  # offscreen adds a fake frame of 1-2 px
    assert abs(moved.x()) <= 4 and abs(moved.y()) <= 4, second.window.pos()


def test_an_unreadable_state_file_means_default_geometry(
        ctx: AppContext, make_app: Callable[..., AppController]) -> None:
    ctx.paths.state_file.write_text("{not json")
    c = make_app()
    assert not c.geometry_restored
    assert c.window.size() == QSize(1100, 780)
    # A valid file with a damaged blob is ignored the same way.
    ctx.paths.state_file.write_text(json.dumps({WINDOWS_KEY: {DASHBOARD_STATE_NAME: "@@@"}}))
    assert load_geometry(ctx.paths.state_file, DASHBOARD_STATE_NAME) is None
    save_geometry(ctx.paths.state_file, "other", b"\x01\x02")
    assert load_geometry(ctx.paths.state_file, "other") == b"\x01\x02"


def test_tray_tokenizer_item_opens_a_working_pane(
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch,
        make_app: Callable[..., AppController]) -> None:
    from monitor.gui.tokenizer.pane import TokenizerPane

    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    c = make_app(with_tokenizer=True)
    c.start(poll=False)
    assert c.tray is not None and not c.window.isVisible()
    action = c.tray.find_action("tokenizer")
    assert action is not None
    action.trigger()
    qtbot.waitUntil(c.window.isVisible, timeout=2000)
    assert c.window.tabs.tabText(c.window.tabs.currentIndex()) == "Tokenizer"
    pane = c.window.tokenizer
    assert isinstance(pane, TokenizerPane)
    assert pane.isVisible()
    text = "Hello, tokenizer! 你好，世界"
    with qtbot.waitSignal(pane.analysis_updated, timeout=10_000):
        pane.set_text(text)
    result = pane.result
    assert result is not None
    assert getattr(result, "tokens", None) == tokens.count_tokens(text, "o200k_base")


def test_language_change_redraws_open_windows_live(
        qtbot: QtBot, qapp: Any, ctx: AppContext,
        make_app: Callable[..., AppController]) -> None:
    from monitor.gui import i18n
    from monitor.gui.tokenizer.pane import TokenizerPane

    c = make_app(with_tokenizer=True)
    try:
        with qtbot.waitSignal(c.state.snapshot_changed, timeout=10_000):
            c.start(poll=False)  # offscreen: no tray, so the window shows with a notice
        old = c.window
        old.resize(770, 720)  # fits the 800 px offscreen screen, above the minimum
        tokenizer_tab = old.tabs.count() - 1
        old.tabs.setCurrentIndex(tokenizer_tab)
        assert isinstance(old.tokenizer, TokenizerPane)
        old.tokenizer.set_text("keep me")
        size = old.size()  # the pane's minimum may have grown it a little
        assert size != QSize(1100, 780)
        assert old.tabs.tabText(0) == "Overview"
        english_notice = old.notice.label.text()

        c.apply_settings(ctx.settings.replace(language="zh_CN"))
        new = c.window
        assert new is not old and new.isVisible() and not old.isVisible()
        assert c.translators, "the zh_CN catalog must be installed"
        assert new.tabs.tabText(0) == "概览"
        assert new.notice.label.text() not in ("", english_notice)
        assert new.size() == size, (new.size(), size)
        assert new.tabs.currentIndex() == tokenizer_tab
        assert isinstance(new.tokenizer, TokenizerPane)
        assert new.tokenizer.editor.toPlainText() == "keep me"
        assert new.snapshot is c.state.snapshot  # figures shown at once, no new poll
        assert not getattr(c, "quit_called", False)
        # Signals reach the new window: a banner lands there.
        c.notifier.banner_requested.emit(Notification("Title", "Body"))
        assert not new.banner.isHidden()

        c.apply_settings(ctx.settings.replace(language="en"))
        assert c.window.tabs.tabText(0) == "Overview"
    finally:
        i18n.remove(qapp, c.translators)
        c.translators = []

