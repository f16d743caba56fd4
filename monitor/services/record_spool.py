"""The proxy-record spool: where records wait while the database cannot take writes.

When the usage database is locked past its timeout, damaged, read-only or on a full disk,
the proxy's record writer appends its records here instead of dropping them, and replays
them into the store once it accepts writes again. The file is append-only JSON lines,
owner-only (0600), next to the database (`proxy-spool.jsonl` in the data dir); each line
carries a random id, and the store remembers the ids it replayed (`replayed_spool`), so a
crash between committing a replay and emptying the file never stores a record twice.

Appends and replays take an exclusive `flock` on the file, so two processes (the tray app's
proxy and a `token-monitor proxy`) never interleave half lines or replay the same entries
at once. A line that cannot be parsed (a torn write from a crash) is moved to
`proxy-spool.jsonl.bad`, never deleted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Protocol

from monitor.core.records import ProxyRecord
from monitor.core.usage import TokenUsage

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process at a time is assumed there
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

SPOOL_NAME = "proxy-spool.jsonl"
REPLAY_CHUNK = 500


_counts_lock = threading.Lock()
_counts: dict[Path, tuple[tuple[int, int, int], int]] = {}  # path -> (file version, lines)


def spool_path_for(db_path: Path) -> Path:
    """The spool file that belongs to the database at `db_path` (same folder)."""
    return Path(db_path).with_name(SPOOL_NAME)


class ReplayTarget(Protocol):
    def replay_spooled(
        self, entries: list[tuple[str, ProxyRecord]]
    ) -> tuple[list[str], list[str]]: ...


def record_to_json(rec: ProxyRecord) -> dict[str, Any]:
    u = rec.usage
    return {
        "time": rec.time.isoformat(), "endpoint": rec.endpoint, "model": rec.model,
        "service_tier": rec.service_tier, "key_label": rec.key_label,
        "usage": {f.name: getattr(u, f.name) for f in dataclasses.fields(u)},
        "cost_usd": None if rec.cost_usd is None else str(rec.cost_usd),
        "price_as_of": None if rec.price_as_of is None else rec.price_as_of.isoformat(),
        "status": rec.status, "latency_ms": rec.latency_ms, "ttfb_ms": rec.ttfb_ms,
        "request_id": rec.request_id, "partial": rec.partial, "unmetered": rec.unmetered,
        "estimated": rec.estimated,
    }


def record_from_json(d: dict[str, Any]) -> ProxyRecord:
    return ProxyRecord(
        time=datetime.fromisoformat(d["time"]), endpoint=d["endpoint"], model=d["model"],
        service_tier=d["service_tier"], key_label=d["key_label"],
        usage=TokenUsage(**{k: int(v) for k, v in d["usage"].items()}),
        cost_usd=None if d["cost_usd"] is None else Decimal(d["cost_usd"]),
        price_as_of=None if d["price_as_of"] is None else date.fromisoformat(d["price_as_of"]),
        status=int(d["status"]), latency_ms=float(d["latency_ms"]), ttfb_ms=d["ttfb_ms"],
        request_id=d["request_id"], partial=bool(d["partial"]), unmetered=d["unmetered"],
        estimated=bool(d["estimated"]),
    )


class RecordSpool:
    """The append-only spool file of one database (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()  # flock is per open file; this orders our own threads

    @contextlib.contextmanager
    def _locked(self, mode: str) -> Iterator[IO[str]]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        with self._lock, os.fdopen(fd, mode, encoding="utf-8") as fh:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield fh
            finally:
                if fcntl is not None:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def append(self, records: Iterable[ProxyRecord]) -> int:
        """Append records durably (fsync); returns how many. Raises OSError if the disk
        refuses too (the caller keeps them in memory and tries again)."""
        import secrets  # here: `status` imports this module but never appends (start-up time)

        lines = [json.dumps({"id": secrets.token_hex(12), "record": record_to_json(r)},
                            separators=(",", ":")) + "\n" for r in records]
        if not lines:
            return 0
        with self._locked("a+") as fh:
            end = fh.seek(0, os.SEEK_END)
            if end > 0:  # after a torn write (a crash mid-line), start on a line of our own
                with open(self.path, "rb") as raw:
                    raw.seek(end - 1)
                    if raw.read(1) != b"\n":
                        lines.insert(0, "\n")
            fh.write("".join(lines))
            fh.flush()
            os.fsync(fh.fileno())
        return len(lines) - (lines[0] == "\n")

    def pending(self) -> int:
        """How many records wait in the spool (0 when there is no spool file).

        Read under a shared lock (a replay rewrites the file under an exclusive one) and
        counted once per version of the file (size, mtime): every dashboard snapshot asks.
        """
        try:
            fh = open(self.path, "rb")  # noqa: SIM115 - closed below, after the lock
        except FileNotFoundError:
            return 0
        with fh:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_SH)
            st = os.fstat(fh.fileno())
            version = (st.st_size, st.st_mtime_ns, st.st_ino)
            with _counts_lock:
                cached = _counts.get(self.path)
            if cached is not None and cached[0] == version:
                return cached[1]
            n = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
        with _counts_lock:
            _counts[self.path] = (version, n)
        return n

    def has_pending(self) -> bool:
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False

    def replay(self, store: ReplayTarget) -> int:
        """Store every spooled record exactly once; returns how many were stored now.

        Entries the store refuses as data stay in the spool (logged); when the store is
        unavailable its exception propagates and the spool is left as it was.
        """
        if not self.has_pending():
            return 0
        with self._locked("a+") as fh:
            fh.seek(0)
            text = fh.read()
            entries: list[tuple[str, ProxyRecord]] = []
            raw_by_id: dict[str, str] = {}
            bad: list[str] = []
            for line in text.splitlines(keepends=True):
                if not line.strip():
                    continue
                try:
                    doc = json.loads(line)
                    entry = (str(doc["id"]), record_from_json(doc["record"]))
                except (ValueError, KeyError, TypeError) as exc:
                    log.warning("unreadable spool line kept aside in %s.bad: %s",
                                self.path.name, exc)
                    bad.append(line if line.endswith("\n") else line + "\n")
                    continue
                entries.append(entry)
                raw_by_id[entry[0]] = line
            stored = 0
            kept: list[str] = []
            for i in range(0, len(entries), REPLAY_CHUNK):
                chunk = entries[i : i + REPLAY_CHUNK]
                done, refused = store.replay_spooled(chunk)
                stored += len(done)
                for spool_id in refused:
                    log.error("the store refused spooled record %s; it stays in the spool",
                              spool_id)
                    kept.append(raw_by_id[spool_id])
            if bad:
                self._keep_bad(bad)
            fh.seek(0)
            fh.truncate()
            if kept:
                fh.write("".join(kept))
            fh.flush()
            os.fsync(fh.fileno())
        if stored:
            log.info("replayed %d spooled proxy records into the usage database", stored)
        return stored

    def _keep_bad(self, lines: list[str]) -> None:
        bad_path = self.path.with_name(self.path.name + ".bad")
        fd = os.open(bad_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write("".join(lines))
            fh.flush()
            os.fsync(fh.fileno())
