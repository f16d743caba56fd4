"""The SQLite usage store: org usage/cost buckets, proxy records, rate limits, alerts, sync state.

Design (see also docs in the methods):

- One file, WAL journal, `PRAGMA user_version` + numbered migrations (`MIGRATIONS[i]` brings the
  schema from version i to i + 1). The file and its `-wal`/`-shm` companions are owner-only (0600).
- One connection per thread (`threading.local`): the proxy writes from its own thread, the GUI
  reads from worker threads. Writes use `BEGIN IMMEDIATE`, so a writer never dead-locks a reader.
- Times: bucket starts and days are integer UTC epoch seconds; proxy/sync instants are integer
  UTC epoch microseconds (`*_us`). Money is TEXT holding a decimal, never a float; roll-ups
  keep it as integer pico-dollars plus an exact TEXT remainder, and every sum is exact (Python
  Decimal via the `dsum`/`dadd`/`pico` SQL functions registered on each connection).
- Grouping fields that the API left out (None) are stored as '' (batch as -1), so NULLs take part
  in the natural keys and re-writing a bucket overwrites it instead of adding a second row.
- Roll-ups by month, day and (proxy) hour, narrow ones by model and by key besides the full
  ones, are maintained on every write and keep every query in milliseconds with a year of hourly
  buckets and a million proxy records; only a period's ragged edges are read from raw rows.
- Org buckets of two widths for the same endpoint and UTC day: the `1h` rows win (the sync keeps
  the current and previous UTC day hourly); the `1d` rows count only for days without hourly rows.
  A bucket belongs to a period when its start lies in the period.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_FLOOR, Context, Decimal
from pathlib import Path
from typing import Any

from monitor import exit_codes
from monitor.core.budget import SINCE_EVER
from monitor.core.clock import Clock, system_clock
from monitor.core.records import CostBucket, ProxyRecord, RateLimitSnapshot, UsageBucket
from monitor.core.usage import TokenUsage
from monitor.errors import KnownError

DAY_S = 86_400
WIDTH_SECONDS: Mapping[str, int] = {"1h": 3_600, "1d": DAY_S}
ORG_SOURCE = "org"
"""The sync-state name of the organization usage sync (`set_sync_state(ORG_SOURCE, ...)`)."""

_V1_TOKEN_COLUMNS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "audio_input_tokens",
    "audio_output_tokens",
)
_V3_TOKEN_COLUMNS = ("audio_cached_input_tokens", "image_input_tokens", "image_output_tokens")
TOKEN_COLUMNS = (*_V1_TOKEN_COLUMNS, *_V3_TOKEN_COLUMNS)
"""Token columns, named and ordered as the TokenUsage fields (v3 added the last three)."""
_TOK_DEFS = ",\n".join(f"    {c} INTEGER NOT NULL DEFAULT 0" for c in _V1_TOKEN_COLUMNS)
_TOK_LIST = ", ".join(TOKEN_COLUMNS)
_NT = len(TOKEN_COLUMNS)


def _tokens_of(usage: TokenUsage) -> tuple[int, ...]:
    """`usage` in TOKEN_COLUMNS order (the column names are the TokenUsage field names)."""
    return tuple(getattr(usage, c) for c in TOKEN_COLUMNS)


def _tok_sums(columns: Sequence[str]) -> str:
    return ", ".join(f"SUM({c})" for c in columns)

# --------------------------------------------------------------------------------------------
# Schema migrations. Never edit a released entry; append a new one.
# --------------------------------------------------------------------------------------------

_V1 = f"""
CREATE TABLE usage_buckets (
    start INTEGER NOT NULL,
    width TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    project_id TEXT NOT NULL DEFAULT '',
    api_key_id TEXT NOT NULL DEFAULT '',
    user_id TEXT NOT NULL DEFAULT '',
    service_tier TEXT NOT NULL DEFAULT '',
    batch INTEGER NOT NULL DEFAULT -1,
    requests INTEGER NOT NULL DEFAULT 0,
{_TOK_DEFS},
    units INTEGER NOT NULL DEFAULT 0,
    synced_at INTEGER NOT NULL,
    PRIMARY KEY (start, width, endpoint, model, project_id, api_key_id, user_id, service_tier,
                 batch)
) WITHOUT ROWID;

CREATE TABLE cost_buckets (
    day INTEGER NOT NULL,
    project_id TEXT NOT NULL DEFAULT '',
    line_item TEXT NOT NULL DEFAULT '',
    api_key_id TEXT NOT NULL DEFAULT '',
    currency TEXT NOT NULL DEFAULT 'usd',
    amount TEXT NOT NULL,
    synced_at INTEGER NOT NULL,
    PRIMARY KEY (day, project_id, line_item, api_key_id, currency)
) WITHOUT ROWID;

