"""Turn engine alerts into translated notifications (the engine's own text is English-only)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication

from monitor.gui import fmt
from monitor.services.desktop_notify import Notification

if TYPE_CHECKING:
    from monitor.services.alerting import Alert


def _fill(template: str, alert: Alert, names: tuple[str, ...]) -> str:
    out = template
    for i, name in enumerate(names, start=1):
        out = out.replace(f"%{i}", alert.param(name))
    return out


def _day(iso: str) -> str:
    try:
        return fmt.short_date(date.fromisoformat(iso))
    except ValueError:
        return iso


def notification_for(alert: Alert) -> Notification:
    """The notification a user sees for `alert`, in the current language."""
    k = alert.kind
    if k == "threshold":
        title = _fill(
            QCoreApplication.translate("alerts", "%1 % of your monthly limit used"), alert, ("pct",)
        )
        body = _fill(
            QCoreApplication.translate("alerts", "Spent %1 of %2 this cycle."),
            alert,
            ("spend", "limit"),
        )
    elif k == "projection":
        title = QCoreApplication.translate("alerts", "On pace to exceed your monthly limit")
        body = _fill(
            QCoreApplication.translate(
                "alerts", "At this pace the cycle ends at %1, over the %2 limit."
            ),
            alert,
            ("projected", "limit"),
        )
        if alert.param("date"):
            body += " " + QCoreApplication.translate("alerts", "Crossing around %1.").replace(
                "%1", _day(alert.param("date"))
            )
    elif k == "spike":
        title = QCoreApplication.translate("alerts", "Spending spike today")
        body = _fill(
            QCoreApplication.translate("alerts", "Today's spend %1 is %2× your usual day (%3)."),
            alert,
            ("spend", "factor", "median"),
        )
    elif k == "spike_hour":
        title = QCoreApplication.translate("alerts", "Spending spike this hour")
        body = _fill(
            QCoreApplication.translate(
                "alerts", "This hour's spend %1 is %2× your usual hour (%3)."
            ),
            alert,
            ("spend", "factor", "median"),
        )
    elif k == "proxy_key_rejected":
        title = QCoreApplication.translate("alerts", "API key rejected")
        body = _fill(
            QCoreApplication.translate(
                "alerts",
                "OpenAI rejected the key %1 (401) on %2 request(s) through the proxy; "
                "requests with it fail. Replace the key in API keys.",
            ),
            alert,
            ("label", "count"),
        )
    elif k == "new_key":
        title = QCoreApplication.translate("alerts", "A new API key started spending")
        count = int(alert.param("count") or alert.param("requests").replace(",", "") or 0)
        body = (
            QCoreApplication.translate(
                "alerts", "%1 made 1 request this cycle and had not been seen before.")
            if count == 1 else QCoreApplication.translate(
                "alerts", "%1 made %2 requests this cycle and had not been seen before.")
        ).replace("%1", alert.param("name")).replace("%2", alert.param("requests"))
    elif k == "key_expiring":
        title = QCoreApplication.translate("alerts", "API key expiring")
        body = QCoreApplication.translate("alerts", "The key %1 expires on %2.").replace(
            "%1", alert.param("label")).replace("%2", _day(alert.param("date")))
    elif k == "key_expired":
        title = QCoreApplication.translate("alerts", "API key expired")
        body = QCoreApplication.translate(
            "alerts", "The key %1 expired on %2; sync no longer uses it. Add a new key in "
            "API keys.").replace("%1", alert.param("label")).replace(
            "%2", _day(alert.param("date")))
    elif k == "key_age":
        title = QCoreApplication.translate("alerts", "Time to renew an API key")
        body = (
            QCoreApplication.translate(
                "alerts", "The key %1 was added on %2 and is due for renewal. Create a new key, "
                "add it in API keys and keep the old one as a backup until the new one works.")
            .replace("%1", alert.param("label")).replace("%2", _day(alert.param("date"))))
    elif k == "key_rejected":
        title = QCoreApplication.translate("alerts", "API key rejected")
        body = _fill(
            QCoreApplication.translate(
                "alerts",
                "OpenAI rejected the admin key %1 (401). Organization usage is not "
                "syncing; replace the key in API keys.",
            ),
            alert,
            ("label",),
        )
    elif k == "credit_low" and alert.param("over"):
        title = QCoreApplication.translate("alerts", "Prepaid credit used up")
        body = (QCoreApplication.translate("alerts", "The %1 prepaid credit is used up, %2 over.")
                .replace("%1", alert.param("amount")).replace("%2", alert.param("over")))
    elif k == "credit_low":
        title = QCoreApplication.translate("alerts", "Prepaid credit running low")
        body = _fill(
            QCoreApplication.translate("alerts", "%1 of %2 prepaid credit left."),
            alert,
            ("remaining", "amount"),
        )
    elif k == "credit_expiring":
        title = QCoreApplication.translate("alerts", "Prepaid credit about to expire")
        body = (
            QCoreApplication.translate("alerts", "%1 of prepaid credit expires on %2.")
            .replace("%1", alert.param("remaining"))
            .replace("%2", _day(alert.param("date")))
        )
    elif k == "virtual_key_cap":
        title = QCoreApplication.translate("alerts", "Virtual key %1 reached its cap").replace(
            "%1", alert.param("label"))
        body = _fill(
            QCoreApplication.translate(
                "alerts", "%1 spent %2 of its %3 daily cap (a soft cap: requests still go "
                "through).")
            if alert.param("per") == "day" else QCoreApplication.translate(
                "alerts", "%1 spent %2 of its %3 monthly cap (a soft cap: requests still go "
                "through)."),
            alert,
            ("label", "spend", "cap"),
        )
    elif k == "hard_cap":
        title = (
            QCoreApplication.translate(
                "alerts", "Hard cap reached: the proxy refuses requests past the monthly limit")
            if alert.param("scope") == "cycle" else QCoreApplication.translate(
                "alerts", "Hard cap reached: the proxy refuses requests for virtual key %1")
            .replace("%1", alert.param("label")))
        body = _fill(
            QCoreApplication.translate(
                "alerts", "Requests get HTTP 429 until the cap resets at %1. Refused so far: %2."),
            alert,
            ("resets", "count"),
        )
    else:
        title, body = alert.title, alert.body
    return Notification(title=title, body=body, urgency=alert.urgency, kind=alert.kind)


def test_notification() -> Notification:
    return Notification(
        title=QCoreApplication.translate("alerts", "Token Monitor test notification"),
        body=QCoreApplication.translate(
            "alerts", "Notifications work. Budget alerts will look like this."
        ),
        urgency="low",
        kind="test",
    )
