"""Settings dialog rough edges (issue 16): thresholds as people type them, a limit of 0
explained, no growth while typing, and refusal reasons in the UI language."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui import i18n
from monitor.gui.settings_dialog import SettingsDialog


def _edit(d: SettingsDialog, key: str) -> QLineEdit:
    w = d.field(key)
    assert isinstance(w, QLineEdit)
    return w


@pytest.mark.parametrize(("typed", "want"), [("50 80 90", (50, 80, 90)),
                                             ("50%", (50,)),
                                             ("50%, 80 %;100", (50, 80, 100)),
                                             ("90,50", (50, 90))])
def test_thresholds_as_people_type_them(qtbot: QtBot, ctx: AppContext, typed: str,
                                        want: tuple[int, ...]) -> None:
    d = SettingsDialog(ctx.settings)
    qtbot.addWidget(d)
    _edit(d, "alert_thresholds_pct").setText(typed)
    assert d.error_text("alert_thresholds_pct") == ""
    d.accept()
    new = d.result_settings()
    assert new is not None and new.alert_thresholds_pct == want


def test_limit_zero_is_explained(qtbot: QtBot, ctx: AppContext) -> None:
    d = SettingsDialog(ctx.settings)
    qtbot.addWidget(d)
    assert d.limit_note() == ""
    _edit(d, "monthly_limit_usd").setText("0")
    assert d.limit_note().startswith("0 means no limit")
    assert d.error_text("monthly_limit_usd") == ""
    _edit(d, "monthly_limit_usd").setText("25")
    assert d.limit_note() == ""


def test_the_dialog_does_not_grow_while_typing(qtbot: QtBot, ctx: AppContext) -> None:
    d = SettingsDialog(ctx.settings)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    before = d.size()
    field = _edit(d, "monthly_limit_usd")
    for n in range(1, 120, 7):  # a long, wrong value typed key by key
        field.setText("x" * n)
        QApplication.processEvents()
        assert d.width() <= before.width(), n
    assert d.error_text("monthly_limit_usd").startswith("Not accepted:")
    assert d.height() <= before.height() + 4
    field.setText("120")
    QApplication.processEvents()
    assert d.size() == before


@pytest.fixture
def chinese(qapp: QApplication) -> Iterator[None]:
    translators = i18n.install(qapp, "zh_CN")
    yield
    i18n.remove(qapp, translators)


def test_refusal_details_in_chinese(qtbot: QtBot, ctx: AppContext, chinese: None) -> None:
    d = SettingsDialog(ctx.settings)
    qtbot.addWidget(d)
    _edit(d, "cycle_start_day").setText("40")
    text = d.error_text("cycle_start_day")
    assert text.startswith("无效") and "1" in text and "31" in text
    assert "must" not in text
    _edit(d, "monthly_limit_usd").setText("abc")
    assert "'abc'" in d.error_text("monthly_limit_usd")
    assert "not a number" not in d.error_text("monthly_limit_usd")
    assert "保存" in d._language_note.text()
