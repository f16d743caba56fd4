"""The source rule: org usage is authoritative for what it covers, proxy records count after.

Totals and groups for a period under source org|proxy|all, and when each source started watching.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from monitor.core.budget import SINCE_EVER
from monitor.core.usage import TokenUsage
from monitor.services.store.convert import _from_s, _from_us
from monitor.services.store.proxy_records import ProxyRecords
from monitor.services.store.sync_state import ORG_SOURCE, SyncStates
from monitor.services.store.usage_buckets import UsageBuckets


@dataclass(frozen=True)
class UsageTotals:
    """Requests and tokens for a period under the source rule (`UsageStore.totals`)."""

    requests: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    proxy_cost: Decimal = Decimal(0)  # recorded costs of the counted proxy records


class SourceRule(UsageBuckets, ProxyRecords, SyncStates):
    """Totals and groups across sources (mixin of UsageStore)."""

    def org_cutoff(self) -> datetime | None:
        """The instant from which proxy records count under source "all" (None: all count).

        Org usage is authoritative for what it covers: up to the end of the latest stored org
        bucket, but never past the last successful sync (a bucket still open at sync time holds
        only the requests made before the sync), and at least up to `settled_through`.
        """
        state = self.get_sync_state(ORG_SOURCE)
        latest = self.latest_usage_end()
        covered: datetime | None = latest
        if state is not None and state.last_success is not None:
            covered = (
                state.last_success if latest is None else min(latest, state.last_success)
            )
        if state is not None and state.settled_through is not None:
            covered = (
                state.settled_through if covered is None else max(covered, state.settled_through)
            )
        return covered

    def data_since(self, source: str = "all") -> datetime | None:
        """The first instant `source` watched (None: no data at all), for projections.

        A successful org sync backfills whole billing cycles, so it watched everything;
        otherwise the earliest stored org bucket or proxy record marks the start.
        """
        found: list[datetime] = []
        if source in ("org", "all"):
            state = self.get_sync_state(ORG_SOURCE)
            if state is not None and state.last_success is not None:
                return SINCE_EVER
            row = self._query_one("SELECT MIN(start) FROM usage_buckets")
            if row[0] is not None:
                found.append(_from_s(row[0]))
        if source in ("proxy", "all"):
            row = self._query_one("SELECT MIN(time_us) FROM proxy_records")
            first = _from_us(row[0])
            if first is not None:
                found.append(first)
        return min(found) if found else None

    def totals(self, start: datetime, end: datetime, source: str = "all") -> UsageTotals:
        """Requests and tokens in [start, end) for source org|proxy|all (see `org_cutoff`)."""
        groups = self.groups(start, end, source, by=None)
        return groups.get(None, UsageTotals())

    def groups(
        self, start: datetime, end: datetime, source: str = "all", by: str | None = "model"
    ) -> dict[Any, UsageTotals]:
        """Requests and tokens per group (model|day|project|key|None) under the source rule.

        Keys: model name, UTC date, project id, api key id (org) / key label (proxy); None when
        the source has no such dimension (e.g. project for proxy records) or `by` is None.
        Proxy requests count only successful ones (status < 400); errors carry no tokens.
        """
        if source not in ("org", "proxy", "all"):
            raise ValueError(f"unknown source {source!r}")
        org_dim = {None: None, "model": "model", "day": "day", "project": "project_id",
                   "key": "api_key_id"}
        proxy_dim = {None: None, "model": "model", "day": "day", "project": None,
                     "key": "key_label"}
        if by not in org_dim:
            raise ValueError(f"unknown grouping {by!r}")
        out: dict[Any, UsageTotals] = {}

        def add(key: Any, requests: int, usage: TokenUsage, cost: Decimal) -> None:
            cur = out.get(key)
            if cur is None:
                out[key] = UsageTotals(requests, usage, cost)
            else:
                out[key] = UsageTotals(
                    cur.requests + requests, cur.usage + usage, cur.proxy_cost + cost
                )

        if source in ("org", "all"):
            dim = org_dim[by]
            for row in self.org_usage(start, end, () if dim is None else (dim,)):
                add(None if dim is None else getattr(row, dim), row.requests, row.usage,
                    Decimal(0))
        if source in ("proxy", "all"):
            p_start = start
            if source == "all":
                cutoff = self.org_cutoff()
                if cutoff is not None and cutoff > p_start:
                    p_start = cutoff
            if p_start < end:
                dim = proxy_dim[by]
                for prow in self.proxy_usage(p_start, end, () if dim is None else (dim,)):
                    add(None if dim is None else getattr(prow, dim),
                        prow.requests - prow.errors, prow.usage, prow.cost)
        return out
