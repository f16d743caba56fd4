"""Proxy records: append-only rows of the metering proxy, folded into hour/day/month roll-ups."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from monitor.core.records import ProxyRecord
from monitor.core.usage import TokenUsage
from monitor.services.store.connection import Database
from monitor.services.store.convert import (
    _at_us,
    _decimal_add,
    _epoch_us,
    _money_from,
    _money_text,
    _month_floor,
    _none,
    _opt,
    _pico_split,
    _s_day,
    _split,
    _table_for,
)
from monitor.services.store.schema import (
    _NT,
    _PROXY_SUM_COLUMNS,
    _PROXY_TABLES,
    _RAW_PROXY_DIM,
    _RAW_PROXY_SUMS,
    _TOK_LIST,
    DAY_S,
    SPAN_DAY,
    SPAN_HOUR,
    SPAN_MONTH,
    TOKEN_COLUMNS,
    _tok_sums,
    _tokens_of,
)


@dataclass(frozen=True)
class ProxyUsageRow:
    """Proxy records summed over the requested dimensions.

    `requests` counts every record (errors included), `errors` those with status >= 400:
    what the app calls a request is `made` (the one definition every surface uses); refused
    and failed requests are `errors`, never model requests.
    `cost` sums the recorded costs; `unpriced_requests` had tokens but no known price (their
    tokens are in `usage` and, as input/cached/output, also in `unpriced_usage`).
    """

    day: date | None = None
    endpoint: str | None = None
    model: str | None = None
    service_tier: str | None = None
    key_label: str | None = None
    requests: int = 0
    errors: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost: Decimal = Decimal(0)
    unpriced_requests: int = 0
    unpriced_usage: TokenUsage = field(default_factory=TokenUsage)

    @property
    def made(self) -> int:
        """Requests that got an answer (status < 400): the app's one count of requests."""
        return self.requests - self.errors

    @property
    def only_errors(self) -> bool:
        """Nothing but refused or failed requests, with no tokens and no cost: no model row."""
        return self.made == 0 and not self.usage.total_tokens and not self.cost


@dataclass(frozen=True)
class ProxyOutcomeRow:
    """Proxy records summed per model, key label, HTTP status and whether the cost was known
    (what `/metrics` counts by outcome; the roll-ups have no status dimension)."""

    model: str | None
    key_label: str
    status: int
    priced: bool
    requests: int
    usage: TokenUsage
    cost: Decimal


PROXY_DIMS = ("day", "endpoint", "model", "service_tier", "key_label")


