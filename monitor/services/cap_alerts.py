"""Alerts for spending caps: a soft cap reached, a hard cap refusing requests (once per period).

Qt-free. The proxy (wherever it runs: the app or `token-monitor proxy`) stores each hard-cap
refusal in the usage database (`cap_refusals`); the app's alert engine turns them, and virtual
keys whose soft cap is reached, into alerts keyed by the cap's period, so each fires once per
period across restarts (`AlertContext.extra`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from monitor.core.money import usd
from monitor.services.alerting import Alert
from monitor.services.virtual_keys import CYCLE_SCOPE, VirtualKeys, key_statuses

if TYPE_CHECKING:
    from monitor.core.settings import Settings
    from monitor.services.store import UsageStore


def cap_alerts(store: UsageStore, settings: Settings, now: datetime) -> list[tuple[Alert, date]]:
    """(alert, the first day of its period) for every soft cap reached and hard cap refusing."""
    out: list[tuple[Alert, date]] = []
    for status in key_statuses(store, settings, now):
        key = status.key
        if key.cap_usd is None or key.hard or not status.over_cap:
            continue
        per = "daily" if key.per == "day" else "monthly"
        out.append((Alert(
            "virtual_key_cap", key.label, f"Virtual key {key.label} reached its cap",
            f"{key.label} spent {usd(status.spent_usd)} of its {usd(key.cap_usd)} {per} cap "
            "(a soft cap: requests still go through).", "normal",
            (("label", key.label), ("spend", usd(status.spent_usd)),
             ("cap", usd(key.cap_usd)), ("per", key.per)),
        ), status.period.start.date()))  # fmt: skip
    for refusal in VirtualKeys(store).refusals_at(now):
        what = ("the monthly limit" if refusal.scope == CYCLE_SCOPE
                else f"virtual key {refusal.label}")
        out.append((Alert(
            "hard_cap", f"{refusal.scope}:{refusal.label}",
            f"Hard cap reached: the proxy refuses requests for {what}",
            f"{refusal.message} Requests refused so far: {refusal.count}.", "critical",
            (("label", refusal.label), ("scope", refusal.scope), ("count", str(refusal.count)),
             ("resets", f"{refusal.period.end:%Y-%m-%d %H:%M} UTC")),
        ), refusal.period.start.date()))  # fmt: skip
    return out
