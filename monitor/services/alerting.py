"""The alert engine's services half: the inputs, the fired-alert store and the pause.

The rules live in core/alert_rules (pure) and the words in core/alert_texts; this module
feeds the rules from a snapshot, the key list, the last sync error and the caps
(`inputs_for`, `context_for`), records every alert with `store.record_alert` before it is
delivered, so it fires at most once per period even across restarts, and keeps the pause.
While alerts are paused nothing is evaluated or recorded: what is still true when the pause
ends fires then. Qt-free: the CLI and tests evaluate the same alerts as the app.

Spikes are measured against the user's own baseline: today against the median of the 14 days
before (`spike`, once per UTC day), and the last full hour or the current hour so far against
the median hourly spend of the 14 days before them (`spike_hour`, from `snap.hourly_spend`:
org hourly buckets and proxy records, see snapshot_build._hourly_spend; once per UTC day, so a
spike lasting several hours alerts once). Without enough history (fewer than
`SPIKE_MIN_HOURLY_POINTS` covered hours, or a median of 0) there is no hourly alert.
A key the proxy sees refused with 401 (its newest request of the last day) raises
`proxy_key_rejected` once per key label and cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from monitor.core import alert_rules as rules
from monitor.core.alert_rules import EVER, Alert, AlertInputs, HardCapRefusals, KeyInfo, SoftCap
from monitor.core.budget import BudgetStatus
from monitor.services import ui_state
from monitor.services.cap_alerts import cap_inputs
from monitor.services.limit_choice import limit_chosen
from monitor.services.snapshot import DashboardSnapshot

if TYPE_CHECKING:
    from monitor.core.settings import Settings
    from monitor.services.keyvault import KeyStore
    from monitor.services.store import UsageStore

__all__ = ["EVER", "PAUSE_KEY", "Alert", "AlertContext", "AlertEngine", "context_for",
           "inputs_for", "pause_until_for"]

log = logging.getLogger(__name__)

PAUSE_KEY = "alerts_paused_until"


class AlertStore(Protocol):
    def record_alert(self, kind: str, threshold: str, cycle_start: date) -> bool: ...

    def fired_alerts(self, cycle_start: date) -> set[tuple[str, str]]: ...


@dataclass(frozen=True)
class AlertContext:
    """What the rules need besides the snapshot."""

    status: BudgetStatus
    thresholds_pct: Sequence[int]
    keys: Sequence[KeyInfo] = ()
    sync_error_kind: str | None = None  # class name of the last sync failure, if failing
    sync_key_label: str | None = None  # the key the sync used
    soft_caps: Sequence[SoftCap] = ()  # the spending caps (services/cap_alerts.cap_inputs)
    hard_caps: Sequence[HardCapRefusals] = ()
    renew_days: int = 0  # a key this many days old is due renewal (0: no reminder)
    # False until the user chose a monthly limit: no threshold/projection alert from a
    # default they never picked (the app asks once, after the first data).
    budget_alerts: bool = True


def inputs_for(snap: DashboardSnapshot, ctx: AlertContext, now: datetime) -> AlertInputs:
    """The rules' inputs from a snapshot and its context (key dates in the local zone)."""
    return AlertInputs(
        status=ctx.status, thresholds_pct=ctx.thresholds_pct, budget_alerts=ctx.budget_alerts,
        at=snap.generated_at, today=snap.today.day, today_usd=snap.today.cost_usd,
        day_history=[p.cost_usd for p in snap.spend_history],
        hours=[(p.start, p.cost_usd) for p in snap.hourly_spend],
        rejected_keys=snap.rejected_keys, spending_keys=snap.by_key, keys=ctx.keys,
        local_today=now.astimezone().date(), sync_error_kind=ctx.sync_error_kind,
        sync_key_label=ctx.sync_key_label, renew_days=ctx.renew_days, credit=snap.credit,
        soft_caps=ctx.soft_caps, hard_caps=ctx.hard_caps,
    )


