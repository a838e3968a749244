"""The ``env_minute`` rollup (docs/contracts.md) computed inside ClickHouse, incrementally.

The same queue semantics and the same rows as ``toolkit.store.rollup`` (DuckDB): counts per
environment and minute, the backlog carried across minutes without events (enqueue before
dequeue within one timestamp), ``active_envs`` per minute, every minute between an
environment's first and last activity filled. A refresh deletes and recomputes the minutes
from a start with one ``INSERT ... SELECT``, so its cost follows the new minutes.

Where to start. The DuckDB store's writers mark the earliest time they wrote; here the
Collector writes ``otel_logs`` directly and marks nothing, so the refresh finds the change
itself, cheaply: ``toolkit_meta`` keeps the watermark (the last minute rolled up, always
recomputed since it may have been partial); ``toolkit_log_partitions`` keeps the rows of
each daily partition of ``otel_logs`` at the last refresh (``system.parts``, free to read);
for the days whose count grew, ``toolkit_log_minutes`` (rows per minute at the last refresh)
against a fresh count of the ``Timestamp`` column finds the first minute that changed. The
start is the earlier of that minute and the watermark. Nothing changed: nothing is done.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from toolkit.store.clickhouse.connection import Connection
from toolkit.store.clickhouse.schema import JOB_LOG_COLUMNS, get_meta, set_meta
from toolkit.store.clickhouse.sql import Tables, literal, logs_relation, quote
from toolkit.store.rollup import COUNTED_EVENTS, RollupRefresh

__all__ = ["rebuild_rollup", "refresh_rollup"]

WATERMARK = "rollup_watermark"
_MINUTE = "INTERVAL 1 MINUTE"


@dataclass(frozen=True)
class _Change:
    """What changed in ``otel_logs`` since the last refresh."""

    partitions: pa.Table  # the partition row counts now
    first_changed: datetime | None  # the first minute whose row count changed
    minutes: pa.Table  # the row counts of the minutes of the changed days, now


def _scalar(con: Connection, sql: str) -> object:
    rows = con.arrow(sql)
    return rows.column(0)[0].as_py() if rows.num_rows else None


def _naive(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=None) if value.tzinfo else value


def _partitioned_by_day(con: Connection, t: Tables) -> bool:
    key = _scalar(con, f"SELECT partition_key FROM system.tables WHERE database = "
                       f"{quote(t.database)} AND name = 'otel_logs'")
    return key == "toDate(TimestampTime)"


def _changes(con: Connection, t: Tables) -> _Change:
    by_day = _partitioned_by_day(con, t)
    partitions = con.arrow(
        f"SELECT partition, toUInt64(sum(rows)) AS rows FROM system.parts "
        f"WHERE database = {quote(t.database)} AND table = 'otel_logs' AND active "
        f"GROUP BY partition ORDER BY partition"
    ) if by_day else pa.table({"partition": pa.array([], pa.string()),
                                "rows": pa.array([], pa.uint64())})
    if by_day:
        # Days that grew or are new (a day dropped by a TTL leaves its rollup alone).
        days = con.arrow(f"""
            SELECT p.partition AS day FROM (
                SELECT partition, toUInt64(sum(rows)) AS rows FROM system.parts
                WHERE database = {quote(t.database)} AND table = 'otel_logs' AND active
                GROUP BY partition) p
            LEFT JOIN {t.table('log_partitions')} k ON k.partition = p.partition
            WHERE k.rows IS NULL OR p.rows > k.rows ORDER BY day
        """).column("day").to_pylist()
        if not days:
            return _Change(partitions, None, pa.table({}))
        scope = f"toDate(TimestampTime) IN ({', '.join(quote(d) for d in days)})"
    else:
        scope = "true"
    minutes = con.arrow(f"""
        SELECT toDateTime64(toStartOfMinute(Timestamp), 0, 'UTC') AS minute, count() AS rows
        FROM {t.logs} WHERE {scope} GROUP BY minute ORDER BY minute
    """)
    if not minutes.num_rows:
        return _Change(partitions, None, minutes)
    now = dict(zip(minutes.column("minute").to_pylist(), minutes.column("rows").to_pylist(),
                   strict=True))
    lo, hi = _naive(min(now)), _naive(max(now))
    before = con.arrow(f"""
        SELECT toDateTime64(minute, 0, 'UTC') AS minute, rows FROM {t.table('log_minutes')}
        WHERE minute BETWEEN {literal(lo)} AND {literal(hi)}
    """)
    kept = dict(zip(before.column("minute").to_pylist(), before.column("rows").to_pylist(),
                    strict=True))
    changed = [m for m, rows in now.items() if kept.get(m) != rows]
    return _Change(partitions, _naive(min(changed)) if changed else None, minutes)


def _start(con: Connection, t: Tables, first_changed: datetime) -> datetime:
    """The first minute to recompute: the first that changed, or the watermark if earlier
    (the last minute rolled up may have been partial)."""
    watermark = get_meta(con, t, WATERMARK)
    start = first_changed.replace(second=0, microsecond=0)
    return min(start, datetime.fromisoformat(watermark)) if watermark else start


def _gap(con: Connection, t: Tables, start: datetime, counts: str) -> datetime | None:
    """Where to start instead when an environment idle before ``start`` is active again
    after it (its zero rows in between are missing): right after its last row, as rollup.py
    does. The active environments come from the counts already taken from ``start``."""
    return _naive(_scalar(con, f"""
        SELECT toDateTime64(minOrNull(r.last_row + {_MINUTE}), 0, 'UTC') FROM (
            SELECT environment, max(minute) AS last_row FROM {t.table('env_minute')}
            WHERE minute < {literal(start)} GROUP BY environment) r
        WHERE r.environment IN (SELECT DISTINCT environment FROM {counts})
          AND r.last_row < {literal(start)} - {_MINUTE}
    """))


def _counts_sql() -> str:
    cols = []
    for column, events in COUNTED_EVENTS.items():
        names = ", ".join(quote(e) for e in events)
        cols.append(f"toInt64(countIf(event_name IN ({names}))) AS {column}")
    return ",\n               ".join(cols)


def _counts(t: Tables, start: datetime, into: str) -> str:
    """One pass over ``otel_logs`` from ``start`` into the scratch table ``into``: per
    environment and minute the counts, the net queue change, the queue's peak right after an
    enqueue or dequeue (relative to the backlog carried in) and a tenant. Kept in a table
    because ClickHouse evaluates a CTE again at every reference, and the rest of the
    recompute reads these rows three times."""
    return f"""
