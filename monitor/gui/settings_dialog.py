"""The settings dialog: one field per entry of the settings SCHEMA, validated in place.

Every field is checked with `Settings.replace` as it is edited; a refused value shows the
reason under the field (in the UI language) and disables Save. The space for that reason is
kept whether or not it shows, and reasons wrap, so the dialog does not grow while typing.
The dialog returns a new `Settings` and writes nothing itself (AppState saves it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from monitor.core.settings import (
    LANGUAGES,
    SCHEMA,
    TRAY_ICON_SHOWS,
    SettingError,
    Settings,
    SettingSpec,
)

COMMON_TIMEZONES = (
    "local", "UTC", "America/Los_Angeles", "America/New_York", "America/Sao_Paulo",
    "Europe/London", "Europe/Paris", "Europe/Berlin", "Asia/Kolkata", "Asia/Shanghai",
    "Asia/Tokyo", "Australia/Sydney",
)
ERROR_STYLE = "color: #c62828;"
FIELD_MIN_WIDTH_PX = 230
INVALID_FIELD_STYLE = "border: 1px solid #c62828;"
PRICES_STALE_DAYS = 90
"""A price table older than this is flagged: OpenAI changes prices every few months."""


def price_table_age_text(as_of: date, today: date) -> str:
    """`Prices as of 2026-11-23 (10 days old)`, with a warning past PRICES_STALE_DAYS."""
    days = (today - as_of).days
    text = QCoreApplication.translate("settings", "Prices as of %1 (%2 days old).").replace(
        "%1", as_of.isoformat()).replace("%2", str(max(days, 0)))
    if days > PRICES_STALE_DAYS:
        text += " " + QCoreApplication.translate(
            "settings", "The price table is over %1 days old and prices may have changed: "
            "update it with `token-monitor price import FILE` (LiteLLM's "
            "model_prices_and_context_window.json).").replace("%1", str(PRICES_STALE_DAYS))
    return text
NOTE_STYLE = "color: #5f6368;"


@dataclass
class _Field:
    spec: SettingSpec
    widget: QWidget
    error: QLabel
    read: Callable[[], Any]


class SettingsDialog(QDialog):
    """Edits a copy of `settings`; `result_settings()` is the validated outcome after OK.

    Args:
        settings: the current settings (shown, never mutated).
        on_test_notification: called by the "Send test notification" button.
    """

    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        on_test_notification: Callable[[], None] | None = None,
        prices_as_of: date | None = None,
        today: date | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settings-dialog")
        self.setWindowTitle(self.tr("Token Monitor settings"))
        self._original = settings
        self._result: Settings | None = None
        self._fields: dict[str, _Field] = {}
        self._on_test = on_test_notification

        layout = QVBoxLayout(self)
        # Grow when a refusal reason appears under a field, instead of overlapping the next.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        groups: dict[str, QFormLayout] = {}
        group_titles = {
            "budget": self.tr("Budget"),
            "sources": self.tr("Sources"),
            "proxy": self.tr("Metering proxy"),
            "credit": self.tr("Prepaid credit"),
            "general": self.tr("General"),
        }
        columns = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        columns.addLayout(left)
        columns.addLayout(right)
        layout.addLayout(columns)
        placement = {"budget": left, "sources": left, "proxy": left,
                     "credit": right, "general": right}
        for spec in SCHEMA:
            form = groups.get(spec.group)
            if form is None:
                box = QGroupBox(group_titles.get(spec.group, spec.group.title()), self)
                box.setObjectName(f"group-{spec.group}")
                form = QFormLayout(box)
                form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
                groups[spec.group] = form
                placement.get(spec.group, right).addWidget(box)
            self._add_field(form, spec, getattr(settings, spec.key))
        left.addStretch(1)
        right.addStretch(1)

        self.prices_note = QLabel(self)
        self.prices_note.setObjectName("prices-as-of")
        self.prices_note.setWordWrap(True)
        self.prices_note.setVisible(prices_as_of is not None and today is not None)
        if prices_as_of is not None and today is not None:
            self.prices_note.setText(price_table_age_text(prices_as_of, today))
            if (today - prices_as_of).days > PRICES_STALE_DAYS:
                self.prices_note.setStyleSheet(ERROR_STYLE)
        layout.addWidget(self.prices_note)

        self._language_note = QLabel(self.tr("The windows switch to the new language when "
                                             "you press Save."), self)
        self._language_note.setObjectName("language-note")
        self._language_note.setWordWrap(True)
        self._language_note.setVisible(False)
        layout.addWidget(self._language_note)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Save"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        self._test_button = QPushButton(self.tr("Send test notification"), self)
        self._test_button.setObjectName("test-notification")
        self._test_button.clicked.connect(self._send_test)
        buttons.addButton(self._test_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self._buttons = buttons
        layout.addWidget(buttons)

    # building --------------------------------------------------------------------------

    def _labels(self) -> dict[str, str]:
        return {
            "monthly_limit_usd": self.tr("Monthly limit (USD)"),
            "cycle_start_day": self.tr("Billing cycle starts on day"),
            "alert_thresholds_pct": self.tr("Alert thresholds (% of limit)"),
            "hard_cap": self.tr("Refuse proxy requests past the monthly limit"),
            "poll_interval_s": self.tr("Poll interval (seconds)"),
            "today_timezone": self.tr("Time zone of \u201ctoday\u201d"),
            "openai_base_url": self.tr("OpenAI API base URL"),
            "proxy_enabled": self.tr("Run the metering proxy"),
            "proxy_port": self.tr("Proxy port"),
            "metrics_enabled": self.tr("Expose metrics"),
            "metrics_port": self.tr("Metrics port (Prometheus, loopback)"),
            "otlp_endpoint": self.tr("OTLP/HTTP endpoint (empty: off)"),
            "notifications_enabled": self.tr("Desktop notifications"),
            "start_at_login": self.tr("Start at login"),
            "language": self.tr("Language"),
            "tray_icon_shows": self.tr("Tray icon shows"),
            "key_renew_days": self.tr("Remind to renew API keys after (days, 0: never)"),
            "prepaid_credit_usd": self.tr("Prepaid credit (USD)"),
            "prepaid_purchased": self.tr("Credit purchased on"),
            "prepaid_expires": self.tr("Credit expires on"),
        }

    def _add_field(self, form: QFormLayout, spec: SettingSpec, value: Any) -> None:
        label = self._labels().get(spec.key, spec.label)
        error = QLabel(self)
        error.setObjectName(f"error-{spec.key}")
        error.setStyleSheet(ERROR_STYLE)
        error.setWordWrap(True)  # a long refused value never widens the dialog
        policy = error.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # no jump when a reason comes and goes
        policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
        error.setSizePolicy(policy)
        error.setVisible(False)
        widget: QWidget
        read: Callable[[], Any]
        if isinstance(value, bool):
            box = QCheckBox(self)
            box.setChecked(value)
            box.toggled.connect(lambda _=False, k=spec.key: self._validate(k))
            widget, read = box, box.isChecked
        elif spec.key == "language":
            combo = QComboBox(self)
            names = {"system": self.tr("System language"), "en": "English",
                     "zh_CN": "简体中文"}
            for code in LANGUAGES:
                combo.addItem(names.get(code, code), code)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            combo.currentIndexChanged.connect(lambda _=0, k=spec.key: self._validate(k))
            widget, read = combo, combo.currentData
        elif spec.key == "tray_icon_shows":
            combo = QComboBox(self)
            shows = {"gauge": self.tr("Gauge of the cycle"), "today_usd": self.tr("Today's $"),
                     "cycle_pct": self.tr("Cycle %")}
            for code in TRAY_ICON_SHOWS:
                combo.addItem(shows[code], code)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            combo.currentIndexChanged.connect(lambda _=0, k=spec.key: self._validate(k))
            widget, read = combo, combo.currentData
        elif spec.key == "today_timezone":
            combo = QComboBox(self)
            combo.setEditable(True)
            # "local" is a value, shown in the UI's language (本地) and saved as "local".
            local = self.tr("local")
            combo.addItems([local if z == "local" else z for z in COMMON_TIMEZONES])
            combo.setCurrentText(local if value == "local" else str(value))
            combo.setToolTip(self.tr('"local", "UTC" or a zone name such as Europe/Paris'))
            combo.editTextChanged.connect(lambda _="", k=spec.key: self._validate(k))

            def read_zone(combo: QComboBox = combo, local: str = local) -> str:
                text = combo.currentText().strip()
                return "local" if text == local else text

            widget, read = combo, read_zone
        else:
            edit = QLineEdit(self)
            edit.setText(_to_text(value))
            if spec.key in ("prepaid_purchased", "prepaid_expires"):
                edit.setPlaceholderText(self.tr("YYYY-MM-DD (empty: none)"))
            elif spec.key == "prepaid_credit_usd":
                edit.setPlaceholderText(self.tr("empty: no prepaid credit"))
            elif spec.key == "alert_thresholds_pct":
                edit.setPlaceholderText("50, 80, 90, 100")
                edit.setToolTip(self.tr("Percentages of the limit, separated by commas or "
                                        "spaces: 50, 80, 90, 100 or 50 80 90 100"))
            edit.textChanged.connect(lambda _="", k=spec.key: self._validate(k))
            widget, read = edit, edit.text
        widget.setObjectName(f"field-{spec.key}")
        if not isinstance(widget, QCheckBox):
            widget.setMinimumWidth(FIELD_MIN_WIDTH_PX)
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(widget)
        column.addWidget(error)
        holder = QWidget(self)
        holder.setLayout(column)
        column.setContentsMargins(0, 0, 0, 0)
        form.addRow(label, holder)
        self._fields[spec.key] = _Field(spec, widget, error, read)
        if spec.key == "monthly_limit_usd":
            self._limit_note = QLabel(self.tr(
                "0 means no limit: spend is still counted, but the icon shows no gauge and "
                "no threshold or projection alerts fire."), self)
            self._limit_note.setObjectName("limit-note")
            self._limit_note.setWordWrap(True)
            self._limit_note.setStyleSheet(NOTE_STYLE)
            column.addWidget(self._limit_note)
            self._update_limit_note()

    def _update_limit_note(self) -> None:
        f = self._fields.get("monthly_limit_usd")
        if f is None:
            return
        try:
            zero = Decimal(str(f.read()).strip() or "x") == 0
        except ArithmeticError:
            zero = False
        self._limit_note.setVisible(zero)

    def limit_note(self) -> str:
        """The explanation shown for a limit of 0, or "" (for tests)."""
        return "" if self._limit_note.isHidden() else self._limit_note.text()

    # validation ------------------------------------------------------------------------

    def field(self, key: str) -> QWidget:
        """The editor widget of setting `key` (for tests)."""
        return self._fields[key].widget

    def error_text(self, key: str) -> str:
        """The reason shown under `key`, or "" when the value is accepted."""
        f = self._fields[key]
        return f.error.text() if not f.error.isHidden() else ""

    def _check(self, key: str) -> str | None:
        f = self._fields[key]
        try:
            self._original.replace(**{key: f.read()})
        except SettingError as exc:
            msg = str(exc)
            prefix = f"{key}: "
            return self._translate(msg[len(prefix):] if msg.startswith(prefix) else msg)
        return None

    def _translate(self, reason: str) -> str:
        """The schema's English reason in the UI language (unknown ones stay as they are)."""
        patterns: list[tuple[str, str]] = [
            (r"must be a number", self.tr("must be a number")),
            (r"(?P<v>'.*') is not a number", self.tr("%1 is not a number")),
            (r"must be a finite number", self.tr("must be a finite number")),
            (r"must be at least (?P<v>\S+)", self.tr("must be at least %1")),
            (r"must be at most (?P<v>\S+)", self.tr("must be at most %1")),
            (r"must be a whole number", self.tr("must be a whole number")),
            (r"(?P<v>'.*') is not a whole number", self.tr("%1 is not a whole number")),
            (r"must be between (?P<v>\S+) and (?P<w>\S+)",
             self.tr("must be between %1 and %2")),
            (r"must be true or false", self.tr("must be true or false")),
            (r"must be a list of percentages.*",
             self.tr("must be percentages separated by commas or spaces, e.g. 50, 80, 90")),
            (r"needs at least one threshold",
             self.tr("needs at least one threshold, e.g. 50, 80, 90, 100")),
            (r"must be \"local\", \"UTC\" or a zone name.*",
             self.tr('must be "local", "UTC" or a zone name such as Europe/Paris')),
            (r"unknown time zone (?P<v>'.*')", self.tr("unknown time zone %1")),
            (r"must be an http:// or https:// URL",
             self.tr("must be an http:// or https:// URL")),
            (r"must be a date as YYYY-MM-DD", self.tr("must be a date as YYYY-MM-DD")),
        ]
        for pattern, text in patterns:
            m = re.fullmatch(pattern, reason)
            if m is not None:
                groups = m.groupdict()
                return text.replace("%1", groups.get("v") or "").replace(
                    "%2", groups.get("w") or "")
        return reason

    def _validate(self, key: str) -> bool:
        problem = self._check(key)
        f = self._fields[key]
        f.error.setText(self.tr("Not accepted: %1").replace("%1", problem) if problem else "")
        f.error.setVisible(problem is not None)
        f.widget.setStyleSheet(INVALID_FIELD_STYLE if problem else "")
        if key == "language":
            self._language_note.setVisible(f.read() != self._original.language)
        if key == "monthly_limit_usd":
            self._update_limit_note()
        ok = all(self._check(k) is None for k in self._fields)
        self._buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)
        return problem is None

    def accept(self) -> None:
        problems = [k for k in self._fields if not self._validate(k)]
        if problems:
            self._fields[problems[0]].widget.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        self._result = self._original.replace(**{k: f.read() for k, f in self._fields.items()})
        super().accept()

    def result_settings(self) -> Settings | None:
        """The accepted settings, or None if the dialog was cancelled."""
        return self._result

    def _send_test(self) -> None:
        if self._on_test is not None:
            self._on_test()

    @classmethod
    def ask(
        cls,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        on_test_notification: Callable[[], None] | None = None,
        prices_as_of: date | None = None,
        today: date | None = None,
    ) -> Settings | None:
        """Show the dialog modally; the new settings, or None if cancelled."""
        dialog = cls(settings, parent, on_test_notification=on_test_notification,
                     prices_as_of=prices_as_of, today=today)
        try:
            dialog.exec()
            return dialog.result_settings()
        finally:
            dialog.deleteLater()


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, Decimal | date):
        return str(value)
    return str(value)
