"""Sentences the tray and dashboard both show, built from a snapshot and translated (tr)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication

from monitor.gui import fmt

if TYPE_CHECKING:  # the GUI's first frame comes before the first snapshot
    from monitor.services.org_sync import SyncProgress
    from monitor.services.snapshot import CycleFigures, DashboardSnapshot, OrgSourceStatus


def cycle_label(cycle: CycleFigures) -> str:
    """`Nov` for a cycle starting on the 1st, else `Nov 15–Dec 14`."""
    if cycle.start.day == 1:
        return fmt.month_abbrev(cycle.start)
    return f"{fmt.short_date(cycle.start)}–{fmt.short_date(cycle.last_day)}"


def tooltip(snap: DashboardSnapshot | None) -> str:
    """`Today $1.23 · Nov $48.10 of $120 (40 %)`."""
    if snap is None:
        return QCoreApplication.translate("texts", "Token Monitor — loading…")
    c = snap.cycle
    line = (
        QCoreApplication.translate("texts", "Today %1 · %2 %3 of %4 (%5)")
        .replace("%1", fmt.usd(snap.today.cost_usd))
        .replace("%2", cycle_label(c))
        .replace("%3", fmt.usd(c.cost_usd))
        .replace("%4", fmt.usd(c.limit_usd, whole_if_integral=True))
        .replace("%5", fmt.percent(c.fraction))
    )
    extra: list[str] = []
    unpriced = unpriced_note(snap)
    if unpriced:
        extra.append(unpriced)
    if not snap.has_data:
        extra.append(QCoreApplication.translate("texts", "No usage data yet"))
    if snap.org.failing and snap.org.last_error:
        extra.append(
            QCoreApplication.translate("texts", "Sync failing: %1").replace(
                "%1", snap.org.last_error
            )
        )
    elif snap.org.key_lost:
        extra.append(QCoreApplication.translate("texts", "Sync stopped: no admin key"))
    if snap.proxy.error:
        extra.append(
            QCoreApplication.translate("texts", "Proxy failing: %1").replace("%1", snap.proxy.error)
        )
    return "\n".join([line, *extra])


def projection(cycle: CycleFigures) -> str:
    """`At this pace: $131 by Nov 30 — over the limit around Nov 27`."""
    if cycle.projected_usd is None:
        return QCoreApplication.translate("texts", "Too little data to project this cycle yet")
    head = (
        QCoreApplication.translate("texts", "At this pace: %1 by %2")
        .replace("%1", fmt.usd_round(cycle.projected_usd))
        .replace("%2", fmt.short_date(cycle.last_day))
    )
    if cycle.over_limit_on is not None:
        if cycle.cost_usd >= cycle.limit_usd:
            return head + " — " + QCoreApplication.translate("texts", "already over the limit")
        return (
            head
            + " — "
            + QCoreApplication.translate("texts", "over the limit around %1").replace(
                "%1", fmt.short_date(cycle.over_limit_on)
            )
        )
    if cycle.limit_usd > 0 and cycle.projected_usd > cycle.limit_usd:
        return head + " — " + QCoreApplication.translate("texts", "over the limit")
    return head + " — " + QCoreApplication.translate("texts", "within the limit")


def today_line(snap: DashboardSnapshot) -> str:
    t = snap.today
    return (
        QCoreApplication.translate("texts", "Today: %1 · %2 tokens")
        .replace("%1", fmt.usd(t.cost_usd))
        .replace("%2", fmt.tokens(t.usage.total_tokens))
    )


def unpriced_note(snap: DashboardSnapshot) -> str:
    """`3 requests not priced (today) · 12 this cycle`, or "" when every request is priced:
    said wherever the money is, so a $0.00 never hides usage the figure leaves out."""
    today, cycle = snap.today.unpriced_requests, snap.cycle.unpriced_requests
    if not today and not cycle:
        return ""
    if today:
        text = (
            QCoreApplication.translate("texts", "1 request not priced today") if today == 1
            else QCoreApplication.translate("texts", "%1 requests not priced today")
            .replace("%1", f"{today:,}"))
        if cycle > today:
            text += " · " + QCoreApplication.translate("texts", "%1 this cycle").replace(
                "%1", f"{cycle:,}")
        return text
    return (
        QCoreApplication.translate("texts", "1 request not priced this cycle") if cycle == 1
        else QCoreApplication.translate("texts", "%1 requests not priced this cycle")
        .replace("%1", f"{cycle:,}"))


def cycle_line(snap: DashboardSnapshot) -> str:
    c = snap.cycle
    return (
        QCoreApplication.translate("texts", "%1: %2 of %3 (%4)")
        .replace("%1", cycle_label(c))
        .replace("%2", fmt.usd(c.cost_usd))
        .replace("%3", fmt.usd(c.limit_usd, whole_if_integral=True))
        .replace("%4", fmt.percent(c.fraction))
    )


def basis_text(basis: str) -> str:
    return {
        "billed": QCoreApplication.translate("texts", "billed"),
        "estimated": QCoreApplication.translate("texts", "estimated"),
        "apportioned": QCoreApplication.translate("texts", "apportioned"),
        "mixed": QCoreApplication.translate("texts", "mixed: billed, apportioned, estimated"),
    }.get(basis, basis)


def org_status(org: OrgSourceStatus, now: datetime) -> str:
    if not org.configured:
        return QCoreApplication.translate(
            "texts", "No admin key: add one in API keys to sync organization usage"
        )
    parts = [
        QCoreApplication.translate("texts", "Last sync: %1").replace(
            "%1", fmt.when_text(org.last_success, now)
        )
    ]
    if org.syncing:
        parts.append(QCoreApplication.translate("texts", "syncing now…"))
    elif org.next_sync is not None:
        parts.append(
            QCoreApplication.translate("texts", "next: %1").replace(
                "%1", fmt.when_text(org.next_sync, now)
            )
        )
    if org.failing and org.last_error:
        parts.append(
            QCoreApplication.translate("texts", "failing since %1: %2")
            .replace("%1", fmt.when_text(org.last_error_at, now))
            .replace("%2", org.last_error)
        )
    return " · ".join(parts)


def complete_through(snap: DashboardSnapshot) -> str:
    if snap.complete_through is None:
        return QCoreApplication.translate("texts", "Organization data: none synced yet")
    ct = snap.complete_through.astimezone()
    text = QCoreApplication.translate("texts", "Complete through %1 UTC").replace(
        "%1",
        f"{snap.complete_through:%H:%M}"
        if ct.date() == snap.generated_at.astimezone().date()
        else f"{fmt.short_date(snap.complete_through.date())} {snap.complete_through:%H:%M}",
    )
    if snap.provisional_from is not None:
        text += " · " + QCoreApplication.translate("texts", "the current hour is provisional")
    return text


def sync_progress(p: SyncProgress) -> str:
    """`First sync: 5 of 13 windows · 23 requests · 42 s`."""
    head = (QCoreApplication.translate("texts", "First sync (two billing cycles)")
            if p.first_run else QCoreApplication.translate("texts", "Syncing"))
    text = (QCoreApplication.translate("texts", "%1: %2 of %3 windows · %4 requests · %5")
            .replace("%1", head).replace("%2", str(p.windows_done))
            .replace("%3", str(p.windows_total)).replace("%4", f"{p.requests:,}")
            .replace("%5", fmt.duration_s(p.elapsed_s)))
    if p.resumed:
        text += " " + QCoreApplication.translate(
            "texts", "(resumed: %1 already fetched)").replace("%1", str(p.resumed))
    return text
