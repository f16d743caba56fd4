"""The proxy's record writer: prices finished requests and stores them, off the event loop.

Records are priced and written to SQLite in batches on this thread, never on the event loop;
`RecordKeeper` spools what the database cannot take, and the write-ahead journal
(journal.py) keeps what was answered but not yet stored across a process kill.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.core.clock import Clock, system_clock
from monitor.core.records import MALFORMED_USAGE, ProxyRecord, RateLimitSnapshot
from monitor.core.usage import TokenUsage
from monitor.services.proxy.finished import FinishedRequest
from monitor.services.proxy.journal import Journal, import_orphans
from monitor.services.proxy.ratelimit import parse_rate_limits
from monitor.services.proxy.record_keeper import RecordKeeper
from monitor.services.proxy.unmetered import FREE_METHODS, estimate_input, unmetered_reason
from monitor.services.record_spool import RecordSpool, spool_path_for

if TYPE_CHECKING:
    from monitor.core.prices import PriceTable
    from monitor.services.proxy.caps import Hold, SpendGate
    from monitor.services.store import UsageStore

log = logging.getLogger(__name__)

WRITER_BUSY_TIMEOUT_S = 2.0
"""How long the record writer waits for a locked database before spooling the batch."""

PROMPT_WRITE_S = 0.02
"""How long after a request ends the record writer waits to batch its neighbours before
writing (meanwhile the record is in the journal, journal.py)."""


class RecordWriter:
    """A daemon thread that prices finished requests and writes them to the UsageStore.

    The event loop appends to a deque and wakes the thread only when it is not already
    awake (an `Event` flag read, so one wake-up per batch, never per record); the thread
    then waits PROMPT_WRITE_S for the requests finishing alongside and writes them in one
    transaction. So a record is in the database (or the spool) about PROMPT_WRITE_S after
    its response went out, and a proxy killed outright (SIGKILL) loses only the records of
    that last moment; at most 1/PROMPT_WRITE_S batches a second, whatever the traffic.
    Idle, the thread looks every `interval` seconds (heartbeat, cap refresh, spool replay).
    `on_record` is called on this thread after each batch is kept. No record is dropped:
    `RecordKeeper` isolates a bad record and spools batches the database cannot take.
    """

    def __init__(
        self,
        store_path: Path,
        prices: PriceTable,
        on_record: Callable[[ProxyRecord], None] | None = None,
        *,
        interval: float = 0.1,
        clock: Clock = system_clock,
        gate: SpendGate | None = None,
    ) -> None:
        self._gate = gate
        self._store_path = store_path
        self._clock = clock
        self._prices = prices
        self._on_record = on_record
        self._interval = interval
        self._items: collections.deque[FinishedRequest] = collections.deque()
        self._submitted = 0  # only the event loop's thread adds to it
        self._written = 0
        self._wake = threading.Event()
        self._stopping = False
        self._done = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="proxy-records", daemon=True)
        self._started = False
        self._unpriced: set[str] = set()  # models already logged as unpriced (bounded)
        self._next_beat = 0.0  # monotonic: when the next heartbeat is due (at once at start)
        self.keeper = RecordKeeper(self._open_store, RecordSpool(spool_path_for(store_path)))
        self.journal = Journal(Path(store_path).parent)

    def _import_orphans(self) -> None:
        """Store what killed proxies journaled but never stored (after the spool, whose
        entries may carry the same ids: the spool goes first, then the journal is forgotten)."""
        store = self.keeper.store
        if store is None:
            return
        self.keeper.replay_now()
        if self.keeper.spool.has_pending():
            return  # the store cannot take the spool yet: the journals wait for the next start
        try:
            import_orphans(self.journal.folder, store, self.to_record)
        except Exception:
            log.warning("could not import the journal of a killed proxy; it is kept for the "
                        "next start", exc_info=True)

    def _open_store(self) -> UsageStore:
        from monitor.services.store import UsageStore

        # A short busy timeout: past it the batch is spooled, not the queue held up.
        return UsageStore(self._store_path, clock=self._clock,
                          busy_timeout_s=WRITER_BUSY_TIMEOUT_S)

    def start(self) -> None:
        """Open the store (raising StoreError here, not later on the thread) and start."""
        if not self._started:
            self.keeper.open()
            self._import_orphans()
            if self._gate is not None and self.keeper.store is not None:
                self._gate.load(self.keeper.store)
            self._started = True
            self._thread.start()

    def submit(self, item: FinishedRequest) -> None:
        self._submitted += 1
        self._items.append(item)
        if not self._wake.is_set():  # one wake-up per batch: later submits find it set
            self._wake.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every request submitted so far is stored; False on timeout."""
        target = self._submitted
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._done:
            while self._written < target:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return self._written >= target
                self._done.wait(min(left, 0.05))
                self._wake.set()
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Store what is queued, then stop the thread."""
        self._stopping = True
        self._wake.set()
        if self._started and self._thread.is_alive():
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("the proxy stopped with %d records not yet stored or spooled (the "
                          "records thread is still writing; a stuck database?)",
                          self._submitted - self._written)

    def to_record(self, item: FinishedRequest) -> ProxyRecord:
        """Price one finished request (errors cost 0; missing usage is counted with a reason
        and, where the request body is known, its input estimated with the tokenizer)."""
        model = item.model or item.request_model
        cost: Decimal | None
        as_of = None
        usage = item.usage
        reason = unmetered_reason(item.endpoint, item.status, item.method,
                                  item.usage is not None, item.usage_malformed,
                                  item.client_disconnected)
        estimated = False
        if item.usage_malformed:  # absurd counts (1e30, NaN, negative) are no spend to price
            usage = None
        if reason is None and item.status >= 400:
            usage, cost = TokenUsage(), Decimal(0)
        elif usage is None:
            usage = TokenUsage()
            cost = Decimal(0) if item.method in FREE_METHODS and not item.partial else None
            if reason is not None and item.request_body is not None and model is not None:
                guess = estimate_input(item.endpoint, model, item.request_body, self._prices,
                                       item.time, item.service_tier)
                if guess is not None:
                    usage, cost, as_of, estimated = guess.usage, guess.cost, guess.as_of, True
                    if cost is None:
                        self._note_unpriced(model)
        elif model is None:
            cost = None
        else:
            try:
                priced = self._prices.cost(
                    model, usage, at=item.time, service_tier=item.service_tier
                )
            except Exception:
                log.warning("could not price a %s request for model %s", item.endpoint, model,
                            exc_info=True)
                cost = None
            else:
                cost, as_of = priced.usd, priced.as_of
                if cost is None and item.request_model and item.request_model != model:
                    # a gateway's name for the model (`openai/gpt-4o` for `gpt-4o`): priced
                    # by the model asked for, flagged as an estimate
                    asked = self._prices.cost(item.request_model, usage, at=item.time,
                                              service_tier=item.service_tier)
                    if asked.usd is not None:
                        cost, as_of, estimated = asked.usd, asked.as_of, True
                if cost is None:
                    self._note_unpriced(model)
        return ProxyRecord(
            time=item.time,
            endpoint=item.endpoint,
            model=model,
            service_tier=item.service_tier,
            key_label=item.key_label,
            usage=usage,
            cost_usd=cost,
            price_as_of=as_of,
            status=item.status,
            latency_ms=round(item.latency_ms, 3),
            ttfb_ms=None if item.ttfb_ms is None else round(item.ttfb_ms, 3),
            request_id=item.request_id,
            partial=item.partial,
            unmetered=reason,
            estimated=estimated,
            request_model=item.request_model,
            streamed=item.streamed,
        )

    def _note_unpriced(self, model: str) -> None:
        """Say once per model (per run) that its requests go through uncounted: no soft cap
        or monthly-limit alert sees them (a hard cap refuses them, see caps.SpendGate)."""
        if model in self._unpriced or len(self._unpriced) >= 1000:
            return
        self._unpriced.add(model)
        log.warning(
            "model %r has no price in the price table: its requests are forwarded and stored "
            "without a cost, so soft caps and the monthly limit's alerts do not count them (a "
            "hard cap refuses them). Add its price with `token-monitor price import FILE "
            "--apply` or in the price override file", model)

    def _run(self) -> None:
        try:
            while True:
                if self._wake.wait(self._interval) and not self._stopping:
                    time.sleep(PROMPT_WRITE_S)  # gather the requests ending with this one
                self._wake.clear()
                stopping = self._stopping
                batch: list[FinishedRequest] = []
                while self._items and len(batch) < 2000:
                    batch.append(self._items.popleft())
                gate_store = self.keeper.store
                if self._gate is not None and gate_store is not None:
                    self._gate.tick(gate_store, self.keeper.waiting())
                self._heartbeat()
                if batch:
                    try:
                        self._write(batch)
                    finally:
                        with self._done:
                            self._written += len(batch)
                            self._done.notify_all()
                    if self._items:
                        self._wake.set()
                elif stopping:
                    return
                else:
                    self.keeper.replay_now()
        finally:
            self._last_words()
            self._forget(self.journal.close(all_kept=self.unkept == 0))
            self.keeper.close()

    def _last_words(self) -> None:
        """On stop: one more try for records waiting in memory, then say how many are lost."""
        self.keeper.flush_backlog()
        lost = self.unkept
        if lost:
            log.error("%d proxy records could not be kept: neither the usage database nor "
                      "the spool %s could take them (is the disk full?); they are lost",
                      lost, self.keeper.spool.path)

    @property
    def unkept(self) -> int:
        """Records submitted but neither stored nor spooled (waiting in memory or the queue)."""
        return self.keeper.unkept + len(self._items)

    def _forget(self, prefixes: list[str]) -> None:
        """The store forgets the ids of deleted journal segments (a failure only leaves rows)."""
        store = self.keeper.store
        if store is None:
            return
        for prefix in prefixes:
            try:
                store.forget_spool_ids(prefix)
            except Exception:
                log.debug("could not forget the ids of journal segment %s", prefix,
                          exc_info=True)

    def _heartbeat(self) -> None:
        """Every PROXY_HEARTBEAT_S, note in the store that this proxy is metering, so `status`
        knows an idle proxy's figures are complete rather than stale."""
        due = time.monotonic()
        store = self.keeper.store
        if due < self._next_beat or store is None:  # the usual case: this loop runs 10x a second
            return
        from monitor.services.store import PROXY_HEARTBEAT_S, PROXY_SOURCE, SyncState

        self._next_beat = due + PROXY_HEARTBEAT_S
        try:
            store.set_sync_state(PROXY_SOURCE, SyncState(last_success=self._clock()))
        except Exception:  # a busy or failing store: the records' own path reports that
            log.debug("could not write the proxy heartbeat", exc_info=True)

    def _write(self, batch: list[FinishedRequest]) -> None:
        records: list[ProxyRecord] = []
        snapshots: list[RateLimitSnapshot] = []
        held: list[tuple[Hold, ProxyRecord | None]] = []
        for item in batch:
            try:
                rec = self.to_record(item)
            except Exception:
                log.exception("could not price a proxy record for %s", item.endpoint)
                rec = fallback_record(item)  # counted, never dropped
            if item.hold is not None and self._gate is not None:
                rec = self._gate.charge(item.hold, rec)  # unknown cost: its reservation
                held.append((item.hold, rec))
            records.append(rec)
            rl_model = item.request_model or item.model
            if item.rate_limit_headers and rl_model:
                snap = parse_rate_limits(
                    item.rate_limit_headers, key_label=item.key_label, model=rl_model,
                    time=item.headers_at or item.time,
                )  # fmt: skip
                if snap is not None:
                    snapshots.append(snap)
        kept: set[int] = set()
        try:
            kept = {id(rec) for rec in self.keeper.keep(
                records, snapshots, [item.journal_id for item in batch])}
            for item in batch:
                if item.journal_segment is not None:
                    self.journal.stored(item.journal_segment)
            self._forget(self.journal.collect(all_kept=self.keeper.unkept == 0))
        finally:
            if self._gate is not None:
                for hold, settled in held:
                    self._gate.settle(hold, settled, stored=id(settled) in kept)
        for rec in records:
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %d model=%s in=%d out=%d cost=%s %.1fms key=%s%s",
                    rec.endpoint, rec.status, rec.model, rec.usage.input_tokens,
                    rec.usage.output_tokens, rec.cost_usd, rec.latency_ms, rec.key_label,
                    " partial" if rec.partial else "",
                )
            if self._on_record is not None:
                try:
                    self._on_record(rec)
                except Exception:
                    log.exception("on_record callback failed")


def fallback_record(item: FinishedRequest) -> ProxyRecord:
    """A record for a finished request that could not be priced at all: no tokens, no cost,
    flagged unmetered, so it is counted rather than lost."""
    return ProxyRecord(
        time=item.time, endpoint=item.endpoint, model=item.model or item.request_model,
        service_tier=item.service_tier, key_label=item.key_label, usage=TokenUsage(),
        cost_usd=None, price_as_of=None, status=item.status,
        latency_ms=round(item.latency_ms, 3) if item.latency_ms == item.latency_ms else 0.0,
        ttfb_ms=None, request_id=item.request_id, partial=item.partial,
        unmetered=MALFORMED_USAGE,
    )
