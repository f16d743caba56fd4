"""`token-monitor alerts`: the alerts due now, in the desktop notifications' words.

The same rules (core/alert_rules), inputs (services/alerting) and templates (core/alert_texts)
as the tray app; nothing is recorded, so the app still notifies each one once.
"""

from __future__ import annotations

import argparse

from monitor.commands._output import print_json
from monitor.context import AppContext


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "alerts", help="the alerts due now that the app has not shown yet",
        description="List the alerts the tray app would show now (budget thresholds, "
        "projection, spikes, keys, credit, caps) with the words of its notifications. "
        "Nothing is recorded: the app still shows each one once.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: AppContext) -> int:
    from monitor.commands.usage import parse_now
    from monitor.core.alert_texts import english
    from monitor.services.alerting import AlertEngine, context_for, inputs_for
    from monitor.services.snapshot import RuntimeStatus
    from monitor.services.snapshot_build import build_snapshot

    now, store = parse_now(args.now, ctx), ctx.store()
    snap = build_snapshot(store, ctx.prices(), ctx.settings, RuntimeStatus(), now,
                          prices_override=str(ctx.paths.prices_override))
    engine = AlertEngine(store, ctx.paths.state_file)
    due = []
    if snap.budget is not None:
        alert_ctx = context_for(snap.budget, ctx.settings, usage=store, keys=ctx.keys,
                                state_file=ctx.paths.state_file, now=now)
        due = engine.preview(inputs_for(snap, alert_ctx, now))
    paused = engine.paused_until if engine.is_paused(now) else None
    if args.json:
        print_json({
            "paused_until": paused.isoformat() if paused else None,
            "alerts": [{"kind": a.kind, "key": a.key, "period": a.period.isoformat(),
                        "urgency": a.urgency, "title": english(a).title,
                        "body": english(a).body, "params": dict(a.params)} for a in due]})
        return 0
    if paused is not None:
        print(f"alerts paused until {paused.astimezone():%Y-%m-%d %H:%M}")
    if not due:
        print("no alert due")
    for a in due:
        words = english(a)
        mark = "! " if a.urgency == "critical" else ""
        print(f"{mark}{words.title}: {words.body}")
    return 0
