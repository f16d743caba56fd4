"""Alerts as notifications in the current language: the one template table (core/alert_texts)
read through Qt's catalogue, dates by the GUI's formatter."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from monitor.core.alert_rules import Alert
from monitor.core.alert_texts import render
from monitor.gui import fmt
from monitor.services.desktop_notify import Notification


def _translated(template: str) -> str:
    # The templates are extracted from core/alert_texts.py (QT_TRANSLATE_NOOP, "alerts").
    return QCoreApplication.translate("alerts", template)


def notification_for(alert: Alert) -> Notification:
    """The notification a user sees for `alert`, in the current language."""
    words = render(alert, translate=_translated, day=fmt.short_date)
    return Notification(title=words.title, body=words.body, urgency=alert.urgency,
                        kind=alert.kind)


def test_notification() -> Notification:
    return notification_for(Alert("test", "", urgency="low"))
