"""The virtual keys section of the API keys dialog: spend against cap, create, remove.

Store reads and writes run on the TaskRunner. A new key's token exists only inside the
"created" page of `NewVirtualKeyDialog`: masked until the user asks to see it, copied to the
clipboard on request, and gone when the dialog closes (the store keeps only its hash).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QCoreApplication, Signal, SignalInstance
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from monitor.context import AppContext
from monitor.core.limit_share import STATE_COLOURS, limit_state
from monitor.errors import KnownError
from monitor.gui import fmt
from monitor.gui.tasks import Busy, TaskRunner
from monitor.log import mask_secret
from monitor.services.virtual_keys import (
    VirtualKey,
    VirtualKeys,
    VirtualKeyStatus,
    create_virtual_key,
    key_statuses,
    parse_cap,
)

ERROR_STYLE = "color: #c62828;"
WARN_STYLE = "background: #fff4e5; color: #5d4037; padding: 6px; border-radius: 4px;"


@dataclass(frozen=True)
class PanelData:
    """What the panel shows: each virtual key's status and the keys one can stand for."""

    statuses: tuple[VirtualKeyStatus, ...]
    project_labels: tuple[str, ...]
    base_url: str
    thresholds_pct: tuple[int, ...] = (50, 80, 90, 100)  # the user's: they colour the bars


