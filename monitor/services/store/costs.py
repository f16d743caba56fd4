"""Billed dollars per UTC day from the Costs API."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from monitor.core.records import CostBucket
from monitor.services.store.connection import Database
from monitor.services.store.convert import _day_s, _epoch_s, _money_text, _none, _opt, _s_day


@dataclass(frozen=True)
class CostRow:
    """Billed dollars (Costs API) summed over the requested dimensions."""

    amount: Decimal
    day: date | None = None
    project_id: str | None = None
    line_item: str | None = None
    api_key_id: str | None = None
    currency: str | None = None

COST_DIMS = ("day", "project_id", "line_item", "api_key_id", "currency")


class Costs(Database):
    """Org cost buckets (mixin of UsageStore)."""

    def replace_cost_window(self, start: date, end: date, buckets: Iterable[CostBucket]) -> None:
        """Make UTC days [start, end) hold exactly `buckets`, in one transaction."""
        a, b = _day_s(start), _day_s(end)
        now = _epoch_s(self._clock())
        with self.transaction() as tx:
            tx.execute("DELETE FROM cost_buckets WHERE day >= ? AND day < ?", (a, b))
            for c in buckets:
                day = _day_s(c.day)
                if not a <= day < b:
                    raise ValueError(f"cost bucket of {c.day} outside [{start}, {end})")
                tx.execute(
                    "INSERT INTO cost_buckets VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT DO UPDATE SET amount = excluded.amount, "
                    "synced_at = excluded.synced_at",
                    (day, _opt(c.project_id), _opt(c.line_item), _opt(c.api_key_id),
                     c.currency.lower(), _money_text(c.amount), now),
                )

    def cost_rows(self, start: date, end: date, by: Sequence[str] = ()) -> list[CostRow]:
        """Billed amounts for UTC days [start, end), summed per `by` (day, project_id,
        line_item, api_key_id, currency). Without `currency` in `by`, only USD rows count."""
        for d in by:
            if d not in COST_DIMS:
                raise ValueError(f"unknown cost dimension {d!r}")
        dims = [d for d in COST_DIMS if d in by]
        where = "day >= ? AND day < ?" + ("" if "currency" in dims else " AND currency = 'usd'")
        cols = ", ".join(dims)
        sel = f"{cols}, dsum(amount)" if dims else "dsum(amount)"
        group = f" GROUP BY {cols}" if dims else ""
        rows = self._query(
            f"SELECT {sel} FROM cost_buckets WHERE {where}{group}", (_day_s(start), _day_s(end))
        )
        out = []
        for r in rows:
            if r[-1] is None:
                continue
            kw: dict[str, Any] = {}
            for d, v in zip(dims, r[:-1], strict=True):
                kw[d] = _s_day(v) if d == "day" else (v if d == "currency" else _none(v))
            out.append(CostRow(amount=Decimal(r[-1]), **kw))
        return out

    def billed_days(self, start: date, end: date) -> set[date]:
        """UTC days in [start, end) that have any Costs API row."""
        rows = self._query(
            "SELECT DISTINCT day FROM cost_buckets WHERE day >= ? AND day < ?",
            (_day_s(start), _day_s(end)),
        )
        return {_s_day(r[0]) for r in rows}
