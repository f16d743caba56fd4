"""The API keys dialog over the KeyStore: list (masked), add (no-echo), test, remove, expiry.

Keyring calls can block (D-Bus, an unlock prompt), so every vault operation runs on the
TaskRunner; the dialog only shows results. When the keyring is unusable the dialog says
why and what to do, and adding is disabled (no plaintext fallback exists).

Keys you can trust: Add tests the key first (an invalid one can still be kept, marked
invalid, and sync skips it while another admin key works); the dialog says which admin key
syncing uses and lets the user choose; Remove asks first; the same secret is never stored
under two labels; form errors sit under their field in plain words and clear when it changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from monitor.core.clock import Clock, system_clock
from monitor.errors import KnownError
from monitor.gui.tasks import TaskRunner
from monitor.services.key_meta import KEY_RENEW_DAYS, KeyInputError, KeyMeta, validate_label
from monitor.services.keyvault import KeyStore

# (meta, secret) -> a one-line verdict for the user; raises KnownError on failure.
KeyTester = Callable[[KeyMeta, str], str]
# (title, question) -> whether the user said yes.
Confirm = Callable[[str, str], bool]

COLUMNS = 7  # label, kind, key, added, age, expiry, status

ERROR_STYLE = "color: #c62828;"
OK_STYLE = "color: #2e7d32;"
INTRO_STYLE = "background: #e8f0fe; color: #174ea6; padding: 6px; border-radius: 4px;"


@dataclass(frozen=True)
class _Verdict:
    ok: bool
    text: str


class _AlreadyStoredError(KnownError):
    """The secret being added is already stored under `label`."""

    def __init__(self, label: str) -> None:
        super().__init__(f"this key is already stored as {label!r}")
        self.label = label


class KeysDialog(QDialog):
    """Manage labelled API keys.

    Signals:
        keys_changed(): a key was added or removed (the poller may now have an admin key).
    """

    keys_changed = Signal()

    def __init__(
        self,
        keys: KeyStore,
        runner: TaskRunner,
        parent: QWidget | None = None,
        *,
        tester: KeyTester | None = None,
        today: Callable[[], date] | None = None,
        clock: Clock | None = None,
        confirm: Confirm | None = None,
        renew_days: int = KEY_RENEW_DAYS,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("keys-dialog")
        self.setWindowTitle(self.tr("API keys"))
        self.resize(720, 460)
        self._keys = keys
        self._runner = runner
        self._tester = tester
        self._clock = clock or system_clock
        self._today = today or (lambda: self._clock().astimezone().date())
        self._confirm = confirm or self._ask
        self._metas: list[KeyMeta] = []
        self._sync_label: str | None = None
        self._renew_days = renew_days
        self.busy = 0  # operations in flight (tests wait for 0)

        layout = QVBoxLayout(self)
        self.intro = QLabel(self)
        self.intro.setObjectName("keys-intro")
        self.intro.setWordWrap(True)
        self.intro.setStyleSheet(INTRO_STYLE)
        self.intro.setTextFormat(Qt.TextFormat.RichText)
        self.intro.setOpenExternalLinks(True)  # e.g. the OpenAI page where Admin keys are made
        self.intro.hide()
        layout.addWidget(self.intro)
        self.keyring_notice = QLabel(self)
        self.keyring_notice.setObjectName("keyring-notice")
        self.keyring_notice.setWordWrap(True)
        self.keyring_notice.setStyleSheet(
            "background: #fff4e5; color: #5d4037; padding: 6px; border-radius: 4px;"
        )
        self.keyring_notice.setVisible(False)
        self.keyring_notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.keyring_notice)

        self.table = QTableWidget(0, COLUMNS, self)
        self.table.setObjectName("keys-table")
        self.table.setHorizontalHeaderLabels(
            [self.tr("Label"), self.tr("Kind"), self.tr("Key"), self.tr("Added"),
             self.tr("Age"), self.tr("Expiry"), self.tr("Status")]
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)  # the status reads in full
        self.table.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.table, 1)
        self.sync_note = QLabel(self)
        self.sync_note.setObjectName("sync-key-note")
        self.sync_note.setWordWrap(True)
        layout.addWidget(self.sync_note)
        self.renew_note = QLabel(self)
        self.renew_note.setObjectName("renew-note")
        self.renew_note.setWordWrap(True)
        self.renew_note.setStyleSheet(INTRO_STYLE)
        self.renew_note.hide()
        layout.addWidget(self.renew_note)

        row = QHBoxLayout()
        self.test_button = QPushButton(self.tr("Test"), self)
        self.test_button.setObjectName("test-key")
        self.test_button.clicked.connect(self._test_selected)
        self.remove_button = QPushButton(self.tr("Remove"), self)
        self.remove_button.setObjectName("remove-key")
        self.remove_button.clicked.connect(self._remove_selected)
        self.sync_button = QPushButton(self.tr("Use for sync"), self)
        self.sync_button.setObjectName("use-for-sync")
        self.sync_button.setToolTip(self.tr("Organization usage is read with this admin key"))
        self.sync_button.clicked.connect(self._use_selected_for_sync)
        row.addWidget(self.test_button)
        row.addWidget(self.sync_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout.addLayout(row)

        self.status = QLabel(self)
        self.status.setObjectName("keys-status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        add_box = QGroupBox(self.tr("Add a key"), self)
        self.add_box = add_box
        form = QFormLayout(add_box)
        self.label_edit = QLineEdit(add_box)
        self.label_edit.setObjectName("new-label")
        self.label_edit.setPlaceholderText(self.tr("e.g. org-admin"))
        self.kind_combo = QComboBox(add_box)
        self.kind_combo.setObjectName("new-kind")
        self.kind_combo.addItem(self.tr("Admin key (reads organization usage)"), "admin")
        self.kind_combo.addItem(self.tr("Project key (for the proxy)"), "project")
        self.secret_edit = QLineEdit(add_box)
        self.secret_edit.setObjectName("new-secret")
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_edit.setPlaceholderText(self.tr("paste the key; it is not shown"))
        self.expires_edit = QLineEdit(add_box)
        self.expires_edit.setObjectName("new-expires")
        self.expires_edit.setPlaceholderText(self.tr("YYYY-MM-DD (optional)"))
        self.add_button = QPushButton(self.tr("Add"), add_box)
        self.add_button.setObjectName("add-key")
        self.add_button.clicked.connect(self._add)
        self.field_errors: dict[str, QLabel] = {}
        for field, text, edit in (("label", self.tr("Label"), self.label_edit),
                                  ("kind", self.tr("Kind"), self.kind_combo),
                                  ("secret", self.tr("Secret"), self.secret_edit),
                                  ("expires", self.tr("Expires"), self.expires_edit)):
            form.addRow(text, edit)
            error = QLabel(add_box)
            error.setObjectName(f"{field}-error")
            error.setWordWrap(True)
            error.setStyleSheet(ERROR_STYLE)
            error.hide()
            form.addRow("", error)
            self.field_errors[field] = error
        self.label_edit.textChanged.connect(lambda _t: self._clear_field_error("label"))
        self.secret_edit.textChanged.connect(lambda _t: self._clear_field_error("secret"))
        self.expires_edit.textChanged.connect(lambda _t: self._clear_field_error("expires"))
        self.kind_combo.currentIndexChanged.connect(lambda _i: self._clear_field_error("kind"))
        form.addRow("", self.add_button)
        layout.addWidget(add_box)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(self.tr("Close"))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self._update_buttons()
        self.reload()
        self._check_keyring()

    # background helpers ----------------------------------------------------------------

    def _run(self, fn: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        self.busy += 1

        def done(value: Any) -> None:
            self.busy -= 1
            on_done(value)

        def failed(exc: BaseException) -> None:
            self.busy -= 1
            self._show_error(exc)

        self._runner.run(fn, on_done=done, on_error=failed)

    def _show_error(self, exc: BaseException) -> None:
        if isinstance(exc, _AlreadyStoredError):
            self.status.clear()
            self._set_field_error("secret", self.tr(
                "This key is already stored as %1; one key needs only one label.")
                .replace("%1", exc.label))
            return
        if isinstance(exc, KeyInputError) and exc.field in self.field_errors:
            self.status.clear()
            self._set_field_error(str(exc.field), exc.text())
            return
        text = exc.text() if isinstance(exc, KnownError) else self.tr(
            "Unexpected error: %1").replace("%1", type(exc).__name__)
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setText(text)
        if type(exc).__name__ == "KeyringUnavailable":
            self._show_keyring_problem(text)

    def _show_ok(self, text: str) -> None:
        self.status.setStyleSheet(OK_STYLE)
        self.status.setText(text)

    def _check_keyring(self) -> None:
        vault = self._keys.vault
        probe = getattr(vault, "backend", None)
        if not callable(probe):
            return

        def ok(_value: object) -> None:
            self.busy -= 1

        def failed(exc: BaseException) -> None:
            self.busy -= 1
            self._show_keyring_problem(exc.text() if isinstance(exc, KnownError) else str(exc))

        self.busy += 1
        self._runner.run(probe, on_done=ok, on_error=failed)

    def _show_keyring_problem(self, text: str) -> None:
        self.keyring_notice.setText(
            self.tr("The system keyring cannot be used, so keys cannot be added or read. "
                    "Token Monitor never stores keys in a plain file.") + "\n" + text
        )
        self.keyring_notice.setVisible(True)
        self.add_button.setEnabled(False)

    # list ------------------------------------------------------------------------------

    def reload(self) -> None:
        try:
            self._metas = self._keys.list()  # metadata file only; never touches the keyring
        except KnownError as exc:
            self._show_error(exc)
            self._metas = []
        today = self._today()
        try:
            chosen = self._keys.sync_admin(today)
        except KnownError:
            chosen = None
        self._sync_label = chosen.label if chosen is not None else None
        self.table.setRowCount(len(self._metas))
        kinds = {"admin": self.tr("admin"), "project": self.tr("project")}
        for r, meta in enumerate(self._metas):
            status = meta.expiry_status(today)
            expiry = self._expiry_text(meta, today)
            due = meta.renewal_due(today, self._renew_days)
            cells = [meta.label, kinds.get(meta.kind, meta.kind), meta.masked,
                     meta.created.isoformat(), self._age_text(meta, today),
                     expiry, self._status_text(meta, today)]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if (c == 5 and status in ("expiring", "expired")) or (c == 4 and due):
                    item.setForeground(Qt.GlobalColor.red)
                if c == 6 and (meta.test_ok is False or status == "expired"):
                    item.setForeground(Qt.GlobalColor.red)
                self.table.setItem(r, c, item)
        self.sync_note.setStyleSheet("")
        admins = [m for m in self._metas if m.kind == "admin"]
        if chosen is None and admins:
            self.sync_note.setStyleSheet(ERROR_STYLE)
            self.sync_note.setText(self.tr(
                "No usable admin key is left: every stored admin key has expired or failed "
                "its last test, so organization usage is not synced. Add a new admin key "
                "(or test a fixed one again)."))
        elif chosen is None:
            self.sync_note.setText(self.tr(
                "No admin key: organization usage is not synced (the proxy still meters "
                "your apps)."))
        else:
            self.sync_note.setText(
                self.tr("Organization sync uses %1 (%2).").replace("%1", chosen.label)
                .replace("%2", chosen.masked)
                + ("" if chosen.sync else " " + self.tr(
                    "Chosen automatically: the newest admin key that has not expired or "
                    "failed its last test. Select another and press “Use for sync” to "
                    "choose.")))
        due_keys = [m for m in self._metas if m.renewal_due(today, self._renew_days)
                    and m.expiry_status(today) != "expired"]
        self.renew_note.setVisible(bool(due_keys))
        if due_keys:
            self.renew_note.setText(" ".join(self.tr(
                "%1 is %n day(s) old: time to renew it. Create a new key on the OpenAI "
                "platform, add it here and keep %1 as a backup until the new one works.", "",
                m.age_days(today)).replace("%1", m.label) for m in due_keys))
        self._update_buttons()

    def _age_text(self, meta: KeyMeta, today: date) -> str:
        return self.tr("%n day(s)", "", meta.age_days(today))

    def refusal_text(self, meta: KeyMeta, today: date) -> str | None:
        """Why `meta` cannot be used for sync, in the UI's language (None: it can)."""
        if meta.kind != "admin":
            return self.tr("%1 is a project key; only an admin key can sync.").replace(
                "%1", meta.label)
        if meta.expiry_status(today) == "expired" and meta.expires is not None:
            return self.tr("%1 expired on %2; an expired key is not used for sync.").replace(
                "%1", meta.label).replace("%2", meta.expires.isoformat())
        if meta.test_ok is False:
            return self.tr("%1 failed its last test; press Test once it is fixed, or add a "
                           "new key.").replace("%1", meta.label)
        return None

    def _status_text(self, meta: KeyMeta, today: date) -> str:
        parts = []
        if meta.label == self._sync_label:
            parts.append(self.tr("used for sync"))
        elif meta.kind == "admin" and meta.sync_refusal(today) is not None:
            parts.append(self.tr("not used for sync"))
        if meta.expiry_status(today) == "expired":
            parts.append(self.tr("expired"))
        if meta.test_ok is True and meta.tested_at is not None:
            parts.append(self.tr("valid (tested %1)").replace(
                "%1", meta.tested_at.astimezone().date().isoformat()))
        elif meta.test_ok is False:
            parts.append(self.tr("invalid when tested"))
        else:
            parts.append(self.tr("not tested"))
        return " · ".join(parts)

    def _expiry_text(self, meta: KeyMeta, today: date) -> str:
        left = meta.days_left(today)
        if left is None or meta.expires is None:
            return self.tr("no expiry set")
        if left < 0:
            return self.tr("expired on %1").replace("%1", meta.expires.isoformat())
        if left == 0:
            return self.tr("expires today")
        if left <= 7:
            return self.tr("expires in %n day(s)", "", left)
        return meta.expires.isoformat()

    def labels(self) -> list[str]:
        return [m.label for m in self._metas]

    def _selected(self) -> KeyMeta | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        row = rows[0].row()
        return self._metas[row] if 0 <= row < len(self._metas) else None

    def _update_buttons(self) -> None:
        meta = self._selected()
        has = meta is not None
        self.remove_button.setEnabled(has)
        self.test_button.setEnabled(has and self._tester is not None)
        self.sync_button.setEnabled(meta is not None and meta.kind == "admin"
                                    and meta.label != self._sync_label)

    def prepare_add(self, kind: str, intro: str | None = None) -> None:
        """Open on the add form for `kind`, with an explanation above the list."""
        index = self.kind_combo.findData(kind)
        if index >= 0:
            self.kind_combo.setCurrentIndex(index)
        if intro:
            self.intro.setText(intro)
            self.intro.show()
        self.label_edit.setFocus()

    # form errors -----------------------------------------------------------------------

    def _set_field_error(self, field: str, text: str) -> None:
        label = self.field_errors[field]
        label.setText(text)
        label.show()

    def _clear_field_error(self, field: str) -> None:
        label = self.field_errors[field]
        label.clear()
        label.hide()

    def field_error(self, field: str) -> str:
        label = self.field_errors[field]
        return "" if label.isHidden() else label.text()

    def _form_errors(self, label: str, secret: str, expires: str) -> dict[str, str]:
        """Plain-words problems with the add form, by field."""
        errors: dict[str, str] = {}
        if not label:
            errors["label"] = self.tr("Give the key a name, for example org-admin.")
        else:
            try:
                validate_label(label)
            except KeyInputError:
                errors["label"] = self.tr(
                    "Use letters, digits and . _ - @ + only (no spaces), up to 64 characters, "
                    "starting with a letter or digit.")
            if "label" not in errors and label in self.labels():
                errors["label"] = self.tr(
                    "A key named %1 already exists. Pick another name, or remove that key "
                    "first.").replace("%1", label)
        raw = secret.strip()
        if not raw:
            errors["secret"] = self.tr("Paste the key here.")
        elif any(ch.isspace() or ord(ch) < 32 for ch in raw):
            errors["secret"] = self.tr("The key has spaces or line breaks in it; paste only "
                                       "the key.")
        elif len(raw) < 8:
            errors["secret"] = self.tr("That is too short to be an API key.")
        if expires:
            try:
                date.fromisoformat(expires)
            except ValueError:
                errors["expires"] = self.tr("Write the date as YYYY-MM-DD, for example "
                                            "2027-03-01, or leave it empty.")
        return errors

    def _ask(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(self, title, question)
        return answer == QMessageBox.StandardButton.Yes

    def select(self, label: str) -> None:
        for r, meta in enumerate(self._metas):
            if meta.label == label:
                self.table.selectRow(r)

    # actions ---------------------------------------------------------------------------

    def _add(self) -> None:
        """Check the form, test the key (if a tester exists), then store it."""
        label = self.label_edit.text().strip()
        kind = str(self.kind_combo.currentData())
        secret = self.secret_edit.text().strip()
        expires_text = self.expires_edit.text().strip()
        errors = self._form_errors(label, secret, expires_text)
        for field in self.field_errors:
            if field in errors:
                self._set_field_error(field, errors[field])
            else:
                self._clear_field_error(field)
        if errors:
            self.status.clear()
            return
        expires = date.fromisoformat(expires_text) if expires_text else None
        keys, tester = self._keys, self._tester
        meta = KeyMeta(label, kind, self._today(), expires, secret[-4:])

        def check() -> _Verdict | None:
            same = keys.label_of_secret(secret)
            if same is not None:
                raise _AlreadyStoredError(same)
            if tester is None:
                return None
            try:
                return _Verdict(True, tester(meta, secret))
            except KnownError as exc:
                return _Verdict(False, exc.text())

        def checked(verdict: Any) -> None:
            if verdict is not None and not verdict.ok and not self._confirm(
                    self.tr("The key did not pass the test"),
                    self.tr("Testing %1 failed: %2\n\nKeep it anyway? It is stored marked "
                            "invalid, and sync does not use it until a test passes.")
                    .replace("%1", label).replace("%2", verdict.text)):
                self._show_error_text(self.tr("Not added: %1 failed the test (%2).")
                                      .replace("%1", label).replace("%2", verdict.text))
                return
            self._store(label, kind, secret, expires, verdict)

        self.status.setStyleSheet("")
        self.status.setText(self.tr("Testing %1…").replace("%1", label) if tester is not None
                            else "")
        self._run(check, checked)

    def _store(self, label: str, kind: str, secret: str, expires: date | None,
               verdict: _Verdict | None) -> None:
        keys, at, today = self._keys, self._clock(), self._today()

        def op() -> KeyMeta:
            meta = keys.add(label, kind, secret, expires, today=today)
            if verdict is not None:
                meta = keys.mark_tested(label, verdict.ok, at)
            return meta

        def done(meta: Any) -> None:
            assert isinstance(meta, KeyMeta)
            self.secret_edit.clear()
            self.label_edit.clear()
            self.expires_edit.clear()
            self.kind_combo.setCurrentIndex(0)
            added = self.tr("Added %1 (%2).").replace("%1", meta.label).replace("%2",
                                                                             meta.masked)
            if verdict is None:
                self._show_ok(added)
            elif verdict.ok:
                self._show_ok(added + " " + self.tr("Test: %1").replace("%1", verdict.text))
            else:
                self._show_error_text(added + " " + self.tr(
                    "Marked invalid: %1").replace("%1", verdict.text))
            self.reload()
            self.keys_changed.emit()

        self._run(op, done)

    def _show_error_text(self, text: str) -> None:
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setText(text)

    def _use_selected_for_sync(self) -> None:
        meta = self._selected()
        if meta is None:
            return
        keys, label, today = self._keys, meta.label, self._today()
        refused = self.refusal_text(meta, today)
        if refused is not None:  # an expired or invalid key is never accepted for sync
            self._show_error_text(self.tr("Not used for sync: %1").replace("%1", refused))
            return

        def done(_value: Any) -> None:
            self._show_ok(self.tr("Organization sync now uses %1.").replace("%1", label))
            self.reload()
            self.keys_changed.emit()

        self._run(lambda: keys.use_for_sync(label, today), done)

    def _remove_selected(self) -> None:
        meta = self._selected()
        if meta is None:
            return
        keys, label = self._keys, meta.label
        question = self.tr("Remove the key %1 (%2)? Its secret is deleted from the system "
                           "keyring.").replace("%1", label).replace("%2", meta.masked)
        if meta.kind == "admin" and sum(m.kind == "admin" for m in self._metas) == 1:
            question += "\n\n" + self.tr("It is the only admin key: organization usage stops "
                                          "syncing until you add another.")
        if not self._confirm(self.tr("Remove key"), question):
            return

        def done(_value: Any) -> None:
            self._show_ok(self.tr("Removed %1.").replace("%1", label))
            self.reload()
            self.keys_changed.emit()

        self._run(lambda: keys.remove(label), done)

    def _test_selected(self) -> None:
        meta = self._selected()
        tester = self._tester
        if meta is None or tester is None:
            return
        keys = self._keys
        self.status.setStyleSheet("")
        self.status.setText(self.tr("Testing %1…").replace("%1", meta.label))

        at = self._clock()

        def op() -> _Verdict:
            secret = keys.secret(meta.label)
            try:
                verdict = _Verdict(True, tester(meta, secret))
            except KnownError as exc:
                verdict = _Verdict(False, exc.text())
                if not getattr(exc, "conclusive", True):  # a network error: nothing learnt
                    return verdict
            keys.mark_tested(meta.label, verdict.ok, at)
            return verdict

        def done(verdict: Any) -> None:
            text = f"{meta.label}: {verdict.text}"
            if verdict.ok:
                self._show_ok(text)
            else:
                self._show_error_text(text)
            self.reload()

        self._run(op, done)
