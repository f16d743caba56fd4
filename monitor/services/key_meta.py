"""What we keep about an API key besides its secret, and the rules for what the user types.

`KeyMeta` is safe to show, log and serialise (label, kind, dates, last four characters, test
verdict); its `sync_refusal` is the one rule for which key may sync. Labels, secrets and
expiry dates are checked here, so the CLI and the keys dialog refuse the same input alike.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from monitor import exit_codes
from monitor.errors import ConfigError, KnownError

KINDS = ("admin", "project")
EXPIRY_WARNING_DAYS = 7
KEY_RENEW_DAYS = 90  # default age (days from `created`) at which a key is due for renewal
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
MAX_SECRET_BYTES = 1024  # API keys are 50-200 characters; more is a paste of something else


class KeyInputError(KnownError):
    """A label, kind, date or secret given by the user cannot be used.

    `field` names the input at fault ("label", "kind", "secret", "expires") so a form can
    show the message next to it.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SecretRefused(KeyInputError):  # noqa: N818 - reads better at call sites
    """A secret that cannot be an API key (not UTF-8, invisible characters, too long).

    The message says why and where (a code point and a position), never the secret.
    """

    exit_code = exit_codes.DATA_REFUSED

    def __init__(self, message: str, field: str | None = "secret") -> None:
        super().__init__(message, field)


@dataclass(frozen=True)
class KeyMeta:
    """What we keep about a key besides its secret. Safe to show, log and serialise."""

    label: str
    kind: str  # "admin" | "project"
    created: date
    expires: date | None
    last4: str
    project_id: str | None = None
    tested_at: datetime | None = None  # when the key was last tested (aware UTC)
    test_ok: bool | None = None  # that test's verdict; None: never tested
    sync: bool = False  # the admin key the user chose for syncing

    @property
    def masked(self) -> str:
        return f"sk-…{self.last4}"

    def days_left(self, today: date) -> int | None:
        return None if self.expires is None else (self.expires - today).days

    def expiry_status(self, today: date) -> str:
        """`none` (no expiry set), `ok`, `expiring` (≤ 7 days left) or `expired`.

        `expires` is the last day the key is expected to work.
        """
        left = self.days_left(today)
        if left is None:
            return "none"
        if left < 0:
            return "expired"
        if left <= EXPIRY_WARNING_DAYS:
            return "expiring"
        return "ok"

    def expiry_text(self, today: date) -> str:
        left = self.days_left(today)
        if left is None or self.expires is None:
            return "no expiry set"
        if left < 0:
            return f"expired on {self.expires.isoformat()}"
        if left == 0:
            return "expires today"
        if left <= EXPIRY_WARNING_DAYS:
            return f"expires in {left} day{'s' if left != 1 else ''}"
        return f"expires {self.expires.isoformat()}"

    def age_days(self, today: date) -> int:
        """Days since the key was added (its `created` date)."""
        return max(0, (today - self.created).days)

    def renewal_due(self, today: date, renew_days: int = KEY_RENEW_DAYS) -> bool:
        """Whether the key is `renew_days` old or older (0 turns the reminder off)."""
        return renew_days > 0 and self.age_days(today) >= renew_days

    def test_text(self) -> str:
        """The last test's verdict in words: `valid (tested 2026-12-01)`, `invalid …`."""
        if self.test_ok is None or self.tested_at is None:
            return "not tested"
        day = self.tested_at.astimezone().date().isoformat()
        return f"valid (tested {day})" if self.test_ok else f"invalid (tested {day})"

    def sync_refusal(self, today: date) -> str | None:
        """Why this key may not be used to sync (None: it may). The one rule every surface
        (the chosen key, `Use for sync`, the keys dialog, `keys list`) calls."""
        if self.kind != "admin":
            return f"{self.label!r} is a project key; only an admin key can sync"
        if self.expiry_status(today) == "expired" and self.expires is not None:
            return f"{self.label!r} expired on {self.expires.isoformat()}"
        if self.test_ok is False:
            return f"{self.label!r} failed its last test; test it again once it is fixed"
        return None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": self.label,
            "kind": self.kind,
            "created": self.created.isoformat(),
            "expires": self.expires.isoformat() if self.expires else None,
            "last4": self.last4,
            "project_id": self.project_id,
        }
        if self.tested_at is not None:  # only once tested / chosen: older files stay as-is
            out["tested_at"] = self.tested_at.isoformat()
            out["test_ok"] = self.test_ok
        if self.sync:
            out["sync"] = True
        return out


