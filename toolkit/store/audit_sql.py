"""The exact audit's queries over job logs, in DuckDB SQL.

The audit's rules (``toolkit.detect.audit``) say what a violation is; these queries find the
rows, inside the database, so that only the violations and per-key summaries leave it. Every
query takes a time window ``[since, until)`` with either bound open.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "KEY",
    "TERMINAL_EVENTS",
    "environment_accounting",
    "job_accounting",
    "unjustified_drops",
    "view_status",
]

#: The full job key, in order; a justified drop's survivor matches every component.
KEY = ("tenant", "environment", "source", "entity", "schema")
#: Events that end a job.
TERMINAL_EVENTS = ("job.processed", "job.failed", "job.deduplicated")
_TERMINAL_SQL = ", ".join(f"'{e}'" for e in TERMINAL_EVENTS)


_INTEGERS = {"BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT"}


def _frame(result: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The result as a DataFrame whose integer columns stay integers where values are missing
    (a job id is ``21915``, not ``21915.0``)."""
    integers = [name for name, kind, *_ in result.description or () if str(kind) in _INTEGERS]
    frame = result.df()
    return frame.astype({name: "Int64" for name in integers}) if integers else frame


def _window(since: datetime | None, until: datetime | None, alias: str = ""
            ) -> tuple[str, list[Any]]:
    col = f"{alias}.time" if alias else "time"
    clauses, params = [], []
    if since is not None:
        clauses.append(f"{col} >= ?")
        params.append(since)
    if until is not None:
        clauses.append(f"{col} < ?")
        params.append(until)
    return (" AND ".join(clauses) or "TRUE"), params


def unjustified_drops(con: duckdb.DuckDBPyConnection, since: datetime | None,
                      until: datetime | None) -> pd.DataFrame:
    """Drops that no pending survivor with the identical key and a version not older
    justifies, with both jobs' keys and traces and a one-line reason. The survivor's trace is
    found from its own ``job.created`` record."""
    return _frame(con.execute(*_unjustified(since, until)))


def unjustified_drop_records(con: duckdb.DuckDBPyConnection, since: datetime | None,
                             until: datetime | None) -> list[dict[str, Any]]:
    """:func:`unjustified_drops` as plain records (``None`` for missing values), read without
    pandas for the cron alert."""
    result = con.execute(*_unjustified(since, until))
    names = [d[0] for d in result.description or ()]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _unjustified(since: datetime | None, until: datetime | None) -> tuple[str, list[Any]]:
    where, params = _window(since, until, "d")
    same_key = " AND ".join(f"d.survivor_{k} IS NOT DISTINCT FROM d.{k}" for k in KEY)
    differs = ", ".join(
        f"CASE WHEN d.survivor_{k} IS DISTINCT FROM d.{k} THEN '{k} ' || "
        f"coalesce(d.{k}, '?') || ' vs ' || coalesce(d.survivor_{k}, '?') END"
        for k in KEY)
    return (
        f"""
        WITH d AS (
            SELECT * FROM logs d
            WHERE d.event_name = 'job.deduplicated' AND {where}
              AND NOT coalesce({same_key} AND d.survivor_state = 'pending'
                               AND d.survivor_version >= d.version, FALSE)
        ),
        -- only the survivors named above: a cron run must not aggregate all of history
        s AS (
            SELECT job_id, min(trace_id) AS trace_id FROM logs
            WHERE event_name = 'job.created'
              AND job_id IN (SELECT survivor_job_id FROM d)
            GROUP BY job_id
        )
        SELECT 'unjustified_drop' AS rule, d.time, d.tenant, d.environment, d.source, d.entity,
               d.schema, d.job_id, d.version, d.survivor_job_id, d.survivor_tenant,
               d.survivor_environment, d.survivor_source, d.survivor_entity, d.survivor_schema,
               d.survivor_state, d.survivor_version, d.trace_id,
               s.trace_id AS survivor_trace_id,
               CASE
                 WHEN d.survivor_job_id IS NULL THEN 'the drop names no survivor'
                 WHEN NOT ({same_key}) THEN 'survivor has a different key: '
                   || concat_ws(', ', {differs})
                 WHEN d.survivor_state IS DISTINCT FROM 'pending'
                   THEN 'survivor was ' || coalesce(d.survivor_state, 'unknown')
                        || ', it had already read older content'
                 ELSE 'survivor version ' || d.survivor_version || ' older than '
                      || d.version
               END AS detail
        FROM d LEFT JOIN s ON s.job_id = d.survivor_job_id
        ORDER BY d.time, d.job_id
        """,
        params,
    )


