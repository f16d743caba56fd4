"""The proxy's write-ahead journal: an answered request's record survives a SIGKILL.

The record writer stores records a few milliseconds after their response went out
(record_writer.PROMPT_WRITE_S, to batch them). So that a proxy killed outright in that window
loses nothing it acknowledged, the event loop appends each request's record, as known just
before the response's last bytes go out, to this journal: one checksummed line (the spool's
format, record_spool.encode_line's framing) in a single `write()` on an `O_APPEND` file. A
process kill after `write()` returns keeps the line in the page cache, so no fsync is paid
(a power cut is the spool's and SQLite's concern, not this file's).

Exactly once: every line carries an id `<run>.<segment>.<seq>`; the writer stores the record
with that id in `replayed_spool` in the same transaction (or spools it under that id), and a
later import skips ids the store already has. Each process writes its own segment files
(`proxy_journal.<run>.<segment>.jsonl`, owner-only) and holds an exclusive `flock` on each
while it lives; a starting proxy imports the segments it can lock (their owner is dead),
then deletes them and forgets their ids. A live process deletes a segment once every line
of it is stored or spooled, and rotates to a new one at JOURNAL_ROTATE_BYTES.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import fields, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from zlib import crc32

from monitor.core.records import ProxyRecord
from monitor.core.usage import TokenUsage
from monitor.services.proxy.finished import FinishedRequest, Segment

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no journal (records as before)
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from monitor.services.store import UsageStore

log = logging.getLogger(__name__)

JOURNAL_PREFIX = "proxy_journal."
JOURNAL_ROTATE_BYTES = 64 * 1024
"""A segment every line of which is stored is replaced by a fresh one past this size."""
JOURNAL_MAX_BYTES = 4 * 1024 * 1024
"""A segment is replaced past this size even while lines of it wait to be stored."""
JOURNAL_BODY_LIMIT = 64 * 1024
"""A request body (kept for the input estimate of an unmetered request) is journaled only
up to this size; a larger one is estimated only if the process lives to store it."""
IMPORT_CHUNK = 500


def _open_segment(folder: Path, prefix: str) -> Segment:
    path = folder / f"{JOURNAL_PREFIX}{prefix}jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # ours alone while we live
    return Segment(path, prefix, fd)


_USAGE_FIELDS = tuple(f.name for f in fields(TokenUsage))
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
"""One encoder built once: `json.dumps` with options builds a new one per call."""


def encode_entry(journal_id: str, item: FinishedRequest) -> bytes:
    """One journal line: `#<crc32> <json>\n`: the fields a record is built from, by position
    (a few microseconds on the event loop, once per request)."""
    body = item.request_body
    u = item.usage
    hold = item.hold
    doc = [
        journal_id, item.time.isoformat(), item.method, item.endpoint, item.model,
        item.request_model, item.service_tier, item.key_label,
        None if u is None else [getattr(u, n) for n in _USAGE_FIELDS],
        item.status, item.latency_ms, item.ttfb_ms, item.request_id, item.partial,
        item.usage_malformed, item.client_disconnected, item.streamed,
        (base64.b64encode(body).decode("ascii")
         if body is not None and len(body) <= JOURNAL_BODY_LIMIT else None),
        str(hold.amount) if hold is not None and hold.accounts else None,
    ]
    payload = _encode(doc).encode("utf-8")
    return b"#%08x %s\n" % (crc32(payload), payload)


def decode_entry(line: bytes) -> tuple[str, FinishedRequest, Decimal | None]:
    """(id, finished request, hard-cap reservation) of one line; ValueError if torn."""
    check, _, payload = line.rstrip(b"\n").partition(b" ")
    if not line.endswith(b"\n") or b"#%08x" % crc32(payload) != check:
        raise ValueError("checksum mismatch (a torn or garbled line)")
    try:
        (journal_id, at, method, endpoint, model, request_model, tier, label, u, status,
         latency, ttfb, request_id, partial, malformed, gone, streamed, body,
         reserved) = json.loads(payload)
        item = FinishedRequest(
            time=datetime.fromisoformat(at), method=method, endpoint=endpoint, model=model,
            request_model=request_model, service_tier=tier, key_label=label,
            usage=None if u is None else TokenUsage(
                **{k: int(n) for k, n in zip(_USAGE_FIELDS, u, strict=True)}),
            status=int(status), latency_ms=float(latency), ttfb_ms=ttfb,
            request_id=request_id, partial=bool(partial), usage_malformed=bool(malformed),
            client_disconnected=bool(gone), streamed=bool(streamed),
            request_body=None if body is None else base64.b64decode(body),
        )
        return str(journal_id), item, None if reserved is None else Decimal(reserved)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a journal entry ({exc!r})") from None


class Journal:
    """This process's journal (see the module docstring). `append` runs on the event loop,
    `collect` on the record writer's thread; one lock orders them (held for a `write()`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._run = secrets.token_hex(6)
        self._segments = 0
        self._seq = 0
        self._lock = threading.Lock()
        self._current: Segment | None = None
        self._older: list[Segment] = []  # replaced segments with lines not yet stored
        self._failing = False

    def _rotate(self) -> None:
        """Start a new segment (under the lock)."""
        self._segments += 1
        fresh = _open_segment(self.folder, f"{self._run}.{self._segments}.")
        if self._current is not None:
            self._older.append(self._current)
        self._current = fresh

    def append(self, item: FinishedRequest) -> tuple[str, Segment] | None:
        """Journal `item`; its (id, segment), or None if the journal cannot take it (logged
        once: the record is then kept as before, by the writer alone)."""
        if fcntl is None:
            return None
        with self._lock:
            try:
                cur = self._current
                if cur is None or cur.size >= JOURNAL_MAX_BYTES:
                    self._rotate()
                    cur = self._current
                assert cur is not None
                self._seq += 1
                journal_id = f"{cur.prefix}{self._seq}"
                line = encode_entry(journal_id, item)
                written = os.write(cur.fd, line)
                cur.size += written
                if written != len(line):  # a short write (disk full): the line is torn
                    raise OSError("short write")
            except (OSError, ValueError, TypeError) as exc:
                if not self._failing:
                    log.warning("the proxy journal %s cannot take records (%s); records wait "
                                "only in memory until stored", self.folder, exc)
                self._failing = True
                return None
            self._failing = False
            cur.journaled += 1
            return journal_id, cur

    def stored(self, segment: Segment, n: int = 1) -> None:
        """`n` lines of `segment` are stored or spooled (writer thread)."""
        with self._lock:
            segment.stored += n

    def collect(self, *, all_kept: bool) -> list[str]:
        """Delete the segments every line of which is stored or spooled, and replace a large
        fully stored current one; returns their id prefixes (for the store to forget).
        `all_kept` False (records wait in memory, not yet spooled): delete nothing."""
        if not all_kept:
            return []
        done: list[Segment] = []
        with self._lock:
            cur = self._current
            if cur is not None and cur.size >= JOURNAL_ROTATE_BYTES and \
                    cur.stored >= cur.journaled:
                with contextlib.suppress(OSError):  # the next collect tries again
                    self._rotate()
            keep: list[Segment] = []
            for seg in self._older:
                (done if seg.stored >= seg.journaled else keep).append(seg)
            self._older = keep
        for seg in done:
            _remove(seg)
        return [seg.prefix for seg in done]

    def close(self, *, all_kept: bool) -> list[str]:
        """At a clean stop: delete every segment if everything is kept, else leave them for
        the next start to import. Returns the prefixes of the deleted ones."""
        with self._lock:
            segs = [*self._older, *([self._current] if self._current else [])]
            self._older, self._current = [], None
            complete = all_kept and all(s.stored >= s.journaled for s in segs)
        for seg in segs:
            if complete:
                _remove(seg)
            else:
                os.close(seg.fd)
        return [s.prefix for s in segs] if complete else []


