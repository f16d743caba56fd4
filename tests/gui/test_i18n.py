"""The dashboard renders in English and in Simplified Chinese (shipped .qm), system or setting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QLocale, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui import i18n
from monitor.gui.dashboard.window import DashboardWindow
from monitor.gui.tasks import TaskRunner
from monitor.gui.tray import TrayIcon
from monitor.services.snapshot import DashboardSnapshot
from tests.gui.conftest import make_state, seed_spend, snapshot_of


@pytest.fixture
def english(qapp: QApplication) -> Iterator[None]:
    translators = i18n.install(qapp, "en")
    yield
    i18n.remove(qapp, translators)


@pytest.fixture
def chinese(qapp: QApplication) -> Iterator[None]:
    translators = i18n.install(qapp, "zh_CN")
    assert translators, "token_monitor_zh_CN.qm must load"
    yield
    i18n.remove(qapp, translators)


def _render(qtbot: QtBot, ctx: AppContext, runner: TaskRunner,
            tmp_path: Path, name: str) -> tuple[DashboardWindow, TrayIcon]:
    seed_spend(ctx, today_usd="1.23", earlier_usd="46.87")
    state = make_state(ctx, runner)
    window = DashboardWindow()
    qtbot.addWidget(window)
    tray = TrayIcon()
    state.snapshot_changed.connect(window.show_snapshot)
    state.snapshot_changed.connect(tray.set_snapshot)
    snap = snapshot_of(qtbot, state)
    assert isinstance(snap, DashboardSnapshot)
    window.show()
    qtbot.waitExposed(window)
    assert window.grab().save(str(tmp_path / f"{name}.png"))
    return window, tray


def test_dashboard_in_english(qtbot: QtBot, utc_ctx: AppContext, runner: TaskRunner,
                              tmp_path: Path, english: None) -> None:
    window, tray = _render(qtbot, utc_ctx, runner, tmp_path, "en")
    try:
        assert window.tabs.tabText(0) == "Overview"
        assert window.header.cycle_title.text() == "This cycle (Nov 1 – Nov 30)"
        assert window.header.today_requests.text() == "1 request · 1,100 tokens"
        assert tray.icon.toolTip() == "Today $1.23 · Nov $48.10 of $120 (40 %)"
    finally:
        tray.dispose()


def test_dashboard_in_simplified_chinese(qtbot: QtBot, utc_ctx: AppContext, runner: TaskRunner,
                                         tmp_path: Path, chinese: None) -> None:
    window, tray = _render(qtbot, utc_ctx, runner, tmp_path, "zh_CN")
    try:
        assert window.tabs.tabText(0) == "概览"
        assert window.tabs.tabText(1) == "按模型"
        assert window.header.cycle_title.text() == "本周期（11月1日 – 11月30日）"
        assert window.header.today_requests.text() == "1 次请求 · 1,100 个 token"
        assert window.header.cycle_savings.text().startswith("本周期缓存节省了 $")
        assert window.model_rows.headerData(1, Qt.Orientation.Horizontal) == "请求数"
        assert tray.icon.toolTip().startswith("今日 $1.23 · 11月 $48.10 / $120（40 %）")
        tray.menu.aboutToShow.emit()
        assert "打开仪表盘" in tray.menu_texts()
    finally:
        tray.dispose()


def test_language_follows_setting_then_system_locale() -> None:
    assert i18n.pick_language("zh_CN") == "zh_CN"
    assert i18n.pick_language("en", QLocale(QLocale.Language.Chinese)) == "en"
    assert i18n.pick_language("system", QLocale(QLocale.Language.Chinese,
                                                QLocale.Country.China)) == "zh_CN"
    assert i18n.pick_language("system", QLocale(QLocale.Language.German)) == "en"
    assert Path(i18n.qm_path("zh_CN")).is_file()
    assert QCoreApplication.translate("texts", "within the limit") == "within the limit"


@pytest.mark.gui
@pytest.mark.parametrize(
    ("kind", "params", "zh_title", "en_word"),
    [
        ("spike_hour", (("spend", "$9.00"), ("factor", "4.5"), ("median", "$2.00")),
         "本小时花费激增", "$9.00"),
        ("proxy_key_rejected", (("label", "ci-key"), ("count", "3")), "API 密钥被拒绝", "ci-key"),
    ],
)
def test_every_alert_kind_has_a_translated_notification(
    chinese: None, kind: str, params: tuple[tuple[str, str], ...], zh_title: str, en_word: str
) -> None:
    from monitor.gui.alerts import notification_for
    from monitor.services.alerting import Alert

    alert = Alert(kind, "k", params=params)
    n = notification_for(alert)
    assert n.title == zh_title
    assert en_word in n.body and "English" not in n.body
