"""The dashboard's CSV export: the shown period's total, days, models, projects and keys.

Dollars through `core.money.plain` (fixed decimals, no `$`), so a spreadsheet reads numbers.
"""

from __future__ import annotations

import csv
import io

from monitor.core.money import plain as money
from monitor.core.usage import TokenUsage
from monitor.services.snapshot import DashboardSnapshot


def snapshot_csv(snap: DashboardSnapshot) -> str:
    """The shown period (the period picker's) as CSV: its total, then one row per UTC day
    (requests and tokens too), model, project and key."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "period_start", "period_end", "key", "name", "requests",
                "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens",
                "cost_usd", "basis", "billed_usd", "estimated_usd"])
    t = snap.tables
    start, end = t.period.first_day.isoformat(), t.period.last_day.isoformat()

    def counts(requests: int, u: TokenUsage) -> list[object]:
        return [requests, u.input_tokens, u.cached_input_tokens, u.output_tokens,
                u.reasoning_tokens]

    total = t.total
    w.writerow(["total", start, end, "", t.period.name, *counts(total.requests, total.usage),
                money(total.cost_usd), total.basis, money(t.billed_usd),
                money(t.estimated_usd)])
    for p in t.days:
        w.writerow(["day", start, end, p.day.isoformat(), p.day.isoformat(),
                    *counts(p.requests, p.usage), money(p.cost_usd),
                    "billed" if p.billed_usd is not None else "estimated",
                    money(p.billed_usd), money(p.estimated_usd)])
    for section, rows in (("model", t.by_model), ("project", t.by_project),
                          ("key", t.by_key)):
        for r in rows:
            w.writerow([section, start, end, r.key, r.name, *counts(r.requests, r.usage),
                        money(r.cost_usd), r.basis if r.cost_usd is not None else "unpriced",
                        "", ""])
    return buf.getvalue()