def context_for(status: BudgetStatus, settings: Settings, *, usage: UsageStore,
                keys: Callable[[], KeyStore], state_file: Path, now: datetime,
                sync_error_kind: str | None = None,
                sync_key_label: str | None = None) -> AlertContext:
    """Everything besides the snapshot, read from the stores: the key list (and the key a
    sync would use, when `sync_key_label` is not known), the caps' figures and whether the
    user chose a limit. A broken keys file or cap table is logged and must not stop the
    budget alerts."""
    key_list: Sequence[KeyInfo] = []
    try:
        store = keys()
        key_list = store.list()
        if sync_key_label is None:
            chosen = store.sync_admin(now.astimezone().date())
            sync_key_label = chosen.label if chosen is not None else None
    except Exception:
        log.warning("cannot read the key list for expiry alerts", exc_info=True)
    soft: Sequence[SoftCap] = []
    hard: Sequence[HardCapRefusals] = []
    try:
        soft, hard = cap_inputs(usage, settings, now)
    except Exception:
        log.warning("cannot evaluate the spending-cap alerts", exc_info=True)
    return AlertContext(
        status=status, thresholds_pct=settings.alert_thresholds_pct, keys=key_list,
        sync_error_kind=sync_error_kind, sync_key_label=sync_key_label, soft_caps=soft,
        hard_caps=hard, renew_days=settings.key_renew_days,
        budget_alerts=limit_chosen(state_file, settings))


class AlertEngine:
    """Records alerts once per period; pause state lives in `state_file` (shared UI state)."""

    def __init__(self, store: AlertStore | Callable[[], AlertStore],
                 state_file: Path | None = None) -> None:
        # A callable is called on first use (off the GUI thread: it may open the database).
        self._store_src = store
        self._state_file = state_file
        self._paused_until: datetime | None = self._load_pause()

    @property
    def _store(self) -> AlertStore:
        src = self._store_src
        return src() if callable(src) else src

    # pause ------------------------------------------------------------------------------

    @property
    def paused_until(self) -> datetime | None:
        return self._paused_until

    def is_paused(self, now: datetime) -> bool:
        return self._paused_until is not None and now < self._paused_until

    def pause(self, until: datetime | None) -> None:
        """Pause alerts until `until` (aware); None resumes."""
        self._paused_until = until.astimezone(UTC) if until is not None else None
        self._save_pause()

    def _load_pause(self) -> datetime | None:
        if self._state_file is None:
            return None
        raw = ui_state.read_key(self._state_file, PAUSE_KEY)
        try:
            return datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            return None

    def _save_pause(self) -> None:
        if self._state_file is None:
            return
        ui_state.update_key(self._state_file, PAUSE_KEY,
                            self._paused_until.isoformat() if self._paused_until else None)

    # evaluation -------------------------------------------------------------------------

    def due(self, inputs: AlertInputs) -> list[Alert]:
        """What the rules say is due and has not fired in its period (nothing recorded)."""
        store = self._store
        fired: dict[date, set[tuple[str, str]]] = {}

        def new(a: Alert) -> bool:
            if a.period not in fired:
                fired[a.period] = store.fired_alerts(a.period)
            return (a.kind, a.key) not in fired[a.period]

        return [a for a in rules.due(inputs, store.fired_alerts(inputs.status.cycle_start),
                                     store.fired_alerts(EVER)) if new(a)]

    def preview(self, inputs: AlertInputs) -> list[Alert]:
        """What `fire` would deliver now, pause aside, recording nothing (the CLI's
        `alerts`: the app still notifies them)."""
        candidates = self.due(inputs)
        if ("_key_baseline", "") not in self._store.fired_alerts(EVER):
            candidates = [a for a in candidates if a.kind != "new_key"]  # the first run learns
        return rules.shown(candidates)

    def fire(self, inputs: AlertInputs, now: datetime) -> list[Alert]:
        """The alerts to deliver at `now`, each recorded first so it never fires twice in
        its period; several thresholds crossed at once are all recorded, the highest shown."""
        if self.is_paused(now):
            return []
        store = self._store
        candidates = self.due(inputs)
        new_keys = [a for a in candidates if a.kind == "new_key"]
        if new_keys and store.record_alert("_key_baseline", "", EVER):
            # The first run only learns the keys already spending: no alert for them.
            for a in new_keys:
                store.record_alert(a.kind, a.key, a.period)
            candidates = [a for a in candidates if a.kind != "new_key"]
        return rules.shown([a for a in candidates
                            if store.record_alert(a.kind, a.key, a.period)])

    def evaluate(self, snap: DashboardSnapshot, ctx: AlertContext,
                 now: datetime) -> list[Alert]:
        """The alerts due at `now` for a snapshot (see `fire`)."""
        if self.is_paused(now):
            return []
        return self.fire(inputs_for(snap, ctx, now), now)


def pause_until_for(choice: str, now: datetime) -> datetime | None:
    """`1h` → now + 1 hour; `tomorrow` → next local midnight; anything else → None."""
    if choice == "1h":
        return now + timedelta(hours=1)
    if choice == "tomorrow":
        local = now.astimezone()
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time())
        return midnight.astimezone()  # naive local midnight → aware
    return None
