"""Which alerts are due: thresholds, projection, spikes, new keys, key expiry/rejection, credit.

Qt-free. `AlertEngine.evaluate` looks at a snapshot (plus the key list and the last sync
error) and returns the alerts to deliver now; each is recorded with `store.record_alert`
first, so it fires at most once per cycle even across restarts. While alerts are paused
nothing is evaluated or recorded: what is still true when the pause ends fires then.

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
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from monitor.core.budget import BudgetStatus, due_alerts
from monitor.core.limit_share import whole_percent
from monitor.core.money import usd as _usd
from monitor.services import ui_state
from monitor.services.snapshot import DashboardSnapshot

log = logging.getLogger(__name__)

EVER = date(1970, 1, 1)  # the "cycle" of alerts that must never repeat (new keys)
SPIKE_FACTOR = 3
SPIKE_MIN_DAY_USD = Decimal("1.00")  # ignore "spikes" of cents
SPIKE_MIN_HISTORY_DAYS = 7
SPIKE_MIN_HOUR_USD = Decimal("0.50")  # ignore hourly "spikes" of cents
SPIKE_MIN_HOURLY_POINTS = 24  # covered hours needed before the hourly baseline counts
KEY_EXPIRY_DAYS = 7
CREDIT_LOW_FRACTION = 0.2
CREDIT_EXPIRY_DAYS = 14
PAUSE_KEY = "alerts_paused_until"


class AlertStore(Protocol):
    def record_alert(self, kind: str, threshold: str, cycle_start: date) -> bool: ...

    def fired_alerts(self, cycle_start: date) -> set[tuple[str, str]]: ...


class KeyInfo(Protocol):
    """What the engine reads of a stored key (KeyMeta satisfies it)."""

    @property
    def label(self) -> str: ...

    @property
    def expires(self) -> date | None: ...

    @property
    def created(self) -> date: ...


@dataclass(frozen=True)
class Alert:
    """One alert to show. `params` fill the translated text; `title`/`body` are English."""

    kind: str  # threshold | projection | spike | spike_hour | new_key | key_expiring |
    #            key_expired | key_age |
    #            key_rejected | proxy_key_rejected | credit_low | credit_expiring | test
    key: str  # what makes it unique within its cycle (e.g. "80", a key id)
    title: str
    body: str
    urgency: str = "normal"
    params: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> str:
        return dict(self.params).get(name, "")


@dataclass(frozen=True)
class AlertContext:
    """What evaluate needs besides the snapshot."""

    status: BudgetStatus
    thresholds_pct: Sequence[int]
    keys: Sequence[KeyInfo] = ()
    sync_error_kind: str | None = None  # class name of the last sync failure, if failing
    sync_key_label: str | None = None  # the key the sync used
    extra: Sequence[tuple[Alert, date]] = ()  # (alert, its period's first day): spending caps
    renew_days: int = 0  # a key this many days old is due renewal (0: no reminder)
    # False until the user chose a monthly limit: no threshold/projection alert from a
    # default they never picked (the app asks once, after the first data).
    budget_alerts: bool = True


class AlertEngine:
    """Decides and records alerts; pause state lives in `state_file` (JSON, shared UI state)."""

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

    def evaluate(self, snap: DashboardSnapshot, ctx: AlertContext,
                 now: datetime) -> list[Alert]:
        """The alerts due at `now`, each recorded so it never fires twice (per its cycle)."""
        if self.is_paused(now):
            return []
        cycle = ctx.status.cycle_start
        candidates: list[tuple[Alert, date]] = []
        fired = self._store.fired_alerts(cycle)
        for e in due_alerts(ctx.status, ctx.thresholds_pct, fired) if ctx.budget_alerts else ():
            if e.kind == "threshold":
                urgency = "critical" if int(e.threshold) >= 100 else "normal"
                # The title states the actual share (929 %), not the threshold crossed (100 %).
                used = whole_percent(ctx.status.used_fraction)
                pct = str(used) if used is not None else e.threshold
                candidates.append((Alert(
                    "threshold", e.threshold, f"{pct} % of your monthly limit used",
                    e.message, urgency,
                    (("pct", pct), ("spend", _usd(ctx.status.spend)),
                     ("limit", _usd(ctx.status.limit))),
                ), cycle))  # fmt: skip
            else:
                projected = ctx.status.projected_spend or Decimal(0)
                when = ctx.status.crossing_date
                candidates.append((Alert(
                    "projection", e.threshold, "On pace to exceed your monthly limit", e.message,
                    "normal",
                    (("projected", _usd(projected)), ("limit", _usd(ctx.status.limit)),
                     ("date", when.isoformat() if when else "")),
                ), cycle))  # fmt: skip
        candidates.extend((a, cycle) for a in self._spikes(snap, fired))
        candidates.extend((a, cycle) for a in self._hour_spikes(snap, fired))
        candidates.extend((a, cycle) for a in self._rejected_proxy_keys(snap, fired))
        candidates.extend(self._new_keys(snap))
        candidates.extend((a, cycle) for a in self._keys(ctx, now, fired))
        candidates.extend((a, EVER) for a in self._key_age(ctx, now))
        candidates.extend((a, cycle) for a in self._credit(snap, fired))
        candidates.extend(ctx.extra)

        out: list[Alert] = []
        for alert, cycle_of in candidates:
            if self._store.record_alert(alert.kind, alert.key, cycle_of):
                out.append(alert)
        # Several thresholds crossed at once: all recorded, only the highest shown.
        shown_thresholds = [a for a in out if a.kind == "threshold"]
        if len(shown_thresholds) > 1:
            top = max(shown_thresholds, key=lambda a: int(a.key))
            out = [a for a in out if a.kind != "threshold" or a is top]
        return out

    def _spikes(self, snap: DashboardSnapshot, fired: set[tuple[str, str]]) -> list[Alert]:
        out = []
        hist = [p.cost_usd for p in snap.spend_history]
        if len(hist) >= SPIKE_MIN_HISTORY_DAYS:
            median = Decimal(str(statistics.median(hist)))
            today = snap.today.cost_usd
            key = f"day:{snap.today.day.isoformat()}"
            if (
                median > 0
                and today >= SPIKE_MIN_DAY_USD
                and today >= median * SPIKE_FACTOR
                and ("spike", key) not in fired
            ):
                out.append(Alert(
                    "spike", key, "Spending spike today",
                    f"Today's spend {_usd(today)} is {today / median:.1f}× your usual day "
                    f"({_usd(median)}, the median of the last {len(hist)} days).",
                    "normal",
                    (("spend", _usd(today)), ("median", _usd(median)),
                     ("factor", f"{today / median:.1f}"), ("window", "day")),
                ))  # fmt: skip
        return out

    def _hour_spikes(self, snap: DashboardSnapshot,
                     fired: set[tuple[str, str]]) -> list[Alert]:
        current = snap.generated_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        last = current - timedelta(hours=1)
        baseline = [p.cost_usd for p in snap.hourly_spend if p.start < last]
        if len(baseline) < SPIKE_MIN_HOURLY_POINTS:
            return []
        median = Decimal(str(statistics.median(baseline)))
        if median <= 0:
            return []
        tested = [p for p in snap.hourly_spend if p.start in (last, current)]
        if not tested:
            return []
        point = max(tested, key=lambda p: p.cost_usd)  # the current hour only grows
        spend = point.cost_usd
        key = f"hour:{point.start.date().isoformat()}"
        if spend < SPIKE_MIN_HOUR_USD or spend < median * SPIKE_FACTOR or ("spike_hour",
                                                                             key) in fired:
            return []
        hour = point.start.strftime("%H:00")
        so_far = " so far" if point.start == current else ""
        return [Alert(
            "spike_hour", key, "Spending spike this hour",
            f"Spend in the {hour} UTC hour{so_far} is {_usd(spend)}, {spend / median:.1f}× "
            f"your usual hour ({_usd(median)}, the median of {len(baseline)} hours over the "
            "last 14 days).",
            "normal",
            (("spend", _usd(spend)), ("median", _usd(median)),
             ("factor", f"{spend / median:.1f}"), ("window", "hour"),
             ("hour", point.start.isoformat())),
        )]  # fmt: skip

    def _rejected_proxy_keys(self, snap: DashboardSnapshot,
                             fired: set[tuple[str, str]]) -> list[Alert]:
        out = []
        for rk in snap.rejected_keys:
            if ("proxy_key_rejected", rk.key_label) in fired:
                continue
            out.append(Alert(
                "proxy_key_rejected", rk.key_label, "API key rejected",
                f"OpenAI rejected the key {rk.key_label!r} (401) on {rk.count} request(s) "
                f"through the proxy, last at {rk.last_at.astimezone(UTC):%H:%M} UTC; "
                "requests with it fail. Replace the key in API keys.",
                "critical",
                (("label", rk.key_label), ("count", str(rk.count)),
                 ("at", rk.last_at.isoformat())),
            ))  # fmt: skip
        return out

    def _new_keys(self, snap: DashboardSnapshot) -> list[tuple[Alert, date]]:
        """Keys never seen spending before. The first run only learns the existing keys."""
        spending = [r for r in snap.by_key if r.requests > 0 or (r.cost_usd or 0) > 0]
        if not spending:
            return []
        first_run = self._store.record_alert("_key_baseline", "", EVER)
        out: list[tuple[Alert, date]] = []
        for row in spending:
            if first_run:
                self._store.record_alert("new_key", row.key, EVER)
                continue
            out.append((Alert(
                "new_key", row.key, "A new API key started spending",
                f"{row.name} made {row.requests:,} request{'s' if row.requests != 1 else ''}"
                + (f" ({_usd(row.cost_usd)})" if row.cost_usd is not None else "")
                + " this cycle; it had not been seen before.",
                "normal", (("name", row.name), ("requests", f"{row.requests:,}"),
                           ("count", str(row.requests))),
            ), EVER))  # fmt: skip
        return out

    def _keys(self, ctx: AlertContext, now: datetime,
              fired: set[tuple[str, str]]) -> Iterable[Alert]:
        today = now.astimezone().date()
        for meta in ctx.keys:
            if meta.expires is None:
                continue
            left = (meta.expires - today).days
            if 0 <= left <= KEY_EXPIRY_DAYS or left < 0:
                key = f"{meta.label}:{meta.expires.isoformat()}"
                kind = "key_expired" if left < 0 else "key_expiring"
                if (kind, key) in fired:
                    continue
                if left < 0:
                    title = "API key expired"
                    body = (f"The key {meta.label!r} expired on {meta.expires.isoformat()}; "
                            "sync no longer uses it. Add a new key in API keys.")
                else:
                    title = "API key expiring"
                    body = (f"The key {meta.label!r} expires in {left} day(s) "
                            f"({meta.expires.isoformat()}).")
                yield Alert(kind, key, title, body, "critical" if left <= 1 else "normal",
                            (("label", meta.label), ("days", str(left)),
                             ("date", meta.expires.isoformat())))
        if ctx.sync_error_kind == "InvalidKeyError":
            label = ctx.sync_key_label or "OPENAI_ADMIN_KEY"
            if ("key_rejected", label) not in fired:
                yield Alert("key_rejected", label, "API key rejected",
                            f"OpenAI rejected the admin key {label!r} (401). Organization "
                            "usage is not syncing; replace the key in API keys.",
                            "critical", (("label", label),))

    def _key_age(self, ctx: AlertContext, now: datetime) -> Iterable[Alert]:
        """Keys `renew_days` old or older: a reminder to renew, once per key (ever)."""
        if ctx.renew_days <= 0:
            return
        today = now.astimezone().date()
        fired = self._store.fired_alerts(EVER)
        for meta in ctx.keys:
            age = (today - meta.created).days
            key = f"{meta.label}:{meta.created.isoformat()}"
            if age < ctx.renew_days or ("key_age", key) in fired:
                continue
            if meta.expires is not None and meta.expires < today:
                continue  # the expired alert says more
            yield Alert("key_age", key, "Time to renew an API key",
                        f"The key {meta.label!r} was added on {meta.created.isoformat()} "
                        f"({age} day{'s' if age != 1 else ''} ago) and is due for renewal. "
                        "Create a new key, add it in API keys and keep the old one as a "
                        "backup until the new one works.", "normal",
                        (("label", meta.label), ("days", str(age)),
                         ("date", meta.created.isoformat())))

    def _credit(self, snap: DashboardSnapshot, fired: set[tuple[str, str]]) -> Iterable[Alert]:
        cr = snap.credit
        if cr is None or cr.amount_usd <= 0:
            return
        ident = f"{cr.purchased.isoformat() if cr.purchased else '-'}:{cr.amount_usd}"
        if cr.remaining_fraction <= CREDIT_LOW_FRACTION and ("credit_low", ident) not in fired:
            if cr.remaining_usd <= 0:  # never "$0.00 left" for a credit already overspent
                over = -cr.remaining_usd
                yield Alert("credit_low", ident, "Prepaid credit used up",
                            f"The {_usd(cr.amount_usd)} prepaid credit is used up, "
                            f"{_usd(over)} over.", "critical",
                            (("remaining", _usd(Decimal(0))), ("amount", _usd(cr.amount_usd)),
                             ("over", _usd(over))))
            else:
                yield Alert("credit_low", ident, "Prepaid credit running low",
                            f"{_usd(cr.remaining_usd)} of {_usd(cr.amount_usd)} "
                            "prepaid credit left.", "normal",
                            (("remaining", _usd(cr.remaining_usd)),
                             ("amount", _usd(cr.amount_usd))))
        if (
            cr.days_to_expiry is not None
            and 0 <= cr.days_to_expiry <= CREDIT_EXPIRY_DAYS
            and cr.remaining_usd > 0
            and cr.expires is not None
        ):
            key = cr.expires.isoformat()
            if ("credit_expiring", key) not in fired:
                yield Alert("credit_expiring", key, "Prepaid credit about to expire",
                            f"{_usd(cr.remaining_usd)} of prepaid credit expires in "
                            f"{cr.days_to_expiry} day(s), on {key}.",
                            "normal",
                            (("remaining", _usd(cr.remaining_usd)),
                             ("days", str(cr.days_to_expiry)), ("date", key)))


def pause_until_for(choice: str, now: datetime) -> datetime | None:
    """`1h` → now + 1 hour; `tomorrow` → next local midnight; anything else → None."""
    if choice == "1h":
        return now + timedelta(hours=1)
    if choice == "tomorrow":
        local = now.astimezone()
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time())
        return midnight.astimezone()  # naive local midnight → aware
    return None
