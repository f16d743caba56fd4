"""Which alerts are due: every alert rule, pure (no store, no clock, no Qt, no English).

Each rule takes plain figures and what already fired in its period and returns `Alert`s: a
kind, the key that makes it unique in its period, the period's first day, an urgency and
parameters (money already in the one money format, dates as ISO text). core/alert_texts turns
them into words (English, and 简体中文 through the GUI's catalogue); services/alerting builds
the inputs from the store, records what fired (once per period, across restarts) and holds
the pause, so the app and the CLI evaluate the same alerts.

Spikes are measured against the user's own baseline: today against the median of the days
before (`spike`, once per UTC day), and the last full hour or the current hour so far against
the median hourly spend of the hours before them (`spike_hour`, once per UTC day, so a spike
lasting several hours alerts once). Without enough history there is no spike alert.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from monitor.core.budget import BudgetStatus
from monitor.core.limit_share import whole_percent
from monitor.core.money import usd

EVER = date(1970, 1, 1)
"""The "period" of alerts that must never repeat (new keys, key age)."""
SPIKE_FACTOR = 3
SPIKE_MIN_DAY_USD = Decimal("1.00")  # ignore "spikes" of cents
SPIKE_MIN_HISTORY_DAYS = 7
SPIKE_MIN_HOUR_USD = Decimal("0.50")  # ignore hourly "spikes" of cents
SPIKE_MIN_HOURLY_POINTS = 24  # covered hours needed before the hourly baseline counts
CREDIT_LOW_FRACTION = 0.2
CREDIT_EXPIRY_DAYS = 14
CYCLE_SCOPE = "cycle"  # a hard cap on the whole billing cycle (else a virtual key's)

KINDS = (
    "threshold", "projection", "spike", "spike_hour", "proxy_key_rejected", "new_key",
    "key_expiring", "key_expired", "key_age", "key_rejected", "credit_low", "credit_expiring",
    "virtual_key_cap", "hard_cap", "test",
)
"""Every kind an alert can have (each has its texts in core/alert_texts)."""

Fired = Set[tuple[str, str]]
"""(kind, key) of the alerts already recorded in a period."""


@dataclass(frozen=True)
class Alert:
    """One alert: what happened and its figures, never its words (core/alert_texts).

    `kind` and `key` are what the fired-alert store records (once per `period`, the first day
    of the cycle or cap period it belongs to; EVER for once ever)."""

    kind: str
    key: str
    period: date = EVER
    urgency: str = "normal"
    params: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> str:
        return dict(self.params).get(name, "")


# inputs: what each rule reads (the services' snapshot rows satisfy these) ----------------


class KeyInfo(Protocol):
    """A stored key (services.keyvault.KeyMeta satisfies it and owns its date rules)."""

    @property
    def label(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def created(self) -> date: ...

    @property
    def expires(self) -> date | None: ...

    def expiry_status(self, today: date) -> str: ...

    def age_days(self, today: date) -> int: ...

    def renewal_due(self, today: date, renew_days: int) -> bool: ...


class KeySpend(Protocol):
    """One key's spend this cycle (a by-key table row)."""

    @property
    def key(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def requests(self) -> int: ...

    @property
    def cost_usd(self) -> Decimal | None: ...


class RejectedKeyFigures(Protocol):
    """A key label the upstream refused with 401 through the proxy."""

    @property
    def key_label(self) -> str: ...

    @property
    def last_at(self) -> datetime: ...

    @property
    def count(self) -> int: ...


class CreditFigures(Protocol):
    """Prepaid credit and what is left of it."""

    @property
    def amount_usd(self) -> Decimal: ...

    @property
    def purchased(self) -> date | None: ...

    @property
    def expires(self) -> date | None: ...

    @property
    def remaining_usd(self) -> Decimal: ...

    @property
    def days_to_expiry(self) -> int | None: ...


@dataclass(frozen=True)
class SoftCap:
    """A virtual key's soft cap in its current period."""

    label: str
    spent_usd: Decimal
    cap_usd: Decimal
    per: str  # "day" | "month"
    period_start: date


@dataclass(frozen=True)
class HardCapRefusals:
    """Requests a hard cap refused in its current period."""

    scope: str  # CYCLE_SCOPE or "key"
    label: str  # the virtual key; "" for the cycle
    count: int
    period_start: date
    resets: datetime  # the period's end


# the rules ---------------------------------------------------------------------------------


def budget(status: BudgetStatus, thresholds_pct: Sequence[int], fired: Fired) -> list[Alert]:
    """Thresholds crossed and the projection, not yet fired this cycle (lowest first).

    Thresholds compare spend with the *current* limit (a limit raised mid-cycle can make a
    threshold un-crossed again, but what fired stays fired). Several thresholds crossed at
    once are all returned (see `shown`). The projection alert fires when the pace leads over
    the limit while spend is still below it. A limit of 0 (none set) raises nothing."""
    if status.limit <= 0:
        return []
    cycle = status.cycle_start
    used = whole_percent(status.used_fraction)
    out = []
    for pct in sorted(set(thresholds_pct)):
        if ("threshold", str(pct)) in fired or status.spend * 100 < status.limit * pct:
            continue
        # The title states the actual share (929 %), not the threshold crossed (100 %).
        out.append(Alert(
            "threshold", str(pct), cycle, "critical" if pct >= 100 else "normal",
            (("pct", str(used if used is not None else pct)), ("spend", usd(status.spend)),
             ("limit", usd(status.limit))),
        ))  # fmt: skip
    if (status.projected_over and not status.over_limit and status.projected_spend is not None
            and ("projection", "limit") not in fired):
        when = status.crossing_date
        out.append(Alert(
            "projection", "limit", cycle, "normal",
            (("projected", usd(status.projected_spend)), ("limit", usd(status.limit)),
             ("date", when.isoformat() if when else "")),
        ))  # fmt: skip
    return out


def day_spike(day: date, spend: Decimal, history: Sequence[Decimal], cycle: date,
              fired: Fired) -> list[Alert]:
    """Today's spend against the median of the days before (at least
    SPIKE_MIN_HISTORY_DAYS of them), once per day."""
    if len(history) < SPIKE_MIN_HISTORY_DAYS:
        return []
    median = Decimal(str(statistics.median(history)))
    key = f"day:{day.isoformat()}"
    if (median <= 0 or spend < SPIKE_MIN_DAY_USD or spend < median * SPIKE_FACTOR
            or ("spike", key) in fired):
        return []
    return [Alert("spike", key, cycle, "normal", (
        ("spend", usd(spend)), ("median", usd(median)), ("factor", f"{spend / median:.1f}"),
        ("days", str(len(history))), ("window", "day")))]


def hour_spike(at: datetime, hours: Iterable[tuple[datetime, Decimal]], cycle: date,
               fired: Fired) -> list[Alert]:
    """The last full hour or the current hour so far (of `at`) against the median of the
    covered hours before them (at least SPIKE_MIN_HOURLY_POINTS), once per UTC day.
    `hours`: (UTC hour start, spend)."""
    current = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    last = current - timedelta(hours=1)
    points = list(hours)
    baseline = [cost for start, cost in points if start < last]
    if len(baseline) < SPIKE_MIN_HOURLY_POINTS:
        return []
    median = Decimal(str(statistics.median(baseline)))
    tested = [(start, cost) for start, cost in points if start in (last, current)]
    if median <= 0 or not tested:
        return []
    start, spend = max(tested, key=lambda p: p[1])  # the current hour only grows
    key = f"hour:{start.date().isoformat()}"
    if spend < SPIKE_MIN_HOUR_USD or spend < median * SPIKE_FACTOR or ("spike_hour",
                                                                         key) in fired:
        return []
    return [Alert("spike_hour", key, cycle, "normal", (
        ("spend", usd(spend)), ("median", usd(median)), ("factor", f"{spend / median:.1f}"),
        ("window", "hour"), ("hour", start.isoformat()),
        ("so_far", "1" if start == current else ""), ("hours", str(len(baseline)))))]


def rejected_proxy_keys(rejected: Iterable[RejectedKeyFigures], cycle: date,
                        fired: Fired) -> list[Alert]:
    """A key whose newest proxied request was refused with 401: once per label and cycle."""
    return [Alert("proxy_key_rejected", rk.key_label, cycle, "critical", (
        ("label", rk.key_label), ("count", str(rk.count)), ("at", rk.last_at.isoformat())))
        for rk in rejected if ("proxy_key_rejected", rk.key_label) not in fired]


def new_keys(rows: Iterable[KeySpend], seen: Fired) -> list[Alert]:
    """Keys spending this cycle that were never seen before (`seen`: what fired EVER). The
    caller learns the existing keys silently on the first run (a baseline, not alerts)."""
    return [Alert("new_key", row.key, EVER, "normal", (
        ("name", row.name), ("requests", f"{row.requests:,}"), ("count", str(row.requests)),
        ("cost", usd(row.cost_usd) if row.cost_usd is not None else "")))
        for row in rows if (row.requests > 0 or (row.cost_usd or 0) > 0)
        and ("new_key", row.key) not in seen]


def key_expiry(keys: Iterable[KeyInfo], today: date, cycle: date,
               fired: Fired) -> list[Alert]:
    """Keys expiring soon or expired (the key's own `expiry_status`), once per cycle."""
    out = []
    for meta in keys:
        status = meta.expiry_status(today)
        if meta.expires is None or status not in ("expiring", "expired"):
            continue
        kind = "key_expired" if status == "expired" else "key_expiring"
        key = f"{meta.label}:{meta.expires.isoformat()}"
        if (kind, key) in fired:
            continue
        left = (meta.expires - today).days
        out.append(Alert(kind, key, cycle, "critical" if left <= 1 else "normal", (
            ("label", meta.label), ("days", str(left)), ("date", meta.expires.isoformat()),
            ("key_kind", meta.kind))))
    return out


def key_rejected(sync_error_kind: str | None, label: str | None, cycle: date,
                 fired: Fired) -> list[Alert]:
    """The admin key the org sync used was refused (401), once per key and cycle."""
    if sync_error_kind != "InvalidKeyError":
        return []
    label = label or "OPENAI_ADMIN_KEY"
    if ("key_rejected", label) in fired:
        return []
    return [Alert("key_rejected", label, cycle, "critical", (("label", label),))]


def key_age(keys: Iterable[KeyInfo], today: date, renew_days: int,
            seen: Fired) -> list[Alert]:
    """Keys `renew_days` old or older: a reminder to renew, once per key ever (`seen`: what
    fired EVER). An expired key is left to its expired alert, which says more."""
    out = []
    for meta in keys:
        key = f"{meta.label}:{meta.created.isoformat()}"
        if (not meta.renewal_due(today, renew_days) or ("key_age", key) in seen
                or meta.expiry_status(today) == "expired"):
            continue
        out.append(Alert("key_age", key, EVER, "normal", (
            ("label", meta.label), ("days", str(meta.age_days(today))),
            ("date", meta.created.isoformat()))))
    return out


def credit(cr: CreditFigures | None, cycle: date, fired: Fired) -> list[Alert]:
    """Prepaid credit running low (or used up), or about to expire with some left."""
    if cr is None or cr.amount_usd <= 0:
        return []
    out = []
    ident = f"{cr.purchased.isoformat() if cr.purchased else '-'}:{cr.amount_usd}"
    low = cr.remaining_usd / cr.amount_usd <= Decimal(str(CREDIT_LOW_FRACTION))
    if low and ("credit_low", ident) not in fired:
        used_up = cr.remaining_usd <= 0  # never "$0.00 left" for a credit already overspent
        out.append(Alert("credit_low", ident, cycle, "critical" if used_up else "normal", (
            ("remaining", usd(max(cr.remaining_usd, Decimal(0)))),
            ("amount", usd(cr.amount_usd)),
            ("over", usd(-cr.remaining_usd) if used_up else ""))))
    if (cr.days_to_expiry is not None and 0 <= cr.days_to_expiry <= CREDIT_EXPIRY_DAYS
            and cr.remaining_usd > 0 and cr.expires is not None
            and ("credit_expiring", cr.expires.isoformat()) not in fired):
        out.append(Alert("credit_expiring", cr.expires.isoformat(), cycle, "normal", (
            ("remaining", usd(cr.remaining_usd)), ("days", str(cr.days_to_expiry)),
            ("date", cr.expires.isoformat()))))
    return out


def soft_caps(caps: Iterable[SoftCap]) -> list[Alert]:
    """Virtual keys at or past their soft cap (requests still go through), once per period."""
    return [Alert("virtual_key_cap", c.label, c.period_start, "normal", (
        ("label", c.label), ("spend", usd(c.spent_usd)), ("cap", usd(c.cap_usd)),
        ("per", c.per))) for c in caps if c.spent_usd >= c.cap_usd]


def hard_caps(refusals: Iterable[HardCapRefusals]) -> list[Alert]:
    """A hard cap refusing requests (the proxy answers 429), once per cap and period."""
    return [Alert("hard_cap", f"{r.scope}:{r.label}", r.period_start, "critical", (
        ("label", r.label), ("scope", r.scope), ("count", str(r.count)),
        ("resets", r.resets.astimezone(UTC).isoformat()))) for r in refusals]


def shown(alerts: Sequence[Alert]) -> list[Alert]:
    """What to show of alerts that fired together: several thresholds crossed at once are
    all recorded, only the highest is shown."""
    thresholds = [a for a in alerts if a.kind == "threshold"]
    if len(thresholds) <= 1:
        return list(alerts)
    top = max(thresholds, key=lambda a: int(a.key))
    return [a for a in alerts if a.kind != "threshold" or a is top]


# all of them -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertInputs:
    """Everything the rules read, as plain figures (services/alerting builds it)."""

    status: BudgetStatus
    thresholds_pct: Sequence[int]
    budget_alerts: bool = True  # False until the user chose a monthly limit
    at: datetime | None = None  # when the figures were taken (the hourly spike's "now")
    today: date | None = None  # "today" of the figures (the daily spike's day)
    today_usd: Decimal = Decimal(0)
    day_history: Sequence[Decimal] = ()  # spend of the days before today
    hours: Sequence[tuple[datetime, Decimal]] = ()  # (UTC hour start, spend)
    rejected_keys: Sequence[RejectedKeyFigures] = ()
    spending_keys: Sequence[KeySpend] = ()
    keys: Sequence[KeyInfo] = ()
    local_today: date | None = None  # the user's calendar day (key expiry and age)
    sync_error_kind: str | None = None  # class name of the last sync failure, if failing
    sync_key_label: str | None = None  # the key the sync used
    renew_days: int = 0  # a key this many days old is due renewal (0: no reminder)
    credit: CreditFigures | None = None
    soft_caps: Sequence[SoftCap] = ()
    hard_caps: Sequence[HardCapRefusals] = ()


def due(inputs: AlertInputs, fired: Fired, seen: Fired) -> list[Alert]:
    """Every alert due for `inputs` (`fired`: recorded this cycle; `seen`: recorded EVER)."""
    cycle = inputs.status.cycle_start
    out: list[Alert] = []
    if inputs.budget_alerts:
        out += budget(inputs.status, inputs.thresholds_pct, fired)
    if inputs.today is not None:
        out += day_spike(inputs.today, inputs.today_usd, inputs.day_history, cycle, fired)
    if inputs.at is not None:
        out += hour_spike(inputs.at, inputs.hours, cycle, fired)
    out += rejected_proxy_keys(inputs.rejected_keys, cycle, fired)
    out += new_keys(inputs.spending_keys, seen)
    day = inputs.local_today
    if day is not None:
        out += key_expiry(inputs.keys, day, cycle, fired)
    out += key_rejected(inputs.sync_error_kind, inputs.sync_key_label, cycle, fired)
    if day is not None:
        out += key_age(inputs.keys, day, inputs.renew_days, seen)
    out += credit(inputs.credit, cycle, fired)
    out += soft_caps(inputs.soft_caps)
    out += hard_caps(inputs.hard_caps)
    return out
