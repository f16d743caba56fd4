"""`token-monitor keys virtual …`: per-app virtual keys for the proxy (add, list, remove).

The token of a new key is printed once (stdout only) and never stored: the usage database keeps
its SHA-256. `list` shows each key's spend in its cap's current period, never a token.
"""

from __future__ import annotations

import argparse
from typing import Any

from monitor.commands._actions import action_parser
from monitor.commands._output import print_json, table, usd
from monitor.context import AppContext
from monitor.core.limit_share import percent_text
from monitor.services.virtual_keys import (
    PERIODS,
    VirtualKey,
    VirtualKeys,
    create_virtual_key,
    key_statuses,
    parse_cap,
)


def register_virtual(ks: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `keys virtual` and its actions to the `keys` subcommand's actions."""
    vs = action_parser(
        ks, "virtual", "virtual_command",
        help="per-app virtual keys for the proxy (own label, spend and cap)",
        description="A virtual key (tm-…) is what an app sends to the local proxy instead of a "
        "real key: the proxy swaps in the stored key it stands for, records the app's spend "
        "under the virtual key's label and enforces its cap (soft: alert; hard: the proxy "
        "answers 429 without calling OpenAI).")  # fmt: skip
    add = vs.add_parser("add", help="create a virtual key (its token is printed once)")
    add.add_argument("label", help="a name for the app, e.g. notes-bot")
    add.add_argument("--for", dest="for_label", required=True, metavar="KEY_LABEL",
                     help="the stored project key the proxy sends upstream")
    add.add_argument("--cap-usd", metavar="N", help="spending cap in US dollars per period")
    add.add_argument("--per", choices=PERIODS, default="month",
                     help="the cap's period: day (today, in the today_timezone setting) or "
                     "month (the billing cycle); default month")
    add.add_argument("--hard", action="store_true",
                     help="refuse requests past the cap (default: alert only)")
    add.add_argument("--json", action="store_true", help="print JSON")
    add.set_defaults(func=run_add)

    ls = vs.add_parser("list", help="virtual keys with this period's spend against their cap")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=run_list)

    rm = vs.add_parser("remove", help="delete a virtual key (the proxy refuses it from then on)")
    rm.add_argument("label")
    rm.set_defaults(func=run_remove)


def _cap_text(key: VirtualKey) -> str:
    if key.cap_usd is None:
        return "no cap"
    return f"{usd(key.cap_usd)} per {key.per}, {'hard' if key.hard else 'soft (alert)'}"


def run_add(args: argparse.Namespace, ctx: AppContext) -> int:
    cap = parse_cap(args.cap_usd)
    key, token = create_virtual_key(ctx.store(), ctx.keys(), args.label, args.for_label,
                                    now=ctx.now(), cap_usd=cap, per=args.per, hard=args.hard)
    if args.json:
        print_json({"label": key.label, "token": token, "for": key.for_label,
                    "cap_usd": key.cap_usd, "per": key.per, "hard": key.hard})
        return 0
    base = f"http://127.0.0.1:{ctx.settings.proxy_port}/v1"
    print(f"created virtual key {key.label!r} for {key.for_label!r} ({_cap_text(key)})\n"
          f"\nits token, shown only this once:\n  {token}\n"
          f"\nin the app's environment (with `token-monitor proxy` running):\n"
          f"  export OPENAI_BASE_URL={base}\n  export OPENAI_API_KEY={token}")
    return 0


def run_list(args: argparse.Namespace, ctx: AppContext) -> int:
    statuses = key_statuses(ctx.store(), ctx.settings, ctx.now())
    if args.json:
        print_json({"virtual_keys": [s.to_json() for s in statuses]})
        return 0
    if not statuses:
        print("no virtual keys (create one with `token-monitor keys virtual add LABEL "
              "--for KEY_LABEL`)")
        return 0
    rows: list[list[Any]] = []
    for s in statuses:
        k = s.key
        used = percent_text(s.used_fraction, none="")
        rows.append([k.label, k.for_label, usd(s.spent_usd),
                     "" if k.cap_usd is None else usd(k.cap_usd),
                     k.per if k.cap_usd is not None else "",
                     ("hard" if k.hard else "soft") if k.cap_usd is not None else "", used,
                     f"{s.requests:,}"])
    print(table(["LABEL", "FOR", "SPENT", "CAP", "PER", "KIND", "USED", "REQUESTS"], rows,
                [False, False, True, True, False, False, True, True]))
    return 0


def run_remove(args: argparse.Namespace, ctx: AppContext) -> int:
    VirtualKeys(ctx.store()).remove(args.label)
    print(f"removed virtual key {args.label!r}; the proxy refuses it from now on "
          "(a running proxy within 5 seconds)")
    return 0