def view_status(con: duckdb.DuckDBPyConnection, since: datetime | None,
                until: datetime | None, *, as_of_end: bool = False) -> pd.DataFrame:
    """Per key with a job in the window whose view is behind: latest version demanded,
    version rendered, jobs in flight, jobs given up; as of the window's end, or of the data's
    end with ``as_of_end`` (a view left stale in the window but re-rendered later needs
    nothing)."""
    where, params = _window(since, until)
    open_end = until is None or as_of_end
    scope = "TRUE" if open_end else "time < ?"
    scope_params = [] if open_end else [until]
    return _frame(con.execute(
        f"""
        WITH scoped AS (SELECT * FROM logs WHERE {scope}),
        keys AS (
            SELECT tenant, environment, source, entity, schema, max(version) AS demanded,
                   min(time) AS first_job_at
            FROM scoped WHERE event_name = 'job.created' AND job_id IS NOT NULL
            GROUP BY ALL
        ),
        windowed AS (
            SELECT DISTINCT tenant, environment, source, entity, schema FROM logs
            WHERE event_name = 'job.created' AND {where}
        ),
        ingested AS (
            SELECT tenant, environment, source, entity, max(version) AS ingested
            FROM scoped WHERE event_name = 'entity.ingested' GROUP BY ALL
        ),
        rendered AS (
            SELECT tenant, environment, source, entity, schema,
                   max(view_version) AS rendered, max(time) AS last_rendered_at
            FROM scoped WHERE event_name = 'job.processed' GROUP BY ALL
        ),
        ended AS (SELECT DISTINCT job_id FROM scoped WHERE event_name IN ({_TERMINAL_SQL})),
        open_jobs AS (
            SELECT tenant, environment, source, entity, schema, count(*) AS in_flight
            FROM scoped c WHERE event_name = 'job.created'
              AND NOT EXISTS (SELECT 1 FROM ended e WHERE e.job_id = c.job_id)
            GROUP BY ALL
        ),
        gave_up AS (
            SELECT tenant, environment, source, entity, schema, count(*) AS failed
            FROM scoped WHERE event_name = 'job.failed' GROUP BY ALL
        )
        SELECT k.tenant, k.environment, k.source, k.entity, k.schema,
               greatest(k.demanded, coalesce(i.ingested, 0)) AS latest_version,
               r.rendered AS rendered_version, r.last_rendered_at,
               coalesce(o.in_flight, 0) AS in_flight, coalesce(g.failed, 0) AS failed,
               k.first_job_at
        FROM keys k
        JOIN windowed w USING (tenant, environment, source, entity, schema)
        LEFT JOIN ingested i USING (tenant, environment, source, entity)
        LEFT JOIN rendered r USING (tenant, environment, source, entity, schema)
        LEFT JOIN open_jobs o USING (tenant, environment, source, entity, schema)
        LEFT JOIN gave_up g USING (tenant, environment, source, entity, schema)
        WHERE coalesce(r.rendered, 0) < greatest(k.demanded, coalesce(i.ingested, 0))
        ORDER BY k.environment, k.source, k.entity, k.schema
        """,
        [*scope_params, *params],
    ))


def job_accounting(con: duckdb.DuckDBPyConnection, since: datetime | None,
                   until: datetime | None) -> pd.DataFrame:
    """Jobs that end twice, or (over all of history) end without having been created."""
    where, params = _window(since, until)
    return _frame(con.execute(
        f"""
        WITH per_job AS (
            SELECT job_id, any_value(environment) AS environment, any_value(tenant) AS tenant,
                   any_value(entity) AS entity, any_value(schema) AS schema,
                   min(time) AS time, min(trace_id) AS trace_id,
                   count(*) FILTER (WHERE event_name = 'job.created') AS created,
                   count(*) FILTER (WHERE event_name IN ({_TERMINAL_SQL})) AS ended
            FROM logs WHERE job_id IS NOT NULL AND {where} GROUP BY job_id
        )
        SELECT 'accounting' AS rule, time, tenant, environment, entity, schema, job_id,
               trace_id,
               CASE WHEN ended > 1 THEN 'job ended ' || ended || ' times'
                    ELSE 'job ended but was never created' END AS detail
        FROM per_job
        WHERE ended > 1 OR (ended = 1 AND created = 0 AND {"TRUE" if since is None
                                                             else "FALSE"})
        ORDER BY time, job_id
        """,
        params,
    ))


def environment_accounting(con: duckdb.DuckDBPyConnection, since: datetime | None,
                           until: datetime | None) -> pd.DataFrame:
    """Per environment: created, processed, failed, deduplicated and in flight jobs."""
    where, params = _window(since, until)
    return _frame(con.execute(
        f"""
        WITH per_job AS (
            SELECT job_id, any_value(environment) AS environment,
                   bool_or(event_name = 'job.created') AS created,
                   bool_or(event_name = 'job.processed') AS processed,
                   bool_or(event_name = 'job.failed') AS failed,
                   bool_or(event_name = 'job.deduplicated') AS deduplicated
            FROM logs WHERE job_id IS NOT NULL AND {where} GROUP BY job_id
        )
        SELECT environment,
               count(*) FILTER (WHERE created) AS created,
               count(*) FILTER (WHERE created AND processed) AS processed,
               count(*) FILTER (WHERE created AND failed AND NOT processed) AS failed,
               count(*) FILTER (WHERE created AND deduplicated AND NOT processed
                                AND NOT failed) AS deduplicated,
               count(*) FILTER (WHERE created AND NOT processed AND NOT failed
                                AND NOT deduplicated) AS in_flight
        FROM per_job GROUP BY environment ORDER BY environment
        """,
        params,
    ))
