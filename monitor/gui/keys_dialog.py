"""The API keys dialog over the KeyStore: list (masked), add (no-echo), test, remove, expiry.

Keyring calls can block (D-Bus, an unlock prompt), so every vault operation runs on the
TaskRunner; the dialog only shows results. When the keyring is unusable the dialog says
why and what to do, and adding is disabled (no plaintext fallback exists).
"""

from __future__ import annotations

from collections.abc import Callable
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
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from monitor.errors import KnownError
from monitor.gui.tasks import TaskRunner
from monitor.services.keyvault import KeyMeta, KeyStore, parse_expiry

# (meta, secret) -> a one-line verdict for the user; raises KnownError on failure.
KeyTester = Callable[[KeyMeta, str], str]

ERROR_STYLE = "color: #c62828;"
OK_STYLE = "color: #2e7d32;"


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
    ) -> None:
        super().__init__(parent)
        self.setObjectName("keys-dialog")
        self.setWindowTitle(self.tr("API keys"))
        self.resize(720, 460)
        self._keys = keys
        self._runner = runner
        self._tester = tester
        self._today: Callable[[], date] = today or keys.today
        self._metas: list[KeyMeta] = []
        self.busy = 0  # operations in flight (tests wait for 0)

        layout = QVBoxLayout(self)
        self.keyring_notice = QLabel(self)
        self.keyring_notice.setObjectName("keyring-notice")
        self.keyring_notice.setWordWrap(True)
        self.keyring_notice.setStyleSheet(
            "background: #fff4e5; color: #5d4037; padding: 6px; border-radius: 4px;"
        )
        self.keyring_notice.setVisible(False)
        self.keyring_notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.keyring_notice)

        self.table = QTableWidget(0, 5, self)
        self.table.setObjectName("keys-table")
        self.table.setHorizontalHeaderLabels(
            [self.tr("Label"), self.tr("Kind"), self.tr("Key"), self.tr("Added"),
             self.tr("Expiry")]
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.table, 1)

        row = QHBoxLayout()
        self.test_button = QPushButton(self.tr("Test"), self)
        self.test_button.setObjectName("test-key")
        self.test_button.clicked.connect(self._test_selected)
        self.remove_button = QPushButton(self.tr("Remove"), self)
        self.remove_button.setObjectName("remove-key")
        self.remove_button.clicked.connect(self._remove_selected)
        row.addWidget(self.test_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout.addLayout(row)

        self.status = QLabel(self)
        self.status.setObjectName("keys-status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        add_box = QGroupBox(self.tr("Add a key"), self)
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
        form.addRow(self.tr("Label"), self.label_edit)
        form.addRow(self.tr("Kind"), self.kind_combo)
        form.addRow(self.tr("Secret"), self.secret_edit)
        form.addRow(self.tr("Expires"), self.expires_edit)
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
        self.table.setRowCount(len(self._metas))
        kinds = {"admin": self.tr("admin"), "project": self.tr("project")}
        for r, meta in enumerate(self._metas):
            status = meta.expiry_status(today)
            expiry = self._expiry_text(meta, today)
            cells = [meta.label, kinds.get(meta.kind, meta.kind), meta.masked,
                     meta.created.isoformat(), expiry]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 4 and status in ("expiring", "expired"):
                    item.setForeground(Qt.GlobalColor.red)
                self.table.setItem(r, c, item)
        self._update_buttons()

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
        has = self._selected() is not None
        self.remove_button.setEnabled(has)
        self.test_button.setEnabled(has and self._tester is not None)

    def select(self, label: str) -> None:
        for r, meta in enumerate(self._metas):
            if meta.label == label:
                self.table.selectRow(r)

    # actions ---------------------------------------------------------------------------

    def _add(self) -> None:
        label = self.label_edit.text().strip()
        kind = str(self.kind_combo.currentData())
        secret = self.secret_edit.text()
        try:
            expires = parse_expiry(self.expires_edit.text().strip() or None)
        except KnownError as exc:
            self._show_error(exc)
            return
        keys = self._keys

        def op() -> KeyMeta:
            return keys.add(label, kind, secret, expires)

        def done(meta: Any) -> None:
            assert isinstance(meta, KeyMeta)
            self.secret_edit.clear()
            self.label_edit.clear()
            self.expires_edit.clear()
            self._show_ok(self.tr("Added %1 (%2).").replace("%1", meta.label)
                          .replace("%2", meta.masked))
            self.reload()
            self.keys_changed.emit()

        self._run(op, done)

    def _remove_selected(self) -> None:
        meta = self._selected()
        if meta is None:
            return
        keys, label = self._keys, meta.label

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

        def op() -> str:
            return tester(meta, keys.secret(meta.label))

        self._run(op, lambda verdict: self._show_ok(f"{meta.label}: {verdict}"))