class VirtualKeyDesk:
    """The panel's blocking operations over the app context (call them off the GUI thread)."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx

    def load(self) -> PanelData:
        ctx = self._ctx
        statuses = key_statuses(ctx.store(), ctx.settings, ctx.now())
        projects = tuple(m.label for m in ctx.keys().list() if m.kind == "project")
        return PanelData(tuple(statuses), projects,
                         f"http://127.0.0.1:{ctx.settings.proxy_port}/v1",
                         ctx.settings.alert_thresholds_pct)

    def create(self, label: str, for_label: str, cap: Decimal | None, per: str,
               hard: bool) -> tuple[VirtualKey, str]:
        ctx = self._ctx
        return create_virtual_key(ctx.store(), ctx.keys(), label, for_label, now=ctx.now(),
                                  cap_usd=cap, per=per, hard=hard)

    def remove(self, label: str) -> None:
        VirtualKeys(self._ctx.store()).remove(label)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, KnownError):
        return exc.text()
    # a literal context: `widget.tr` would be filed under "widget" and never found at run time
    return QCoreApplication.translate("VirtualKeysPanel", "Unexpected error: %1").replace(
        "%1", type(exc).__name__)


def _bar_colour(fraction: float, thresholds_pct: tuple[int, ...]) -> str:
    """A cap bar's colour: the state of its share by the user's thresholds, as every surface."""
    return STATE_COLOURS[limit_state(fraction, thresholds_pct)]


class VirtualKeysPanel(QGroupBox):
    """Virtual keys with spend-vs-cap bars; New… and Remove.

    Signals:
        changed(): a virtual key was created or removed.
    """

    changed = Signal()

    def __init__(self, desk: VirtualKeyDesk, runner: TaskRunner, parent: QWidget | None = None,
                 *, confirm: Callable[[str], bool] | None = None) -> None:
        super().__init__(self.tr("Virtual keys (one per app, through the proxy)"), parent)
        self.setObjectName("virtual-keys-panel")
        self._desk = desk
        self._runner = runner
        self._tasks = Busy(runner)
        self._confirm = confirm or self._ask
        self._data = PanelData((), (), "")
        self._loading = False  # a store read is on its way
        self._again = False  # the store changed during it: read once more when it lands
        self.new_dialog: NewVirtualKeyDialog | None = None

        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, 5, self)
        self.table.setObjectName("virtual-keys-table")
        self.table.setHorizontalHeaderLabels([
            self.tr("App (label)"), self.tr("Stands for"), self.tr("Spent of cap"),
            self.tr("Period"), self.tr("Cap")])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.table, 1)

        row = QHBoxLayout()
        self.new_button = QPushButton(self.tr("New virtual key…"), self)
        self.new_button.setObjectName("new-virtual-key")
        self.new_button.clicked.connect(self.open_new)
        self.remove_button = QPushButton(self.tr("Remove"), self)
        self.remove_button.setObjectName("remove-virtual-key")
        self.remove_button.clicked.connect(self._remove_selected)
        self.status = QLabel(self)
        self.status.setObjectName("virtual-keys-status")
        self.status.setWordWrap(True)
        row.addWidget(self.new_button)
        row.addWidget(self.remove_button)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        self._update_buttons()
        self.reload()

    # data ------------------------------------------------------------------------------

    @property
    def busy(self) -> int:
        return self._tasks.count

    def _run(self, fn: Callable[[], Any], on_done: Callable[[Any], None],
             on_failed: Callable[[], None] | None = None) -> None:
        def done(value: Any) -> None:
            if isValid(self):  # the dialog may have closed while the store was read
                on_done(value)

        def failed(exc: BaseException) -> None:
            if isValid(self):
                if on_failed is not None:
                    on_failed()
                self.status.setStyleSheet(ERROR_STYLE)
                self.status.setText(_error_text(exc))

        self._tasks.run(fn, done, failed)

    def reload(self, *_changed: object) -> None:
        """Read the keys' spend again (off the GUI thread). Connected to the app's snapshots
        too, so an open dialog follows new records; reads that pile up while one runs become
        one more read when it lands."""
        if self._loading:
            self._again = True
            return
        self._loading = True

        def landed() -> None:
            self._loading = False
            if self._again:
                self._again = False
                self.reload()

        def done(data: Any) -> None:
            landed()
            self._show(data)

        self._run(self._desk.load, done, landed)

    def _show(self, data: Any) -> None:
        assert isinstance(data, PanelData)
        self._data = data
        self.table.setRowCount(len(data.statuses))
        for r, st in enumerate(data.statuses):
            k = st.key
            period = self.tr("today") if k.per == "day" else self.tr("billing cycle")
            kind = (self.tr("hard: refuses past it") if k.hard else self.tr("soft: alerts")) \
                if k.cap_usd is not None else self.tr("none")
            for c, text in ((0, k.label), (1, k.for_label), (3, period), (4, kind)):
                self.table.setItem(r, c, QTableWidgetItem(text))
            self.table.setCellWidget(r, 2, self._bar(st))
        self.table.resizeRowsToContents()
        self._update_buttons()

    def _bar(self, st: VirtualKeyStatus) -> QWidget:
        bar = QProgressBar(self.table)
        bar.setObjectName(f"cap-bar-{st.key.label}")
        bar.setRange(0, 1000)
        cap = st.key.cap_usd
        if cap is None:
            bar.setValue(0)
            bar.setFormat(self.tr("%1 spent · no cap").replace("%1", fmt.usd(st.spent_usd)))
            return bar
        fraction = float(st.used_fraction or 0)
        bar.setValue(min(1000, round(fraction * 1000)))
        bar.setFormat(self.tr("%1 of %2 (%3)").replace("%1", fmt.usd(st.spent_usd))
                      .replace("%2", fmt.usd(cap)).replace("%3", fmt.percent(fraction)))
        colour = _bar_colour(fraction, self._data.thresholds_pct)
        bar.setStyleSheet(f"QProgressBar::chunk {{ background: {colour}; }}"
                          "QProgressBar { text-align: center; }")
        return bar

    def labels(self) -> list[str]:
        return [s.key.label for s in self._data.statuses]

    def bar_text(self, label: str) -> str:
        bar = self.findChild(QProgressBar, f"cap-bar-{label}")
        return bar.text() if bar is not None else ""

    def _selected(self) -> VirtualKeyStatus | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        row = rows[0].row()
        statuses = self._data.statuses
        return statuses[row] if 0 <= row < len(statuses) else None

    def select(self, label: str) -> None:
        for r, st in enumerate(self._data.statuses):
            if st.key.label == label:
                self.table.selectRow(r)

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self._selected() is not None)

    # actions ---------------------------------------------------------------------------

    def open_new(self) -> None:
        dialog = NewVirtualKeyDialog(self._desk, self._runner, self._data, self)
        self.new_dialog = dialog
        dialog.created.connect(self._created)
        dialog.open()

    def _created(self, label: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(self.tr("Created %1.").replace("%1", label))
        self.reload()
        self.changed.emit()

    def _ask(self, label: str) -> bool:
        answer = QMessageBox.question(
            self, self.tr("Remove virtual key"),
            self.tr("Remove the virtual key %1? Apps using it get \"401 Incorrect API key\" "
                    "from the proxy from then on.").replace("%1", label))
        return answer == QMessageBox.StandardButton.Yes

    def _remove_selected(self) -> None:
        st = self._selected()
        if st is None or not self._confirm(st.key.label):
            return
        label, desk = st.key.label, self._desk

        def done(_value: Any) -> None:
            self.status.setStyleSheet("")
            self.status.setText(self.tr("Removed %1.").replace("%1", label))
            self.reload()
            self.changed.emit()

        self._run(lambda: desk.remove(label), done)


class NewVirtualKeyDialog(QDialog):
    """Create a virtual key, then show its token once (masked until shown) with copy buttons.

    Signals:
        created(str): the label of the key just created.
    """

    created = Signal(str)

    def __init__(self, desk: VirtualKeyDesk, runner: TaskRunner, data: PanelData,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("new-virtual-key-dialog")
        self.setWindowTitle(self.tr("New virtual key"))
        self._desk = desk
        self._tasks = Busy(runner)
        self._base_url = data.base_url
        self._token = ""
        self.pages = QStackedWidget(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)

        # page 1: the form
        form_page = QWidget(self.pages)
        form = QFormLayout(form_page)
        self.label_edit = QLineEdit(form_page)
        self.label_edit.setObjectName("vk-label")
        self.label_edit.setPlaceholderText(self.tr("the app's name, e.g. notes-bot"))
        self.for_combo = QComboBox(form_page)
        self.for_combo.setObjectName("vk-for")
        for label in data.project_labels:
            self.for_combo.addItem(label, label)
        self.cap_edit = QLineEdit(form_page)
        self.cap_edit.setObjectName("vk-cap")
        self.cap_edit.setPlaceholderText(self.tr("USD, empty for no cap"))
        self.per_combo = QComboBox(form_page)
        self.per_combo.setObjectName("vk-per")
        self.per_combo.addItem(self.tr("per day"), "day")
        self.per_combo.addItem(self.tr("per billing cycle (month)"), "month")
        self.hard_check = QCheckBox(self.tr("Hard cap: the proxy refuses requests past it "
                                            "(HTTP 429) instead of only alerting"), form_page)
        self.hard_check.setObjectName("vk-hard")
        self.error = QLabel(form_page)
        self.error.setObjectName("vk-error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        if not data.project_labels:
            self.error.setText(self.tr("Add a project key first: a virtual key stands for one."))
        self.create_button = QPushButton(self.tr("Create"), form_page)
        self.create_button.setObjectName("vk-create")
        self.create_button.setDefault(True)
        self.create_button.setEnabled(bool(data.project_labels))
        self.create_button.clicked.connect(self._create)
        cancel = QPushButton(self.tr("Cancel"), form_page)
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.create_button)
        form.addRow(self.tr("Label"), self.label_edit)
        form.addRow(self.tr("Stands for"), self.for_combo)
        form.addRow(self.tr("Cap"), self.cap_edit)
        form.addRow(self.tr("Period"), self.per_combo)
        form.addRow("", self.hard_check)
        form.addRow(self.error)
        form.addRow(buttons)
        self.pages.addWidget(form_page)

        # page 2: the token, once
        done_page = QWidget(self.pages)
        box = QVBoxLayout(done_page)
        self.done_title = QLabel(done_page)
        self.done_title.setObjectName("vk-done-title")
        font = self.done_title.font()
        font.setBold(True)
        self.done_title.setFont(font)
        once = QLabel(self.tr("This is the only time the token is shown: copy it now. Token "
                              "Monitor keeps only a hash of it."), done_page)
        once.setWordWrap(True)
        once.setStyleSheet(WARN_STYLE)
        self.token_edit = QLineEdit(done_page)
        self.token_edit.setObjectName("vk-token")
        self.token_edit.setReadOnly(True)
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_button = QPushButton(self.tr("Show"), done_page)
        self.show_button.setObjectName("vk-show")
        self.show_button.setCheckable(True)
        self.show_button.toggled.connect(self._reveal)
        self.copy_button = QPushButton(self.tr("Copy token"), done_page)
        self.copy_button.setObjectName("vk-copy")
        self.copy_button.clicked.connect(lambda: self._copy(self._token))
        token_row = QHBoxLayout()
        token_row.addWidget(self.token_edit, 1)
        token_row.addWidget(self.show_button)
        token_row.addWidget(self.copy_button)
        env_label = QLabel(self.tr("In the app's environment (with the proxy running):"),
                           done_page)
        self.env_text = QPlainTextEdit(done_page)
        self.env_text.setObjectName("vk-env")
        self.env_text.setReadOnly(True)
        self.env_text.setFixedHeight(self.env_text.fontMetrics().lineSpacing() * 3 + 16)
        self.copy_env_button = QPushButton(self.tr("Copy both lines"), done_page)
        self.copy_env_button.setObjectName("vk-copy-env")
        self.copy_env_button.clicked.connect(lambda: self._copy(self.env_lines()))
        finish = QPushButton(self.tr("Done"), done_page)
        finish.setObjectName("vk-done")
        finish.clicked.connect(self.accept)
        box.addWidget(self.done_title)
        box.addWidget(once)
        box.addLayout(token_row)
        box.addWidget(env_label)
        box.addWidget(self.env_text)
        end = QHBoxLayout()
        end.addWidget(self.copy_env_button)
        end.addStretch(1)
        end.addWidget(finish)
        box.addLayout(end)
        self.pages.addWidget(done_page)
        self.finished.connect(self._forget)
        self.resize(560, 300)

    def env_lines(self, token: str | None = None) -> str:
        """The two lines to paste (`token` in place of the real one, e.g. masked)."""
        return (f"export OPENAI_BASE_URL={self._base_url}\n"
                f"export OPENAI_API_KEY={self._token if token is None else token}")

    def _create(self) -> None:
        label = self.label_edit.text().strip()
        for_label = str(self.for_combo.currentData() or "")
        per = str(self.per_combo.currentData())
        hard = self.hard_check.isChecked()
        try:
            cap = parse_cap(self.cap_edit.text().strip() or None)
            if hard and cap is None:
                raise KnownError(self.tr("A hard cap needs an amount."))
        except KnownError as exc:
            self.error.setText(exc.text())
            return
        self.error.setText("")
        self.create_button.setEnabled(False)
        desk = self._desk

        def done(value: Any) -> None:
            if not isValid(self):
                return
            key, token = value
            self._token = token
            self.token_edit.setText(token)
            self._reveal(False)
            self.done_title.setText(self.tr("Virtual key %1 created for %2")
                                    .replace("%1", key.label).replace("%2", key.for_label))
            self.pages.setCurrentIndex(1)
            self.created.emit(key.label)

        def failed(exc: BaseException) -> None:
            if not isValid(self):
                return
            self.create_button.setEnabled(True)
            self.error.setText(_error_text(exc))

        self._tasks.run(lambda: desk.create(label, for_label, cap, per, hard), done, failed)

    @property
    def busy(self) -> int:
        return self._tasks.count

    def _reveal(self, shown: bool) -> None:
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Normal if shown
                                    else QLineEdit.EchoMode.Password)
        self.show_button.setText(self.tr("Hide") if shown else self.tr("Show"))
        self.env_text.setPlainText(self.env_lines(None if shown else mask_secret(self._token)))

    def _copy(self, text: str) -> None:
        if text:
            QGuiApplication.clipboard().setText(text)

    def _forget(self, _result: int) -> None:
        """Drop the token from the widgets (it stays only on the clipboard, if copied)."""
        self._token = ""
        self.token_edit.clear()
        self.env_text.clear()


def add_to_keys_dialog(dialog: QDialog, ctx: AppContext, runner: TaskRunner,
                       keys_changed: SignalInstance,
                       store_changed: SignalInstance | None = None) -> VirtualKeysPanel:
    """Put the panel above the dialog's button row; reload it when stored keys change and,
    while the dialog is open, on each `store_changed` (the app's new snapshots)."""
    panel = VirtualKeysPanel(VirtualKeyDesk(ctx), runner, dialog)
    layout = dialog.layout()
    assert isinstance(layout, QVBoxLayout)
    layout.insertWidget(max(0, layout.count() - 1), panel, 1)
    keys_changed.connect(panel.reload)
    if store_changed is not None:  # Qt drops the connection when the panel is deleted
        store_changed.connect(panel.reload)
    dialog.resize(dialog.width(), dialog.height() + 260)
    return panel
