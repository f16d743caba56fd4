"""The virtual keys panel of the API keys dialog: bars, create (token once), remove; the
dashboard's per-key table naming virtual keys; cap alerts once per period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLineEdit, QVBoxLayout
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.core.clock import fixed_clock
from monitor.gui.keys_dialog import KeysDialog
from monitor.gui.tasks import TaskRunner
from monitor.gui.virtual_keys_panel import VirtualKeyDesk, VirtualKeysPanel, add_to_keys_dialog
from monitor.services.keyring_vault import MemoryVault
from monitor.services.keyvault import KeyStore
from monitor.services.virtual_keys import VirtualKeys, hash_token
from tests.e2e.seed import seed_proxy_spend
from tests.gui.conftest import NOW

REAL_KEY = "sk-proj-REALpanel0123456789abcdefghijKLMN"


@pytest.fixture
def vctx(utc_ctx: AppContext) -> AppContext:
    utc_ctx.clock = fixed_clock(NOW)
    utc_ctx._keys = KeyStore.open(utc_ctx.paths.keys_file, vault=MemoryVault())
    utc_ctx.keys().add("team", "project", REAL_KEY)
    utc_ctx.keys().add("org-admin", "admin", "sk-admin-ADMINkey0123456789abcdefgh")
    return utc_ctx


def _panel(qtbot: QtBot, ctx: AppContext, runner: TaskRunner,
           confirm: bool = True) -> VirtualKeysPanel:  # fmt: skip
    panel = VirtualKeysPanel(VirtualKeyDesk(ctx), runner, confirm=lambda _label: confirm)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.busy == 0, timeout=5000)
    return panel


def test_panel_lists_spend_against_cap_with_bars(qtbot: QtBot, vctx: AppContext,
                                                 runner: TaskRunner) -> None:
    vk = VirtualKeys(vctx.store())
    vk.add("notes-bot", "team", now=NOW, cap_usd=Decimal(5), per="day", hard=True)
    vk.add("ci", "team", now=NOW)
    # $1.25 today, and $3 yesterday that a day cap does not count
    seed_proxy_spend(vctx.store(), [(NOW - timedelta(hours=1), Decimal("1.25")),
                                    (NOW - timedelta(days=1), Decimal(3))],
                     key_label="notes-bot")
    panel = _panel(qtbot, vctx, runner)
    assert panel.labels() == ["ci", "notes-bot"]
    assert panel.bar_text("notes-bot") == "$1.25 of $5.00 (25 %)"
    assert panel.bar_text("ci") == "$0.00 spent · no cap"
    row = [panel.table.item(1, c).text() for c in (0, 1, 3, 4)]
    assert row == ["notes-bot", "team", "today", "hard: refuses past it"]


def test_create_shows_the_token_once_masked_until_asked(
    qtbot: QtBot, vctx: AppContext, runner: TaskRunner, home: Path
) -> None:
    panel = _panel(qtbot, vctx, runner)
    panel.open_new()
    d = panel.new_dialog
    assert d is not None
    assert [d.for_combo.itemData(i) for i in range(d.for_combo.count())] == ["team"]
    d.label_edit.setText("notes-bot")
    d.hard_check.setChecked(True)
    d.create_button.click()  # a hard cap without an amount
    assert "needs an amount" in d.error.text() and d.pages.currentIndex() == 0
    d.cap_edit.setText("2.50")
    d.per_combo.setCurrentIndex(d.per_combo.findData("day"))
    with qtbot.waitSignal(panel.changed, timeout=5000):
        d.create_button.click()
    assert d.pages.currentIndex() == 1
    token = d.token_edit.text()
    assert token.startswith("tm-") and len(token) >= 46
    assert d.token_edit.echoMode() == QLineEdit.EchoMode.Password
    shown = d.env_text.toPlainText()
    assert token not in shown and f"tm-…{token[-4:]}" in shown
    assert "export OPENAI_BASE_URL=http://127.0.0.1:8787/v1" in shown
    d.copy_env_button.click()
    assert QGuiApplication.clipboard().text() == (
        "export OPENAI_BASE_URL=http://127.0.0.1:8787/v1\n"
        f"export OPENAI_API_KEY={token}")
    d.copy_button.click()
    assert QGuiApplication.clipboard().text() == token
    d.show_button.click()
    assert d.token_edit.echoMode() == QLineEdit.EchoMode.Normal
    assert f"OPENAI_API_KEY={token}" in d.env_text.toPlainText()
    d.accept()
    assert d.token_edit.text() == "" and token not in d.env_text.toPlainText()
    QGuiApplication.clipboard().clear()
    qtbot.waitUntil(lambda: panel.busy == 0 and "notes-bot" in panel.labels(), timeout=5000)
    assert panel.bar_text("notes-bot") == "$0.00 of $2.50 (0 %)"
    stored = VirtualKeys(vctx.store()).get("notes-bot")
    assert stored.token_sha256 == hash_token(token) and stored.hard
    for f in (f for f in home.rglob("*") if f.is_file()):
        assert token.encode() not in f.read_bytes()


def test_create_refuses_a_label_taken_by_a_stored_key(qtbot: QtBot, vctx: AppContext,
                                                      runner: TaskRunner) -> None:
    panel = _panel(qtbot, vctx, runner)
    panel.open_new()
    d = panel.new_dialog
    assert d is not None
    d.label_edit.setText("team")
    d.create_button.click()
    qtbot.waitUntil(lambda: d.busy == 0, timeout=5000)
    assert "already the label of a stored key" in d.error.text()
    assert d.pages.currentIndex() == 0 and VirtualKeys(vctx.store()).list() == []


def test_remove_asks_then_removes(qtbot: QtBot, vctx: AppContext, runner: TaskRunner) -> None:
    VirtualKeys(vctx.store()).add("old-app", "team", now=NOW)
    refused = _panel(qtbot, vctx, runner, confirm=False)
    refused.select("old-app")
    refused.remove_button.click()
    assert VirtualKeys(vctx.store()).list() != []
    panel = _panel(qtbot, vctx, runner)
    panel.select("old-app")
    with qtbot.waitSignal(panel.changed, timeout=5000):
        panel.remove_button.click()
    assert VirtualKeys(vctx.store()).list() == []
    qtbot.waitUntil(lambda: panel.busy == 0 and panel.labels() == [], timeout=5000)


def test_panel_sits_in_the_keys_dialog(qtbot: QtBot, vctx: AppContext,
                                       runner: TaskRunner) -> None:
    dialog = KeysDialog(vctx.keys(), runner)
    qtbot.addWidget(dialog)
    panel = add_to_keys_dialog(dialog, vctx, runner, dialog.keys_changed)
    layout = dialog.layout()
    assert isinstance(layout, QVBoxLayout)
    assert layout.indexOf(panel) == layout.count() - 2  # just above the Close button
    qtbot.waitUntil(lambda: panel.busy == 0, timeout=5000)


def test_dashboard_per_key_rows_name_virtual_keys(vctx: AppContext) -> None:
    from monitor.services.snapshot import RuntimeStatus
    from monitor.services.snapshot_build import build_snapshot

    VirtualKeys(vctx.store()).add("notes-bot", "team", now=NOW)
    seed_proxy_spend(vctx.store(), [(NOW - timedelta(hours=2), Decimal("0.40"))],
                     key_label="notes-bot")
    seed_proxy_spend(vctx.store(), [(NOW - timedelta(hours=2), Decimal("0.10"))],
                     key_label="laptop")
    snap = build_snapshot(vctx.store(), vctx.prices(), vctx.settings, RuntimeStatus(), NOW)
    names = {r.key: r.name for r in snap.by_key}
    assert names["notes-bot"] == "notes-bot (virtual key → team)"
    assert names["laptop"] == "laptop"


def test_cap_alerts_fire_once_per_period(vctx: AppContext) -> None:
    from monitor.services.alerting import AlertContext, AlertEngine
    from monitor.services.cap_alerts import cap_inputs
    from monitor.services.snapshot import RuntimeStatus
    from monitor.services.snapshot_build import build_snapshot
    from monitor.services.virtual_keys import CapRefusal, cap_period

    store, settings = vctx.store(), vctx.settings
    vk = VirtualKeys(store)
    vk.add("soft-app", "team", now=NOW, cap_usd=Decimal(1), per="day")
    vk.add("hard-app", "team", now=NOW, cap_usd=Decimal(1), per="month", hard=True)
    seed_proxy_spend(store, [(NOW - timedelta(hours=1), Decimal("1.10"))], key_label="soft-app")
    month = cap_period("month", NOW, settings)
    vk.note_refusals([CapRefusal("key", "hard-app", month, NOW, NOW, 2, "refused: cap")])
    engine = AlertEngine(store)

    def fire(now: datetime) -> list[tuple[str, str]]:
        snap = build_snapshot(store, vctx.prices(), settings, RuntimeStatus(), now)
        assert snap.budget is not None
        soft, hard = cap_inputs(store, settings, now)
        ctx = AlertContext(status=snap.budget, thresholds_pct=(), soft_caps=soft,
                           hard_caps=hard)
        return sorted((a.kind, a.key) for a in engine.evaluate(snap, ctx, now))

    assert fire(NOW) == [("hard_cap", "key:hard-app"), ("virtual_key_cap", "soft-app")]
    assert fire(NOW + timedelta(minutes=5)) == []  # once per period, across evaluations
    # the next day: the soft day cap starts again from zero; the month's refusal stays fired
    tomorrow = datetime(2026, 11, 21, 9, tzinfo=UTC)
    assert fire(tomorrow) == []
    seed_proxy_spend(store, [(tomorrow - timedelta(hours=1), Decimal("1.50"))],
                     key_label="soft-app")
    assert fire(tomorrow) == [("virtual_key_cap", "soft-app")]


def test_a_hard_cap_refusal_raises_a_desktop_alert_once(qtbot: QtBot, vctx: AppContext,
                                                        runner: TaskRunner) -> None:
    from monitor.gui.alerts import notification_for
    from monitor.services.virtual_keys import CapRefusal, cap_period
    from tests.gui.conftest import make_state

    state = make_state(vctx, runner)
    before = state.alerts_evaluated
    state.refresh()
    qtbot.waitUntil(lambda: state.alerts_evaluated > before, timeout=10_000)
    day = cap_period("day", NOW, vctx.settings)
    message = ("Token Monitor refused this request: the daily hard cap of virtual key "
               "'notes-bot' is reached.")
    VirtualKeys(vctx.store()).note_refusals(
        [CapRefusal("key", "notes-bot", day, NOW, NOW, 4, message)])
    with qtbot.waitSignal(state.alerts_fired, timeout=10_000) as blocker:
        state.refresh()
    alerts = [a for a in blocker.args[0] if a.kind == "hard_cap"]
    assert len(alerts) == 1 and alerts[0].urgency == "critical"
    shown = notification_for(alerts[0])
    assert "virtual key notes-bot" in shown.title
    # translatable (the proxy's English message stays in its 429 reply and the log)
    assert shown.body == (f"Requests get HTTP 429 until the cap resets at "
                          f"{day.end:%Y-%m-%d %H:%M} UTC. Refused so far: 4.")
    before = state.alerts_evaluated
    with qtbot.assertNotEmitted(state.alerts_fired, wait=0):
        state.refresh()
        qtbot.waitUntil(lambda: state.alerts_evaluated > before, timeout=10_000)


def test_an_open_keys_dialog_follows_a_record_that_lands(
        qtbot: QtBot, vctx: AppContext, make_app: Any) -> None:
    """Issue 23: the panel showed "$0.00 of $1.00 (0 %)" until the dialog was reopened."""
    from monitor.gui.virtual_keys_panel import VirtualKeysPanel as Panel
    from tests.e2e.seed import proxy_record

    VirtualKeys(vctx.store()).add("notes-bot", "team", now=NOW, cap_usd=Decimal(1), per="day")
    c = make_app(tray=False)
    c.start(poll=False)
    dialog = c.make_keys_dialog()
    assert dialog is not None
    panel = dialog.findChild(Panel)
    assert panel is not None
    qtbot.waitUntil(lambda: panel.bar_text("notes-bot") == "$0.00 of $1.00 (0 %)",
                    timeout=10_000)
    rec = proxy_record(NOW - timedelta(minutes=1), Decimal("0.03"), key_label="notes-bot")
    vctx.store().add_proxy_records([rec])
    c.proxy.record_added.emit(rec)  # what the embedded proxy's writer says after a write
    qtbot.waitUntil(lambda: panel.bar_text("notes-bot") == "$0.03 of $1.00 (3 %)",
                    timeout=10_000)
    dialog.close()
    dialog.deleteLater()
    qtbot.wait(50)  # deleted: a later snapshot must not reach it
    with qtbot.waitSignal(c.state.snapshot_changed, timeout=10_000):
        c.state.refresh()


def test_cap_bars_take_the_states_colour_from_the_users_thresholds() -> None:
    from monitor.core.limit_share import STATE_COLOURS
    from monitor.gui.virtual_keys_panel import _bar_colour

    assert _bar_colour(0.6, (50, 80, 90, 100)) == STATE_COLOURS["warn"]
    assert _bar_colour(0.6, (70, 95, 100)) == STATE_COLOURS["ok"]  # the gauge's rule, not 50 %
    assert _bar_colour(0.96, (70, 95, 100)) == STATE_COLOURS["critical"]
    assert _bar_colour(1.2, (70, 95, 100)) == STATE_COLOURS["over"]
