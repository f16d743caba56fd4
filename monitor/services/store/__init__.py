"""The SQLite usage store: org usage/cost buckets, proxy records, rate limits, alerts, sync state.

Modules, one concern each:

- `schema`: token columns, roll-up tables, numbered migrations (`MIGRATIONS`, `SCHEMA_VERSION`).
- `convert`: instants/days/money to and from columns; exact decimal sums; span maths.
- `connection`: the file (owner-only, WAL), connections, transactions, migration on open.
- `usage_buckets`, `costs`, `proxy_records`, `rate_limits`, `alerts`, `sync_state`, `names`:
  one table family each, as mixins on `connection.Database`.
- `source_rule`: totals and groups across sources (org usage wins where it covers).
- `usage_store`: `UsageStore`, the facade callers use.
- `backup`: daily online backups, integrity check, the damage message, restore.

Roll-ups by month, day and (proxy) hour, narrow ones by model and by key besides the full ones,
are maintained on every write and keep every query in milliseconds with a year of hourly buckets
and a million proxy records; only a period's ragged edges are read from raw rows.
"""

from monitor.services.store.costs import COST_DIMS, CostRow
from monitor.services.store.errors import StoreError
from monitor.services.store.proxy_records import PROXY_DIMS, ProxyOutcomeRow, ProxyUsageRow
from monitor.services.store.schema import (
    DAY_S,
    MIGRATIONS,
    SCHEMA_VERSION,
    SPAN_DAY,
    SPAN_HOUR,
    SPAN_MONTH,
    TOKEN_COLUMNS,
    WIDTH_SECONDS,
)
from monitor.services.store.source_rule import UsageTotals
from monitor.services.store.sync_state import (
    ORG_SOURCE,
    PROXY_HEARTBEAT_S,
    PROXY_SOURCE,
    SyncState,
)
from monitor.services.store.usage_buckets import ORG_DIMS, OrgUsageRow
from monitor.services.store.usage_store import UsageStore

__all__ = [
    "COST_DIMS",
    "DAY_S",
    "MIGRATIONS",
    "ORG_DIMS",
    "ORG_SOURCE",
    "PROXY_DIMS",
    "PROXY_HEARTBEAT_S",
    "PROXY_SOURCE",
    "SCHEMA_VERSION",
    "SPAN_DAY",
    "SPAN_HOUR",
    "SPAN_MONTH",
    "TOKEN_COLUMNS",
    "WIDTH_SECONDS",
    "CostRow",
    "OrgUsageRow",
    "ProxyOutcomeRow",
    "ProxyUsageRow",
    "StoreError",
    "SyncState",
    "UsageStore",
    "UsageTotals",
]
