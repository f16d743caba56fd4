"""The spending caps' alert inputs: soft caps reached and hard caps refusing (per period).

Qt-free. The proxy (wherever it runs: the app or `token-monitor proxy`) stores each hard-cap
refusal in the usage database (`cap_refusals`); this module reads them, and the virtual keys
with a soft cap, as plain figures for the rules in core/alert_rules, whose alerts are keyed by
the cap's period, so each fires once per period across restarts.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from monitor.core import alert_rules as rules
from monitor.core.alert_rules import Alert, HardCapRefusals, SoftCap
from monitor.services.virtual_keys import VirtualKeys, key_statuses

if TYPE_CHECKING:
    from monitor.core.settings import Settings
    from monitor.services.store import UsageStore


def cap_inputs(store: UsageStore, settings: Settings,
               now: datetime) -> tuple[list[SoftCap], list[HardCapRefusals]]:
    """Every soft cap in its current period, and every hard cap's refusals at `now`."""
    soft = [SoftCap(s.key.label, s.spent_usd, s.key.cap_usd, s.key.per, s.period.start.date())
            for s in key_statuses(store, settings, now)
            if s.key.cap_usd is not None and not s.key.hard]
    hard = [HardCapRefusals(r.scope, r.label, r.count, r.period.start.date(), r.period.end)
            for r in VirtualKeys(store).refusals_at(now)]
    return soft, hard


def cap_alerts(store: UsageStore, settings: Settings, now: datetime) -> list[Alert]:
    """Alerts for every soft cap reached and hard cap refusing (each with its period)."""
    soft, hard = cap_inputs(store, settings, now)
    return rules.soft_caps(soft) + rules.hard_caps(hard)
