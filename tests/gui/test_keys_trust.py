"""Keys you can trust: tested on Add (an invalid key kept only when asked, marked), the key
sync uses shown and chosen, duplicates refused, field errors, Kind reset, Remove confirmed,
alerts naming the key that failed, and the banner when the only admin key is gone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.core.alert_texts import english
from monitor.core.clock import fixed_clock
from monitor.errors import KnownError
from monitor.gui.app import AppController
from monitor.gui.app_jobs import OrgSyncPass
from monitor.gui.keys_dialog import KeysDialog
from monitor.gui.tasks import TaskRunner
from monitor.services.key_meta import KeyMeta
from monitor.services.keyring_vault import MemoryVault
from monitor.services.keyvault import KeyStore
from monitor.services.store import ORG_SOURCE, SyncState
from tests.fakes.fake_org import ADMIN_KEY, FakeOrg
from tests.fakes.server import ServerThread

GOOD = "sk-admin-goodGOODgood0000000000001111"
BAD = "sk-admin-badBADbad00000000000000002222"
TESTED_AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


class KeyChecker:
    """Says GOOD is valid and anything else is rejected, like check_key would."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, meta: KeyMeta, secret: str) -> str:
        self.calls.append(meta.label)
        if secret != GOOD:
            raise KnownError("OpenAI rejected this key (401 invalid_api_key)")
        return "valid: the key can read organization usage"


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys.json", MemoryVault())


def _dialog(qtbot: QtBot, keys: KeyStore, runner: TaskRunner, answer: bool = True,
            tester: KeyChecker | None = None) -> tuple[KeysDialog, list[str]]:
    asked: list[str] = []

    def confirm(_title: str, question: str) -> bool:
        asked.append(question)
        return answer

    d = KeysDialog(keys, runner, tester=tester or KeyChecker(), clock=fixed_clock(TESTED_AT),
                   today=lambda: date(2026, 11, 20), confirm=confirm)
    qtbot.addWidget(d)
    return d, asked


def _fill(d: KeysDialog, label: str, secret: str, kind: str = "admin") -> None:
    d.label_edit.setText(label)
    d.kind_combo.setCurrentIndex(d.kind_combo.findData(kind))
    d.secret_edit.setText(secret)


def _row(d: KeysDialog, label: str) -> list[str]:
    r = d.labels().index(label)
    return [d.table.item(r, c).text() for c in range(d.table.columnCount())]


def test_a_valid_key_is_tested_on_add_and_marked(qtbot: QtBot, keys: KeyStore,
                                                 runner: TaskRunner) -> None:
    tester = KeyChecker()
    d, asked = _dialog(qtbot, keys, runner, tester=tester)
    _fill(d, "org-admin", GOOD)
    with qtbot.waitSignal(d.keys_changed, timeout=5000):
        d.add_button.click()
    assert tester.calls == ["org-admin"] and asked == []
    meta = keys.get_meta("org-admin")
    assert meta.test_ok is True and meta.tested_at == TESTED_AT  # the injected clock
    assert _row(d, "org-admin")[6] == "used for sync · valid (tested 2026-11-20)"
    assert "Organization sync uses org-admin (sk-…1111)" in d.sync_note.text()


def test_an_invalid_key_is_kept_only_when_the_user_says_so(qtbot: QtBot, keys: KeyStore,
                                                            runner: TaskRunner) -> None:
    d, asked = _dialog(qtbot, keys, runner, answer=False)
    _fill(d, "typo", BAD)
    d.add_button.click()
    qtbot.waitUntil(lambda: d.busy == 0 and "Not added" in d.status.text(), timeout=5000)
    assert len(asked) == 1 and "Testing typo failed: OpenAI rejected this key" in asked[0]
    assert keys.list() == [] and keys.vault.get("typo") is None  # type: ignore[attr-defined]

    d2, _ = _dialog(qtbot, keys, runner, answer=True)
    _fill(d2, "typo", BAD)
    with qtbot.waitSignal(d2.keys_changed, timeout=5000):
        d2.add_button.click()
    assert keys.get_meta("typo").test_ok is False
    assert _row(d2, "typo")[6].endswith("invalid when tested")
    assert "Marked invalid" in d2.status.text()


