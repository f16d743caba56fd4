"""Per-app virtual keys for the proxy: a local `tm-…` token that stands for a stored real key.

An app is given a virtual key instead of the real one; the proxy swaps in the real key from the
keyring and records the app's requests under the virtual key's label, so spend is attributed
per app and can be capped per day or per month (soft: alert; hard: the proxy refuses).

Only a SHA-256 of a token is stored (table `virtual_keys`, migration v3); the token itself is
shown once when the key is created and is never written to a file or a log. 256 random bits
make a brute-force or dictionary search of the hash pointless, so a plain hash is enough (a
slow password hash would only slow down every proxied request).

Spend of a virtual key is the cost of its proxy records in the cap's period: "day" is today in
the `today_timezone` setting, "month" is the billing cycle (`cycle_start_day`, UTC).
"""

from __future__ import annotations

import builtins
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from monitor.core.budget import Period, billing_cycle, today_period
from monitor.core.settings import MAX_USD, Settings
from monitor.errors import KnownError
from monitor.services.key_meta import validate_label

if TYPE_CHECKING:
    from monitor.services.keyvault import KeyStore
    from monitor.services.store import UsageStore

TOKEN_PREFIX = "tm-"
TOKEN_BYTES = 32  # 256 bits of randomness
PERIODS = ("day", "month")
CYCLE_SCOPE = "cycle"
KEY_SCOPE = "key"


class VirtualKeyError(KnownError):
    """A virtual key cannot be created or found as asked."""


def new_token() -> str:
    """A fresh virtual key: `tm-` and 43 URL-safe characters (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The SHA-256 (hex) the store keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header (None when there is none)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def parse_cap(value: Any) -> Decimal | None:
    """A cap in USD (> 0, at most the settings' money ceiling); None for no cap."""
    if value is None:
        return None
    try:
        cap = Decimal(str(value).strip().lstrip("$").replace(",", ""))
    except (InvalidOperation, ValueError):
        raise VirtualKeyError(f"cap {value!r} is not a number of dollars") from None
    if not cap.is_finite() or cap <= 0:
        raise VirtualKeyError("the cap must be a positive number of dollars")
    if cap > MAX_USD:
        raise VirtualKeyError(f"the cap must be at most {MAX_USD:,} dollars")
    return cap


@dataclass(frozen=True)
class VirtualKey:
    """A virtual key as stored (never the token)."""

    label: str
    token_sha256: str
    for_label: str
    cap_usd: Decimal | None
    per: str
    hard: bool
    created: datetime

    def period(self, now: datetime, settings: Settings) -> Period:
        return cap_period(self.per, now, settings)

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "for": self.for_label, "cap_usd": self.cap_usd,
                "per": self.per, "hard": self.hard, "created": self.created.isoformat()}


def cap_period(per: str, now: datetime, settings: Settings) -> Period:
    """The period a cap counts in at `now`: today (settings' zone) or the billing cycle."""
    if per == "day":
        return today_period(now, settings.today_timezone)
    return billing_cycle(now, settings.cycle_start_day)


def cycle_period(now: datetime, settings: Settings) -> Period:
    return billing_cycle(now, settings.cycle_start_day)


@dataclass(frozen=True)
class VirtualKeyStatus:
    """A virtual key with its spend in the current period of its cap."""

    key: VirtualKey
    period: Period
    spent_usd: Decimal
    requests: int

    @property
    def used_fraction(self) -> Decimal | None:
        cap = self.key.cap_usd
        return None if cap is None else self.spent_usd / cap

    @property
    def over_cap(self) -> bool:
        return self.key.cap_usd is not None and self.spent_usd >= self.key.cap_usd

    def to_json(self) -> dict[str, Any]:
        return {**self.key.to_json(), "spent_usd": self.spent_usd, "requests": self.requests,
                "used_fraction": self.used_fraction,
                "period": {"start": self.period.start.isoformat(),
                           "end": self.period.end.isoformat()}}


@dataclass(frozen=True)
class CapRefusal:
    """Hard-cap refusals of one cap in one period (kept for the GUI's once-per-period alert)."""

    scope: str  # "key" or "cycle"
    label: str  # virtual key label; "" for the cycle
    period: Period
    first: datetime
    last: datetime
    count: int
    message: str


def _us(dt: datetime) -> int:
    dt = dt.astimezone(UTC)
    return int(dt.timestamp()) * 1_000_000 + dt.microsecond


