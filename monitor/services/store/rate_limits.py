"""The newest rate-limit snapshot per (key label, model), from the proxy's response headers."""

from __future__ import annotations

from monitor.core.records import RateLimitSnapshot
from monitor.services.store.connection import Database
from monitor.services.store.convert import _at_us, _epoch_us


class RateLimits(Database):
    """Rate-limit snapshots (mixin of UsageStore)."""

    def add_rate_limit(self, snap: RateLimitSnapshot) -> None:
        """Keep the snapshot if it is the newest for its (key_label, model)."""
        with self.transaction() as tx:
            tx.execute(
                """INSERT INTO rate_limits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT DO UPDATE SET time_us = excluded.time_us,
                     limit_requests = excluded.limit_requests,
                     limit_tokens = excluded.limit_tokens,
                     remaining_requests = excluded.remaining_requests,
                     remaining_tokens = excluded.remaining_tokens,
                     reset_requests_s = excluded.reset_requests_s,
                     reset_tokens_s = excluded.reset_tokens_s
                   WHERE excluded.time_us >= rate_limits.time_us""",
                (snap.key_label, snap.model, _epoch_us(snap.time), snap.limit_requests,
                 snap.limit_tokens, snap.remaining_requests, snap.remaining_tokens,
                 snap.reset_requests_s, snap.reset_tokens_s),
            )

    def latest_rate_limits(self) -> list[RateLimitSnapshot]:
        rows = self._query(
            "SELECT key_label, model, time_us, limit_requests, limit_tokens, remaining_requests, "
            "remaining_tokens, reset_requests_s, reset_tokens_s FROM rate_limits "
            "ORDER BY key_label, model"
        )
        return [
            RateLimitSnapshot(
                time=_at_us(r[2]), key_label=r[0], model=r[1],
                limit_requests=r[3], limit_tokens=r[4], remaining_requests=r[5],
                remaining_tokens=r[6], reset_requests_s=r[7], reset_tokens_s=r[8],
            )
            for r in rows
        ]
