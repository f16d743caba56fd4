"""Which admin key a sync uses: the rule over the stored keys, and the credential it yields.

The user's chosen admin key while it is usable (`KeyMeta.sync_refusal`), else the newest usable
one; `KeyStore.admin_credential` falls back to `$OPENAI_ADMIN_KEY` (read, never stored). Kept
apart from the metadata file so the choice is one pure rule every surface shares.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from monitor.log import mask_secret
from monitor.services.key_meta import KeyMeta

ADMIN_ENV = "OPENAI_ADMIN_KEY"


@dataclass(frozen=True, repr=False)
class AdminCredential:
    """The admin key a sync uses and where it came from (`stored` label or `env`)."""

    secret: str = field(repr=False)
    source: str  # "stored" | "env"
    label: str | None = None

    def describe(self) -> str:
        if self.source == "env":
            return f"${ADMIN_ENV} ({mask_secret(self.secret)})"
        return f"stored key {self.label!r} ({mask_secret(self.secret)})"

    def __repr__(self) -> str:
        return f"AdminCredential(source={self.source!r}, label={self.label!r}, " \
            f"secret={mask_secret(self.secret)!r})"

    __str__ = describe


def sync_key_among(metas: Iterable[KeyMeta], today: date) -> KeyMeta | None:
    """The stored admin key syncing uses: the one the user chose if it is still usable,
    else the newest usable one; None when no usable admin key is stored (an expired or
    invalid key is never chosen)."""
    usable = [m for m in metas if m.sync_refusal(today) is None]
    usable.sort(key=lambda m: (not m.sync, -m.created.toordinal(), m.label))
    return usable[0] if usable else None


def unusable_admin_keys(metas: Iterable[KeyMeta], today: date) -> list[KeyMeta]:
    """Stored admin keys that sync will not use (expired or failed their last test)."""
    return [m for m in metas if m.kind == "admin" and m.sync_refusal(today)]