def validate_label(label: str) -> str:
    if not _LABEL_RE.match(label):
        raise KeyInputError(
            f"invalid label {label!r}: use 1-64 letters, digits, '.', '_', '-', '@' or '+', "
            "starting with a letter or digit", "label"
        )
    return label


def clean_secret(raw: str) -> str:
    """The key with surrounding whitespace removed; rejects empty or multi-token input and
    anything `check_secret` refuses."""
    secret = raw.strip()
    if not secret:
        raise KeyInputError("no key given (empty input)", "secret")
    check_secret(secret)
    if len(secret) < 8:
        raise KeyInputError("that is too short to be an API key", "secret")
    return secret


def _char_name(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def check_secret(secret: str, what: str = "the key", fix: str = "paste only the key") -> None:
    """Refuse what cannot be an API key, saying why and where but never showing the key.

    API keys are short printable ASCII. A zero-width or control character (usually copied
    along with the key) would only fail later, inside an HTTP header.
    """
    size = len(secret.encode("utf-8", "surrogatepass"))
    if size > MAX_SECRET_BYTES:
        raise SecretRefused(f"{what} is {size:,} bytes long, more than {MAX_SECRET_BYTES:,}: "
                            f"API keys are 50-200 characters; {fix}")
    for i, ch in enumerate(secret, start=1):
        category = unicodedata.category(ch)
        if category == "Cs":  # a byte that was not UTF-8 (surrogateescape)
            raise SecretRefused(f"{what} is not UTF-8 text (an invalid byte at character "
                                f"{i}); {fix}")
        if category in ("Cc", "Cf", "Zl", "Zp") or ch.isspace():
            kind = ("an invisible (zero-width/format) character" if category == "Cf"
                    else "a space" if ch.isspace() and category not in ("Cc",)
                    else "a control character")
            raise SecretRefused(f"{what} contains {kind} ({_char_name(ch)}) at character {i}; "
                                f"it was probably copied along with the key: {fix}")
        if not ch.isascii():
            raise SecretRefused(f"{what} contains a non-ASCII character ({_char_name(ch)}) at "
                                f"character {i}; API keys are plain ASCII: {fix}")


def parse_expiry(text: str | None) -> date | None:
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise KeyInputError(f"invalid expiry date {text!r}: use YYYY-MM-DD", "expires") from None


def meta_from_json(item: Any, path: Path) -> KeyMeta:
    try:
        if not isinstance(item, dict):
            raise TypeError("entry is not an object")
        kind = item["kind"]
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        expires = item.get("expires")
        project_id = item.get("project_id")
        last4 = str(item.get("last4", ""))[-4:]
        tested_at = item.get("tested_at")
        test_ok = item.get("test_ok")
        return KeyMeta(
            label=validate_label(str(item["label"])),
            kind=kind,
            created=date.fromisoformat(item["created"]),
            expires=date.fromisoformat(expires) if expires else None,
            last4=last4,
            project_id=str(project_id) if project_id else None,
            tested_at=datetime.fromisoformat(tested_at) if tested_at else None,
            test_ok=test_ok if isinstance(test_ok, bool) else None,
            sync=item.get("sync") is True,
        )
    except (KeyError, TypeError, ValueError, KeyInputError) as exc:
        raise ConfigError(f"{path}: bad key entry ({exc})") from None
