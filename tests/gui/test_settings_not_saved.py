"""The Settings dialog's save on a settings.json that cannot be written: a banner says so,
the file is left as it is, and the app keeps running on the settings it had."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui.app import AppController
from monitor.gui.app_jobs import NO_ADMIN_KEY


@pytest.fixture
def app(qtbot: QtBot, ctx: AppContext) -> Iterator[AppController]:
    c = AppController(ctx, sync=lambda: NO_ADMIN_KEY, use_freedesktop=False,
                      with_tokenizer=False)
    c.quit_requested = lambda: None  # type: ignore[method-assign]
    yield c
    c.shutdown()
    c.window.deleteLater()


def test_saving_over_a_directory_shows_a_banner_and_keeps_it(
        app: AppController, ctx: AppContext, qtbot: QtBot) -> None:
    with qtbot.waitSignal(app.state.snapshot_changed, timeout=10_000):
        app.start(poll=False)
    before = ctx.settings
    ctx.paths.settings_file.mkdir()
    (ctx.paths.settings_file / "mine.txt").write_text("keep")
    app.apply_settings(before.replace(monthly_limit_usd="5"))
    text = app.window.banner.label.text()
    assert not app.window.banner.isHidden()
    assert "Settings not saved" in text and "is a directory" in text
    assert ctx.settings == before  # still the settings in force
    assert (ctx.paths.settings_file / "mine.txt").read_text() == "keep"
