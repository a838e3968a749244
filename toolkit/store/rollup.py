"""The ``env_minute`` rollup (docs/contracts.md), computed in DuckDB from the ``logs`` table.

Incremental by design, for a cron that refreshes every minute: ``meta`` keeps a watermark
(the last minute rolled up, which may have been partial and is always recomputed) and a
dirty mark (the earliest time of any log record written since, with an environment). A
refresh deletes and recomputes only the minutes from the earlier of the two, so its cost
follows the new minutes, not the history. Late or out-of-order records just move the dirty
mark back. Writers mark dirty in the same transaction as their insert.

Queue semantics: an environment's backlog is the running sum of ``job.enqueued`` (+1) and
``job.dequeued`` (-1), carried across minutes without events. Within one timestamp an
enqueue counts before a dequeue (a job is queued before it is taken). An environment is
active in a minute if its queue was non-empty at some time in it: at the start (the backlog
carried in) or after any of its events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from toolkit.store.schema import get_meta, set_meta

__all__ = ["RollupRefresh", "mark_dirty", "rebuild_rollup", "refresh_rollup"]

WATERMARK = "rollup_watermark"
DIRTY_FROM = "rollup_dirty_from"

#: contracts.md column -> the event names it counts.
COUNTED_EVENTS = {
    "ingests": ("entity.ingested", "job.skipped_unchanged"),
    "skipped_unchanged": ("job.skipped_unchanged",),
    "offered": ("job.created",),
    "deduplicated": ("job.deduplicated",),
    "follow_ups": ("job.follow_up_scheduled",),
    "processed": ("job.processed",),
    "failed": ("job.failed",),
    "retried": ("job.retried",),
}

_MINUTE = "INTERVAL 1 MINUTE"


@dataclass(frozen=True)
class RollupRefresh:
    """What a refresh did: the first minute recomputed (``None``: nothing was dirty) and how
    many ``env_minute`` rows it wrote."""

    start: datetime | None
    rows: int


def mark_dirty(con: duckdb.DuckDBPyConnection, earliest: datetime | None) -> None:
    """Record that log records from ``earliest`` on changed (call inside the insert's
    transaction, so a crash cannot lose the mark)."""
    if earliest is None:
        return
    current = get_meta(con, DIRTY_FROM)
    if current is None or datetime.fromisoformat(current) > earliest:
        set_meta(con, DIRTY_FROM, earliest.isoformat(sep=" "))


def _timestamp(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object] | None = None
) -> datetime | None:
    rows = con.execute(sql, params).fetchall()
    value = rows[0][0] if rows else None
    return value if isinstance(value, datetime) else None


def _start(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The first minute to recompute, or ``None`` when nothing is dirty."""
    dirty = get_meta(con, DIRTY_FROM)
    if dirty is None:
        return None
    watermark = get_meta(con, WATERMARK)
    candidates = [datetime.fromisoformat(dirty).replace(second=0, microsecond=0)]
    if watermark is not None:
        candidates.append(datetime.fromisoformat(watermark))
    start = min(candidates)
    # An environment idle for a while before `start` and active again after it needs its
    # zero rows in between: begin right after its last row. One step suffices, because the
    # rows before `start` were complete for the data they were computed from.
    gap = _timestamp(
        con,
        f"""
        SELECT min(last_row + {_MINUTE}) FROM (
            SELECT environment, max(minute) AS last_row FROM env_minute
            WHERE minute < $start GROUP BY environment
        ) r
        SEMI JOIN (
            SELECT DISTINCT environment FROM logs
            WHERE time >= $start AND environment IS NOT NULL
        ) a USING (environment)
        WHERE last_row < $start - {_MINUTE}
    """,
        {"start": start},
    )
    return min(start, gap) if gap is not None else start


def _counts_sql() -> str:
    cols = []
    for column, events in COUNTED_EVENTS.items():
        names = ", ".join(f"'{e}'" for e in events)
        cols.append(f"count(*) FILTER (WHERE event_name IN ({names})) AS {column}")
    return ",\n            ".join(cols)


