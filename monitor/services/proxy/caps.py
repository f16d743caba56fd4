"""Virtual keys and hard spending caps inside the proxy: who pays, and whether it may.

`SpendGate` sits in the request path in two steps:

1. `authorize(Authorization)`: a `tm-…` virtual key is looked up by its SHA-256 and swapped for
   the real key it stands for (read from the keyring off the event loop, then cached); the
   request is recorded under the virtual key's label. An unknown or removed `tm-` key gets an
   OpenAI-shaped 401 and is never forwarded. Any other key passes through untouched.
2. `reserve(...)`: where a hard cap applies (the virtual key's own, and the whole billing
   cycle when `hard_cap` is on), the request's worst-case cost is reserved before it is
   forwarded: everything billable in its body (reservation.worst_case: every text, token-id
   array and image part; output at its `max_completion_tokens` / `max_tokens` /
   `max_output_tokens`, else `DEFAULT_OUTPUT_TOKENS`, times `n` / `best_of`; input the proxy
   cannot see at the model's context window). A request whose reservation would take spent +
   reserved past the cap is answered 429 without calling upstream (`x-should-retry: false`,
   so the official SDKs do not retry); the message (cap_texts) says when the worst case is
   why. A request for a model the price table cannot price is refused the same way (code
   `token_monitor_model_unpriced`): a hard cap fails closed, since reserving $0 for it would
   let unlimited unpriced spend through. What costs nothing (moderations, endpoints not
   billed per request) is never refused. Without a hard cap nothing is refused.

The reservation is held until the request's record is kept; the record writer gives a record
whose cost is unknown its reservation (`charge`: an unpriced model, malformed usage), then
calls `settle`, which drops the reservation and adds the cost, on the writer's thread. `tick`
(same thread) re-reads spend from the store every `REFRESH_S`, so spend from other processes,
removed or new keys and a changed `hard_cap` setting take effect without a restart; spend of
records that went to the spool instead of the database is added on top of the database
figure until nothing waits in the spool, so a request is never counted twice nor missed.
Refusals are stored in batches; a batch the store cannot take is put back and counted once
when it can; a store that cannot be read or written is logged once, and once when it
recovers. Admission reads two Decimals under a lock, so 50 concurrent requests at the edge
can overshoot a cap by at most what a request's real cost exceeds its reservation (nothing,
when the request names its max tokens).

Every period boundary (the virtual key's day or month, the billing cycle) comes from the
injected clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from monitor.core.budget import Period
from monitor.core.clock import Clock
from monitor.core.records import MALFORMED_USAGE
from monitor.core.settings import Settings
from monitor.core.usage import TokenUsage
from monitor.log import mask_secret
from monitor.services.proxy.cap_texts import Estimate, refusal_message, unpriced_message
from monitor.services.proxy.replies import json_error
from monitor.services.proxy.reservation import (
    DEFAULT_OUTPUT_TOKENS as DEFAULT_OUTPUT_TOKENS,  # re-exported: tests, the bench
)
from monitor.services.proxy.reservation import (
    UNSEEN_INPUT_TOKENS,
    worst_case,
)
from monitor.services.virtual_keys import (
    CYCLE_SCOPE,
    KEY_SCOPE,
    TOKEN_PREFIX,
    CapRefusal,
    VirtualKey,
    VirtualKeys,
    bearer_token,
    cap_period,
    cycle_period,
    hash_token,
    spend_by_label,
)

if TYPE_CHECKING:
    from monitor.core.prices import PriceTable
    from monitor.core.records import ProxyRecord
    from monitor.services.keyvault import KeyStore
    from monitor.services.store import UsageStore

log = logging.getLogger(__name__)

REFRESH_S = 5.0
"""How often spend, keys and the hard-cap setting are re-read from the store and settings."""
FLUSH_RETRY_S = 2.0
"""How soon refusals are offered to the store again after it could not take them."""
BUDGET_CODE = "token_monitor_budget_exceeded"
UNPRICED_CODE = "token_monitor_model_unpriced"
"""The code of a hard-cap refusal for a model without a price (the cap cannot hold it)."""
INLINE_COUNT_CHARS = 32_768
"""Prompts up to this size are counted on the event loop (well under a millisecond); larger
ones on a worker thread."""
_NO_OUTPUT = ("/embeddings", "/moderations")
_FREE = frozenset({"/moderations"})
"""Endpoints that never cost anything: nothing to reserve, whatever the model."""
_BILLED = frozenset({"/chat/completions", "/completions", "/responses", "/embeddings"})
_BILLED_PREFIXES = ("/audio/", "/images/")
"""Endpoints billed per request by model: one whose model cannot be read cannot be priced."""


def _refusal(message: str, code: str) -> web.Response:
    """A hard cap's 429 in OpenAI's error shape; `x-should-retry: false` keeps the official
    SDKs from retrying what will be refused again."""
    return json_error(429, message, code, "insufficient_quota", {"x-should-retry": "false"})


def _warn_once(seen: set[tuple[str, str, object]], key: tuple[str, str, object], fmt: str,
               message: str) -> None:
    """Log `message` the first time `key` is seen (the set is bounded: cleared past 1,000)."""
    if key in seen:
        return
    if len(seen) > 1000:
        seen.clear()
    seen.add(key)
    log.warning(fmt, message)


class _Account:
    """Spend against one hard cap in its current period (mutated under the gate's lock)."""

    __slots__ = ("cap", "label", "per", "period", "recording", "reserved", "scope", "spent",
                 "unstored")

    def __init__(self, scope: str, label: str, cap: Decimal, per: str, period: Period) -> None:
        self.scope = scope
        self.label = label
        self.cap = cap
        self.per = per
        self.period = period
        self.spent = Decimal(0)
        self.reserved = Decimal(0)  # holds of requests not yet settled
        self.recording = Decimal(0)  # ... of which the request has finished (being recorded)
        self.unstored = Decimal(0)  # settled spend still in the spool (not in the database)

    def describe(self) -> str:
        if self.scope == CYCLE_SCOPE:
            return "the monthly limit (hard cap)"
        return f"the {'daily' if self.per == 'day' else 'monthly'} hard cap of virtual key " \
               f"{self.label!r}"


@dataclass(frozen=True)
class _Known:
    """A virtual key the proxy can serve: its row and the Authorization to send upstream."""

    key: VirtualKey
    authorization: str | None  # None: the real key could not be read (reason in `problem`)
    problem: str = ""


@dataclass(frozen=True)
class Admission:
    """The outcome of `authorize`: a refusal, or how to forward and which caps apply."""

    refusal: web.Response | None = None
    label: str | None = None  # record under this label (a virtual key's)
    authorization: str | None = None  # send this upstream instead of the client's
    accounts: tuple[_Account, ...] = ()


@dataclass
class Hold:
    """A reservation against `accounts` (in the periods starting `periods`), released by
    `SpendGate.settle`. `finished` is set when the request has ended (`SpendGate.finished`)."""

    accounts: tuple[_Account, ...]
    amount: Decimal
    periods: tuple[datetime, ...]
    finished: bool = False


class SpendGate:
    """Virtual-key lookup and hard-cap admission for one proxy (see the module docstring).

    Args:
        prices: prices for reservations (and, through the record writer, for settling).
        clock: the app's clock; decides every cap period (day, month, billing cycle).
        settings: returns the current settings (re-read on every refresh).
        secret_for: the real key's secret for a stored key label (keyring; may block).
    """

    def __init__(self, *, prices: PriceTable, clock: Clock, settings: Callable[[], Settings],
                 secret_for: Callable[[str], str] | None = None) -> None:
        self._prices = prices
        self._clock = clock
        self._settings_src = settings
        self._settings = settings()
        self._secret_for = secret_for
        self._lock = threading.Lock()
        self._by_hash: dict[str, _Known] = {}
        self._accounts: dict[tuple[str, str], _Account] = {}
        self._refusals: dict[tuple[str, str, datetime], CapRefusal] = {}
        self._secrets: dict[str, str] = {}
        self._store: UsageStore | None = None
        self._next_refresh = 0.0
        self._warned: set[tuple[str, str, object]] = set()  # (scope, label, period or model)
        self._down: set[str] = set()  # "read", "write": what the store refuses (logged once)
        self._flush_at = 0.0  # monotonic: when to try storing refusals again after a failure

    # -- state from the store (the record writer's thread) -------------------------------

    def load(self, store: UsageStore) -> None:
        """Read keys, caps and spend now (before the proxy serves its first request)."""
        self._store = store
        self._refresh(store)

    def tick(self, store: UsageStore, waiting: bool = False) -> None:
        """Called by the record writer between batches: store refusals, refresh when due.

        `waiting` says whether records still wait in the spool or in memory; once none do,
        the spend they carried is in the database and no longer added on top of it.
        Never raises: a failed refresh keeps the last figures and is tried again later, and
        the writer thread (which also stores the records) carries on; a store that cannot
        be read or written is logged once, and once more when it answers again.
        """
        if not waiting:
            with self._lock:
                for acc in self._accounts.values():
                    acc.unstored = Decimal(0)
        self._flush_refusals(store)
        if time.monotonic() >= self._next_refresh:
            try:
                self._refresh(store)
            except Exception as exc:
                self._store_failed("read", exc)
            else:
                self._store_ok("read")

    def _store_failed(self, what: str, exc: BaseException) -> None:
        if what in self._down:
            log.debug("the usage database still cannot be %s for the caps: %s",
                      "read" if what == "read" else "written", exc)
            return
        self._down.add(what)
        verb = ("read (spend, keys)" if what == "read"
                else "written (hard-cap refusals)")
        log.warning("the usage database cannot be %s now (%s: %s); the hard caps keep the "
                    "spend they know, including records waiting in the spool, and try again "
                    "every few seconds", verb, type(exc).__name__, exc)

    def _store_ok(self, what: str) -> None:
        if what in self._down:
            self._down.discard(what)
            log.warning("the usage database can be %s again for the hard caps",
                        "read" if what == "read" else "written")

    def refresh_soon(self) -> None:
        """Re-read keys, caps and spend at the record writer's next tick (within 0.1 s)."""
        self._next_refresh = 0.0

    def _refresh(self, store: UsageStore) -> None:
        self._next_refresh = time.monotonic() + REFRESH_S
        try:
            self._settings = self._settings_src()
        except Exception:
            log.warning("could not re-read the settings for the spending caps", exc_info=True)
        settings = self._settings
        now = self._clock()
        keys = VirtualKeys(store).list()
        known = {k.token_sha256: self._known(k) for k in keys}
        # spend per label in each period a cap counts in
        spends: dict[tuple[datetime, datetime], dict[str, tuple[Decimal, int]]] = {}

        def spent_in(period: Period, label: str) -> Decimal:
            span = (period.start, period.end)
            if span not in spends:
                spends[span] = spend_by_label(store, period)
            return spends[span].get(label, (Decimal(0), 0))[0]

        wanted: dict[tuple[str, str], tuple[Decimal, str, Period, Decimal]] = {}
        for k in keys:
            if k.hard and k.cap_usd is not None:
                period = cap_period(k.per, now, settings)
                wanted[(KEY_SCOPE, k.label)] = (k.cap_usd, k.per, period,
                                                spent_in(period, k.label))
        if settings.hard_cap and settings.monthly_limit_usd > 0:
            cycle = cycle_period(now, settings)
            wanted[(CYCLE_SCOPE, "")] = (settings.monthly_limit_usd, "month", cycle,
                                         self._cycle_spend(store, settings, cycle, now))
        if wanted:
            self._warm_tokenizer()
        with self._lock:
            accounts: dict[tuple[str, str], _Account] = {}
            for name, (cap, per, period, spent) in wanted.items():
                acc = self._accounts.get(name)
                if acc is None:
                    acc = _Account(name[0], name[1], cap, per, period)
                if acc.period.start != period.start:
                    acc.unstored = Decimal(0)
                acc.cap, acc.per, acc.period = cap, per, period
                acc.spent = spent + acc.unstored  # the database leaves out the spool
                accounts[name] = acc
            self._accounts = accounts  # in-flight holds keep their own references
            self._by_hash = known

    def _known(self, key: VirtualKey) -> _Known:
        if self._secret_for is None:
            return _Known(key, None, "this proxy has no access to the key vault")
        try:
            secret = self._secret_for(key.for_label)
        except Exception as exc:  # KeyNotFound, KeyringUnavailable: say so on use
            cached = self._secrets.get(key.for_label)
            if cached is not None:
                return _Known(key, f"Bearer {cached}")
            text = exc.text() if hasattr(exc, "text") else type(exc).__name__
            return _Known(key, None, f"the stored key {key.for_label!r} cannot be read: {text}")
        self._secrets[key.for_label] = secret.strip()
        return _Known(key, f"Bearer {secret.strip()}")

    def _cycle_spend(self, store: UsageStore, settings: Settings, cycle: Period,
                     now: datetime) -> Decimal:
        """This cycle's spend as `usage` counts it: org figures where synced, proxy after."""
        from monitor.services.usage_report import build_report

        report = build_report(store, self._prices, settings, cycle, "all", None, now)
        return report.totals.cost_usd

    @staticmethod
    def _warm_tokenizer() -> None:
        from monitor.core.tokens import DEFAULT_ENCODING, get_encoding

        try:
            get_encoding(DEFAULT_ENCODING)
        except Exception:
            log.warning("could not load the tokenizer for cap reservations", exc_info=True)

    def _flush_refusals(self, store: UsageStore) -> None:
        """Store the refusals counted since the last flush; if the store cannot take them,
        they are put back and counted once when it can (never dropped, never twice: the
        failed transaction stored none of them)."""
        if not self._refusals or time.monotonic() < self._flush_at:
            return
        with self._lock:
            pending, self._refusals = list(self._refusals.values()), {}
        try:
            VirtualKeys(store).note_refusals(pending)
        except Exception as exc:
            self._flush_at = time.monotonic() + FLUSH_RETRY_S
            with self._lock:
                for old in pending:
                    name = (old.scope, old.label, old.period.start)
                    new = self._refusals.get(name)
                    self._refusals[name] = old if new is None else replace(
                        new, first=min(old.first, new.first), count=old.count + new.count)
            self._store_failed("write", exc)
        else:
            self._store_ok("write")

    # -- the request path (event loop) -----------------------------------------------------

    def _cycle_accounts(self) -> tuple[_Account, ...]:
        acc = self._accounts.get((CYCLE_SCOPE, ""))
        return () if acc is None else (acc,)

    async def authorize(self, authorization: str | None) -> Admission:
        """Swap a virtual key for its real one, or refuse it; other keys pass through."""
        token = bearer_token(authorization)
        if token is None or not token.startswith(TOKEN_PREFIX):
            return Admission(accounts=self._cycle_accounts())
        digest = hash_token(token)
        known = self._by_hash.get(digest)
        if known is None:
            try:
                known = await self._look_up(digest)
            except Exception as exc:  # locked, damaged: not "unknown key", and no traceback
                self._store_failed("read", exc)
                return Admission(json_error(
                    503, "The Token Monitor proxy cannot read its virtual keys now (the usage "
                    "database does not answer); try again in a few seconds.",
                    "virtual_key_unavailable"))
        if known is None:
            log.warning("refused an unknown virtual key %s", mask_secret(token))
            return Admission(json_error(
                401, f"Incorrect API key provided: {mask_secret(token)}. This virtual key is "
                "not known to the Token Monitor proxy (removed, or never created here); create "
                "one with `token-monitor keys virtual add`.", "invalid_api_key",
                "invalid_request_error"))
        if known.authorization is None:
            return Admission(json_error(
                503, f"The Token Monitor proxy cannot use virtual key {known.key.label!r}: "
                f"{known.problem}.", "virtual_key_unavailable"))
        accounts = self._cycle_accounts()
        own = self._accounts.get((KEY_SCOPE, known.key.label))
        if own is not None:
            accounts = (own, *accounts)
        return Admission(None, known.key.label, known.authorization, accounts)

    async def _look_up(self, digest: str) -> _Known | None:
        """A key created after the last refresh: read it (and its real key) off the loop."""
        store = self._store
        if store is None:
            return None

        def read() -> _Known | None:
            key = VirtualKeys(store).by_hash(digest)
            if key is None:
                return None
            if key.hard and key.cap_usd is not None:  # its cap applies from the first request
                period = cap_period(key.per, self._clock(), self._settings)
                spent = spend_by_label(store, period).get(key.label, (Decimal(0), 0))[0]
                with self._lock:
                    name = (KEY_SCOPE, key.label)
                    if name not in self._accounts:
                        acc = _Account(KEY_SCOPE, key.label, key.cap_usd, key.per, period)
                        acc.spent = spent
                        self._accounts = {**self._accounts, name: acc}
            return self._known(key)

        known = await asyncio.get_running_loop().run_in_executor(None, read)
        if known is not None:
            self._by_hash = {**self._by_hash, digest: known}
            self._next_refresh = 0.0  # pick up its cap at the next tick
        return known

    async def reserve(self, accounts: tuple[_Account, ...], body: bytes | None, endpoint: str,
                      model: str | None) -> Hold | web.Response:
        """Reserve the request's worst-case cost against `accounts`, or the 429 refusal
        (also for a model the price table cannot price: a hard cap fails closed). What costs
        nothing (moderations, endpoints not billed per request) is never refused."""
        est = await self._estimate(body, endpoint, model)
        if est.usd is None:
            return self._refuse_unpriced(accounts[0], est.model)
        if est.free or est.usd <= 0:
            return Hold((), Decimal(0), ())
        estimate = est.usd
        now = self._clock()
        with self._lock:
            for acc in accounts:
                if not acc.period.contains(now):
                    self._roll(acc, now)
            for acc in accounts:
                if acc.spent + acc.reserved + estimate > acc.cap or acc.spent >= acc.cap:
                    return self._refuse(acc, est, now)
            for acc in accounts:
                acc.reserved += estimate
            periods = tuple(acc.period.start for acc in accounts)
        return Hold(accounts, estimate, periods)

    def _roll(self, acc: _Account, now: datetime) -> None:
        """A period ended: start the next one from zero (the next refresh re-reads it)."""
        acc.period = (cycle_period(now, self._settings) if acc.scope == CYCLE_SCOPE
                      else cap_period(acc.per, now, self._settings))
        acc.spent = Decimal(0)
        acc.unstored = Decimal(0)
        self._next_refresh = 0.0

    def _refuse(self, acc: _Account, est: Estimate, now: datetime) -> web.Response:
        message = refusal_message(acc, est)
        name = (acc.scope, acc.label, acc.period.start)
        seen = self._refusals.get(name)
        self._refusals[name] = CapRefusal(
            acc.scope, acc.label, acc.period, seen.first if seen else now, now,
            (seen.count if seen else 0) + 1, message)
        _warn_once(self._warned, name, "hard cap reached: %s", message)
        return _refusal(message, BUDGET_CODE)

    def _refuse_unpriced(self, acc: _Account, model: str | None) -> web.Response:
        """The 429 for a model without a price under a hard cap: reserving $0 for it would let
        unlimited spend through the cap, so the cap fails closed and says how to fix it."""
        message = unpriced_message(acc, model)
        _warn_once(self._warned, (acc.scope, acc.label, model or ""),
                   "hard cap refuses a request it cannot price: %s", message)
        return _refusal(message, UNPRICED_CODE)

    async def estimate(self, body: bytes | None, endpoint: str,
                       model: str | None) -> Decimal | None:
        """The most the request should cost: None when it cannot be priced (its model has no
        price, or an endpoint billed by model names none; a hard cap refuses it), 0 when
        there is nothing to price (a free endpoint, or one not billed per request)."""
        return (await self._estimate(body, endpoint, model)).usd

    async def _estimate(self, body: bytes | None, endpoint: str,
                        model: str | None) -> Estimate:
        """The request's model name and worst case (reservation.worst_case, priced)."""
        doc: Any = None
        if body:
            try:
                doc = json.loads(body)
            except (ValueError, RecursionError):
                doc = None
        if not isinstance(doc, dict):
            doc = {}
        name = doc.get("model") if isinstance(doc.get("model"), str) else model
        route = endpoint.rstrip("/")
        if route in _FREE:
            return Estimate(name, Decimal(0), free=True)
        if not name:
            billed = route in _BILLED or route.startswith(_BILLED_PREFIXES)
            return Estimate(None, None) if billed else Estimate(None, Decimal(0), free=True)
        worst = worst_case({k: v for k, v in doc.items() if k != "model"}, route,
                           with_output=not route.startswith(_NO_OUTPUT))
        if body is None and route in _BILLED:  # over 16 MiB: streamed, never read whole
            worst = replace(worst, unseen="a request body too large to read")
        if len(worst.text) > INLINE_COUNT_CHARS:
            loop = asyncio.get_running_loop()
            tokens = await loop.run_in_executor(None, self._count, name, worst.text)
        else:
            tokens = self._count(name, worst.text)
        tokens += worst.fixed_tokens()
        if worst.unseen:
            info = self._prices.resolve(name).info
            window = info.context_window if info is not None else None
            tokens = max(tokens, window or UNSEEN_INPUT_TOKENS)
        tier = doc.get("service_tier") if isinstance(doc.get("service_tier"), str) else None
        usage = TokenUsage(input_tokens=tokens, output_tokens=worst.output_tokens)
        try:
            cost = self._prices.cost(name, usage, at=self._clock(), service_tier=tier).usd
        except Exception:
            log.warning("could not price a reservation for model %s", name, exc_info=True)
            return Estimate(name, None)
        return Estimate(name, cost, tokens, worst.output_tokens, worst.output_named,
                        worst.unseen)

    def _count(self, model: str, text: str) -> int:
        from monitor.core.tokens import count_tokens, encoding_for_model

        if not text:
            return 0
        try:
            return count_tokens(text, encoding_for_model(model, self._prices).name)
        except Exception:  # an encoding we do not ship: bytes are an upper bound
            return len(text.encode("utf-8", "replace"))

    # -- settling (the record writer's thread, after the commit) ---------------------------

    def finished(self, hold: Hold) -> None:
        """The request of `hold` has ended (called on the event loop): from now on a refusal
        says its reservation waits to be recorded, not that it is in progress."""
        with self._lock:
            if hold.finished:
                return
            hold.finished = True
            for acc in hold.accounts:
                acc.recording += hold.amount

    def charge(self, hold: Hold, record: ProxyRecord) -> ProxyRecord:
        """The record as it is stored under a hard cap: one whose cost is unknown (its model
        unpriced, its usage malformed or missing: at most its input was counted) costs its
        reservation, flagged `estimated`, never $0, so the figure survives the next refresh
        and a restart."""
        if not hold.accounts or hold.amount <= 0:
            return record
        known = record.cost_usd
        if known is not None and (record.unmetered is None or (
                record.unmetered != MALFORMED_USAGE and known >= hold.amount)):
            return record
        return replace(record, cost_usd=hold.amount, estimated=True)

    def settle(self, hold: Hold, record: ProxyRecord | None, *, stored: bool = True) -> None:
        """Release `hold` and count the request's real cost (its reservation if unknown).
        `stored` False: the record went to the spool, so the next refresh, which reads the
        database, adds it until the spool is empty (`tick(..., waiting=False)`)."""
        cost = hold.amount
        if record is not None and record.cost_usd is not None:
            cost = record.cost_usd
        with self._lock:
            for acc, start in zip(hold.accounts, hold.periods, strict=True):
                acc.reserved -= hold.amount
                if hold.finished:
                    acc.recording -= hold.amount
                if cost and acc.period.start == start:  # not if its period has ended since
                    acc.spent += cost
                    if not stored:
                        acc.unstored += cost

    # -- for tests and the benchmark -------------------------------------------------------

    def account_figures(self) -> list[tuple[str, str, Decimal, Decimal, Decimal]]:
        """(scope, label, cap, spent, reserved) of every hard cap, now."""
        with self._lock:
            return [(a.scope, a.label, a.cap, a.spent, a.reserved)
                    for a in self._accounts.values()]


class GateContext(Protocol):
    """What `gate_for` reads of the composition root (AppContext satisfies it; services do
    not import the context, whose arrows point down at them)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def settings(self) -> Settings: ...

    def reload_settings_if_changed(self) -> Settings | None: ...

    def prices(self) -> PriceTable: ...

    def keys(self) -> KeyStore: ...


def gate_for(ctx: GateContext) -> SpendGate:
    """The gate of a proxy run by the CLI or the app: real keys from the key vault, the
    context's settings brought up to date with the file on every refresh (the context owns
    that check: a half-written file is not taken, nor moved aside), the context's clock."""
    cache: dict[str, tuple[tuple[object, ...], str]] = {}

    def settings() -> Settings:
        ctx.reload_settings_if_changed()
        return ctx.settings

    def secret_for(label: str) -> str:
        """The keyring is read once per stored key (and again when the key is replaced):
        a locked keyring must not be asked every few seconds for as long as the proxy runs."""
        keys = ctx.keys()
        meta = keys.get_meta(label)  # the metadata file only
        stamp = (meta.kind, meta.last4, meta.created)
        hit = cache.get(label)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        secret = keys.secret(label)
        cache[label] = (stamp, secret)
        return secret

    return SpendGate(prices=ctx.prices(), clock=ctx.clock, settings=settings,
                     secret_for=secret_for)