def test_sync_prefers_a_working_key_and_the_user_can_choose(qtbot: QtBot, keys: KeyStore,
                                                            runner: TaskRunner) -> None:
    keys.add("a-good", "admin", GOOD, today=date(2026, 1, 1))
    keys.mark_tested("a-good", True, TESTED_AT)
    keys.add("b-new", "admin", "sk-admin-newNEWnew000000000000003333", today=date(2026, 6, 1))
    keys.add("c-bad", "admin", BAD, today=date(2026, 11, 1))
    keys.mark_tested("c-bad", False, TESTED_AT)
    d, _ = _dialog(qtbot, keys, runner)
    # Newest that is not marked invalid, and the dialog says so.
    assert keys.sync_admin(date(2026, 11, 20)).label == "b-new"  # type: ignore[union-attr]
    assert d.sync_note.text().startswith("Organization sync uses b-new (sk-…3333).")
    assert "Chosen automatically" in d.sync_note.text()
    d.select("b-new")
    assert not d.sync_button.isEnabled()  # already the one
    d.select("a-good")
    assert d.sync_button.isEnabled()
    with qtbot.waitSignal(d.keys_changed, timeout=5000):
        d.sync_button.click()
    cred = keys.admin_credential(date(2026, 11, 20))
    assert cred is not None and cred.label == "a-good" and cred.secret == GOOD
    assert d.sync_note.text() == "Organization sync uses a-good (sk-…1111)."
    assert _row(d, "a-good")[6].startswith("used for sync")


def test_same_secret_twice_and_form_errors_next_to_their_field(
        qtbot: QtBot, keys: KeyStore, runner: TaskRunner) -> None:
    keys.add("org-admin", "admin", GOOD)
    tester = KeyChecker()
    d, _ = _dialog(qtbot, keys, runner, tester=tester)
    _fill(d, "again", "  " + GOOD + " ")
    d.add_button.click()
    qtbot.waitUntil(lambda: d.busy == 0 and d.field_error("secret") != "", timeout=5000)
    assert d.field_error("secret") == ("This key is already stored as org-admin; one key "
                                       "needs only one label.")
    assert tester.calls == []  # refused before any network test
    assert d.labels() == ["org-admin"]
    d.secret_edit.setText(BAD)
    assert d.field_error("secret") == ""  # cleared once the field changes

    d.label_edit.setText("")
    d.secret_edit.setText("")
    d.add_button.click()
    assert d.field_error("label") == "Give the key a name, for example org-admin."
    assert d.field_error("secret") == "Paste the key here."
    assert d.status.text() == ""
    d.label_edit.setText("org-admin")
    d.secret_edit.setText("sk-short")
    d.add_button.click()
    assert d.field_error("label").startswith("A key named org-admin already exists")
    assert d.field_error("secret") == ""  # 8 characters: long enough
    d.secret_edit.setText("sk-a b c d e f")
    d.add_button.click()
    assert d.field_error("secret").startswith("The key has spaces or line breaks")


def test_kind_resets_after_add(qtbot: QtBot, keys: KeyStore, runner: TaskRunner) -> None:
    d, _ = _dialog(qtbot, keys, runner)
    _fill(d, "ci", GOOD, kind="project")
    with qtbot.waitSignal(d.keys_changed, timeout=5000):
        d.add_button.click()
    assert keys.get_meta("ci").kind == "project"
    assert d.kind_combo.currentIndex() == 0 and d.kind_combo.currentData() == "admin"


def test_remove_asks_first(qtbot: QtBot, keys: KeyStore, runner: TaskRunner) -> None:
    keys.add("org-admin", "admin", GOOD)
    d, asked = _dialog(qtbot, keys, runner, answer=False)
    d.select("org-admin")
    d.remove_button.click()
    assert len(asked) == 1 and "only admin key" in asked[0]
    assert d.busy == 0 and d.labels() == ["org-admin"]  # "No" keeps it


# --- the app: alerts name the failing key; losing the only key shows the banner --------------


def test_the_alert_names_the_key_that_actually_failed(
        qtbot: QtBot, ctx: AppContext, make_app: Callable[..., AppController]) -> None:
    fake = FakeOrg(events=[])
    with ServerThread(fake.make_app) as server:
        ctx.save_settings(ctx.settings.replace(openai_base_url=server.base_url + "/v1",
                                               notifications_enabled=False))
        ctx._keys = KeyStore(ctx.paths.keys_file, MemoryVault())
        keys = ctx.keys()
        # The valid key sorts first by name; sync uses the newest one, which is wrong.
        keys.add("a-org-admin", "admin", ADMIN_KEY, today=date(2026, 1, 1))
        keys.add("z-wrong", "admin", BAD, today=date(2026, 6, 1))
        c = make_app(sync=None)  # the real OrgSyncPass
        assert isinstance(c.org_sync, OrgSyncPass)
        with qtbot.waitSignal(c.state.alerts_fired, timeout=15_000,
                              check_params_cb=lambda a: any(x.kind == "key_rejected"
                                                            for x in a)) as fired:
            c.start(poll=True)
        alert = next(a for a in fired.args[0] if a.kind == "key_rejected")
        body = english(alert).body
        assert "z-wrong" in body and "a-org-admin" not in body
        qtbot.waitUntil(lambda: c.state.snapshot is not None and c.state.snapshot.org.failing,
                        timeout=5000)
        assert "z-wrong" in c.window.failing.label.text()  # the banner names it too


