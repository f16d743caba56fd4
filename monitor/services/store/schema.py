"""The usage database's schema: token columns, roll-up tables and the numbered migrations.

`MIGRATIONS[i]` brings the schema from version i to i + 1 (`PRAGMA user_version`). Never edit a
released entry; append a new one.

Times: bucket starts and days are integer UTC epoch seconds; proxy/sync instants are integer
UTC epoch microseconds (`*_us`). Money is TEXT holding a decimal, never a float; roll-ups keep it
as integer pico-dollars plus an exact TEXT remainder (summed by the `dsum`/`dadd`/`pico` SQL
functions registered on each connection). Grouping fields that the API left out (None) are
stored as '' (batch as -1), so NULLs take part in the natural keys.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence

from monitor.core.usage import TokenUsage

DAY_S = 86_400
WIDTH_SECONDS: Mapping[str, int] = {"1h": 3_600, "1d": DAY_S}

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

# v6 (issue 11): why a proxy record has no usable usage, whether its input was estimated from
# the request body (counted through a partial index: such records are rare), and the spool
# entries already replayed (so a crash between committing a replay and emptying the spool
# replays nothing twice).
_V6_UNMETERED_SPOOL = """
ALTER TABLE proxy_records ADD COLUMN unmetered TEXT;
ALTER TABLE proxy_records ADD COLUMN estimated INTEGER NOT NULL DEFAULT 0;
CREATE INDEX ix_proxy_unmetered ON proxy_records (time_us) WHERE unmetered IS NOT NULL;
CREATE TABLE replayed_spool (
    id TEXT PRIMARY KEY,
    replayed_at_us INTEGER NOT NULL
) WITHOUT ROWID;
"""

# v7: a revision number that every write to a table of record bumps (by trigger, so writes
# from any process or tool count), and a random lineage per database. `status` keys its cache
# on them (monitor/services/status_cache.py). Roll-ups and usage_extent are derived from the
# tables of record in the same transaction, so they need no trigger of their own.
DERIVED_TABLES: tuple[str, ...] = (*(t for t, _ in _ORG_TABLES), *(t for t, _ in _PROXY_TABLES),
                                   "usage_extent")
REVISION_TABLE = "store_revision"
_V7_RECORD_TABLES = ("usage_buckets", "cost_buckets", "proxy_records", "rate_limits",
                     "fired_alerts", "sync_state", "names", "sync_windows", "virtual_keys",
                     "cap_refusals", "replayed_spool")


def revision_triggers(table: str) -> str:
    """The three triggers that bump the store revision on any change to `table` (a migration
    that adds a table of record appends these for it; tests/unit/test_store_revision.py checks
    that no table is left out)."""
    return "".join(
        f"CREATE TRIGGER revision_{table}_{op.lower()} AFTER {op} ON {table} BEGIN\n"
        f"    UPDATE {REVISION_TABLE} SET revision = revision + 1;\nEND;\n"
        for op in ("INSERT", "UPDATE", "DELETE")
    )


_V7_REVISION = f"""
CREATE TABLE {REVISION_TABLE} (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    lineage TEXT NOT NULL,
    revision INTEGER NOT NULL
);
INSERT INTO {REVISION_TABLE} VALUES (1, lower(hex(randomblob(16))), 0);
""" + "".join(revision_triggers(t) for t in _V7_RECORD_TABLES)

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4_SYNC_WINDOWS, _V5_VIRTUAL_KEYS,
                               _V6_UNMETERED_SPOOL, _V7_REVISION)
SCHEMA_VERSION = len(MIGRATIONS)


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
