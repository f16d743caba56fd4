"""Org usage buckets (Usage API): idempotent upserts and window replaces, roll-ups, reads.

Org buckets of two widths for the same endpoint and UTC day: the `1h` rows win (the sync keeps
the current and previous UTC day hourly); the `1d` rows count only for days without hourly rows.
A bucket belongs to a period when its start lies in the period.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from monitor.core.records import UsageBucket
from monitor.core.usage import TokenUsage
from monitor.services.store.connection import Database
from monitor.services.store.convert import (
    _batch_in,
    _batch_out,
    _epoch_s,
    _from_s,
    _month_floor,
    _month_next,
    _none,
    _opt,
    _s_day,
    _split,
    _table_for,
)
from monitor.services.store.schema import (
    _NT,
    _ORG_SUM_COLUMNS,
    _ORG_TABLES,
    _TOK_LIST,
    _V3_TOKEN_COLUMNS,
    DAY_S,
    SPAN_DAY,
    SPAN_MONTH,
    TOKEN_COLUMNS,
    WIDTH_SECONDS,
    _org_day_select,
    _regroup_select,
    _tokens_of,
)


@dataclass(frozen=True)
class OrgUsageRow:
    """Org usage summed over the requested dimensions (dimensions not grouped are None)."""

    day: date | None = None
    endpoint: str | None = None
    model: str | None = None
    project_id: str | None = None
    api_key_id: str | None = None
    service_tier: str | None = None
    batch: bool | None = None
    requests: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    units: int = 0


ORG_DIMS = ("day", "endpoint", "model", "project_id", "api_key_id", "service_tier", "batch")


class UsageBuckets(Database):
    """Org usage buckets (mixin of UsageStore)."""

    _UPSERT_USAGE = f"""
        INSERT INTO usage_buckets (start, width, endpoint, model, project_id, api_key_id, user_id,
                                   service_tier, batch, requests, {_TOK_LIST}, units, synced_at)
        VALUES ({", ".join("?" * (12 + len(TOKEN_COLUMNS)))})
        ON CONFLICT DO UPDATE SET requests = excluded.requests,
            {", ".join(f"{c} = excluded.{c}" for c in TOKEN_COLUMNS)},
            units = excluded.units, synced_at = excluded.synced_at
    """

    @staticmethod
    def _usage_params(b: UsageBucket, synced_at: int) -> tuple[Any, ...]:
        if b.width not in WIDTH_SECONDS:
            raise ValueError(f"unsupported bucket width {b.width!r} (use 1h or 1d)")
        u = b.usage
        return (
            _epoch_s(b.start), b.width, b.endpoint, _opt(b.model), _opt(b.project_id),
            _opt(b.api_key_id), _opt(b.user_id), _opt(b.service_tier), _batch_in(b.batch),
            b.requests, *_tokens_of(u), b.units, synced_at,
        )

    def upsert_usage_buckets(self, buckets: Iterable[UsageBucket]) -> None:
        """Insert or overwrite buckets by their natural key (syncing twice never doubles)."""
        now = _epoch_s(self._clock())
        with self.transaction() as tx:
            touched: set[tuple[str, int]] = set()
            widths: set[tuple[str, str]] = set()
            for b in buckets:
                params = self._usage_params(b, now)
                tx.execute(self._UPSERT_USAGE, params)
                touched.add((b.endpoint, params[0] - params[0] % DAY_S))
                widths.add((b.endpoint, b.width))
            self._refresh_rollups(tx, touched, widths)

    def replace_usage_window(
        self,
        endpoint: str,
        width: str,
        start: datetime,
        end: datetime,
        buckets: Iterable[UsageBucket],
    ) -> None:
        """Make [start, end) of `endpoint`/`width` hold exactly `buckets`, in one transaction.

        A crash or an exception from `buckets` part-way leaves the previous window intact.
        Raises ValueError for a bucket of another endpoint/width or starting outside the window.
        """
        if width not in WIDTH_SECONDS:
            raise ValueError(f"unsupported bucket width {width!r} (use 1h or 1d)")
        a, b_ = _epoch_s(start), _epoch_s(end)
        now = _epoch_s(self._clock())
        with self.transaction() as tx:
            tx.execute(
                "DELETE FROM usage_buckets WHERE width = ? AND endpoint = ? "
                "AND start >= ? AND start < ?",
                (width, endpoint, a, b_),
            )
            touched = {(endpoint, d) for d in range(a - a % DAY_S, b_, DAY_S)}
            for bucket in buckets:
                params = self._usage_params(bucket, now)
                if bucket.endpoint != endpoint or bucket.width != width:
                    raise ValueError(
                        f"bucket {bucket.endpoint}/{bucket.width} in a {endpoint}/{width} window"
                    )
                if not a <= params[0] < b_:
                    raise ValueError(f"bucket starting {bucket.start} outside [{start}, {end})")
                tx.execute(self._UPSERT_USAGE, params)
            self._refresh_rollups(tx, touched, {(endpoint, width)})

    @staticmethod
    def _refresh_rollups(
        tx: sqlite3.Connection, touched: set[tuple[str, int]], widths: set[tuple[str, str]]
    ) -> None:
        """Recompute the day rows of `touched` (endpoint, day), then their months' rows."""
        full = _ORG_TABLES[-1][0]
        months: set[tuple[str, int]] = set()
        for endpoint, day in sorted(touched):
            for table, _ in _ORG_TABLES:
                tx.execute(f"DELETE FROM {table} WHERE span = {SPAN_DAY} AND at = ? "
                           "AND endpoint = ?", (day, endpoint))
            tx.execute(f"INSERT INTO {full}\n"
                       f"{_org_day_select('u.endpoint = ? AND u.start >= ? AND u.start < ?')}",
                       (endpoint, day, day + DAY_S))
            for table, dims in _ORG_TABLES[:-1]:
                tx.execute(f"INSERT INTO {table}\n" + _regroup_select(
                    full, dims, SPAN_DAY, SPAN_DAY, _ORG_SUM_COLUMNS, "at = ? AND endpoint = ?"),
                    (day, endpoint))
            months.add((endpoint, _month_floor(day)))
        for endpoint, month in sorted(months):
            for table, dims in _ORG_TABLES:
                tx.execute(f"DELETE FROM {table} WHERE span = {SPAN_MONTH} AND at = ? "
                           "AND endpoint = ?", (month, endpoint))
                tx.execute(f"INSERT INTO {table}\n" + _regroup_select(
                    table, dims, SPAN_MONTH, SPAN_DAY, _ORG_SUM_COLUMNS,
                    "at >= ? AND at < ? AND endpoint = ?"), (month, _month_next(month), endpoint))
        for endpoint, width in widths:
            row = tx.execute(
                "SELECT MAX(start) FROM usage_buckets WHERE width = ? AND endpoint = ?",
                (width, endpoint),
            ).fetchone()
            if row[0] is None:
                tx.execute(
                    "DELETE FROM usage_extent WHERE endpoint = ? AND width = ?", (endpoint, width)
                )
            else:
                tx.execute(
                    "INSERT INTO usage_extent VALUES (?, ?, ?) "
                    "ON CONFLICT DO UPDATE SET max_end = excluded.max_end",
                    (endpoint, width, row[0] + WIDTH_SECONDS[width]),
                )
    # ---- org usage: reads ------------------------------------------------------------------

    def latest_usage_end(self) -> datetime | None:
        """End of the latest stored org bucket (any endpoint and width), or None."""
        row = self._query_one("SELECT MAX(max_end) FROM usage_extent")
        return None if row[0] is None else _from_s(row[0])

    def usage_buckets(self, start: datetime, end: datetime, *, endpoint: str | None = None,
                      model: str | None = None) -> list[UsageBucket]:
        """The raw org rows starting in [start, end), both widths (for export, tests and
        pricing bucket by bucket), optionally of one endpoint and one model only."""
        where = ""
        params: list[Any] = [_epoch_s(start), _epoch_s(end)]
        if endpoint is not None:
            where += " AND endpoint = ?"
            params.append(endpoint)
        if model is not None:
            where += " AND model = ?"
            params.append(model)
        rows = self._query(
            f"""SELECT start, width, endpoint, model, project_id, api_key_id, user_id,
                       service_tier, batch, requests, {_TOK_LIST}, units
                FROM usage_buckets WHERE start >= ? AND start < ?{where}
                ORDER BY start, width, endpoint, model, project_id, api_key_id, user_id""",
            params,
        )
        return [
            UsageBucket(
                start=_from_s(r[0]), width=r[1], endpoint=r[2], model=_none(r[3]),
                project_id=_none(r[4]), api_key_id=_none(r[5]), user_id=_none(r[6]),
                service_tier=_none(r[7]), batch=_batch_out(r[8]), requests=r[9],
                usage=TokenUsage(*r[10:10 + _NT]), units=r[10 + _NT],
            )
            for r in rows
        ]

    def org_usage(
        self, start: datetime, end: datetime, by: Sequence[str] = ()
    ) -> list[OrgUsageRow]:
        """Org usage of buckets starting in [start, end), summed per the `by` dimensions.

        Dimensions: day (UTC), endpoint, model, project_id, api_key_id, service_tier, batch.
        Whole months and days come from the roll-ups, the partial days at the edges from the
        raw rows (hourly rows win over daily rows of the same endpoint and day).
        """
        for d in by:
            if d not in ORG_DIMS:
                raise ValueError(f"unknown org usage dimension {d!r}")
        dims = [d for d in ORG_DIMS if d in by]
        spans = [SPAN_DAY] if "day" in dims else [SPAN_MONTH, SPAN_DAY]
        pieces = _split(_epoch_s(start), _epoch_s(end), spans)
        table = _table_for(_ORG_TABLES, dims)
        sums = ", ".join(f"SUM({c})" for c in _ORG_SUM_COLUMNS)
        acc: dict[tuple[Any, ...], list[int]] = {}
        n = len(dims)

        def add(rows: Iterable[tuple[Any, ...]]) -> None:
            for r in rows:
                key, vals = r[:n], r[n:]
                if vals[0] is None:
                    continue  # SUM over no rows
                cur = acc.get(key)
                if cur is None:
                    acc[key] = list(vals)
                else:
                    for i, v in enumerate(vals):
                        cur[i] += v

        def select(day_expr: str) -> tuple[str, str]:
            exprs = [day_expr if d == "day" else d for d in dims]
            sel = f"{', '.join(exprs)}, {sums}" if dims else sums
            group = f" GROUP BY {', '.join(str(i + 1) for i in range(n))}" if dims else ""
            return sel, group

        for span, lo, hi in pieces:
            if span is not None:
                sel, group = select("at")
                add(self._query(
                    f"SELECT {sel} FROM {table} WHERE span = ? AND at >= ? AND at < ?{group}",
                    (span, lo, hi),
                ))
            else:
                day = f"u.start - u.start % {DAY_S}"
                sel, group = select(day)
                add(self._query(
                    f"""SELECT {sel} FROM usage_buckets u
                        WHERE start >= ? AND start < ? AND (width = '1h' OR NOT EXISTS (
                            SELECT 1 FROM usage_buckets h WHERE h.width = '1h'
                            AND h.endpoint = u.endpoint AND h.start >= {day}
                            AND h.start < {day} + {DAY_S})){group}""",
                    (lo, hi),
                ))

        out = []
        for key, vals in acc.items():
            kw: dict[str, Any] = {}
            for d, v in zip(dims, key, strict=True):
                if d == "day":
                    kw[d] = _s_day(v)
                elif d == "batch":
                    kw[d] = _batch_out(v)
                else:
                    kw[d] = _none(v)
            out.append(OrgUsageRow(
                # vals: requests, v1 tokens, units, v3 tokens (_ORG_SUM_COLUMNS)
                **kw, requests=vals[0], units=vals[8],
                usage=TokenUsage(*vals[1:8], *vals[9:9 + len(_V3_TOKEN_COLUMNS)]),
            ))
        return out
