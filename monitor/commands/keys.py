"""`token-monitor keys …`: add, list, remove and test API keys (secrets in the OS keyring only).

Exit codes of `keys test`: 0 valid, 3 invalid key, 4 key lacks the needed scope, 5 network
error, 6 other API error (rate limit, quota, server); 1 for an unknown label, 65 for a secret
that cannot be a key, 69 when the keyring is unusable (all codes: monitor/exit_codes.py).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from monitor.commands._output import print_json, table
from monitor.context import AppContext
from monitor.log import mask_secret
from monitor.services.keyvault import (
    KINDS,
    MAX_SECRET_BYTES,
    KeyInputError,
    SecretRefused,
    parse_expiry,
)
from monitor.services.openai_admin import AdminClient, RetryPolicy, check_key


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("keys", help="manage API keys (kept in the OS keyring)",
                       description="Manage API keys. Secrets live only in the OS keyring; "
                       "a key is read from stdin or a hidden prompt, never from the command line.")
    ks = p.add_subparsers(dest="keys_command", metavar="ACTION")
    p.set_defaults(func=_help(p))

    add = ks.add_parser("add", help="store a key (read from stdin or a hidden prompt)")
    add.add_argument("--label", required=True, help="a name for the key, e.g. admin or ci")
    add.add_argument("--kind", required=True, choices=KINDS,
                     help="admin (reads usage/costs) or project (model calls)")
    add.add_argument("--expires", metavar="YYYY-MM-DD", help="last day the key works")
    add.add_argument("--project-id", metavar="ID", help="project the key belongs to")
    add.add_argument("--replace", action="store_true", help="overwrite a key with this label")
    add.set_defaults(func=run_add)

    ls = ks.add_parser("list", help="list stored keys (masked) with their expiry status")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=run_list)

    rm = ks.add_parser("remove", help="delete a key from the keyring and the list")
    rm.add_argument("label")
    rm.set_defaults(func=run_remove)

    test = ks.add_parser(
        "test", help="check a key against the API",
        description="Call a cheap endpoint with the key: admin keys GET /organization/projects, "
        "project keys GET /models. Exit 0 valid, 3 invalid key, 4 lacks scope, 5 network "
        "error, 6 other API error. Without LABEL, tests the admin key a sync would use "
        "(stored, else $OPENAI_ADMIN_KEY).")
    test.add_argument("label", nargs="?")
    test.add_argument("--base-url", metavar="URL", help="API base URL (default from settings)")
    test.add_argument("--timeout", type=float, default=15.0, metavar="S",
                      help="seconds per request (default 15)")
    test.add_argument("--json", action="store_true", help="print JSON")
    test.set_defaults(func=run_test)


def _help(parser: argparse.ArgumentParser) -> Any:
    def show(_args: argparse.Namespace, _ctx: AppContext) -> int:
        parser.print_help()
        return 2

    return show


def read_secret() -> str:
    """The key from stdin when piped, else from a prompt that does not echo."""
    if sys.stdin is None:
        raise KeyInputError("no key given: pipe it on stdin")
    if sys.stdin.isatty():
        return getpass.getpass("API key (input hidden): ")
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:  # a text stream with no bytes underneath (tests)
        text = sys.stdin.read()
    else:
        data = raw.read(MAX_SECRET_BYTES * 4 + 1)  # bounded: a key is ~200 bytes
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SecretRefused(f"the key piped on stdin is not UTF-8 text (an invalid byte at "
                                f"offset {exc.start}); pipe only the key") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) > 1:
        raise KeyInputError("stdin holds more than one line; pipe only the key")
    return lines[0] if lines else ""


def run_add(args: argparse.Namespace, ctx: AppContext) -> int:
    expires = parse_expiry(args.expires)
    secret = read_secret()
    meta = ctx.keys().add(args.label, args.kind, secret, expires=expires,
                          project_id=args.project_id, replace=args.replace)
    today = ctx.today()
    print(f"stored {meta.kind} key {meta.label!r} ({meta.masked}) in the OS keyring; "
          f"{meta.expiry_text(today)}")
    if meta.kind == "admin" and not secret.strip().startswith("sk-admin-"):
        print("note: admin keys usually start with sk-admin-; run `token-monitor keys test "
              f"{meta.label}` to check it", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace, ctx: AppContext) -> int:
    today = ctx.today()
    metas = ctx.keys().list()
    if args.json:
        print_json({"keys": [
            {**m.to_json(), "masked": m.masked, "expiry_status": m.expiry_status(today),
             "days_left": m.days_left(today)} for m in metas]})
        return 0
    if not metas:
        print("no keys stored (add one with `token-monitor keys add --label L --kind admin`)")
        return 0
    rows = [[m.label, m.kind, m.masked, m.created.isoformat(), m.expiry_text(today),
             m.project_id or ""] for m in metas]
    print(table(["LABEL", "KIND", "KEY", "ADDED", "EXPIRY", "PROJECT"], rows,
                [False] * 6))
    return 0


def run_remove(args: argparse.Namespace, ctx: AppContext) -> int:
    ctx.keys().remove(args.label)
    print(f"removed key {args.label!r}")
    return 0


def run_test(args: argparse.Namespace, ctx: AppContext) -> int:
    keys = ctx.keys()
    if args.label:
        meta = keys.get_meta(args.label)
        kind, secret, shown = meta.kind, keys.secret(args.label), f"{meta.label!r}"
    else:
        cred = keys.admin_credential()
        if cred is None:
            raise KeyInputError("no admin key stored and $OPENAI_ADMIN_KEY is not set")
        kind, secret, shown = "admin", cred.secret, cred.describe()
    base_url = args.base_url or ctx.settings.openai_base_url
    # a quick check: one retry at most, so a dead network answers in seconds
    client = AdminClient(secret, base_url, timeout_s=args.timeout,
                         retry=RetryPolicy(attempts=2, base_delay_s=0.5, total_s=10))
    result = check_key(client, kind)
    if args.json:
        print_json({"label": args.label, "kind": kind, "key": mask_secret(secret),
                    "outcome": result.outcome, "message": result.message,
                    "exit_code": result.exit_code})
    else:
        stream = sys.stdout if result.exit_code == 0 else sys.stderr
        print(f"{kind} key {shown}: {result.message}", file=stream)
    return result.exit_code
