"""The proxy-record spool: where records wait while the database cannot take writes.

When the usage database is locked past its timeout, damaged, read-only or on a full disk,
the proxy's record writer appends its records here instead of dropping them, and replays
them into the store once it accepts writes again. The file is append-only JSON lines,
owner-only (0600), next to the database (`proxy-spool.jsonl` in the data dir); each line
carries a random id, and the store remembers the ids it replayed (`replayed_spool`), so a
crash between committing a replay and emptying the file never stores a record twice.

Exactly once, also on a full disk: each line is `#<crc32> <json>`, so a line cut short or
garbled is recognised (older lines without the checksum are still read). An append is all
or nothing: when the disk refuses part of it, the file is cut back to where it stood, and
the caller keeps the records with the *same* ids (`append_entries`) for its next try; if
even the cut fails, the complete lines already written carry those ids and the replay
stores each id once.

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Protocol
from zlib import crc32

from monitor.core.records import ProxyRecord
from monitor.core.usage import TokenUsage

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process at a time is assumed there
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

SPOOL_NAME = "proxy-spool.jsonl"
REPLAY_CHUNK = 500

Writer = Callable[[int, memoryview], int]
"""How the spool writes bytes to its file descriptor (`os.write`; tests inject a full disk)."""


def new_spool_id() -> str:
    """A random id for a record entering the spool (kept across retries of its append)."""
    import secrets  # here: `status` imports this module but never appends (start-up time)

    return secrets.token_hex(12)


def encode_line(spool_id: str, rec: ProxyRecord) -> bytes:
    """One spool line: `#<crc32 of the JSON, 8 hex digits> <JSON>\\n`."""
    payload = json.dumps({"id": spool_id, "record": record_to_json(rec)},
                         separators=(",", ":")).encode("utf-8")
    return b"#%08x %s\n" % (crc32(payload), payload)


def decode_line(line: str) -> tuple[str, ProxyRecord]:
    """The (id, record) of one spool line; raises ValueError for a torn or garbled one."""
    if line.startswith("#"):
        check, _, payload = line.rstrip("\n").partition(" ")
        if not line.endswith("\n") or f"#{crc32(payload.encode('utf-8')):08x}" != check:
            raise ValueError("checksum mismatch (a torn or garbled line)")
    else:
        payload = line  # written before the checksum was added
    try:
        doc = json.loads(payload)
        return str(doc["id"]), record_from_json(doc["record"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a spooled record ({exc!r})") from None


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

    def __init__(self, path: Path, *, write: Writer = os.write) -> None:
        self.path = Path(path)
        self._write = write
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
        """Append records under new ids; see `append_entries`."""
        return self.append_entries([(new_spool_id(), r) for r in records])

    def append_entries(self, entries: Sequence[tuple[str, ProxyRecord]]) -> int:
        """Append (id, record) entries durably (fsync), all or none; returns how many.

        Raises OSError if the disk refuses (the caller keeps them, with these ids, and tries
        again). The file is then cut back to its length before the append, so no line of a
        failed append is ever replayed next to its retry.
        """
        if not entries:
            return 0
        data = b"".join(encode_line(i, r) for i, r in entries)
        with self._locked("a+") as fh:
            fd = fh.fileno()
            end = os.lseek(fd, 0, os.SEEK_END)
            if end > 0 and os.pread(fd, 1, end - 1) != b"\n":
                data = b"\n" + data  # after a torn write (a crash mid-line): our own line
            try:
                view = memoryview(data)
                while view:
                    view = view[self._write(fd, view):]
                os.fsync(fd)
            except OSError:
                self._cut_back(fd, end)
                raise
        return len(entries)

    def _cut_back(self, fd: int, end: int) -> None:
        """Undo a failed append (truncating frees blocks, so it works on a full disk)."""
        try:
            os.ftruncate(fd, end)
            os.fsync(fd)
        except OSError as exc:  # the ids make a retry harmless: each is replayed once
            log.warning("could not cut the spool %s back after a failed write (%s); the "
                        "complete lines stay and are replayed once each", self.path.name, exc)

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
                    entry = decode_line(line)
                except ValueError as exc:
                    log.warning("unreadable spool line kept aside in %s.bad: %s",
                                self.path.name, exc)
                    bad.append(line if line.endswith("\n") else line + "\n")
                    continue
                if entry[0] in raw_by_id:
                    continue  # the same entry twice (a retried append): stored once
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
