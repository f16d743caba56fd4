"""Settings dialog (round-trip, refusal in place, test notification) and keys dialog."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDialogButtonBox, QLineEdit
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.gui.keys_dialog import KeysDialog
from monitor.gui.settings_dialog import SettingsDialog
from monitor.gui.tasks import TaskRunner
from monitor.services.key_meta import KeyMeta
from monitor.services.keyring_vault import KeyringUnavailable, MemoryVault
from monitor.services.keyvault import KeyStore
from monitor.services.settings_file import load_settings

SECRET = "sk-admin-unit0123456789abcdefWXYZ"


def _edit(d: SettingsDialog, key: str) -> QLineEdit:
    w = d.field(key)
    assert isinstance(w, QLineEdit), key
    return w


def _ok_enabled(d: SettingsDialog) -> bool:
    box = d.findChild(QDialogButtonBox)
    assert box is not None
    return box.button(QDialogButtonBox.StandardButton.Ok).isEnabled()


def test_settings_round_trip_through_the_file(qtbot: QtBot, ctx: AppContext) -> None:
    d = SettingsDialog(ctx.settings)
    qtbot.addWidget(d)
    _edit(d, "monthly_limit_usd").setText("250.50")
    _edit(d, "cycle_start_day").setText("15")
    _edit(d, "alert_thresholds_pct").setText("75, 95")
    _edit(d, "poll_interval_s").setText("600")
    tz = d.field("today_timezone")
    assert isinstance(tz, QComboBox)
    tz.setCurrentText("Europe/Paris")
    proxy = d.field("proxy_enabled")
    assert isinstance(proxy, QCheckBox)
    proxy.setChecked(True)
    _edit(d, "proxy_port").setText("9000")
    _edit(d, "prepaid_credit_usd").setText("100")
    _edit(d, "prepaid_purchased").setText("2026-10-01")
    _edit(d, "prepaid_expires").setText("2027-10-01")
    lang = d.field("language")
    assert isinstance(lang, QComboBox)
    lang.setCurrentIndex(lang.findData("zh_CN"))
    assert not d._language_note.isHidden()
    assert d._language_note.text().endswith("when you press Save.")  # the button says Save
    d.accept()
    new = d.result_settings()
    assert new is not None
    ctx.save_settings(new)

    loaded = load_settings(ctx.paths.settings_file)
    assert loaded.warnings == []
    s = loaded.settings
    assert (s.monthly_limit_usd, s.cycle_start_day, s.alert_thresholds_pct) == (
        Decimal("250.50"), 15, (75, 95))
    assert (s.poll_interval_s, s.today_timezone, s.proxy_enabled, s.proxy_port) == (
        600, "Europe/Paris", True, 9000)
    assert (s.prepaid_credit_usd, s.prepaid_purchased, s.prepaid_expires) == (
        Decimal(100), date(2026, 10, 1), date(2027, 10, 1))
    assert s.language == "zh_CN"

    # A new dialog shows what the file holds.
    d2 = SettingsDialog(s)
    qtbot.addWidget(d2)
    assert Decimal(_edit(d2, "monthly_limit_usd").text()) == Decimal("250.50")
    assert _edit(d2, "alert_thresholds_pct").text() == "75, 95"
    assert _edit(d2, "prepaid_expires").text() == "2027-10-01"
    tz2 = d2.field("today_timezone")
    assert isinstance(tz2, QComboBox) and tz2.currentText() == "Europe/Paris"
    lang2 = d2.field("language")
    assert isinstance(lang2, QComboBox) and lang2.currentData() == "zh_CN"


@pytest.mark.parametrize(("key", "bad", "reason"), [
    ("monthly_limit_usd", "abc", "'abc' is not a number"),
    ("monthly_limit_usd", "-5", "must be at least 0"),
    ("cycle_start_day", "32", "must be between 1 and 31"),
    ("alert_thresholds_pct", "50, lots", "'lots' is not a whole number"),
    ("poll_interval_s", "5", "must be between 30 and 86400"),
    ("proxy_port", "70000", "must be between 1 and 65535"),
    ("prepaid_expires", "next year", "must be a date as YYYY-MM-DD"),
])
def test_invalid_value_is_refused_in_place(qtbot: QtBot, ctx: AppContext, key: str, bad: str,
                                           reason: str) -> None:
    d = SettingsDialog(ctx.settings)
    qtbot.addWidget(d)
    assert d.error_text(key) == "" and _ok_enabled(d)
    _edit(d, key).setText(bad)
    assert d.error_text(key) == f"Not accepted: {reason}"
    assert not _ok_enabled(d)
    d.accept()  # pressing Enter anyway does not close it or return settings
    assert d.result_settings() is None
    assert d.result() == 0
    original = SettingsDialog(ctx.settings)
    qtbot.addWidget(original)
    _edit(d, key).setText(_edit(original, key).text())
    assert d.error_text(key) == "" and _ok_enabled(d)


def test_bad_time_zone_refused(qtbot: QtBot, ctx: AppContext) -> None:
    d = SettingsDialog(ctx.settings)
    qtbot.addWidget(d)
    tz = d.field("today_timezone")
    assert isinstance(tz, QComboBox)
    tz.setCurrentText("Mars/Olympus")
    assert d.error_text("today_timezone") == "Not accepted: unknown time zone 'Mars/Olympus'"


def test_send_test_notification_button(qtbot: QtBot, ctx: AppContext) -> None:
    calls: list[int] = []
    d = SettingsDialog(ctx.settings, on_test_notification=lambda: calls.append(1))
    qtbot.addWidget(d)
    d._test_button.click()
    assert calls == [1]


# --- keys ------------------------------------------------------------------------------------


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys.json", MemoryVault())


def test_keys_dialog_add_test_remove(qtbot: QtBot, keys: KeyStore, runner: TaskRunner,
                                     tmp_path: Path) -> None:
    tested: list[tuple[str, str]] = []

    def tester(meta: KeyMeta, secret: str) -> str:
        tested.append((meta.label, secret))
        return "valid: the key can read organization usage"

    asked: list[str] = []
    d = KeysDialog(keys, runner, tester=tester, today=lambda: date(2026, 11, 20),
                   confirm=lambda _t, q: asked.append(q) is None)
    qtbot.addWidget(d)
    assert d.table.rowCount() == 0
    assert d.secret_edit.echoMode() == QLineEdit.EchoMode.Password
    d.label_edit.setText("org-admin")
    d.kind_combo.setCurrentIndex(d.kind_combo.findData("admin"))
    d.secret_edit.setText(SECRET)
    d.expires_edit.setText("2026-11-25")
    with qtbot.waitSignal(d.keys_changed, timeout=5000):
        d.add_button.click()
    assert d.labels() == ["org-admin"]
    row = [d.table.item(0, c).text() for c in range(6)]
    assert row[:3] == ["org-admin", "admin", "sk-…WXYZ"]
    assert row[4] == "0 day(s)"  # its age
    assert row[5] == "expires in 5 day(s)"
    assert d.secret_edit.text() == ""  # the secret does not linger in the field
    assert SECRET not in (tmp_path / "keys.json").read_text()
    assert keys.vault.get("org-admin") == SECRET
    assert d.status.text() == ("Added org-admin (sk-…WXYZ). Test: valid: the key can read "
                               "organization usage")
    assert tested == [("org-admin", SECRET)]  # tested on Add, before it was stored

    d.select("org-admin")
    assert d.test_button.isEnabled()
    d.test_button.click()
    qtbot.waitUntil(lambda: d.busy == 0 and "valid" in d.status.text(), timeout=5000)
    assert tested == [("org-admin", SECRET)] * 2
    assert SECRET not in d.status.text()

    with qtbot.waitSignal(d.keys_changed, timeout=5000):
        d.remove_button.click()
    assert d.labels() == [] and keys.vault.get("org-admin") is None
    assert len(asked) == 1 and "Remove the key org-admin (sk-…WXYZ)?" in asked[0]
    assert "only admin key" in asked[0]


def test_keys_dialog_shows_bad_input_inline(qtbot: QtBot, keys: KeyStore,
                                            runner: TaskRunner) -> None:
    d = KeysDialog(keys, runner)
    qtbot.addWidget(d)
    d.label_edit.setText("bad label!")
    d.secret_edit.setText(SECRET)
    d.add_button.click()
    assert d.field_error("label").startswith("Use letters, digits and . _ - @ + only")
    assert d.field_error("secret") == "" and d.busy == 0
    assert d.labels() == []
    d.label_edit.setText("ok")  # fixing the field clears its message
    assert d.field_error("label") == ""
    d.expires_edit.setText("tomorrow")
    d.add_button.click()
    assert d.field_error("expires").startswith("Write the date as YYYY-MM-DD")
    assert d.labels() == []


class _LockedVault(MemoryVault):
    def backend(self) -> Any:
        raise KeyringUnavailable("no keyring backend is installed or reachable")

    def set(self, label: str, secret: str) -> None:
        self.backend()


def test_keys_dialog_explains_unavailable_keyring(qtbot: QtBot, tmp_path: Path,
                                                  runner: TaskRunner) -> None:
    d = KeysDialog(KeyStore(tmp_path / "keys.json", _LockedVault()), runner)
    qtbot.addWidget(d)
    qtbot.waitUntil(lambda: not d.keyring_notice.isHidden(), timeout=5000)
    text = d.keyring_notice.text()
    assert "The system keyring cannot be used" in text
    assert "no keyring backend is installed or reachable" in text
    assert "never stores keys in a plain file" in text
    assert not d.add_button.isEnabled()


def test_settings_show_the_price_table_date_and_warn_when_old(qtbot: QtBot,
                                                              ctx: AppContext) -> None:
    as_of = ctx.prices().as_of
    fresh = SettingsDialog(ctx.settings, prices_as_of=as_of,
                           today=date.fromordinal(as_of.toordinal() + 90))
    qtbot.addWidget(fresh)
    assert fresh.prices_note.text() == f"Prices as of {as_of.isoformat()} (90 days old)."
    assert fresh.prices_note.styleSheet() == ""
    stale = SettingsDialog(ctx.settings, prices_as_of=as_of,
                           today=date.fromordinal(as_of.toordinal() + 91))
    qtbot.addWidget(stale)
    text = stale.prices_note.text()
    assert text.startswith(f"Prices as of {as_of.isoformat()} (91 days old). The price table "
                           "is over 90 days old")
    assert "token-monitor price import FILE" in text and "c62828" in stale.prices_note.styleSheet()
    plain = SettingsDialog(ctx.settings)
    qtbot.addWidget(plain)
    assert plain.prices_note.isHidden()


def test_the_local_time_zone_reads_in_chinese_and_is_saved_as_local(
        qtbot: QtBot, ctx: AppContext, qapp: object) -> None:
    from monitor.gui import i18n

    translators = i18n.install(qapp, "zh_CN")  # type: ignore[arg-type]
    try:
        d = SettingsDialog(ctx.settings)  # today_timezone is "local" by default
        qtbot.addWidget(d)
        tz = d.field("today_timezone")
        assert isinstance(tz, QComboBox) and tz.currentText() == "本地"
        assert "local" not in [tz.itemText(i) for i in range(tz.count())]
        d.accept()
        result = d.result_settings()
        assert result is not None and result.today_timezone == "local"
    finally:
        i18n.remove(qapp, translators)  # type: ignore[arg-type]