_RECOMPUTE = f"""
INSERT INTO env_minute BY NAME
WITH ev AS (
    SELECT environment, tenant, time, date_trunc('minute', time) AS minute, event_name,
           CASE event_name WHEN 'job.enqueued' THEN 1 WHEN 'job.dequeued' THEN -1 ELSE 0 END
               AS delta
    FROM logs WHERE time >= $start AND environment IS NOT NULL
),
carry AS (
    SELECT environment, backlog AS carried, tenant AS carried_tenant
    FROM env_minute WHERE minute = $start - {_MINUTE}
),
counts AS (
    SELECT environment, minute,
            {_counts_sql()},
            sum(delta) AS delta
    FROM ev GROUP BY environment, minute
),
peaks AS (
    -- The queue right after each enqueue/dequeue, relative to the backlog carried in.
    SELECT environment, minute, max(running) AS peak FROM (
        SELECT environment, minute, sum(delta) OVER (
            PARTITION BY environment ORDER BY time, delta DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
        FROM ev WHERE delta <> 0
    ) GROUP BY environment, minute
),
bounds AS (
    SELECT c.environment,
           CASE WHEN carry.environment IS NULL THEN min(c.minute) ELSE $start END AS first_minute,
           max(c.minute) AS last_minute,
           coalesce(any_value(carry.carried), 0) AS carried,
           coalesce(any_value(ev_tenant.tenant), any_value(carry.carried_tenant)) AS tenant
    FROM counts c
    LEFT JOIN carry USING (environment)
    LEFT JOIN (SELECT environment, any_value(tenant) AS tenant FROM ev
               WHERE tenant IS NOT NULL GROUP BY environment) ev_tenant USING (environment)
    GROUP BY c.environment, carry.environment
),
grid AS (
    SELECT environment, tenant, carried,
           unnest(generate_series(first_minute, last_minute, {_MINUTE})) AS minute
    FROM bounds
),
filled AS (
    SELECT g.minute, g.environment, g.tenant, g.carried,
           {", ".join(f"coalesce(c.{k}, 0) AS {k}" for k in COUNTED_EVENTS)},
           coalesce(c.delta, 0) AS delta,
           g.carried + sum(coalesce(c.delta, 0)) OVER (
               PARTITION BY g.environment ORDER BY g.minute
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS backlog,
           p.peak
    FROM grid g
    LEFT JOIN counts c USING (environment, minute)
    LEFT JOIN peaks p USING (environment, minute)
),
active AS (
    -- Non-empty at the start of the minute, or right after one of its events.
    SELECT minute,
           count(*) FILTER (WHERE backlog - delta > 0 OR carried + peak > 0) AS active_envs
    FROM filled GROUP BY minute
)
SELECT f.minute, f.environment, f.tenant,
       {", ".join(f"f.{k}" for k in COUNTED_EVENTS)},
       f.backlog, a.active_envs::INTEGER AS active_envs
FROM filled f JOIN active a USING (minute)
ORDER BY f.minute, f.environment
"""


def refresh_rollup(con: duckdb.DuckDBPyConnection) -> RollupRefresh:
    """Bring ``env_minute`` up to date with ``logs``, recomputing only dirty minutes.

    Args:
        con: Writable connection to the store (the refresh is one transaction).
    """
    con.execute("BEGIN TRANSACTION")
    try:
        start = _start(con)
        rows = 0
        if start is not None:
            con.execute("DELETE FROM env_minute WHERE minute >= $start", {"start": start})
            result = con.execute(_RECOMPUTE, {"start": start}).fetchall()
            rows = int(result[0][0]) if result else 0
            last = _timestamp(con, "SELECT max(minute) FROM env_minute")
            set_meta(con, WATERMARK, last.isoformat(sep=" ") if last else None)
        set_meta(con, DIRTY_FROM, None)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return RollupRefresh(start, rows)


def rebuild_rollup(con: duckdb.DuckDBPyConnection) -> RollupRefresh:
    """Recompute ``env_minute`` from the whole of ``logs`` (what a refresh must equal)."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM env_minute")
        set_meta(con, WATERMARK, None)
        earliest = _timestamp(con, "SELECT min(time) FROM logs WHERE environment IS NOT NULL")
        set_meta(con, DIRTY_FROM, None)
        mark_dirty(con, earliest)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return refresh_rollup(con)