CREATE TABLE proxy_records (
    id INTEGER PRIMARY KEY,
    time_us INTEGER NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT,
    service_tier TEXT,
    key_label TEXT NOT NULL,
{_TOK_DEFS},
    cost TEXT,
    price_as_of TEXT,
    status INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    ttfb_ms REAL,
    request_id TEXT,
    partial INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_proxy_time ON proxy_records (time_us);

CREATE TABLE rate_limits (
    key_label TEXT NOT NULL,
    model TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    limit_requests INTEGER,
    limit_tokens INTEGER,
    remaining_requests INTEGER,
    remaining_tokens INTEGER,
    reset_requests_s REAL,
    reset_tokens_s REAL,
    PRIMARY KEY (key_label, model)
) WITHOUT ROWID;

CREATE TABLE fired_alerts (
    kind TEXT NOT NULL,
    threshold TEXT NOT NULL,
    cycle_start TEXT NOT NULL,
    fired_at_us INTEGER NOT NULL,
    PRIMARY KEY (kind, threshold, cycle_start)
) WITHOUT ROWID;

CREATE TABLE sync_state (
    source TEXT PRIMARY KEY,
    last_success_us INTEGER,
    last_error TEXT,
    last_error_at_us INTEGER,
    settled_through_us INTEGER
) WITHOUT ROWID;

CREATE TABLE names (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
"""

# v2: roll-ups (back-filled from the v1 rows; the INSERTs name their columns since v3 shares
# them, which changes nothing for a v1 file) and the index that answers "does this endpoint have
# hourly rows on this day" and "latest bucket" in O(log n).
#
# Every roll-up row sums one `span` starting at `at` (epoch seconds): SPAN_HOUR (proxy only: org
# hourly buckets are already hours), SPAN_DAY and SPAN_MONTH (UTC). A query reads whole months
# from month rows, the whole days around them from day rows, whole hours from hour rows and only
# the sub-hour (proxy) or sub-day (org) edges from raw rows, so a year costs about as much as a
# month. Each family has narrow tables (by model, by key) besides the full one; a query reads the
# narrowest that covers its dimensions, which keeps a year of data to a few hundred rows.
# Proxy money is summed as integer pico-dollars (`cost_pico`) plus an exact TEXT remainder
# (`cost_rest`, NULL unless a cost has more than 12 decimals); requests whose price was unknown
# are counted in the `unpriced_*` columns (their tokens are also in the token columns).
SPAN_HOUR, SPAN_DAY, SPAN_MONTH = 0, 1, 2
_MONTH_OF = "CAST(strftime('%s', {t}, 'unixepoch', 'start of month') AS INTEGER)"
_SPAN_AT = {
    SPAN_HOUR: "{t} - {t} % 3600",
    SPAN_DAY: f"{{t}} - {{t}} % {DAY_S}",
    SPAN_MONTH: _MONTH_OF,
}
_UNPRICED_COLUMNS = ("unpriced_requests", "unpriced_input_tokens", "unpriced_cached_input_tokens",
                     "unpriced_output_tokens")

# family -> (table, dimension columns) narrowest first; the last is the full one.
_ORG_TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("usage_rollup_endpoint", ("endpoint",)),
    ("usage_rollup_model", ("endpoint", "model", "service_tier", "batch")),
    ("usage_rollup", ("endpoint", "model", "project_id", "api_key_id", "service_tier", "batch")),
)
_PROXY_TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("proxy_rollup_endpoint", ("endpoint",)),
    ("proxy_rollup_model", ("endpoint", "model", "service_tier")),
    ("proxy_rollup_key", ("key_label",)),
    ("proxy_rollup", ("endpoint", "model", "service_tier", "key_label")),
)
# Roll-up sums as v2 created them, and as read and written since v3 (which appended the v3 token
# columns to every roll-up table: org ones after `units`, proxy ones after `cost_rest`, so a
# positional INSERT ... SELECT lists them in that order).
_V2_ORG_SUM_COLUMNS = ("requests", *_V1_TOKEN_COLUMNS, "units")
_V2_PROXY_SUM_COLUMNS = ("requests", "errors", *_V1_TOKEN_COLUMNS, "cost_pico",
                         *_UNPRICED_COLUMNS)
_ORG_SUM_COLUMNS = (*_V2_ORG_SUM_COLUMNS, *_V3_TOKEN_COLUMNS)
_PROXY_SUM_COLUMNS = ("requests", "errors", *TOKEN_COLUMNS, "cost_pico", *_UNPRICED_COLUMNS)


def _rollup_table_sql(table: str, dims: Sequence[str], sums: Sequence[str],
                      extra: str = "") -> str:
    cols = ",\n".join(
        ["    span INTEGER NOT NULL", "    at INTEGER NOT NULL"]
        + [f"    {d} {'INTEGER' if d == 'batch' else 'TEXT'} NOT NULL" for d in dims]
        + [f"    {c} INTEGER NOT NULL DEFAULT 0" for c in sums]
        + ([extra] if extra else [])
    )
    return (f"CREATE TABLE {table} (\n{cols},\n    PRIMARY KEY (span, at, {', '.join(dims)})\n"
            ") WITHOUT ROWID;\n")


def _org_day_select(where: str = "1", columns: Sequence[str] = _ORG_SUM_COLUMNS) -> str:
    """Day rows of usage_rollup from raw buckets: hourly rows win over daily ones."""
    day = f"u.start - u.start % {DAY_S}"
    sums = ", ".join(f"SUM(u.{c})" for c in columns)
    return f"""SELECT {SPAN_DAY}, {day}, u.endpoint, u.model, u.project_id, u.api_key_id,
       u.service_tier, u.batch, {sums}
FROM usage_buckets u
WHERE ({where}) AND (u.width = '1h' OR NOT EXISTS (
    SELECT 1 FROM usage_buckets h WHERE h.width = '1h' AND h.endpoint = u.endpoint
      AND h.start >= {day} AND h.start < {day} + {DAY_S}))
GROUP BY 2, 3, 4, 5, 6, 7, 8"""


def _regroup_select(source: str, dims: Sequence[str], span_to: int, span_from: int,
                    sums: Sequence[str], where: str = "1", money: bool = False) -> str:
    """Rows of `span_to` summed from `source` rows of `span_from` (same or more dims)."""
    at = _SPAN_AT[span_to].format(t="at")
    cols = ", ".join(dims)
    total = ", ".join(f"SUM({c})" for c in sums)
    if money:
        total += ", dsum(cost_rest) FILTER (WHERE cost_rest IS NOT NULL)"
    return (f"SELECT {span_to}, {at}, {cols}, {total} FROM {source} "
            f"WHERE span = {span_from} AND ({where}) "
            f"GROUP BY {', '.join(str(i) for i in range(2, len(dims) + 3))}")


_RAW_UNPRICED = "(cost IS NULL AND input_tokens + output_tokens > 0)"


def _raw_proxy_sums(columns: Sequence[str]) -> str:
    """Sums of raw proxy records in the roll-up column order (tokens, cost, unpriced, rest)."""
    return (
        f"COUNT(*), SUM(status >= 400), {_tok_sums(columns)}, COALESCE(SUM(pico(cost)), 0), "
        f"SUM({_RAW_UNPRICED}), SUM(CASE WHEN {_RAW_UNPRICED} THEN input_tokens ELSE 0 END), "
        f"SUM(CASE WHEN {_RAW_UNPRICED} THEN cached_input_tokens ELSE 0 END), "
        f"SUM(CASE WHEN {_RAW_UNPRICED} THEN output_tokens ELSE 0 END), "
        "dsum(pico_rest(cost)) FILTER (WHERE pico_rest(cost) IS NOT NULL)"
    )


_RAW_PROXY_SUMS = _raw_proxy_sums(TOKEN_COLUMNS)
_RAW_PROXY_DIM = {"endpoint": "endpoint", "model": "COALESCE(model, '')",
                  "service_tier": "COALESCE(service_tier, '')", "key_label": "key_label"}


def _rollup_fill(org_sums: Sequence[str], proxy_sums: Sequence[str],
                 tokens: Sequence[str]) -> list[str]:
    """INSERTs that fill every roll-up from the raw rows (named columns, any schema version)."""
    parts: list[str] = []
    full_org = _ORG_TABLES[-1]

    def into(table: str, dims: Sequence[str], sums: Sequence[str], extra: str = "") -> str:
        return f"INSERT INTO {table} (span, at, {', '.join((*dims, *sums))}{extra})"

    parts.append(f"{into(*full_org, org_sums)}\n{_org_day_select(columns=org_sums)};")
    for table, dims in _ORG_TABLES[:-1]:
        parts.append(f"{into(table, dims, org_sums)}\n"
                     f"{_regroup_select(full_org[0], dims, SPAN_DAY, SPAN_DAY, org_sums)};")
    for table, dims in _ORG_TABLES:
        parts.append(f"{into(table, dims, org_sums)}\n"
                     f"{_regroup_select(table, dims, SPAN_MONTH, SPAN_DAY, org_sums)};")
    for table, dims in _PROXY_TABLES:
        t = "(time_us / 1000000)"
        raw_dims = ", ".join(_RAW_PROXY_DIM[d] for d in dims)
        for span in (SPAN_HOUR, SPAN_DAY, SPAN_MONTH):
            at = _SPAN_AT[span].format(t=t)
            group = ", ".join(str(i) for i in range(2, len(dims) + 3))
            parts.append(f"{into(table, dims, proxy_sums, ', cost_rest')}\n"
                         f"SELECT {span}, {at}, {raw_dims}, {_raw_proxy_sums(tokens)}"
                         f"\nFROM proxy_records GROUP BY {group};")
    return parts


def _v2() -> str:
    parts = ["CREATE INDEX ix_usage_width_endpoint_start ON usage_buckets (width, endpoint, "
             "start);"]
    for table, dims in _ORG_TABLES:
        parts.append(_rollup_table_sql(table, dims, _V2_ORG_SUM_COLUMNS))
    for table, dims in _PROXY_TABLES:
        parts.append(_rollup_table_sql(table, dims, _V2_PROXY_SUM_COLUMNS, "    cost_rest TEXT"))
    parts += _rollup_fill(_V2_ORG_SUM_COLUMNS, _V2_PROXY_SUM_COLUMNS, _V1_TOKEN_COLUMNS)
    parts.append(f"""CREATE TABLE usage_extent (
    endpoint TEXT NOT NULL,
    width TEXT NOT NULL,
    max_end INTEGER NOT NULL,
    PRIMARY KEY (endpoint, width)
) WITHOUT ROWID;
INSERT INTO usage_extent
SELECT endpoint, width, MAX(start) + CASE width WHEN '1h' THEN 3600 ELSE {DAY_S} END
FROM usage_buckets GROUP BY endpoint, width;""")
    return "\n\n".join(parts) + "\n"


_V2 = _v2()


def _v3() -> str:
    """v3 (issue 13): cached audio input and image input/output tokens, priced at their own
    rates. Old rows hold 0, which is what their usage reported (it was never split out)."""
    tables = ["usage_buckets", "proxy_records",
              *(t for t, _ in _ORG_TABLES), *(t for t, _ in _PROXY_TABLES)]
    return "\n".join(f"ALTER TABLE {t} ADD COLUMN {c} INTEGER NOT NULL DEFAULT 0;"
                     for t in tables for c in _V3_TOKEN_COLUMNS) + "\n"


_V3 = _v3()
_ROLLUP_FILL = _rollup_fill(_ORG_SUM_COLUMNS, _PROXY_SUM_COLUMNS, TOKEN_COLUMNS)

# v4 (issue 16): the windows a first sync (backfill) finished, so an interrupted one resumes.
_V4_SYNC_WINDOWS = """
CREATE TABLE sync_windows (
    source TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    width TEXT NOT NULL,
    start_us INTEGER NOT NULL,
    end_us INTEGER NOT NULL,
    PRIMARY KEY (source, endpoint, width, start_us, end_us)
) WITHOUT ROWID;
"""

# v5 (issue 12): the proxy's virtual keys (only a SHA-256 of each token) and the hard-cap
# refusals the GUI alerts on. Queries live in monitor.services.virtual_keys.
_V5_VIRTUAL_KEYS = """
CREATE TABLE virtual_keys (
    label TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    for_label TEXT NOT NULL,
    cap_usd TEXT,
    per TEXT NOT NULL DEFAULT 'month',
    hard INTEGER NOT NULL DEFAULT 0,
    created_us INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE cap_refusals (
    scope TEXT NOT NULL,
    label TEXT NOT NULL,
    period_start_us INTEGER NOT NULL,
    period_end_us INTEGER NOT NULL,
    first_us INTEGER NOT NULL,
    last_us INTEGER NOT NULL,
    count INTEGER NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (scope, label, period_start_us)
) WITHOUT ROWID;
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4_SYNC_WINDOWS, _V5_VIRTUAL_KEYS)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(KnownError):
    """The database cannot be used (newer schema, corrupt file, closed store)."""

    exit_code = exit_codes.DATABASE_UNUSABLE


# --------------------------------------------------------------------------------------------
# Public records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncState:
    """Health and completeness of one source (`ORG_SOURCE` for the organization sync)."""

    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    settled_through: datetime | None = None  # org data complete through this UTC instant


@dataclass(frozen=True)
class OrgUsageRow:
    """Org usage summed over the requested dimensions (dimensions not grouped are None)."""

    day: date | None = None
    endpoint: str | None = None
    model: str | None = None
    project_id: str | None = None
    api_key_id: str | None = None
    service_tier: str | None = None
    batch: bool | None = None
    requests: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    units: int = 0


@dataclass(frozen=True)
class ProxyUsageRow:
    """Proxy records summed over the requested dimensions.

    `requests` counts every record (errors included), `errors` those with status >= 400.
    `cost` sums the recorded costs; `unpriced_requests` had tokens but no known price (their
    tokens are in `usage` and, as input/cached/output, also in `unpriced_usage`).
    """

    day: date | None = None
    endpoint: str | None = None
    model: str | None = None
    service_tier: str | None = None
    key_label: str | None = None
    requests: int = 0
    errors: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost: Decimal = Decimal(0)
    unpriced_requests: int = 0
    unpriced_usage: TokenUsage = field(default_factory=TokenUsage)


@dataclass(frozen=True)
class ProxyOutcomeRow:
    """Proxy records summed per model, key label, HTTP status and whether the cost was known
    (what `/metrics` counts by outcome; the roll-ups have no status dimension)."""

    model: str | None
    key_label: str
    status: int
    priced: bool
    requests: int
    usage: TokenUsage
    cost: Decimal


@dataclass(frozen=True)
class CostRow:
    """Billed dollars (Costs API) summed over the requested dimensions."""

    amount: Decimal
    day: date | None = None
    project_id: str | None = None
    line_item: str | None = None
    api_key_id: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class UsageTotals:
    """Requests and tokens for a period under the source rule (`UsageStore.totals`)."""

    requests: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    proxy_cost: Decimal = Decimal(0)  # recorded costs of the counted proxy records


ORG_DIMS = ("day", "endpoint", "model", "project_id", "api_key_id", "service_tier", "batch")
PROXY_DIMS = ("day", "endpoint", "model", "service_tier", "key_label")
COST_DIMS = ("day", "project_id", "line_item", "api_key_id", "currency")

# --------------------------------------------------------------------------------------------
# Conversions
# --------------------------------------------------------------------------------------------

_MONEY_CTX = Context(prec=60)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def _epoch_s(dt: datetime) -> int:
    """Integer UTC epoch seconds (floor); naive datetimes are taken as UTC."""
    delta = _aware(dt) - _EPOCH
    return delta.days * DAY_S + delta.seconds


def _epoch_us(dt: datetime) -> int:
    delta = _aware(dt) - _EPOCH
    return (delta.days * DAY_S + delta.seconds) * 1_000_000 + delta.microseconds


def _from_s(s: int) -> datetime:
    return _EPOCH + timedelta(seconds=s)


def _at_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _from_us(us: int | None) -> datetime | None:
    return None if us is None else _at_us(us)


def _day_s(d: date) -> int:
    return (d - date(1970, 1, 1)).days * DAY_S


def _s_day(s: int) -> date:
    return date(1970, 1, 1) + timedelta(days=s // DAY_S)


def _opt(value: str | None) -> str:
    return "" if value is None else value


def _none(value: str) -> str | None:
    return None if value == "" else value


def _batch_in(value: bool | None) -> int:
    return -1 if value is None else int(value)


def _batch_out(value: int) -> bool | None:
    return None if value < 0 else bool(value)


def _money_text(amount: Decimal) -> str:
    if not amount.is_finite():
        raise ValueError(f"money must be finite, got {amount}")
    return str(amount)


class _DecimalSum:
    """`dsum(text)`: exact sum of decimal TEXT values; NULL when every value is NULL."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: str | None) -> None:
        if value is not None:
            d = Decimal(value)
            self.total = d if self.total is None else _MONEY_CTX.add(self.total, d)

    def finalize(self) -> str | None:
        return None if self.total is None else str(self.total)


def _decimal_add(a: str | None, b: str | None) -> str | None:
    """`dadd(a, b)`: exact decimal TEXT addition treating NULL as absent."""
    if a is None:
        return b
    if b is None:
        return a
    return str(_MONEY_CTX.add(Decimal(a), Decimal(b)))


_PICO = Decimal(10) ** 12


def _pico_split(cost: str | None) -> tuple[int, str | None]:
    """A decimal TEXT cost as (whole pico-dollars, exact remainder TEXT or None)."""
    if cost is None:
        return 0, None
    d = Decimal(cost)
    whole = _MONEY_CTX.multiply(d, _PICO).to_integral_value(rounding=ROUND_FLOOR)
    rest = _MONEY_CTX.subtract(d, _MONEY_CTX.divide(whole, _PICO))
    return int(whole), (None if rest == 0 else str(rest))


def _pico(cost: str | None) -> int | None:
    return None if cost is None else _pico_split(cost)[0]


def _pico_rest(cost: str | None) -> str | None:
    return _pico_split(cost)[1]


def _money_from(pico: int | None, rest: str | None) -> Decimal:
    total = Decimal(pico or 0).scaleb(-12)
    return total if rest is None else _MONEY_CTX.add(total, Decimal(rest))


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into complete SQL statements (triggers stay whole)."""
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            stmt = buf.strip()
            buf = ""
            if stmt.rstrip(";").strip():
                yield stmt
    if buf.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buf.strip()[:60]}")


def _month_floor(t: int) -> int:
    d = _s_day(t)
    return _day_s(d.replace(day=1))


def _month_next(m: int) -> int:
    d = _s_day(m)
    return _day_s(date(d.year + d.month // 12, d.month % 12 + 1, 1))


def _floor(t: int, span: int) -> int:
    if span == SPAN_MONTH:
        return _month_floor(t)
    size = 3600 if span == SPAN_HOUR else DAY_S
    return t - t % size


def _ceil(t: int, span: int) -> int:
    f = _floor(t, span)
    if f == t:
        return t
    return _month_next(f) if span == SPAN_MONTH else f + (3600 if span == SPAN_HOUR else DAY_S)


def _split(a: int, b: int, spans: Sequence[int]) -> list[tuple[int | None, int, int]]:
    """[a, b) as pieces (span, lo, hi): whole units of the coarsest span first, finer ones at
    the edges, and (None, lo, hi) for what no span covers."""
    if a >= b:
        return []
    if not spans:
        return [(None, a, b)]
    span, finer = spans[0], spans[1:]
    lo, hi = _ceil(a, span), _floor(b, span)
    if lo >= hi:
        return _split(a, b, finer)
    return [*_split(a, lo, finer), (span, lo, hi), *_split(hi, b, finer)]


def _table_for(tables: Sequence[tuple[str, tuple[str, ...]]], dims: Sequence[str]) -> str:
    wanted = set(dims) - {"day"}
    return next(t for t, cover in tables if wanted <= set(cover))


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


class UsageStore:
    """The usage database. Thread-safe: each thread gets its own connection (a thread that
    ended has its connection closed when another thread opens one).

    `close()` closes every connection it opened (call it on quit, after worker threads stopped).
    """

    def __init__(self, path: Path, clock: Clock = system_clock) -> None:
        self.path = Path(path)
        self._clock = clock  # stamps synced_at / fired_at (the app's one clock)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._closed = False
        self._companions_private = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder of the usage database {self.path}: "
                f"{exc.strerror or exc}"
            ) from None
        self._create_private_file()
        conn = self._conn()
        self._migrate(conn)
        self._tighten_companions()

    # ---- connection handling ---------------------------------------------------------------

    def _create_private_file(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(
                f"cannot open the usage database {self.path}: {exc.strerror or exc}"
            ) from None
        os.close(fd)
        if os.name == "posix":
            os.chmod(self.path, 0o600)

    def _tighten_companions(self) -> None:
        # SQLite creates -wal/-shm with the main file's mode; make sure of it anyway (until
        # both exist: after that they keep their mode).
        if os.name != "posix" or self._companions_private:
            return
        found = 0
        for suffix in ("-wal", "-shm"):
            companion = self.path.with_name(self.path.name + suffix)
            with contextlib.suppress(FileNotFoundError):
                os.chmod(companion, 0o600)
                found += 1
        self._companions_private = found == 2

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the usage store is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            conn = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA temp_store = MEMORY")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the usage database {self.path}: {exc}") from None
        # typeshed's aggregate protocol is typed for step(int) only; ours takes TEXT/NULL.
        conn.create_aggregate("dsum", 1, _DecimalSum)  # type: ignore[arg-type]
        conn.create_function("dadd", 2, _decimal_add, deterministic=True)
        conn.create_function("pico", 1, _pico, deterministic=True)
        conn.create_function("pico_rest", 1, _pico_rest, deterministic=True)
        self._local.conn = conn
        with self._lock:
            # Close the connections of threads that have ended (short-lived workers).
            alive = []
            for thread, other in self._connections:
                if thread.is_alive():
                    alive.append((thread, other))
                else:
                    with contextlib.suppress(sqlite3.Error):
                        other.close()
            alive.append((threading.current_thread(), conn))
            self._connections = alive
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the usage database {self.path} has schema v{version}, newer than this "
                f"version of Token Monitor understands (v{SCHEMA_VERSION}); update the app"
            )
        if version == SCHEMA_VERSION:
            return
        with self.transaction() as tx:
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = tx.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, SCHEMA_VERSION):
                for stmt in _statements(MIGRATIONS[number]):
                    tx.execute(stmt)
                tx.execute(f"PRAGMA user_version = {number + 1}")

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, for modules that own their tables' queries (reads; write
        through `transaction()`)."""
        return self._conn()

    def schema_version(self) -> int:
        return int(self._conn().execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Close every connection (all threads). Later use raises StoreError."""
        with self._lock:
            conns, self._connections = self._connections, []
            self._closed = True
        for _, conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA optimize")
            conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, rolled back on any exception).

        Nested use on the same thread joins the outer transaction.
        """
        conn = self._conn()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        self._tighten_companions()

    # ---- org usage: writes -----------------------------------------------------------------

    _UPSERT_USAGE = f"""
        INSERT INTO usage_buckets (start, width, endpoint, model, project_id, api_key_id, user_id,
                                   service_tier, batch, requests, {_TOK_LIST}, units, synced_at)
        VALUES ({", ".join("?" * (12 + len(TOKEN_COLUMNS)))})
        ON CONFLICT DO UPDATE SET requests = excluded.requests,
            {", ".join(f"{c} = excluded.{c}" for c in TOKEN_COLUMNS)},
            units = excluded.units, synced_at = excluded.synced_at
    """

    @staticmethod
    def _usage_params(b: UsageBucket, synced_at: int) -> tuple[Any, ...]:
        if b.width not in WIDTH_SECONDS:
            raise ValueError(f"unsupported bucket width {b.width!r} (use 1h or 1d)")
        u = b.usage
        return (
            _epoch_s(b.start), b.width, b.endpoint, _opt(b.model), _opt(b.project_id),
            _opt(b.api_key_id), _opt(b.user_id), _opt(b.service_tier), _batch_in(b.batch),
            b.requests, *_tokens_of(u), b.units, synced_at,
        )

    def upsert_usage_buckets(self, buckets: Iterable[UsageBucket]) -> None:
        """Insert or overwrite buckets by their natural key (syncing twice never doubles)."""
        now = _epoch_s(self._clock())
        with self.transaction() as tx:
            touched: set[tuple[str, int]] = set()
            widths: set[tuple[str, str]] = set()
            for b in buckets:
                params = self._usage_params(b, now)
                tx.execute(self._UPSERT_USAGE, params)
                touched.add((b.endpoint, params[0] - params[0] % DAY_S))
                widths.add((b.endpoint, b.width))
            self._refresh_rollups(tx, touched, widths)

    def replace_usage_window(
        self,
        endpoint: str,
        width: str,
        start: datetime,
        end: datetime,
        buckets: Iterable[UsageBucket],
    ) -> None:
        """Make [start, end) of `endpoint`/`width` hold exactly `buckets`, in one transaction.

        A crash or an exception from `buckets` part-way leaves the previous window intact.
        Raises ValueError for a bucket of another endpoint/width or starting outside the window.
        """
        if width not in WIDTH_SECONDS:
            raise ValueError(f"unsupported bucket width {width!r} (use 1h or 1d)")
        a, b_ = _epoch_s(start), _epoch_s(end)
        now = _epoch_s(self._clock())
        with self.transaction() as tx:
            tx.execute(
                "DELETE FROM usage_buckets WHERE width = ? AND endpoint = ? "
                "AND start >= ? AND start < ?",
                (width, endpoint, a, b_),
            )
            touched = {(endpoint, d) for d in range(a - a % DAY_S, b_, DAY_S)}
            for bucket in buckets:
                params = self._usage_params(bucket, now)
                if bucket.endpoint != endpoint or bucket.width != width:
                    raise ValueError(
                        f"bucket {bucket.endpoint}/{bucket.width} in a {endpoint}/{width} window"
                    )
                if not a <= params[0] < b_:
                    raise ValueError(f"bucket starting {bucket.start} outside [{start}, {end})")
                tx.execute(self._UPSERT_USAGE, params)
            self._refresh_rollups(tx, touched, {(endpoint, width)})

    @staticmethod
    def _refresh_rollups(
        tx: sqlite3.Connection, touched: set[tuple[str, int]], widths: set[tuple[str, str]]
    ) -> None:
        """Recompute the day rows of `touched` (endpoint, day), then their months' rows."""
        full = _ORG_TABLES[-1][0]
        months: set[tuple[str, int]] = set()
        for endpoint, day in sorted(touched):
            for table, _ in _ORG_TABLES:
                tx.execute(f"DELETE FROM {table} WHERE span = {SPAN_DAY} AND at = ? "
                           "AND endpoint = ?", (day, endpoint))
            tx.execute(f"INSERT INTO {full}\n"
                       f"{_org_day_select('u.endpoint = ? AND u.start >= ? AND u.start < ?')}",
                       (endpoint, day, day + DAY_S))
            for table, dims in _ORG_TABLES[:-1]:
                tx.execute(f"INSERT INTO {table}\n" + _regroup_select(
                    full, dims, SPAN_DAY, SPAN_DAY, _ORG_SUM_COLUMNS, "at = ? AND endpoint = ?"),
                    (day, endpoint))
            months.add((endpoint, _month_floor(day)))
        for endpoint, month in sorted(months):
            for table, dims in _ORG_TABLES:
                tx.execute(f"DELETE FROM {table} WHERE span = {SPAN_MONTH} AND at = ? "
                           "AND endpoint = ?", (month, endpoint))
                tx.execute(f"INSERT INTO {table}\n" + _regroup_select(
                    table, dims, SPAN_MONTH, SPAN_DAY, _ORG_SUM_COLUMNS,
                    "at >= ? AND at < ? AND endpoint = ?"), (month, _month_next(month), endpoint))
        for endpoint, width in widths:
            row = tx.execute(
                "SELECT MAX(start) FROM usage_buckets WHERE width = ? AND endpoint = ?",
                (width, endpoint),
            ).fetchone()
            if row[0] is None:
                tx.execute(
                    "DELETE FROM usage_extent WHERE endpoint = ? AND width = ?", (endpoint, width)
                )
            else:
                tx.execute(
                    "INSERT INTO usage_extent VALUES (?, ?, ?) "
                    "ON CONFLICT DO UPDATE SET max_end = excluded.max_end",
                    (endpoint, width, row[0] + WIDTH_SECONDS[width]),
                )

    def rebuild_rollups(self) -> None:
        """Recompute every roll-up from the raw rows (repair tool; normally not needed)."""
        tables = [t for t, _ in _ORG_TABLES] + [t for t, _ in _PROXY_TABLES] + ["usage_extent"]
        with self.transaction() as tx:
            for table in tables:
                tx.execute(f"DELETE FROM {table}")
            for stmt in _ROLLUP_FILL:
                tx.execute(stmt)
            for stmt in _statements(_V2):
                if stmt.startswith("INSERT INTO usage_extent"):
                    tx.execute(stmt)

    # ---- org usage: reads ------------------------------------------------------------------

    def latest_usage_end(self) -> datetime | None:
        """End of the latest stored org bucket (any endpoint and width), or None."""
        row = self._conn().execute("SELECT MAX(max_end) FROM usage_extent").fetchone()
        return None if row[0] is None else _from_s(row[0])

    def usage_buckets(self, start: datetime, end: datetime, *, endpoint: str | None = None,
                      model: str | None = None) -> list[UsageBucket]:
        """The raw org rows starting in [start, end), both widths (for export, tests and
        pricing bucket by bucket), optionally of one endpoint and one model only."""
        where = ""
        params: list[Any] = [_epoch_s(start), _epoch_s(end)]
        if endpoint is not None:
            where += " AND endpoint = ?"
            params.append(endpoint)
        if model is not None:
            where += " AND model = ?"
            params.append(model)
        rows = self._conn().execute(
            f"""SELECT start, width, endpoint, model, project_id, api_key_id, user_id,
                       service_tier, batch, requests, {_TOK_LIST}, units
                FROM usage_buckets WHERE start >= ? AND start < ?{where}
                ORDER BY start, width, endpoint, model, project_id, api_key_id, user_id""",
            params,
        )
        return [
            UsageBucket(
                start=_from_s(r[0]), width=r[1], endpoint=r[2], model=_none(r[3]),
                project_id=_none(r[4]), api_key_id=_none(r[5]), user_id=_none(r[6]),
                service_tier=_none(r[7]), batch=_batch_out(r[8]), requests=r[9],
                usage=TokenUsage(*r[10:10 + _NT]), units=r[10 + _NT],
            )
            for r in rows
        ]

    def org_usage(
        self, start: datetime, end: datetime, by: Sequence[str] = ()
    ) -> list[OrgUsageRow]:
        """Org usage of buckets starting in [start, end), summed per the `by` dimensions.

        Dimensions: day (UTC), endpoint, model, project_id, api_key_id, service_tier, batch.
        Whole months and days come from the roll-ups, the partial days at the edges from the
        raw rows (hourly rows win over daily rows of the same endpoint and day).
        """
        for d in by:
            if d not in ORG_DIMS:
                raise ValueError(f"unknown org usage dimension {d!r}")
        dims = [d for d in ORG_DIMS if d in by]
        spans = [SPAN_DAY] if "day" in dims else [SPAN_MONTH, SPAN_DAY]
        pieces = _split(_epoch_s(start), _epoch_s(end), spans)
        table = _table_for(_ORG_TABLES, dims)
        sums = ", ".join(f"SUM({c})" for c in _ORG_SUM_COLUMNS)
        conn = self._conn()
        acc: dict[tuple[Any, ...], list[int]] = {}
        n = len(dims)

        def add(rows: Iterable[tuple[Any, ...]]) -> None:
            for r in rows:
                key, vals = r[:n], r[n:]
                if vals[0] is None:
                    continue  # SUM over no rows
                cur = acc.get(key)
                if cur is None:
                    acc[key] = list(vals)
                else:
                    for i, v in enumerate(vals):
                        cur[i] += v

        def select(day_expr: str) -> tuple[str, str]:
            exprs = [day_expr if d == "day" else d for d in dims]
            sel = f"{', '.join(exprs)}, {sums}" if dims else sums
            group = f" GROUP BY {', '.join(str(i + 1) for i in range(n))}" if dims else ""
            return sel, group

        for span, lo, hi in pieces:
            if span is not None:
                sel, group = select("at")
                add(conn.execute(
                    f"SELECT {sel} FROM {table} WHERE span = ? AND at >= ? AND at < ?{group}",
                    (span, lo, hi),
                ))
            else:
                day = f"u.start - u.start % {DAY_S}"
                sel, group = select(day)
                add(conn.execute(
                    f"""SELECT {sel} FROM usage_buckets u
                        WHERE start >= ? AND start < ? AND (width = '1h' OR NOT EXISTS (
                            SELECT 1 FROM usage_buckets h WHERE h.width = '1h'
                            AND h.endpoint = u.endpoint AND h.start >= {day}
                            AND h.start < {day} + {DAY_S})){group}""",
                    (lo, hi),
                ))

        out = []
        for key, vals in acc.items():
            kw: dict[str, Any] = {}
            for d, v in zip(dims, key, strict=True):
                if d == "day":
                    kw[d] = _s_day(v)
                elif d == "batch":
                    kw[d] = _batch_out(v)
                else:
                    kw[d] = _none(v)
            out.append(OrgUsageRow(
                # vals: requests, v1 tokens, units, v3 tokens (_ORG_SUM_COLUMNS)
                **kw, requests=vals[0], units=vals[8],
                usage=TokenUsage(*vals[1:8], *vals[9:9 + len(_V3_TOKEN_COLUMNS)]),
            ))
        return out

    # ---- org costs -------------------------------------------------------------------------

    def replace_cost_window(self, start: date, end: date, buckets: Iterable[CostBucket]) -> None:
        """Make UTC days [start, end) hold exactly `buckets`, in one transaction."""
        a, b = _day_s(start), _day_s(end)
        now = _epoch_s(self._clock())
        with self.transaction() as tx:
            tx.execute("DELETE FROM cost_buckets WHERE day >= ? AND day < ?", (a, b))
            for c in buckets:
                day = _day_s(c.day)
                if not a <= day < b:
                    raise ValueError(f"cost bucket of {c.day} outside [{start}, {end})")
                tx.execute(
                    "INSERT INTO cost_buckets VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT DO UPDATE SET amount = excluded.amount, "
                    "synced_at = excluded.synced_at",
                    (day, _opt(c.project_id), _opt(c.line_item), _opt(c.api_key_id),
                     c.currency.lower(), _money_text(c.amount), now),
                )

    def cost_rows(self, start: date, end: date, by: Sequence[str] = ()) -> list[CostRow]:
        """Billed amounts for UTC days [start, end), summed per `by` (day, project_id,
        line_item, api_key_id, currency). Without `currency` in `by`, only USD rows count."""
        for d in by:
            if d not in COST_DIMS:
                raise ValueError(f"unknown cost dimension {d!r}")
        dims = [d for d in COST_DIMS if d in by]
        where = "day >= ? AND day < ?" + ("" if "currency" in dims else " AND currency = 'usd'")
        cols = ", ".join(dims)
        sel = f"{cols}, dsum(amount)" if dims else "dsum(amount)"
        group = f" GROUP BY {cols}" if dims else ""
        rows = self._conn().execute(
            f"SELECT {sel} FROM cost_buckets WHERE {where}{group}", (_day_s(start), _day_s(end))
        )
        out = []
        for r in rows:
            if r[-1] is None:
                continue
            kw: dict[str, Any] = {}
            for d, v in zip(dims, r[:-1], strict=True):
                kw[d] = _s_day(v) if d == "day" else (v if d == "currency" else _none(v))
            out.append(CostRow(amount=Decimal(r[-1]), **kw))
        return out

    def billed_days(self, start: date, end: date) -> set[date]:
        """UTC days in [start, end) that have any Costs API row."""
        rows = self._conn().execute(
            "SELECT DISTINCT day FROM cost_buckets WHERE day >= ? AND day < ?",
            (_day_s(start), _day_s(end)),
        )
        return {_s_day(r[0]) for r in rows}

    # ---- proxy records ---------------------------------------------------------------------

    _INSERT_PROXY = f"""
        INSERT INTO proxy_records (time_us, endpoint, model, service_tier, key_label, {_TOK_LIST},
                                   cost, price_as_of, status, latency_ms, ttfb_ms, request_id,
                                   partial)
        VALUES ({", ".join("?" * (12 + len(TOKEN_COLUMNS)))})
    """

    @staticmethod
    def _upsert_rollup(table: str, dims: Sequence[str]) -> str:
        cols = ["span", "at", *dims, *_PROXY_SUM_COLUMNS, "cost_rest"]
        adds = ", ".join(f"{c} = {c} + excluded.{c}" for c in _PROXY_SUM_COLUMNS)
        marks = ", ".join("?" * len(cols))
        return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks}) ON CONFLICT DO "
                f"UPDATE SET {adds}, cost_rest = dadd(cost_rest, excluded.cost_rest)")

    def add_proxy_record(self, rec: ProxyRecord) -> None:
        self.add_proxy_records((rec,))

    def add_proxy_records(self, recs: Iterable[ProxyRecord]) -> None:
        """Append records (one transaction) and fold them into the roll-ups."""
        raws: list[tuple[Any, ...]] = []
        sums: list[dict[tuple[Any, ...], list[Any]]] = [{} for _ in _PROXY_TABLES]
        for rec in recs:
            u = rec.usage
            t = _epoch_us(rec.time)
            cost = None if rec.cost_usd is None else _money_text(rec.cost_usd)
            toks = _tokens_of(u)
            raws.append((
                t, rec.endpoint, rec.model, rec.service_tier, rec.key_label, *toks, cost,
                None if rec.price_as_of is None else rec.price_as_of.isoformat(), rec.status,
                float(rec.latency_ms), rec.ttfb_ms, rec.request_id, int(rec.partial),
            ))
            secs = t // 1_000_000
            values = {"endpoint": rec.endpoint, "model": _opt(rec.model),
                      "service_tier": _opt(rec.service_tier), "key_label": rec.key_label}
            unpriced = cost is None and (u.input_tokens + u.output_tokens) > 0
            pico, rest = _pico_split(cost)
            vals = [1, int(rec.status >= 400), *toks, pico, int(unpriced),
                    u.input_tokens if unpriced else 0, u.cached_input_tokens if unpriced else 0,
                    u.output_tokens if unpriced else 0]
            spans = ((SPAN_HOUR, secs - secs % 3600), (SPAN_DAY, secs - secs % DAY_S),
                     (SPAN_MONTH, _month_floor(secs)))
            for acc, (_, dims) in zip(sums, _PROXY_TABLES, strict=True):
                dim_values = tuple(values[d] for d in dims)
                for span, at in spans:
                    key = (span, at, *dim_values)
                    cur = acc.get(key)
                    if cur is None:
                        acc[key] = [*vals, rest]
                    else:
                        for i, v in enumerate(vals):
                            cur[i] += v
                        cur[-1] = _decimal_add(cur[-1], rest)
        with self.transaction() as tx:
            tx.executemany(self._INSERT_PROXY, raws)
            for acc, (table, dims) in zip(sums, _PROXY_TABLES, strict=True):
                tx.executemany(self._upsert_rollup(table, dims),
                               [(*key, *v) for key, v in acc.items()])

    def proxy_records(
        self, start: datetime | None = None, end: datetime | None = None, limit: int | None = None
    ) -> list[ProxyRecord]:
        """Raw proxy records with time in [start, end), newest first (for lists and export)."""
        lo = -(2**62) if start is None else _epoch_us(start)
        hi = 2**62 if end is None else _epoch_us(end)
        rows = self._conn().execute(
            f"""SELECT time_us, endpoint, model, service_tier, key_label, {_TOK_LIST}, cost,
                       price_as_of, status, latency_ms, ttfb_ms, request_id, partial
                FROM proxy_records WHERE time_us >= ? AND time_us < ?
                ORDER BY time_us DESC, id DESC LIMIT ?""",
            (lo, hi, -1 if limit is None else limit),
        )
        return [
            ProxyRecord(
                time=_at_us(r[0]), endpoint=r[1], model=r[2],
                service_tier=r[3], key_label=r[4], usage=TokenUsage(*r[5:5 + _NT]),
                cost_usd=None if r[-7] is None else Decimal(r[-7]),
                price_as_of=None if r[-6] is None else date.fromisoformat(r[-6]),
                status=r[-5], latency_ms=r[-4], ttfb_ms=r[-3], request_id=r[-2],
                partial=bool(r[-1]),
            )
            for r in rows
        ]

    def proxy_usage(
        self, start: datetime, end: datetime, by: Sequence[str] = ()
    ) -> list[ProxyUsageRow]:
        """Proxy records with time in [start, end), summed per `by` (day, endpoint, model,
        service_tier, key_label). Whole months, days and hours come from the roll-ups."""
        for d in by:
            if d not in PROXY_DIMS:
                raise ValueError(f"unknown proxy usage dimension {d!r}")
        dims = [d for d in PROXY_DIMS if d in by]
        a_us, b_us = _epoch_us(start), _epoch_us(end)
        a_s, b_s = -(-a_us // 1_000_000), b_us // 1_000_000
        spans = [SPAN_DAY, SPAN_HOUR] if "day" in dims else [SPAN_MONTH, SPAN_DAY, SPAN_HOUR]
        pieces: list[tuple[int | None, int, int]] = []
        if a_s >= b_s:
            pieces.append((None, a_us, b_us))
        else:
            for span, lo, hi in _split(a_s, b_s, spans):
                if span is None:  # raw edges, in microseconds (sub-second slivers included)
                    lo = a_us if lo == a_s else lo * 1_000_000
                    hi = b_us if hi == b_s else hi * 1_000_000
                pieces.append((span, lo, hi))
            if pieces[0][0] is not None and a_us < a_s * 1_000_000:
                pieces.insert(0, (None, a_us, a_s * 1_000_000))
            if pieces[-1][0] is not None and b_s * 1_000_000 < b_us:
                pieces.append((None, b_s * 1_000_000, b_us))
        table = _table_for(_PROXY_TABLES, dims)
        sums = (", ".join(f"SUM({c})" for c in _PROXY_SUM_COLUMNS)
                + ", dsum(cost_rest) FILTER (WHERE cost_rest IS NOT NULL)")
        conn = self._conn()
        acc: dict[tuple[Any, ...], list[Any]] = {}
        n = len(dims)

        def add(rows: Iterable[tuple[Any, ...]]) -> None:
            for r in rows:
                key, vals = r[:n], r[n:]
                if not vals[0]:
                    continue  # no rows (SUM is NULL, COUNT is 0)
                cost = _money_from(vals[-6], vals[-1])
                nums = [*vals[:-6], cost, *vals[-5:-1]]
                cur = acc.get(key)
                if cur is None:
                    acc[key] = nums
                else:
                    for i, v in enumerate(nums):
                        cur[i] += v

        def grouping(exprs: list[str]) -> tuple[str, str]:
            head = f"{', '.join(exprs)}, " if exprs else ""
            group = f" GROUP BY {', '.join(str(i + 1) for i in range(n))}" if exprs else ""
            return head, group

        for span, lo, hi in pieces:
            if span is not None:
                day = f"at - at % {DAY_S}" if span == SPAN_HOUR else "at"
                head, group = grouping([day if d == "day" else d for d in dims])
                add(conn.execute(
                    f"SELECT {head}{sums} FROM {table} "
                    f"WHERE span = ? AND at >= ? AND at < ?{group}",
                    (span, lo, hi),
                ))
            else:
                day = f"(time_us / 1000000) - (time_us / 1000000) % {DAY_S}"
                head, group = grouping([day if d == "day" else _RAW_PROXY_DIM[d] for d in dims])
                # Same column order as the roll-ups: ... cost_pico, unpriced x4, cost_rest.
                add(conn.execute(
                    f"SELECT {head}{_RAW_PROXY_SUMS} FROM proxy_records "
                    f"WHERE time_us >= ? AND time_us < ?{group}",
                    (lo, hi),
                ))

        out = []
        for key, vals in acc.items():
            kw: dict[str, Any] = {}
            for d, v in zip(dims, key, strict=True):
                kw[d] = _s_day(v) if d == "day" else _none(v)
            out.append(ProxyUsageRow(
                requests=vals[0], errors=vals[1], usage=TokenUsage(*vals[2:2 + _NT]),
                cost=vals[2 + _NT], unpriced_requests=vals[3 + _NT],
                unpriced_usage=TokenUsage(input_tokens=vals[4 + _NT],
                                          cached_input_tokens=vals[5 + _NT],
                                          output_tokens=vals[6 + _NT]),
                **kw,
            ))
        return out

    def proxy_outcomes(self, start: datetime, end: datetime) -> list[ProxyOutcomeRow]:
        """Proxy records with time in [start, end) summed per model, key label, status and
        priced/unpriced, from the raw rows (one indexed range scan; for exporters priming
        their counters, not for per-scrape queries)."""
        rows = self._conn().execute(
            f"""SELECT model, key_label, status, cost IS NOT NULL, COUNT(*),
                       {_tok_sums(TOKEN_COLUMNS)}, dsum(cost)
                FROM proxy_records WHERE time_us >= ? AND time_us < ?
                GROUP BY 1, 2, 3, 4""",
            (_epoch_us(start), _epoch_us(end)),
        )
        return [
            ProxyOutcomeRow(
                model=r[0], key_label=r[1], status=r[2], priced=bool(r[3]), requests=r[4],
                usage=TokenUsage(**dict(zip(TOKEN_COLUMNS, r[5:5 + _NT], strict=True))),
                cost=Decimal(r[5 + _NT] or 0),
            )
            for r in rows
        ]

    # ---- the source rule -------------------------------------------------------------------

    def org_cutoff(self) -> datetime | None:
        """The instant from which proxy records count under source "all" (None: all count).

        Org usage is authoritative for what it covers: up to the end of the latest stored org
        bucket, but never past the last successful sync (a bucket still open at sync time holds
        only the requests made before the sync), and at least up to `settled_through`.
        """
        state = self.get_sync_state(ORG_SOURCE)
        latest = self.latest_usage_end()
        covered: datetime | None = latest
        if state is not None and state.last_success is not None:
            covered = (
                state.last_success if latest is None else min(latest, state.last_success)
            )
        if state is not None and state.settled_through is not None:
            covered = (
                state.settled_through if covered is None else max(covered, state.settled_through)
            )
        return covered

    def data_since(self, source: str = "all") -> datetime | None:
        """The first instant `source` watched (None: no data at all), for projections.

        A successful org sync backfills whole billing cycles, so it watched everything;
        otherwise the earliest stored org bucket or proxy record marks the start.
        """
        found: list[datetime] = []
        if source in ("org", "all"):
            state = self.get_sync_state(ORG_SOURCE)
            if state is not None and state.last_success is not None:
                return SINCE_EVER
            row = self._conn().execute("SELECT MIN(start) FROM usage_buckets").fetchone()
            if row[0] is not None:
                found.append(_from_s(row[0]))
        if source in ("proxy", "all"):
            row = self._conn().execute("SELECT MIN(time_us) FROM proxy_records").fetchone()
            first = _from_us(row[0])
            if first is not None:
                found.append(first)
        return min(found) if found else None

    def totals(self, start: datetime, end: datetime, source: str = "all") -> UsageTotals:
        """Requests and tokens in [start, end) for source org|proxy|all (see `org_cutoff`)."""
        groups = self.groups(start, end, source, by=None)
        return groups.get(None, UsageTotals())

    def groups(
        self, start: datetime, end: datetime, source: str = "all", by: str | None = "model"
    ) -> dict[Any, UsageTotals]:
        """Requests and tokens per group (model|day|project|key|None) under the source rule.

        Keys: model name, UTC date, project id, api key id (org) / key label (proxy); None when
        the source has no such dimension (e.g. project for proxy records) or `by` is None.
        Proxy requests count only successful ones (status < 400); errors carry no tokens.
        """
        if source not in ("org", "proxy", "all"):
            raise ValueError(f"unknown source {source!r}")
        org_dim = {None: None, "model": "model", "day": "day", "project": "project_id",
                   "key": "api_key_id"}
        proxy_dim = {None: None, "model": "model", "day": "day", "project": None,
                     "key": "key_label"}
        if by not in org_dim:
            raise ValueError(f"unknown grouping {by!r}")
        out: dict[Any, UsageTotals] = {}

        def add(key: Any, requests: int, usage: TokenUsage, cost: Decimal) -> None:
            cur = out.get(key)
            if cur is None:
                out[key] = UsageTotals(requests, usage, cost)
            else:
                out[key] = UsageTotals(
                    cur.requests + requests, cur.usage + usage, cur.proxy_cost + cost
                )

        if source in ("org", "all"):
            dim = org_dim[by]
            for row in self.org_usage(start, end, () if dim is None else (dim,)):
                add(None if dim is None else getattr(row, dim), row.requests, row.usage,
                    Decimal(0))
        if source in ("proxy", "all"):
            p_start = start
            if source == "all":
                cutoff = self.org_cutoff()
                if cutoff is not None and cutoff > p_start:
                    p_start = cutoff
            if p_start < end:
                dim = proxy_dim[by]
                for prow in self.proxy_usage(p_start, end, () if dim is None else (dim,)):
                    add(None if dim is None else getattr(prow, dim),
                        prow.requests - prow.errors, prow.usage, prow.cost)
        return out

    # ---- rate limits -----------------------------------------------------------------------

    def add_rate_limit(self, snap: RateLimitSnapshot) -> None:
        """Keep the snapshot if it is the newest for its (key_label, model)."""
        with self.transaction() as tx:
            tx.execute(
                """INSERT INTO rate_limits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT DO UPDATE SET time_us = excluded.time_us,
                     limit_requests = excluded.limit_requests,
                     limit_tokens = excluded.limit_tokens,
                     remaining_requests = excluded.remaining_requests,
                     remaining_tokens = excluded.remaining_tokens,
                     reset_requests_s = excluded.reset_requests_s,
                     reset_tokens_s = excluded.reset_tokens_s
                   WHERE excluded.time_us >= rate_limits.time_us""",
                (snap.key_label, snap.model, _epoch_us(snap.time), snap.limit_requests,
                 snap.limit_tokens, snap.remaining_requests, snap.remaining_tokens,
                 snap.reset_requests_s, snap.reset_tokens_s),
            )

    def latest_rate_limits(self) -> list[RateLimitSnapshot]:
        rows = self._conn().execute(
            "SELECT key_label, model, time_us, limit_requests, limit_tokens, remaining_requests, "
            "remaining_tokens, reset_requests_s, reset_tokens_s FROM rate_limits "
            "ORDER BY key_label, model"
        )
        return [
            RateLimitSnapshot(
                time=_at_us(r[2]), key_label=r[0], model=r[1],
                limit_requests=r[3], limit_tokens=r[4], remaining_requests=r[5],
                remaining_tokens=r[6], reset_requests_s=r[7], reset_tokens_s=r[8],
            )
            for r in rows
        ]

    # ---- alerts ----------------------------------------------------------------------------

    def record_alert(self, kind: str, threshold: str, cycle_start: date) -> bool:
        """Remember that an alert fired in the cycle starting `cycle_start`; True if new."""
        with self.transaction() as tx:
            cur = tx.execute(
                "INSERT OR IGNORE INTO fired_alerts VALUES (?, ?, ?, ?)",
                (kind, threshold, cycle_start.isoformat(), _epoch_us(self._clock())),
            )
            return cur.rowcount == 1

    def fired_alerts(self, cycle_start: date) -> set[tuple[str, str]]:
        rows = self._conn().execute(
            "SELECT kind, threshold FROM fired_alerts WHERE cycle_start = ?",
            (cycle_start.isoformat(),),
        )
        return {(k, t) for k, t in rows}

    # ---- sync state ------------------------------------------------------------------------

    def set_sync_state(self, source: str, state: SyncState) -> None:
        def us(dt: datetime | None) -> int | None:
            return None if dt is None else _epoch_us(dt)

        with self.transaction() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO sync_state VALUES (?, ?, ?, ?, ?)",
                (source, us(state.last_success), state.last_error, us(state.last_error_at),
                 us(state.settled_through)),
            )

    def get_sync_state(self, source: str) -> SyncState | None:
        row = self._conn().execute(
            "SELECT last_success_us, last_error, last_error_at_us, settled_through_us "
            "FROM sync_state WHERE source = ?",
            (source,),
        ).fetchone()
        if row is None:
            return None
        return SyncState(_from_us(row[0]), row[1], _from_us(row[2]), _from_us(row[3]))

    # ---- finished sync windows (resume an interrupted backfill; issue 16) ------------------

    def mark_window_done(self, source: str, endpoint: str, width: str, start: datetime,
                         end: datetime) -> None:
        """Record a fetched window; call inside the transaction that wrote its rows."""
        with self.transaction() as tx:
            tx.execute("INSERT OR IGNORE INTO sync_windows VALUES (?, ?, ?, ?, ?)",
                       (source, endpoint, width, _epoch_us(start), _epoch_us(end)))

    def done_windows(self, source: str) -> set[tuple[str, str, datetime, datetime]]:
        """(endpoint, width, start, end) of the windows recorded since the last clear."""
        rows = self._conn().execute(
            "SELECT endpoint, width, start_us, end_us FROM sync_windows WHERE source = ?",
            (source,))
        out = set()
        for endpoint, width, start, end in rows:
            a, b = _from_us(start), _from_us(end)
            assert a is not None and b is not None
            out.add((endpoint, width, a, b))
        return out

    def clear_done_windows(self, source: str) -> None:
        with self.transaction() as tx:
            tx.execute("DELETE FROM sync_windows WHERE source = ?", (source,))

    # ---- change detection ------------------------------------------------------------------

    def data_version(self) -> int:
        """A number that changes when another connection commits to the store (SQLite's
        `PRAGMA data_version`): a cheap "did anything change?" poll for `status --watch`."""
        return int(self._conn().execute("PRAGMA data_version").fetchone()[0])

    # ---- names -----------------------------------------------------------------------------

    def names(self) -> dict[str, str]:
        """id → display name for projects and API keys (from the organization endpoints)."""
        return dict(self._conn().execute("SELECT id, name FROM names").fetchall())

    def set_names(self, names: Mapping[str, str]) -> None:
        now = _epoch_s(self._clock())
        with self.transaction() as tx:
            tx.executemany(
                "INSERT INTO names VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET "
                "name = excluded.name, updated_at = excluded.updated_at",
                [(k, v, now) for k, v in names.items()],
            )
