"""UsageStore: the one handle on the usage database, combining every concern of the store.

Callers (sync, proxy, reports, snapshot, alerting) use this facade; each concern lives in its
own module of this package (see `monitor/services/store/__init__.py`).
"""

from __future__ import annotations

from monitor.services.store.alerts import FiredAlerts
from monitor.services.store.costs import Costs
from monitor.services.store.names import Names
from monitor.services.store.rate_limits import RateLimits
from monitor.services.store.source_rule import SourceRule


class UsageStore(SourceRule, Costs, RateLimits, FiredAlerts, Names):
    """The usage database: org usage/cost buckets, proxy records, rate limits, alerts, sync
    state and names, plus the source rule that combines org usage and proxy records.

    Thread-safe; `close()` closes every connection (call it on quit).
    """