class ProxyRecords(Database):
    """Proxy records (mixin of UsageStore)."""

    _INSERT_PROXY = f"""
        INSERT INTO proxy_records (time_us, endpoint, model, service_tier, key_label, {_TOK_LIST},
                                   cost, price_as_of, status, latency_ms, ttfb_ms, request_id,
                                   partial, unmetered, estimated)
        VALUES ({", ".join("?" * (14 + len(TOKEN_COLUMNS)))})
    """

    @staticmethod
    def _upsert_rollup(table: str, dims: Sequence[str]) -> str:
        cols = ["span", "at", *dims, *_PROXY_SUM_COLUMNS, "cost_rest"]
        adds = ", ".join(f"{c} = {c} + excluded.{c}" for c in _PROXY_SUM_COLUMNS)
        marks = ", ".join("?" * len(cols))
        return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks}) ON CONFLICT DO "
                f"UPDATE SET {adds}, cost_rest = dadd(cost_rest, excluded.cost_rest)")

    def add_proxy_record(self, rec: ProxyRecord) -> None:
        self.add_proxy_records((rec,))

    def add_proxy_records(self, recs: Iterable[ProxyRecord]) -> None:
        """Append records (one transaction) and fold them into the roll-ups."""
        raws: list[tuple[Any, ...]] = []
        sums: list[dict[tuple[Any, ...], list[Any]]] = [{} for _ in _PROXY_TABLES]
        for rec in recs:
            u = rec.usage
            t = _epoch_us(rec.time)
            cost = None if rec.cost_usd is None else _money_text(rec.cost_usd)
            toks = _tokens_of(u)
            raws.append((
                t, rec.endpoint, rec.model, rec.service_tier, rec.key_label, *toks, cost,
                None if rec.price_as_of is None else rec.price_as_of.isoformat(), rec.status,
                float(rec.latency_ms), rec.ttfb_ms, rec.request_id, int(rec.partial),
                rec.unmetered, int(rec.estimated),
            ))
            secs = t // 1_000_000
            values = {"endpoint": rec.endpoint, "model": _opt(rec.model),
                      "service_tier": _opt(rec.service_tier), "key_label": rec.key_label}
            unpriced = cost is None and (u.input_tokens + u.output_tokens) > 0
            pico, rest = _pico_split(cost)
            vals = [1, int(rec.status >= 400), *toks, pico, int(unpriced),
                    u.input_tokens if unpriced else 0, u.cached_input_tokens if unpriced else 0,
                    u.output_tokens if unpriced else 0]
            spans = ((SPAN_HOUR, secs - secs % 3600), (SPAN_DAY, secs - secs % DAY_S),
                     (SPAN_MONTH, _month_floor(secs)))
            for acc, (_, dims) in zip(sums, _PROXY_TABLES, strict=True):
                dim_values = tuple(values[d] for d in dims)
                for span, at in spans:
                    key = (span, at, *dim_values)
                    cur = acc.get(key)
                    if cur is None:
                        acc[key] = [*vals, rest]
                    else:
                        for i, v in enumerate(vals):
                            cur[i] += v
                        cur[-1] = _decimal_add(cur[-1], rest)
        with self.transaction() as tx:
            tx.executemany(self._INSERT_PROXY, raws)
            for acc, (table, dims) in zip(sums, _PROXY_TABLES, strict=True):
                tx.executemany(self._upsert_rollup(table, dims),
                               [(*key, *v) for key, v in acc.items()])

    def remember_spool_ids(self, ids: Iterable[str]) -> None:
        """Note ids as stored (the journal's, journal.py), in the caller's transaction when
        there is one, so a later import of the same line adds nothing."""
        now = _epoch_us(self._clock())
        with self.transaction() as tx:
            tx.executemany("INSERT OR IGNORE INTO replayed_spool VALUES (?, ?)",
                           [(i, now) for i in ids])

    def forget_spool_ids(self, prefix: str) -> None:
        """Drop the remembered ids that start with `prefix` (ending in "."): the journal
        segment they came from is gone, so nothing can bring them back."""
        if not prefix.endswith("."):
            raise ValueError("a journal id prefix ends with '.'")
        with self.transaction() as tx:
            tx.execute("DELETE FROM replayed_spool WHERE id >= ? AND id < ?",
                       (prefix, prefix[:-1] + "/"))

    def proxy_records(
        self, start: datetime | None = None, end: datetime | None = None, limit: int | None = None
    ) -> list[ProxyRecord]:
        """Raw proxy records with time in [start, end), newest first (for lists and export)."""
        lo = -(2**62) if start is None else _epoch_us(start)
        hi = 2**62 if end is None else _epoch_us(end)
        rows = self._query(
            f"""SELECT time_us, endpoint, model, service_tier, key_label, {_TOK_LIST}, cost,
                       price_as_of, status, latency_ms, ttfb_ms, request_id, partial,
                       unmetered, estimated
                FROM proxy_records WHERE time_us >= ? AND time_us < ?
                ORDER BY time_us DESC, id DESC LIMIT ?""",
            (lo, hi, -1 if limit is None else limit),
        )
        return [
            ProxyRecord(
                time=_at_us(r[0]), endpoint=r[1], model=r[2],
                service_tier=r[3], key_label=r[4], usage=TokenUsage(*r[5:5 + _NT]),
                cost_usd=None if r[-9] is None else Decimal(r[-9]),
                price_as_of=None if r[-8] is None else date.fromisoformat(r[-8]),
                status=r[-7], latency_ms=r[-6], ttfb_ms=r[-5], request_id=r[-4],
                partial=bool(r[-3]), unmetered=r[-2], estimated=bool(r[-1]),
            )
            for r in rows
        ]

    def proxy_outcomes(self, start: datetime, end: datetime) -> list[ProxyOutcomeRow]:
        """Proxy records with time in [start, end) summed per model, key label, status and
        priced/unpriced, from the raw rows (one indexed range scan; for exporters priming
        their counters, not for per-scrape queries)."""
        rows = self._query(
            f"""SELECT model, key_label, status, cost IS NOT NULL, COUNT(*),
                       {_tok_sums(TOKEN_COLUMNS)}, dsum(cost)
                FROM proxy_records WHERE time_us >= ? AND time_us < ?
                GROUP BY 1, 2, 3, 4""",
            (_epoch_us(start), _epoch_us(end)),
        )
        return [
            ProxyOutcomeRow(
                model=r[0], key_label=r[1], status=r[2], priced=bool(r[3]), requests=r[4],
                usage=TokenUsage(**dict(zip(TOKEN_COLUMNS, r[5:5 + _NT], strict=True))),
                cost=Decimal(r[5 + _NT] or 0),
            )
            for r in rows
        ]

    def unmetered_counts(self, start: datetime, end: datetime) -> tuple[int, int]:
        """(records with no usable usage, of which input was estimated) with time in
        [start, end)."""
        row = self._query_one(
            "SELECT COUNT(*), COALESCE(SUM(estimated), 0) FROM proxy_records "
            "WHERE unmetered IS NOT NULL AND time_us >= ? AND time_us < ?",
            (_epoch_us(start), _epoch_us(end)),
        )
        return int(row[0]), int(row[1])

    def replay_spooled(
        self, entries: Sequence[tuple[str, ProxyRecord]]
    ) -> tuple[list[str], list[str]]:
        """Store spooled records once each: (ids now stored or stored before, ids refused).

        One transaction; every id is remembered with its record, so replaying the same entry
        again (a crash after the commit, before the spool was emptied) adds nothing. A record
        the database refuses as data (not because the database is unavailable) is isolated
        in a savepoint and reported, never taking the others down with it.
        """
        done: list[str] = []
        refused: list[str] = []
        now = _epoch_us(self._clock())
        with self.transaction() as tx:
            for spool_id, rec in entries:
                seen = tx.execute("SELECT 1 FROM replayed_spool WHERE id = ?",
                                  (spool_id,)).fetchone()
                if seen is not None:
                    done.append(spool_id)
                    continue
                tx.execute("SAVEPOINT replay_one")
                try:
                    self.add_proxy_records((rec,))
                    tx.execute("INSERT INTO replayed_spool VALUES (?, ?)", (spool_id, now))
                except (ValueError, TypeError, OverflowError, sqlite3.IntegrityError,
                        sqlite3.InterfaceError, sqlite3.DataError):
                    tx.execute("ROLLBACK TO replay_one")
                    refused.append(spool_id)
                else:
                    done.append(spool_id)
                tx.execute("RELEASE replay_one")
        return done, refused

    def proxy_usage(
        self, start: datetime, end: datetime, by: Sequence[str] = ()
    ) -> list[ProxyUsageRow]:
        """Proxy records with time in [start, end), summed per `by` (day, endpoint, model,
        service_tier, key_label). Whole months, days and hours come from the roll-ups."""
        for d in by:
            if d not in PROXY_DIMS:
                raise ValueError(f"unknown proxy usage dimension {d!r}")
        dims = [d for d in PROXY_DIMS if d in by]
        a_us, b_us = _epoch_us(start), _epoch_us(end)
        a_s, b_s = -(-a_us // 1_000_000), b_us // 1_000_000
        spans = [SPAN_DAY, SPAN_HOUR] if "day" in dims else [SPAN_MONTH, SPAN_DAY, SPAN_HOUR]
        pieces: list[tuple[int | None, int, int]] = []
        if a_s >= b_s:
            pieces.append((None, a_us, b_us))
        else:
            for span, lo, hi in _split(a_s, b_s, spans):
                if span is None:  # raw edges, in microseconds (sub-second slivers included)
                    lo = a_us if lo == a_s else lo * 1_000_000
                    hi = b_us if hi == b_s else hi * 1_000_000
                pieces.append((span, lo, hi))
            if pieces[0][0] is not None and a_us < a_s * 1_000_000:
                pieces.insert(0, (None, a_us, a_s * 1_000_000))
            if pieces[-1][0] is not None and b_s * 1_000_000 < b_us:
                pieces.append((None, b_s * 1_000_000, b_us))
        table = _table_for(_PROXY_TABLES, dims)
        sums = (", ".join(f"SUM({c})" for c in _PROXY_SUM_COLUMNS)
                + ", dsum(cost_rest) FILTER (WHERE cost_rest IS NOT NULL)")
        acc: dict[tuple[Any, ...], list[Any]] = {}
        n = len(dims)

        def add(rows: Iterable[tuple[Any, ...]]) -> None:
            for r in rows:
                key, vals = r[:n], r[n:]
                if not vals[0]:
                    continue  # no rows (SUM is NULL, COUNT is 0)
                cost = _money_from(vals[-6], vals[-1])
                nums = [*vals[:-6], cost, *vals[-5:-1]]
                cur = acc.get(key)
                if cur is None:
                    acc[key] = nums
                else:
                    for i, v in enumerate(nums):
                        cur[i] += v

        def grouping(exprs: list[str]) -> tuple[str, str]:
            head = f"{', '.join(exprs)}, " if exprs else ""
            group = f" GROUP BY {', '.join(str(i + 1) for i in range(n))}" if exprs else ""
            return head, group

        for span, lo, hi in pieces:
            if span is not None:
                day = f"at - at % {DAY_S}" if span == SPAN_HOUR else "at"
                head, group = grouping([day if d == "day" else d for d in dims])
                add(self._query(
                    f"SELECT {head}{sums} FROM {table} "
                    f"WHERE span = ? AND at >= ? AND at < ?{group}",
                    (span, lo, hi),
                ))
            else:
                day = f"(time_us / 1000000) - (time_us / 1000000) % {DAY_S}"
                head, group = grouping([day if d == "day" else _RAW_PROXY_DIM[d] for d in dims])
                # Same column order as the roll-ups: ... cost_pico, unpriced x4, cost_rest.
                add(self._query(
                    f"SELECT {head}{_RAW_PROXY_SUMS} FROM proxy_records "
                    f"WHERE time_us >= ? AND time_us < ?{group}",
                    (lo, hi),
                ))

        out = []
        for key, vals in acc.items():
            kw: dict[str, Any] = {}
            for d, v in zip(dims, key, strict=True):
                kw[d] = _s_day(v) if d == "day" else _none(v)
            out.append(ProxyUsageRow(
                requests=vals[0], errors=vals[1], usage=TokenUsage(*vals[2:2 + _NT]),
                cost=vals[2 + _NT], unpriced_requests=vals[3 + _NT],
                unpriced_usage=TokenUsage(input_tokens=vals[4 + _NT],
                                          cached_input_tokens=vals[5 + _NT],
                                          output_tokens=vals[6 + _NT]),
                **kw,
            ))
        return out
