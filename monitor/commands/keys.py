"""`token-monitor keys …`: add, list, remove and test API keys (secrets in the OS keyring only).

Exit codes of `keys test`, and of `keys add` (which tests the key the way the GUI's keys
dialog does before storing it, unless `--no-check`): 0 valid, 3 invalid key, 4 key lacks the
needed scope, 5 network error, 6 other API error (rate limit, quota, server); 1 for an unknown
label, 65 for a secret that cannot be a key, 69 when the keyring is unusable (all codes:
monitor/exit_codes.py). A key that fails the test is not stored.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date

from monitor.commands._actions import action_parser
from monitor.commands._keys_virtual import register_virtual
from monitor.commands._output import print_json, table
from monitor.context import AppContext
from monitor.log import mask_secret, redact
from monitor.services.admin_http import RetryPolicy
from monitor.services.key_meta import (
    KINDS,
    MAX_SECRET_BYTES,
    KeyInputError,
    KeyMeta,
    SecretRefused,
    parse_expiry,
)
from monitor.services.keyvault import CONCLUSIVE_OUTCOMES
from monitor.services.openai_admin import AdminClient, KeyCheck, check_key


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ks = action_parser(sub, "keys", "keys_command",
                       help="manage API keys (kept in the OS keyring)",
                       description="Manage API keys. Secrets live only in the OS keyring; "
                       "a key is read from stdin or a hidden prompt, never from the command line.")

    add = ks.add_parser(
        "add", help="test a key, then store it (read from stdin or a hidden prompt)",
        description="Test the key against the API as `keys test` does, then store it. A key "
        "that fails the test is not stored: exit 3 invalid key, 4 lacks scope, 5 network "
        "error, 6 other API error. --no-check stores it untested (offline).")
    add.add_argument("--label", required=True, help="a name for the key, e.g. admin or ci")
    add.add_argument("--kind", required=True, choices=KINDS,
                     help="admin (reads usage/costs) or project (model calls)")
    add.add_argument("--expires", metavar="YYYY-MM-DD", help="last day the key works")
    add.add_argument("--project-id", metavar="ID", help="project the key belongs to")
    add.add_argument("--replace", action="store_true", help="overwrite a key with this label")
    add.add_argument("--no-check", action="store_true",
                     help="store the key without testing it (offline; test later with "
                     "`keys test LABEL`)")
    _check_options(add)
    add.set_defaults(func=run_add)

    ls = ks.add_parser("list", help="list stored keys (masked): age, expiry, last test and "
                       "which admin key sync uses")
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
    _check_options(test)
    test.add_argument("--json", action="store_true", help="print JSON")
    test.set_defaults(func=run_test)

    register_virtual(ks)


def _check_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", metavar="URL", help="API base URL (default from settings)")
    p.add_argument("--timeout", type=float, default=15.0, metavar="S",
                   help="seconds per request when testing the key (default 15)")


def _check(secret: str, kind: str, args: argparse.Namespace, ctx: AppContext) -> KeyCheck:
    """The key tested as the keys dialog tests it (`check_key`), with a quick retry policy:
    one retry at most, so a dead network answers in seconds."""
    client = AdminClient(secret, args.base_url or ctx.settings.openai_base_url,
                         timeout_s=args.timeout,
                         retry=RetryPolicy(attempts=2, base_delay_s=0.5, total_s=10))
    return check_key(client, kind)


_NOT_STORED_HINT = {
    "invalid_key": "check that the whole key was copied and that it has not been revoked",
    "missing_scope": "if it is a project key, add it with --kind project",
    "network": "offline? store it untested with --no-check, then run `token-monitor keys "
               "test {label}` later",
    "error": "try again later, or store it untested with --no-check",
}


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
    keys = ctx.keys()
    verdict: KeyCheck | None = None
    if not args.no_check:
        # what storing would refuse is refused first, with no request sent
        secret = keys.check_new(args.label, args.kind, secret, replace=args.replace)
        verdict = _check(secret, args.kind, args, ctx)
        if verdict.exit_code != 0:
            hint = _NOT_STORED_HINT.get(verdict.outcome, "").replace("{label}", args.label)
            print(redact(f"error: not stored: the {args.kind} key {args.label!r} "
                         f"({mask_secret(secret)}) did not pass the test: {verdict.message}"
                         + (f"; {hint}" if hint else "")), file=sys.stderr)
            return verdict.exit_code
    meta = keys.add(args.label, args.kind, secret, expires=expires,
                    project_id=args.project_id, replace=args.replace)
    if verdict is not None:
        meta = keys.mark_tested(meta.label, True, ctx.now())
    today = ctx.today()
    tested = redact(f"tested: {verdict.message}") if verdict is not None else \
        f"not tested (run `token-monitor keys test {meta.label}` to check it)"
    print(f"stored {meta.kind} key {meta.label!r} ({meta.masked}) in the OS keyring; "
          f"{meta.expiry_text(today)}; {tested}")
    if verdict is None and meta.kind == "admin" and not secret.strip().startswith("sk-admin-"):
        print("note: admin keys usually start with sk-admin-", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace, ctx: AppContext) -> int:
    today = ctx.today()
    keys = ctx.keys()
    metas = keys.list()
    renew = ctx.settings.key_renew_days
    chosen = keys.sync_admin(today)
    if args.json:
        print_json({"keys": [
            {**m.to_json(), "masked": m.masked, "expiry_status": m.expiry_status(today),
             "days_left": m.days_left(today), "age_days": m.age_days(today),
             "renewal_due": m.renewal_due(today, renew), "last_test": m.test_text(),
             "used_for_sync": chosen is not None and m.label == chosen.label,
             "sync_refusal": m.sync_refusal(today) if m.kind == "admin" else None}
            for m in metas]})
        return 0
    if not metas:
        print("no keys stored (add one with `token-monitor keys add --label L --kind admin`)")
        return 0
    rows = [[m.label, m.kind, m.masked, m.created.isoformat(), _age_text(m, today, renew),
             m.expiry_text(today), m.test_text(), m.project_id or ""] for m in metas]
    print(table(["LABEL", "KIND", "KEY", "ADDED", "AGE", "EXPIRY", "LAST TEST", "PROJECT"],
                rows, [False] * 8))
    admins = [m for m in metas if m.kind == "admin"]
    if chosen is not None:
        print(f"sync uses {chosen.label!r}")
    elif admins:
        print("no usable admin key: " + "; ".join(
            r for m in admins if (r := m.sync_refusal(today))))
    return 0


def _age_text(meta: KeyMeta, today: date, renew_days: int) -> str:
    days = meta.age_days(today)
    text = f"{days} day{'s' if days != 1 else ''}"
    return text + " (renew)" if meta.renewal_due(today, renew_days) else text


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
    result = _check(secret, kind, args, ctx)
    if args.label and result.outcome in CONCLUSIVE_OUTCOMES:  # not a network hiccup
        keys.mark_tested(args.label, result.outcome == "valid", ctx.now())
    if args.json:
        print_json({"label": args.label, "kind": kind, "key": mask_secret(secret),
                    "outcome": result.outcome, "message": result.message,
                    "exit_code": result.exit_code})
    else:
        stream = sys.stdout if result.exit_code == 0 else sys.stderr
        print(f"{kind} key {shown}: {result.message}", file=stream)
    return result.exit_code