def _remove(seg: Segment) -> None:
    """Unlink first, then close (which drops the flock): no other process imports it."""
    with contextlib.suppress(FileNotFoundError):
        seg.path.unlink()
    os.close(seg.fd)


@contextlib.contextmanager
def _orphan(path: Path) -> Iterator[int | None]:
    """The fd of a segment whose owner is gone (we got its flock), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        yield None
        return
    try:
        try:
            assert fcntl is not None
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield None  # its process is alive
            return
        yield fd if os.fstat(fd).st_nlink > 0 else None  # not deleted meanwhile
    finally:
        os.close(fd)


def _read_all(fd: int) -> bytes:
    parts = []
    while chunk := os.read(fd, 1 << 20):
        parts.append(chunk)
    return b"".join(parts)


def import_orphans(folder: Path, store: UsageStore,
                   to_record: Callable[[FinishedRequest], ProxyRecord]) -> int:
    """Store the records of journals left by dead processes, each once; delete those
    journals. Returns how many entries they held (stored now or before). Raises what the
    store raises (the journals then stay for the next try)."""
    if fcntl is None:
        return 0
    added = 0
    for path in sorted(Path(folder).glob(f"{JOURNAL_PREFIX}*.jsonl")):
        with _orphan(path) as fd:
            if fd is None:
                continue
            entries: list[tuple[str, ProxyRecord]] = []
            torn = 0
            for line in _read_all(fd).splitlines(keepends=True):
                try:
                    journal_id, item, reserved = decode_entry(line)
                except ValueError:
                    torn += 1  # the line a kill cut short: its response never went out
                    continue
                rec = to_record(item)
                if reserved is not None and (rec.cost_usd is None or rec.unmetered):
                    rec = replace(rec, cost_usd=max(reserved, rec.cost_usd or Decimal(0)),
                                  estimated=True)  # as caps.SpendGate.charge does
                entries.append((journal_id, rec))
            for i in range(0, len(entries), IMPORT_CHUNK):
                store.replay_spooled(entries[i : i + IMPORT_CHUNK])  # skips stored ids
            added += len(entries)
            path.unlink()
            prefix = path.name[len(JOURNAL_PREFIX):-len("jsonl")]
            store.forget_spool_ids(prefix)
            if torn:
                log.info("%s: %d torn journal line(s) ignored", path.name, torn)
    if added:
        log.info("imported %d journal entries of a proxy that was killed (each stored once)",
                 added)
    return added