CREATE TABLE {into} ENGINE = Memory AS
SELECT environment, minute,
       {_counts_sql()},
       sum(delta) AS net,
       maxIfOrNull(running, delta <> 0) AS peak,
       any(tenant) AS tenant
FROM (
    SELECT environment, tenant, minute, event_name, delta,
           sum(delta) OVER (PARTITION BY environment ORDER BY time, delta DESC
                            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
    FROM (
        SELECT environment, tenant, time, toDateTime(toStartOfMinute(time), 'UTC') AS minute,
               event_name,
               toInt64(multiIf(event_name = 'job.enqueued', 1,
                               event_name = 'job.dequeued', -1, 0)) AS delta
        FROM {t.table('job_logs')}
        WHERE time >= {literal(start)} AND environment IS NOT NULL))
GROUP BY environment, minute
"""


def _recompute(t: Tables, start: datetime, counts: str) -> str:
    keys = list(COUNTED_EVENTS)
    start_sql = f"toDateTime({literal(start)}, 'UTC')"
    return f"""
INSERT INTO {t.table('env_minute')}
WITH counts AS (SELECT * FROM {counts}),
carry AS (
    SELECT environment, backlog AS carried, tenant AS carried_tenant
    FROM {t.table('env_minute')} WHERE minute = {start_sql} - {_MINUTE}
),
tenants AS (
    SELECT environment, any(tenant) AS tenant FROM counts WHERE tenant IS NOT NULL
    GROUP BY environment
),
bounds AS (
    SELECT c.environment AS environment,
           if(carry.environment IS NULL, min(c.minute), {start_sql}) AS first_minute,
           max(c.minute) AS last_minute,
           coalesce(any(carry.carried), 0) AS carried,
           coalesce(any(tenants.tenant), any(carry.carried_tenant)) AS tenant
    FROM counts c
    LEFT JOIN carry ON carry.environment = c.environment
    LEFT JOIN tenants ON tenants.environment = c.environment
    GROUP BY c.environment, carry.environment
),
grid AS (
    SELECT environment, tenant, carried,
           arrayJoin(arrayMap(i -> first_minute + toIntervalMinute(i),
                              range(toUInt64(dateDiff('minute', first_minute, last_minute) + 1))))
               AS minute
    FROM bounds
),
filled AS (
    SELECT g.minute AS minute, g.environment AS environment, g.tenant AS tenant,
           g.carried AS carried,
           {", ".join(f"coalesce(c.{k}, 0) AS {k}" for k in keys)},
           coalesce(c.net, 0) AS delta,
           g.carried + sum(coalesce(c.net, 0)) OVER (
               PARTITION BY g.environment ORDER BY g.minute
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS backlog,
           c.peak AS peak
    FROM grid g
    LEFT JOIN counts c ON c.environment = g.environment AND c.minute = g.minute
)
-- An environment is active in a minute if its queue was non-empty at the start of it or
-- right after one of its events; counted over the minute as a window, so that `filled` is
-- computed once (ClickHouse evaluates a CTE again at every reference).
SELECT minute, environment, tenant, {", ".join(keys)}, toInt64(backlog),
       toInt32(countIf(backlog - delta > 0 OR coalesce(carried + peak > 0, false))
               OVER (PARTITION BY minute)) AS active_envs
FROM filled
"""


def refresh_rollup(con: Connection, t: Tables) -> RollupRefresh:
    """Bring ``toolkit_env_minute`` up to date with ``otel_logs``, recomputing only from the
    first minute that changed (or the watermark).

    Not one transaction (ClickHouse has none across statements): the bookkeeping is written
    last, so a refresh that stops half-way is simply redone by the next one.
    """
    change = _changes(con, t)
    start, rows = None, 0
    if change.first_changed is not None:
        start = _start(con, t, change.first_changed)
        rollup = t.table("env_minute")
        counts = f"{t.database}.toolkit_stage_rollup_{uuid.uuid4().hex}"
        try:
            jobs = t.table("job_logs")
            con.command(f"DELETE FROM {jobs} WHERE time >= {literal(start)}")
            columns = ", ".join(JOB_LOG_COLUMNS)
            con.command(f"INSERT INTO {jobs} ({columns}) SELECT {columns} "
                        f"FROM {logs_relation(t, since=start, columns=JOB_LOG_COLUMNS)}")
            con.command(_counts(t, start, counts))
            gap = _gap(con, t, start, counts)
            if gap is not None and gap < start:
                start = gap
                con.command(f"DROP TABLE {counts}")
                con.command(_counts(t, start, counts))
            con.command(f"DELETE FROM {rollup} WHERE minute >= toDateTime({literal(start)}, "
                        f"'UTC')")
            before = _scalar(con, f"SELECT count() FROM {rollup}")
            con.command(_recompute(t, start, counts))
        finally:
            con.command(f"DROP TABLE IF EXISTS {counts}")
        rows = int(_scalar(con, f"SELECT count() FROM {rollup}") or 0) - int(before or 0)
        last = _naive(_scalar(con, f"SELECT toDateTime64(max(minute), 0, 'UTC') "
                                   f"FROM {rollup}"))
        set_meta(con, t, WATERMARK, last.isoformat(sep=" ") if last else None)
    if change.minutes.num_rows:
        lo = _naive(change.minutes.column("minute")[0].as_py())
        hi = _naive(change.minutes.column("minute")[-1].as_py())
        minutes = t.table("log_minutes")
        con.command(f"DELETE FROM {minutes} WHERE minute BETWEEN toDateTime({literal(lo)}, "
                    f"'UTC') AND toDateTime({literal(hi)}, 'UTC')")
        con.insert(minutes, change.minutes)
    if change.partitions.num_rows:
        con.command(f"TRUNCATE TABLE {t.table('log_partitions')}")
        con.insert(t.table("log_partitions"), change.partitions)
    return RollupRefresh(start, rows)


def rebuild_rollup(con: Connection, t: Tables) -> RollupRefresh:
    """Recompute ``toolkit_env_minute`` from the whole of ``otel_logs``."""
    for table in ("env_minute", "job_logs", "log_minutes", "log_partitions"):
        con.command(f"TRUNCATE TABLE {t.table(table)}")
    set_meta(con, t, WATERMARK, None)
    return refresh_rollup(con, t)

