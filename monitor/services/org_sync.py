"""One pass of the organization sync: usage and costs from the admin API into the usage store.

Windows (all UTC-aligned):
- `1h` buckets for the previous and the current UTC day, through the still-open current hour
  (so "today" can follow a local day);
- `1d` buckets before that, back to where this run starts;
- costs (daily only) over the whole range.

The first run (no `settled_through` yet) starts at the previous billing cycle, so the current and
the previous cycle are filled. Later runs start at `settled_through` minus a grace window (recently
closed buckets are revised by OpenAI), and never later than the start of the previous UTC day.
Every window is written in one transaction (`replace_*_window`; for usage, the window and the
clearing of the other width share one `store.transaction()`): a crash leaves whole windows, and
re-running never double counts. When a day leaves the `1h` range it is re-fetched as `1d` and its
`1h` rows are cleared (the store would otherwise prefer stale partial hourly rows). A failure
records the reason in the "org" sync state and keeps all earlier data.

No `end_time` in the future: the reference (openai-api.md §1.2, §8) documents `end_time` as
optional and exclusive but not whether a future value is accepted, while it does say that
without `end_time` the API answers up to the present, the still-open bucket included (§1.6).
So a window whose end is past `now` (the `1h` window through the open hour, and the costs
window through today) is requested with no `end_time` at all; its end still sizes `limit`
and bounds the rows kept. Windows that end in the past send their `end_time` as before.

Progress and resume: a pass reports `SyncProgress` (windows done of total, requests,
elapsed) after each window. During the first run (the backfill) each finished `1d` window
is recorded in the same transaction as its rows (`mark_window_done`); an interrupted
backfill (crash, quit, Ctrl+C) then skips those windows when it runs again, and the records
are cleared once a pass succeeds. `1h` and costs windows are always fetched again: they
cover data that is still changing.

Grouping values the live API may not know yet (`service_tier` for completions, `api_key_id`
for costs) are dropped on the API's 400 for that window and for the rest of the session
(`openai_admin.GroupFallbacks`); each pass then says so in its warnings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from monitor.core.budget import previous_cycle
from monitor.core.clock import Clock, system_clock
from monitor.core.records import CostBucket, UsageBucket
from monitor.errors import KnownError
from monitor.services.admin_http import AdminApiError
from monitor.services.openai_admin import USAGE_ENDPOINTS, AdminClient, utc_floor
from monitor.services.store import ORG_SOURCE, SyncState

log = logging.getLogger(__name__)

SOURCE = ORG_SOURCE
GRACE = timedelta(hours=1)
_DAY = timedelta(days=1)
_HOUR = timedelta(hours=1)


class OrgStore(Protocol):
    """The part of UsageStore the sync writes to."""

    def replace_usage_window(self, endpoint: str, width: str, start: datetime, end: datetime,
                             buckets: Iterable[UsageBucket]) -> None: ...

    def replace_cost_window(self, start: date, end: date,
                            buckets: Iterable[CostBucket]) -> None: ...

    def set_sync_state(self, source: str, state: SyncState) -> None: ...

    def get_sync_state(self, source: str) -> SyncState | None: ...

    def set_names(self, names: Mapping[str, str]) -> None: ...

    def transaction(self) -> AbstractContextManager[Any]: ...

    def mark_window_done(self, source: str, endpoint: str, width: str, start: datetime,
                         end: datetime) -> None: ...

    def done_windows(self, source: str) -> set[tuple[str, str, datetime, datetime]]: ...

    def clear_done_windows(self, source: str) -> None: ...


@dataclass(frozen=True)
class SyncProgress:
    """How far one pass has got: sent before the first window and after each one."""

    first_run: bool  # the backfill of the current and previous billing cycle
    windows_done: int  # including windows a resumed backfill skipped
    windows_total: int
    requests: int  # HTTP requests made so far in this pass
    elapsed_s: float  # monotonic seconds since the pass started
    resumed: int = 0  # windows skipped because an interrupted backfill had fetched them

    @property
    def fraction(self) -> float:
        return self.windows_done / self.windows_total if self.windows_total else 1.0


@dataclass(frozen=True)
class WindowResult:
    """One window fetched and written: `endpoint` is a usage endpoint or "costs"."""

    endpoint: str
    width: str
    start: datetime
    end: datetime
    buckets: int
    rows: int
    pages: int

    def to_json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "width": self.width, "start": self.start,
                "end": self.end, "buckets": self.buckets, "rows": self.rows,
                "pages": self.pages}


@dataclass(frozen=True)
class SyncResult:
    """What one successful pass did."""

    started: datetime
    first_run: bool
    windows: tuple[WindowResult, ...]
    names: int
    settled_through: datetime
    requests: int
    warnings: tuple[str, ...] = field(default=())

    def per_endpoint(self) -> dict[str, dict[str, int]]:
        """endpoint -> {"windows", "buckets", "rows", "pages"} summed over widths."""
        out: dict[str, dict[str, int]] = {}
        for w in self.windows:
            entry = out.setdefault(w.endpoint, {"windows": 0, "buckets": 0, "rows": 0,
                                                "pages": 0})
            entry["windows"] += 1
            entry["buckets"] += w.buckets
            entry["rows"] += w.rows
            entry["pages"] += w.pages
        return out

    def to_json(self) -> dict[str, Any]:
        return {"ok": True, "started": self.started, "first_run": self.first_run,
                "settled_through": self.settled_through, "requests": self.requests,
                "names": self.names, "endpoints": self.per_endpoint(),
                "windows": [w.to_json() for w in self.windows],
                "warnings": list(self.warnings)}


@dataclass(frozen=True)
class Plan:
    """The windows one pass will fetch."""

    first_run: bool
    daily: tuple[datetime, datetime] | None  # 1d usage window, ends where `hourly` starts
    hourly: tuple[datetime, datetime]
    costs: tuple[datetime, datetime]
    settled_through: datetime


def plan_windows(now: datetime, state: SyncState | None, cycle_start_day: int,
                 grace: timedelta = GRACE) -> Plan:
    """The windows a pass at `now` fetches, given the last sync state."""
    now = now.astimezone(UTC)
    today = utc_floor(now, "1d")
    yesterday = today - _DAY
    hour_end = utc_floor(now, "1h") + _HOUR  # through the still-open current hour
    backfill = utc_floor(previous_cycle(now, cycle_start_day).start, "1d")
    settled = state.settled_through if state is not None else None
    first_run = settled is None
    if settled is None:
        start = backfill
    else:
        start = max(backfill, utc_floor(min(settled, now) - grace, "1d"))
    start = min(start, yesterday)
    daily = (start, yesterday) if start < yesterday else None
    return Plan(first_run=first_run, daily=daily, hourly=(yesterday, hour_end),
                costs=(start, today + _DAY), settled_through=utc_floor(now, "1h"))


class OrgSync:
    """Fetches organization usage and costs with `client` and writes them to `store`."""

    def __init__(self, store: OrgStore, client: AdminClient, *, cycle_start_day: int = 1,
                 now: Clock = system_clock,
                 endpoints: Sequence[str] = USAGE_ENDPOINTS,
                 fetch_names: bool = True,
                 on_window: Callable[[WindowResult], None] | None = None,
                 on_progress: Callable[[SyncProgress], None] | None = None,
                 key_name: str | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.client = client
        self.cycle_start_day = cycle_start_day
        self._now = now
        self.endpoints = tuple(endpoints)
        self.fetch_names = fetch_names
        self._on_window = on_window
        self._on_progress = on_progress
        self.key_name = key_name  # e.g. "stored key 'org-admin' (sk-…abcd)": named in errors
        self._monotonic = monotonic
        self._progress: SyncProgress | None = None
        self._t0 = 0.0
        self._requests0 = 0
        self._done: set[tuple[str, str, datetime, datetime]] = set()

    def __repr__(self) -> str:
        return f"OrgSync(client={self.client!r})"

    def sync_once(self) -> SyncResult:
        """One pass; raises the KnownError that stopped it after recording it in the state."""
        started = self._now().astimezone(UTC)
        previous = self.store.get_sync_state(SOURCE)
        requests_before = self.client.requests_made
        try:
            plan = plan_windows(started, previous, self.cycle_start_day)
            self._start_progress(plan, requests_before)
            windows: list[WindowResult] = []
            for endpoint in self.endpoints:
                windows.extend(self._sync_usage(endpoint, plan))
            windows.append(self._sync_costs(plan))
            warnings = self._fallback_warnings()
            names = self._sync_names(warnings) if self.fetch_names else 0
            self._finish_progress()
        except BaseException as exc:
            reason = exc.text() if isinstance(exc, KnownError) else (
                f"internal error: {type(exc).__name__}")
            if isinstance(exc, KeyboardInterrupt):
                reason = "interrupted"
            elif self.key_name and isinstance(exc, KnownError):
                reason = f"{reason} (with {self.key_name})"
            try:
                self.store.set_sync_state(SOURCE, SyncState(
                    last_success=previous.last_success if previous else None,
                    last_error=reason,
                    last_error_at=self._now().astimezone(UTC),
                    settled_through=previous.settled_through if previous else None,
                ))
            except Exception:  # the original failure is the one to report
                log.exception("could not record the sync failure")
            log.warning("org sync failed: %s", reason)
            raise
        with self.store.transaction():
            self.store.set_sync_state(SOURCE, SyncState(
                last_success=started, last_error=None, last_error_at=None,
                settled_through=plan.settled_through))
            if self._done or plan.first_run:
                self.store.clear_done_windows(SOURCE)
        result = SyncResult(
            started=started, first_run=plan.first_run, windows=tuple(windows), names=names,
            settled_through=plan.settled_through,
            requests=self.client.requests_made - requests_before, warnings=tuple(warnings))
        log.info("org sync ok: %d windows, %d requests", len(windows), result.requests)
        return result

    def _fallback_warnings(self) -> list[str]:
        out = []
        for endpoint in (*self.endpoints, "costs"):
            dropped = sorted(self.client.dropped_groups(endpoint))
            if dropped:
                out.append(f"{endpoint}: the API refused group_by {', '.join(dropped)}; "
                           "fetched without it")
        return out

    def _open_end(self, end: datetime) -> bool:
        """Whether a window ending at `end` reaches past now (then no end_time is sent)."""
        return end > self._now().astimezone(UTC)

    def _emit(self, result: WindowResult) -> WindowResult:
        if self._on_window is not None:
            self._on_window(result)
        self._advance()
        return result

    def _start_progress(self, plan: Plan, requests_before: int) -> None:
        self._t0 = self._monotonic()
        self._requests0 = requests_before
        self._done = self.store.done_windows(SOURCE) if plan.first_run else set()
        per_endpoint = 2 if plan.daily is not None else 1
        total = len(self.endpoints) * per_endpoint + 1
        resumed = 0
        if plan.daily is not None:
            start, end = plan.daily
            resumed = sum((e, "1d", start, end) in self._done for e in self.endpoints)
        if resumed:
            log.info("resuming an interrupted backfill: %d windows already fetched", resumed)
        self._progress = SyncProgress(plan.first_run, resumed, total, 0, 0.0, resumed)
        self._report()

    def _advance(self) -> None:
        p = self._progress
        if p is None:
            return
        self._progress = SyncProgress(
            p.first_run, min(p.windows_done + 1, p.windows_total), p.windows_total,
            self.client.requests_made - self._requests0, self._monotonic() - self._t0,
            p.resumed)
        self._report()

    def _finish_progress(self) -> None:
        """The last report: every window done, the name requests counted too."""
        p = self._progress
        if p is None:
            return
        self._progress = SyncProgress(
            p.first_run, p.windows_total, p.windows_total,
            self.client.requests_made - self._requests0, self._monotonic() - self._t0,
            p.resumed)
        self._report()

    def _report(self) -> None:
        if self._on_progress is not None and self._progress is not None:
            self._on_progress(self._progress)

    def _sync_usage(self, endpoint: str, plan: Plan) -> list[WindowResult]:
        out: list[WindowResult] = []
        if plan.daily is not None and (endpoint, "1d", *plan.daily) in self._done:
            log.debug("skipping %s 1d: fetched before the backfill was interrupted", endpoint)
        elif plan.daily is not None:
            start, end = plan.daily
            fetched = self.client.usage(endpoint, start, end, "1d",
                                        open_end=self._open_end(end))
            rows = [r for r in fetched.rows if start <= r.start < end]
            # The days leave the hourly range: hold them as 1d rows only.
            with self.store.transaction():  # the rows and "this window is done", together
                self._replace_usage_pair(endpoint, "1d", start, end, rows)
                if plan.first_run:
                    self.store.mark_window_done(SOURCE, endpoint, "1d", start, end)
            out.append(self._emit(WindowResult(endpoint, "1d", start, end,
                                               len(fetched.buckets), len(rows), fetched.pages)))
        start, end = plan.hourly
        fetched = self.client.usage(endpoint, start, end, "1h", open_end=self._open_end(end))
        rows = [r for r in fetched.rows if start <= r.start < end]
        self._replace_usage_pair(endpoint, "1h", start, end, rows)
        out.append(self._emit(WindowResult(endpoint, "1h", start, end, len(fetched.buckets),
                                           len(rows), fetched.pages)))
        return out

    def _replace_usage_pair(self, endpoint: str, width: str, start: datetime, end: datetime,
                            rows: list[UsageBucket]) -> None:
        """Write `rows` at `width` and clear the other width over [start, end), atomically."""
        other = "1h" if width == "1d" else "1d"
        with self.store.transaction():  # nested calls join this one transaction
            self.store.replace_usage_window(endpoint, other, start, end, [])
            self.store.replace_usage_window(endpoint, width, start, end, rows)

    def _sync_costs(self, plan: Plan) -> WindowResult:
        start, end = plan.costs
        fetched = self.client.costs(start, end, open_end=self._open_end(end))
        rows = [r for r in fetched.rows if start.date() <= r.day < end.date()]
        self.store.replace_cost_window(start.date(), end.date(), rows)
        return self._emit(WindowResult("costs", "1d", start, end, len(fetched.buckets),
                                       len(rows), fetched.pages))

    def _sync_names(self, warnings: list[str]) -> int:
        names: dict[str, str] = {}
        try:
            projects = self.client.projects()
            for project in projects:
                names[project.id] = project.name
            for project in projects:
                for key in self.client.project_api_keys(project.id):
                    if key.name:
                        names[key.id] = key.name
        except AdminApiError as exc:
            warnings.append(f"project and key names not updated: {exc.text()}")
            log.warning("names not updated: %s", exc.text())
        if names:
            self.store.set_names(names)
        return len(names)