def _at(us: int) -> datetime:
    return datetime.fromtimestamp(us // 1_000_000, UTC).replace(microsecond=us % 1_000_000)


def _key_from_row(r: tuple[Any, ...]) -> VirtualKey:
    return VirtualKey(label=r[0], token_sha256=r[1], for_label=r[2],
                      cap_usd=None if r[3] is None else Decimal(r[3]), per=r[4],
                      hard=bool(r[5]), created=_at(r[6]))


_COLUMNS = "label, token_sha256, for_label, cap_usd, per, hard, created_us"


class VirtualKeys:
    """The virtual-key table and the refusal log, over a UsageStore (any thread)."""

    def __init__(self, store: UsageStore) -> None:
        self._store = store

    def add(self, label: str, for_label: str, *, now: datetime, cap_usd: Decimal | None = None,
            per: str = "month", hard: bool = False) -> tuple[VirtualKey, str]:
        """Create a key; returns it and its token (the only time the token exists)."""
        validate_label(label)
        if per not in PERIODS:
            raise VirtualKeyError(f"--per must be day or month, not {per!r}")
        if hard and cap_usd is None:
            raise VirtualKeyError("a hard cap needs an amount (--cap-usd)")
        token = new_token()
        key = VirtualKey(label, hash_token(token), for_label, cap_usd, per, hard, now)
        with self._store.transaction() as tx:
            if tx.execute("SELECT 1 FROM virtual_keys WHERE label = ?", (label,)).fetchone():
                raise VirtualKeyError(f"a virtual key labelled {label!r} already exists; "
                                      "remove it first")
            tx.execute(
                f"INSERT INTO virtual_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (label, key.token_sha256, for_label, None if cap_usd is None else str(cap_usd),
                 per, int(hard), _us(now)),
            )
        return key, token

    def list(self) -> list[VirtualKey]:
        rows = self._store.query(
            f"SELECT {_COLUMNS} FROM virtual_keys ORDER BY label")
        return [_key_from_row(r) for r in rows]

    def get(self, label: str) -> VirtualKey:
        row = self._store.query_one(
            f"SELECT {_COLUMNS} FROM virtual_keys WHERE label = ?", (label,))
        if row is None:
            raise VirtualKeyError(f"no virtual key labelled {label!r} "
                                  "(see `token-monitor keys virtual list`)")
        return _key_from_row(row)

    def by_hash(self, token_sha256: str) -> VirtualKey | None:
        row = self._store.query_one(
            f"SELECT {_COLUMNS} FROM virtual_keys WHERE token_sha256 = ?", (token_sha256,))
        return None if row is None else _key_from_row(row)

    def remove(self, label: str) -> None:
        with self._store.transaction() as tx:
            cur = tx.execute("DELETE FROM virtual_keys WHERE label = ?", (label,))
            if cur.rowcount == 0:
                raise VirtualKeyError(f"no virtual key labelled {label!r} "
                                      "(see `token-monitor keys virtual list`)")

    # refusals -------------------------------------------------------------------------------

    def note_refusals(self, refusals: Iterable[CapRefusal]) -> None:
        """Add refusals (merged per scope, label and period)."""
        with self._store.transaction() as tx:
            for r in refusals:
                tx.execute(
                    """INSERT INTO cap_refusals VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT DO UPDATE SET last_us = MAX(last_us, excluded.last_us),
                         count = count + excluded.count, message = excluded.message""",
                    (r.scope, r.label, _us(r.period.start), _us(r.period.end), _us(r.first),
                     _us(r.last), r.count, r.message),
                )

    def refusals_at(self, now: datetime) -> builtins.list[CapRefusal]:
        """Refusals whose period contains `now`."""
        t = _us(now)
        rows = self._store.query(
            "SELECT scope, label, period_start_us, period_end_us, first_us, last_us, count, "
            "message FROM cap_refusals WHERE period_start_us <= ? AND period_end_us > ? "
            "ORDER BY scope, label", (t, t))
        return [CapRefusal(r[0], r[1], Period(_at(r[2]), _at(r[3])), _at(r[4]), _at(r[5]), r[6],
                           r[7]) for r in rows]


def create_virtual_key(store: UsageStore, keys: KeyStore, label: str, for_label: str, *,
                       now: datetime, cap_usd: Decimal | None = None, per: str = "month",
                       hard: bool = False) -> tuple[VirtualKey, str]:
    """Check the key it stands for (stored, a project key, not the same label), then create
    the virtual key; returns it and its token (shown once, never stored)."""
    from monitor.services.keyvault import KeyNotFound

    try:
        meta = keys.get_meta(for_label)
    except KeyNotFound:
        raise VirtualKeyError(f"no stored key labelled {for_label!r} to stand for "
                              "(see `token-monitor keys list`)") from None
    if meta.kind == "admin":
        raise VirtualKeyError(f"{meta.label!r} is an admin key, which cannot call models; "
                              "a virtual key must stand for a project key")
    if any(m.label == label for m in keys.list()):
        raise VirtualKeyError(f"{label!r} is already the label of a stored key; "
                              "give the virtual key its own label")
    return VirtualKeys(store).add(label, meta.label, now=now, cap_usd=cap_usd, per=per,
                                  hard=hard)


def spend_by_label(store: UsageStore, period: Period) -> dict[str, tuple[Decimal, int]]:
    """Proxy spend and successful requests per key label in `period` (from the roll-ups)."""
    return {
        row.key_label or "": (row.cost, row.requests - row.errors)
        for row in store.proxy_usage(period.start, period.end, ("key_label",))
    }


def key_statuses(store: UsageStore, settings: Settings, now: datetime,
                 keys: Iterable[VirtualKey] | None = None) -> list[VirtualKeyStatus]:
    """Every virtual key with its spend in its cap's current period."""
    listed = VirtualKeys(store).list() if keys is None else list(keys)
    spends: dict[tuple[datetime, datetime], dict[str, tuple[Decimal, int]]] = {}
    out = []
    for key in listed:
        period = key.period(now, settings)
        span = (period.start, period.end)
        if span not in spends:
            spends[span] = spend_by_label(store, period)
        spent, requests = spends[span].get(key.label, (Decimal(0), 0))
        out.append(VirtualKeyStatus(key, period, spent, requests))
    return out