def test_losing_the_only_admin_key_shows_the_failing_banner(
        qtbot: QtBot, ctx: AppContext, make_app: Callable[..., AppController]) -> None:
    ctx.store().set_sync_state(ORG_SOURCE, SyncState(
        last_success=datetime.now(UTC), last_error=None, last_error_at=None,
        settled_through=datetime.now(UTC)))
    c = make_app()  # the key was removed: nothing to sync with (NO_ADMIN_KEY)
    c.start(poll=True)
    qtbot.waitUntil(lambda: c.state.snapshot is not None
                    and not c.state.snapshot.org.configured, timeout=5000)
    snap = c.state.snapshot
    assert snap is not None and snap.org.key_lost and snap.failing
    assert not c.window.failing.isHidden()
    assert "no admin key is stored any more" in c.window.failing.label.text()


# --- issue 25: an invalid or expired key is never chosen or accepted for sync ----------------


def test_only_a_wrong_key_left_is_not_used_and_the_dialog_says_so(
        qtbot: QtBot, keys: KeyStore, runner: TaskRunner) -> None:
    keys.add("wrong", "admin", BAD, today=date(2026, 11, 1))
    keys.mark_tested("wrong", False, TESTED_AT)
    d, _ = _dialog(qtbot, keys, runner)
    assert keys.sync_admin(date(2026, 11, 20)) is None
    assert keys.admin_credential(date(2026, 11, 20)) is None  # no env key either
    assert _row(d, "wrong")[6] == "not used for sync · invalid when tested"
    assert d.sync_note.text().startswith("No usable admin key is left")
    d.select("wrong")
    d.sync_button.click()
    assert d.busy == 0
    assert d.status.text() == ("Not used for sync: wrong failed its last test; press Test "
                               "once it is fixed, or add a new key.")
    assert keys.get_meta("wrong").sync is False


def test_use_for_sync_refuses_an_expired_key(qtbot: QtBot, keys: KeyStore,
                                             runner: TaskRunner) -> None:
    keys.add("current", "admin", GOOD, today=date(2026, 10, 1))
    keys.add("old-admin", "admin", BAD, expires=date(2026, 11, 1), today=date(2026, 11, 2))
    d, _ = _dialog(qtbot, keys, runner)
    # Newer, but expired: never chosen automatically.
    assert keys.sync_admin(date(2026, 11, 20)).label == "current"  # type: ignore[union-attr]
    assert _row(d, "old-admin")[6] == "not used for sync · expired · not tested"
    d.select("old-admin")
    d.sync_button.click()
    assert "expired on 2026-11-01; an expired key is not used for sync" in d.status.text()
    assert "now uses" not in d.status.text()
    assert d.sync_note.text().startswith("Organization sync uses current")
    with pytest.raises(KnownError, match="expired on 2026-11-01"):
        keys.use_for_sync("old-admin", date(2026, 11, 20))
    # A chosen key that later fails its test is no longer used: the other one is.
    keys.use_for_sync("current", date(2026, 11, 20))
    keys.add("backup", "admin", "sk-admin-backupBACKUP0000000000004444", today=date(2026, 9, 1))
    keys.mark_tested("current", False, TESTED_AT)
    assert keys.sync_admin(date(2026, 11, 20)).label == "backup"  # type: ignore[union-attr]


def test_a_network_failure_while_testing_does_not_mark_the_key(
        qtbot: QtBot, keys: KeyStore, runner: TaskRunner) -> None:
    from monitor.gui.app_jobs import KeyTestFailed

    keys.add("org-admin", "admin", GOOD)

    def offline(meta: KeyMeta, secret: str) -> str:
        exc = KeyTestFailed("cannot reach api.openai.com")
        exc.conclusive = False
        raise exc

    d = KeysDialog(keys, runner, tester=offline, clock=fixed_clock(TESTED_AT),
                   today=lambda: date(2026, 11, 20))
    qtbot.addWidget(d)
    d.select("org-admin")
    d.test_button.click()
    qtbot.waitUntil(lambda: d.busy == 0 and "cannot reach" in d.status.text(), timeout=5000)
    assert keys.get_meta("org-admin").test_ok is None  # still usable for sync
    assert keys.sync_admin(date(2026, 11, 20)) is not None


def test_key_age_is_shown_and_an_old_key_is_due_for_renewal(
        qtbot: QtBot, keys: KeyStore, runner: TaskRunner) -> None:
    keys.add("old", "admin", GOOD, today=date(2026, 8, 1))  # 111 days on Nov 20
    keys.add("fresh", "admin", "sk-admin-freshFRESH0000000000005555", today=date(2026, 11, 1))
    d, _ = _dialog(qtbot, keys, runner)
    assert _row(d, "old")[4] == "111 day(s)" and _row(d, "fresh")[4] == "19 day(s)"
    assert not d.renew_note.isHidden()
    assert d.renew_note.text().startswith("old is 111 day(s) old: time to renew it.")
    assert "fresh" not in d.renew_note.text()
    later = KeysDialog(keys, runner, today=lambda: date(2026, 11, 20), renew_days=0)
    qtbot.addWidget(later)
    assert later.renew_note.isHidden()  # the reminder turned off in settings
