"""Display names of projects and API keys (from the organization endpoints)."""

from __future__ import annotations

from collections.abc import Mapping

from monitor.services.store.connection import Database
from monitor.services.store.convert import _epoch_s


class Names(Database):
    """Project and key names (mixin of UsageStore)."""

    def names(self) -> dict[str, str]:
        """id → display name for projects and API keys (from the organization endpoints)."""
        return dict(self._query("SELECT id, name FROM names"))

    def set_names(self, names: Mapping[str, str]) -> None:
        now = _epoch_s(self._clock())
        with self.transaction() as tx:
            tx.executemany(
                "INSERT INTO names VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET "
                "name = excluded.name, updated_at = excluded.updated_at",
                [(k, v, now) for k, v in names.items()],
            )
