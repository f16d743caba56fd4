"""Whether the user chose a monthly limit: budget alerts wait for it (issue 25).

A new install starts at the default $120 limit, which the user never picked; a projection
alert from it seconds after the first sync reads as noise. The app asks once, after the first
data, showing last cycle's spend as a hint; the answer (or a limit set any other way) is
remembered in the UI state file, so it is asked once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.core.budget import previous_cycle
from monitor.core.settings import Settings
from monitor.services import ui_state

if TYPE_CHECKING:
    from monitor.core.prices import PriceTable
    from monitor.services.store import UsageStore

log = logging.getLogger(__name__)

LIMIT_CHOSEN_KEY = "monthly_limit_chosen"


def limit_chosen(state_file: Path, settings: Settings) -> bool:
    """True once the user picked a limit: answered the question, or set a non-default one."""
    if settings.monthly_limit_usd != Settings().monthly_limit_usd:
        return True
    return ui_state.read_key(state_file, LIMIT_CHOSEN_KEY) is True


def mark_limit_chosen(state_file: Path) -> None:
    """Remember the choice (a state file that cannot be written only means asking again)."""
    try:
        ui_state.update_key(state_file, LIMIT_CHOSEN_KEY, True)
    except OSError as exc:
        log.warning("cannot remember the chosen monthly limit: %s", exc)


def last_cycle_spend(store: UsageStore, prices: PriceTable, settings: Settings,
                     now: datetime) -> Decimal:
    """Last billing cycle's spend, all sources (the hint next to the question)."""
    from monitor.services.usage_report import build_report

    period = previous_cycle(now, settings.cycle_start_day)
    report = build_report(store, prices, settings, period, "all", None, now)
    return report.totals.cost_usd
