"""The welcome panel: what a new user sees while there is no key, no proxy and no data.

Three one-click paths (read the organization's usage with an admin key, meter apps on this
machine through the proxy, just count tokens) and an offer to add Token Monitor to the
desktop's application menu. The panel only emits requests; AppController decides what they
do; the panel stays until the user dismisses it, or data came and its lines to paste
(if shown) were copied.

`welcome_due` is the rule for showing it at start-up; `ProxyLines` are the lines path 2
shows to paste. Other features add lines through `WelcomeFlow.line_providers`
(e.g. a virtual key once virtual keys exist).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from monitor.services.snapshot import DashboardSnapshot

PATH_ADMIN = "admin"
PATH_PROXY = "proxy"
PATH_TOKENIZER = "tokenizer"
PATH_DESKTOP = "desktop"

ADMIN_KEYS_URL = "https://platform.openai.com/settings/organization/admin-keys"

CARD_STYLE = ("QFrame#welcome-card { background: palette(base); border: 1px solid #c8d1dc; "
              "border-radius: 6px; }")


def welcome_due(snap: DashboardSnapshot, *, has_key: bool, dismissed: bool) -> bool:
    """Whether to open the welcome panel: nothing set up and nothing to show yet."""
    return not (dismissed or has_key or snap.has_data or snap.proxy.enabled)


def admin_keys_link() -> str:
    """The OpenAI page where Admin keys are made, as a rich-text link (welcome, keys intro)."""
    text = QCoreApplication.translate("WelcomePanel", "Organization settings → Admin keys")
    return f'<a href="{ADMIN_KEYS_URL}">{text}</a>'


def proxy_lines(base_url: str, extra: Sequence[str] = ()) -> list[str]:
    """The shell lines an app needs to go through the proxy (extra: e.g. a virtual key)."""
    return [f"export OPENAI_BASE_URL={base_url}", *extra]


class WelcomePanel(QWidget):
    """Three paths to a first number, and a dismiss button.

    Signals:
        path_requested(str): PATH_ADMIN, PATH_PROXY, PATH_TOKENIZER or PATH_DESKTOP.
        dismissed(): the user closed the panel.
    """

    path_requested = Signal(str)
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        title = QLabel("<h2>" + self.tr("Welcome to Token Monitor") + "</h2>", self)
        title.setObjectName("welcome-title")
        top.addWidget(title, 1)
        close = QPushButton(self.tr("Dismiss"), self)
        close.setObjectName("welcome-dismiss")
        close.setToolTip(self.tr("Hide this panel; the dashboard shows zeros until data comes"))
        close.clicked.connect(self.dismissed.emit)
        top.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(top)
        self.intro = QLabel(self._nothing_yet(), self)
        self.intro.setObjectName("welcome-intro")
        self.intro.setWordWrap(True)
        outer.addWidget(self.intro)
        self.copied = False  # the proxy lines were copied: the panel may go once data comes

        self.buttons: dict[str, QPushButton] = {}
        outer.addWidget(self._card(
            PATH_ADMIN, self.tr("Read my organization's usage"),
            self.tr("Needs an <b>Admin key</b>: create one on the OpenAI platform under "
                    "%1. Token Monitor tests it, keeps it in the system keyring and fetches "
                    "this and last billing cycle.").replace("%1", admin_keys_link()),
            self.tr("Add an admin key…")))
        proxy_card = self._card(
            PATH_PROXY, self.tr("Meter my apps on this machine"),
            self.tr("Turns on the local metering proxy. Apps that send their requests through "
                    "it are counted request by request, with no admin key."),
            self.tr("Turn on the proxy"))
        self.lines = QPlainTextEdit(proxy_card)
        self.lines.setObjectName("welcome-proxy-lines")
        self.lines.setReadOnly(True)
        self.lines.setMaximumHeight(64)
        self.lines.hide()
        self.copy_button = QPushButton(self.tr("Copy"), proxy_card)
        self.copy_button.setObjectName("welcome-copy")
        self.copy_button.clicked.connect(self.copy_lines)
        self.copy_button.hide()
        self.lines_hint = QLabel(self.tr("Paste these lines into the shell (or the app's "
                                         "environment) before starting your app:"), proxy_card)
        self.lines_hint.setWordWrap(True)
        self.lines_hint.hide()
        card_layout = proxy_card.layout()
        assert isinstance(card_layout, QVBoxLayout)
        card_layout.addWidget(self.lines_hint)
        row = QHBoxLayout()
        row.addWidget(self.lines, 1)
        row.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        card_layout.addLayout(row)
        outer.addWidget(proxy_card)
        outer.addWidget(self._card(
            PATH_TOKENIZER, self.tr("Just count tokens"),
            self.tr("Opens the tokenizer: paste text, see tokens and cost for any model. "
                    "Works offline, no account needed."),
            self.tr("Open the tokenizer")))

        bottom = QHBoxLayout()
        self.desktop_note = QLabel(self.tr(
            "Find Token Monitor again after a restart: add it to the application menu."), self)
        self.desktop_note.setWordWrap(True)
        bottom.addWidget(self.desktop_note, 1)
        desktop = QPushButton(self.tr("Add to application menu"), self)
        desktop.setObjectName("welcome-desktop")
        desktop.clicked.connect(lambda: self.path_requested.emit(PATH_DESKTOP))
        self.buttons[PATH_DESKTOP] = desktop
        bottom.addWidget(desktop)
        outer.addLayout(bottom)
        outer.addStretch(1)

    def _card(self, path: str, title: str, body: str, button_text: str) -> QFrame:
        card = QFrame(self)
        card.setObjectName("welcome-card")
        card.setStyleSheet(CARD_STYLE)
        lay = QVBoxLayout(card)
        head = QHBoxLayout()
        name = QLabel(f"<b>{title}</b>", card)
        head.addWidget(name, 1)
        button = QPushButton(button_text, card)
        button.setObjectName(f"welcome-{path}")
        button.clicked.connect(lambda: self.path_requested.emit(path))
        head.addWidget(button)
        lay.addLayout(head)
        text = QLabel(body, card)
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setOpenExternalLinks(True)  # the Admin keys page opens in the browser
        text.setObjectName(f"welcome-{path}-text")
        lay.addWidget(text)
        self.buttons[path] = button
        return card

    def show_proxy_lines(self, lines: Sequence[str]) -> None:
        """Show the lines to paste (path 2 once the proxy listens)."""
        self.lines.setPlainText("\n".join(lines))
        for w in (self.lines, self.copy_button, self.lines_hint):
            w.show()
        proxy = self.buttons[PATH_PROXY]
        proxy.setText(self.tr("The proxy is on"))
        proxy.setEnabled(False)

    def copy_lines(self) -> None:
        QGuiApplication.clipboard().setText(self.lines.toPlainText())
        self.copy_button.setText(self.tr("Copied"))
        self.copied = True

    def done(self, snap: DashboardSnapshot) -> bool:
        """Whether the panel has served its purpose: data came, and the lines to paste (once
        shown) were copied. A shown `OPENAI_BASE_URL` line never vanishes un-copied."""
        return snap.has_data and (self.copied or self.lines.isHidden())

    def _nothing_yet(self) -> str:
        return self.tr("Nothing is set up yet. Pick what you want to see first; each path "
                       "takes one click and you can add the others later.")

    def show_setup(self, snap: DashboardSnapshot, *, has_key: bool) -> None:
        """Say what is set up already (the proxy, an admin key, data), not "nothing"."""
        done: list[str] = []
        if snap.proxy.enabled and snap.proxy.address:
            done.append(self.tr("Proxy on at %1").replace("%1", snap.proxy.address))
        elif snap.proxy.enabled:
            done.append(self.tr("Proxy starting"))
        if has_key:
            done.append(self.tr("admin key stored"))
        if snap.has_data:
            done.append(self.tr("first figures in"))
        if not done:
            self.intro.setText(self._nothing_yet())
            return
        self.intro.setText(self.tr("Set up so far: %1. Pick what else you want to see, or "
                                   "press Dismiss to go to the dashboard.")
                           .replace("%1", "; ".join(done)))

    def set_desktop_installed(self, installed: bool) -> None:
        button = self.buttons[PATH_DESKTOP]
        button.setEnabled(not installed)
        if installed:
            self.desktop_note.setText(self.tr("Token Monitor is in the application menu."))
