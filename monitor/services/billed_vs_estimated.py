"""Billed vs estimated: per UTC day, per model and per line item, with the reason they differ.

The dashboard's reconciliation table (`DashboardSnapshot.recon`): what the Costs API billed
next to tokens × price, and a reason a reader can act on (not billed yet, a tier, a price).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from monitor.core.money import is_nil_difference
from monitor.services.snapshot import ReconRow

if TYPE_CHECKING:
    from monitor.core.budget import Period
    from monitor.core.prices import PriceTable
    from monitor.services.store import UsageStore
    from monitor.services.usage_report import UsageReport

_DAY = timedelta(days=1)


def recon_rows(store: UsageStore, prices: PriceTable, report: UsageReport, cycle: Period,
           now: datetime) -> tuple[ReconRow, ...]:
    """Billed vs estimated per UTC day, per model (billed where a Costs line item names the
    model) and per line item that names no model."""
    from monitor.services.usage_report import BILL_DIFFERENCE_THRESHOLD, line_item_model, pricer_for

    pricer = pricer_for(prices)  # shared with the reports: its per-model probes are cached
    rows = store.org_usage(cycle.start, min(cycle.end, now + _DAY),
                           ["day", "model", "service_tier", "batch"])
    per_day: dict[date, dict[str, dict[str, Any]]] = {}
    for r in rows:
        assert r.day is not None
        cost = pricer.cost(r.model, r.usage, r.requests, r.day, r.service_tier, bool(r.batch))
        info = per_day.setdefault(r.day, {}).setdefault(
            r.model or "(no model)",
            {"est": Decimal(0), "unpriced": False, "tiers": set(), "input": 0, "cached": 0})
        if (cost is None and not r.usage.is_zero()) or (
                r.units > 0 and not (r.usage.input_tokens or r.usage.output_tokens)):
            info["unpriced"] = True  # as the report: images/audio by count have no price
        elif cost is not None:
            info["est"] += cost
        if r.service_tier not in (None, "default", "auto") or r.batch:
            info["tiers"].add("batch" if r.batch else str(r.service_tier))
        info["input"] += r.usage.input_tokens
        info["cached"] += r.usage.cached_input_tokens
    line_items: dict[date, list[tuple[str | None, Decimal]]] = {}  # day -> (item, amount)
    for c in store.cost_rows(cycle.start.date(), cycle.end.date(), ["day", "line_item"]):
        if c.day is not None:
            line_items.setdefault(c.day, []).append((c.line_item, c.amount))
    today = now.date()
    out: list[ReconRow] = []
    for d in report.days:
        models = per_day.get(d.day, {})
        reasons: list[str] = []
        unpriced = sorted(m for m, i in models.items() if i["unpriced"])
        tiers = sorted({t for i in models.values() for t in i["tiers"]})
        inp = sum(i["input"] for i in models.values())
        cached = sum(i["cached"] for i in models.values())
        items = line_items.get(d.day, [])
        day_billed = d.billed_usd
        if day_billed is None and items:  # the Costs API's running figure for an open day
            day_billed = sum((a for _, a in items), Decimal(0))
        diff = None if day_billed is None else day_billed - d.estimated_usd
        if d.billed_usd is None:
            reasons.append(BILLED_SO_FAR if items else
                           "not billed yet: today's costs are still open"
                           if d.day >= today else
                           "not billed yet: the Costs API reports days late")
        elif diff is not None and is_nil_difference(diff):
            reasons.append("matches")
        else:
            if unpriced:
                reasons.append(f"unpriced models not in the estimate: {', '.join(unpriced)}")
            if tiers:
                reasons.append(f"service tiers used: {', '.join(tiers)}")
            if inp and cached:
                reasons.append(f"cached input {cached * 100 // inp} % of input")
            if diff is not None and diff > 0 and not unpriced:
                reasons.append("billed includes items without token usage (tools, storage, "
                               "images) or usage not yet synced")
            elif diff is not None and diff < 0:
                reasons.append("usage revised or billed at lower rates than the price table")
        out.append(ReconRow(d.day, ALL_MODELS, day_billed, d.estimated_usd,
                            "; ".join(reasons)))
        billed_by: dict[str, Decimal] = {}  # model -> its line items
        own_rows: dict[str, Decimal] = {}  # line items that name no model
        for label, amount in items:
            model = line_item_model(label, models, prices)
            into, key = (billed_by, model) if model is not None else (
                own_rows, label or "(no label)")
            into[key] = into.get(key, Decimal(0)) + amount
        for model, info in sorted(models.items(), key=lambda kv: -kv[1]["est"]):
            billed = billed_by.pop(model, None)
            est = None if info["unpriced"] and not info["est"] else info["est"]
            if billed is None:
                why = ("price unknown" if info["unpriced"] else
                       "per-model dollars are estimated: no line item names this model")
            elif est is None:
                why = "billed by line item; price unknown"
            elif abs(billed - est) > BILL_DIFFERENCE_THRESHOLD * max(abs(billed), abs(est)):
                why = BILL_DIFFERS
            else:
                why = "billed by line item"
            out.append(ReconRow(d.day, model, billed, est, why))
        for key, amount in sorted({**billed_by, **own_rows}.items()):
            out.append(ReconRow(d.day, key, amount, None, LINE_ITEM_ONLY))
    return tuple(out)


ALL_MODELS = "(all models)"
BILLED_SO_FAR = "billed so far: the day is still open"
BILL_DIFFERS = ("billed and tokens x price differ by more than 1 %: a price in the table may "
                "be wrong")
LINE_ITEM_ONLY = "billed line item that names no model: its own row, not spread over models"
