"""Alerts that fired, per billing cycle, so each fires once per cycle across restarts."""

from __future__ import annotations

from datetime import date

from monitor.services.store.connection import Database
from monitor.services.store.convert import _epoch_us


class FiredAlerts(Database):
    """Fired alerts (mixin of UsageStore)."""

    def record_alert(self, kind: str, threshold: str, cycle_start: date) -> bool:
        """Remember that an alert fired in the cycle starting `cycle_start`; True if new."""
        with self.transaction() as tx:
            cur = tx.execute(
                "INSERT OR IGNORE INTO fired_alerts VALUES (?, ?, ?, ?)",
                (kind, threshold, cycle_start.isoformat(), _epoch_us(self._clock())),
            )
            return cur.rowcount == 1

    def fired_alerts(self, cycle_start: date) -> set[tuple[str, str]]:
        rows = self._query(
            "SELECT kind, threshold FROM fired_alerts WHERE cycle_start = ?",
            (cycle_start.isoformat(),),
        )
        return {(k, t) for k, t in rows}
