"""The exact audit's four queries in ClickHouse SQL: the same rows and columns as
``toolkit.store.audit_sql`` (DuckDB), with every join inside ClickHouse so that only the
violations and per-key summaries cross the wire. They read ``toolkit_job_logs``, the job log
records with their promoted attributes as typed columns, which the rollup refresh keeps up to
date from ``otel_logs`` (reading the exporter's attribute maps once, not at every query).

DuckDB idioms translated: ``IS NOT DISTINCT FROM`` is spelled out (:func:`_same`),
``count(*) FILTER`` is ``countIf``, ``bool_or`` is ``max`` of a condition, a correlated
``NOT EXISTS`` is a ``LEFT ANTI JOIN``, and DuckDB's ``greatest`` (which skips ``NULL``) is
written with ``coalesce``. Counts are cast to ``Int64`` so the frames carry the DuckDB
store's types. Every query takes ``[since, until)`` with either bound open.
"""

from __future__ import annotations

from datetime import datetime

from toolkit.store.audit_sql import KEY, TERMINAL_EVENTS
from toolkit.store.clickhouse.sql import Tables, literal, quote

__all__ = ["environment_accounting", "job_accounting", "unjustified_drops", "view_status"]

_TERMINAL_SQL = ", ".join(quote(e) for e in TERMINAL_EVENTS)
_KEY_SQL = ", ".join(KEY)
_SURVIVOR_SQL = ", ".join(f"survivor_{c}" for c in ("job_id", *KEY, "state", "version"))


def _same(a: str, b: str) -> str:
    """``a IS NOT DISTINCT FROM b``."""
    return f"(({a} IS NULL AND {b} IS NULL) OR coalesce({a} = {b}, false))"


def unjustified_drops(t: Tables, since: datetime | None, until: datetime | None) -> str:
    """Drops that no pending survivor with the identical key and a version not older
    justifies, with both jobs' keys and traces and a one-line reason."""
    same_key = " AND ".join(_same(f"d.survivor_{k}", f"d.{k}") for k in KEY)
    differs = ", ".join(
        f"if(NOT {_same(f'd.survivor_{k}', f'd.{k}')}, concat('{k} ', coalesce(d.{k}, '?'), "
        f"' vs ', coalesce(d.survivor_{k}, '?')), NULL)"
        for k in KEY)
    drops = _jobs(t, since, until, "event_name = 'job.deduplicated'")
    return f"""
    WITH d AS (
        SELECT time, {_KEY_SQL}, job_id, version, {_SURVIVOR_SQL}, trace_id
        FROM {drops} AS d
        WHERE event_name = 'job.deduplicated'
          AND NOT coalesce({same_key} AND d.survivor_state = 'pending'
                           AND d.survivor_version >= d.version, false)
    ),
    s AS (
        SELECT job_id, min(trace_id) AS trace_id
        FROM {_jobs(t, None, None, "event_name = 'job.created'")}
        WHERE event_name = 'job.created' AND job_id IN (SELECT survivor_job_id FROM d)
        GROUP BY job_id
    )
    SELECT 'unjustified_drop' AS rule, d.time AS time, d.tenant AS tenant,
           d.environment AS environment, d.source AS source, d.entity AS entity,
           d.schema AS schema, d.job_id AS job_id, d.version AS version,
           d.survivor_job_id AS survivor_job_id, d.survivor_tenant AS survivor_tenant,
           d.survivor_environment AS survivor_environment,
           d.survivor_source AS survivor_source, d.survivor_entity AS survivor_entity,
           d.survivor_schema AS survivor_schema, d.survivor_state AS survivor_state,
           d.survivor_version AS survivor_version, d.trace_id AS trace_id,
           s.trace_id AS survivor_trace_id,
           multiIf(
             d.survivor_job_id IS NULL, 'the drop names no survivor',
             NOT ({same_key}), concat('survivor has a different key: ',
               arrayStringConcat(arrayFilter(x -> x IS NOT NULL, [{differs}]), ', ')),
             NOT {_same('d.survivor_state', "'pending'")},
               concat('survivor was ', coalesce(d.survivor_state, 'unknown'),
                      ', it had already read older content'),
             concat('survivor version ', toString(d.survivor_version), ' older than ',
                    toString(d.version))
           ) AS detail
    FROM d LEFT JOIN s ON s.job_id = d.survivor_job_id
    ORDER BY d.time, d.job_id
    """


def _jobs(t: Tables, since: datetime | None, until: datetime | None, where: str = "true"
          ) -> str:
    """The job log records with ``since <= time < until`` matching ``where``, from the typed
    ``toolkit_job_logs`` (kept by the rollup refresh) rather than the attribute maps."""
    clauses = [where]
    if since is not None:
        clauses.append(f"time >= {literal(since)}")
    if until is not None:
        clauses.append(f"time < {literal(until)}")
    return f"(SELECT * FROM {t.table('job_logs')} WHERE {' AND '.join(clauses)})"


def view_status(t: Tables, since: datetime | None, until: datetime | None, *,
                as_of_end: bool = False) -> str:
    """Per key with a job in the window whose view is behind (see ``audit_sql``).

    DuckDB's six CTEs over the scoped records become one aggregation per key (conditional
    aggregates), one per entity (``entity.ingested``) and the set of ended jobs: three scans
    of ``otel_logs`` instead of seven, since each reads its attribute maps whole.
    """
    open_end = until is None or as_of_end
    scoped = _jobs(t, None, None if open_end else until)
    window = " AND ".join([f"time >= {literal(since)}"] * (since is not None)
                          + [f"time < {literal(until)}"] * (until is not None)) or "true"
    created = "event_name = 'job.created'"
    return f"""
    WITH ended AS (
        SELECT DISTINCT job_id FROM {scoped}
        WHERE event_name IN ({_TERMINAL_SQL}) AND job_id IS NOT NULL
    ),
    keys AS (
        SELECT {_KEY_SQL},
               countIf({created} AND job_id IS NOT NULL) AS jobs,
               maxIfOrNull(version, {created} AND job_id IS NOT NULL) AS demanded,
               minIfOrNull(time, {created} AND job_id IS NOT NULL) AS first_job_at,
               countIf({created} AND {window}) AS windowed,
               maxIfOrNull(view_version, event_name = 'job.processed') AS rendered,
               maxIfOrNull(time, event_name = 'job.processed') AS last_rendered_at,
               countIf({created} AND (job_id IS NULL OR job_id NOT IN ended)) AS in_flight,
               countIf(event_name = 'job.failed') AS failed
        FROM {scoped} GROUP BY {_KEY_SQL}
    ),
    ingested AS (
        SELECT tenant, environment, source, entity, max(version) AS ingested
        FROM {scoped} WHERE event_name = 'entity.ingested'
        GROUP BY tenant, environment, source, entity
    )
    SELECT {", ".join(f"k.{c} AS {c}" for c in KEY)},
           if(k.demanded IS NULL, coalesce(i.ingested, 0),
              greatest(k.demanded, coalesce(i.ingested, 0))) AS latest_version,
           k.rendered AS rendered_version, k.last_rendered_at AS last_rendered_at,
           toInt64(k.in_flight) AS in_flight, toInt64(k.failed) AS failed,
           k.first_job_at AS first_job_at
    FROM keys k
    LEFT JOIN ingested i ON {_on("i", "k", KEY[:4])}
    WHERE k.jobs > 0 AND k.windowed > 0
      AND {" AND ".join(f"k.{c} IS NOT NULL" for c in KEY)}
      AND coalesce(k.rendered, 0) < latest_version
    ORDER BY k.environment, k.source, k.entity, k.schema
    """


def _on(a: str, b: str, keys: tuple[str, ...]) -> str:
    return " AND ".join(f"{a}.{k} = {b}.{k}" for k in keys)


def job_accounting(t: Tables, since: datetime | None, until: datetime | None) -> str:
    """Jobs that end twice, or (over all of history) end without having been created."""
    never_created = "true" if since is None else "false"
    return f"""
    WITH per_job AS (
        SELECT job_id, any(environment) AS environment, any(tenant) AS tenant,
               any(entity) AS entity, any(schema) AS schema,
               min(time) AS time, min(trace_id) AS trace_id,
               countIf(event_name = 'job.created') AS created,
               countIf(event_name IN ({_TERMINAL_SQL})) AS ended
        FROM {_jobs(t, since, until, "job_id IS NOT NULL")} GROUP BY job_id
    )
    SELECT 'accounting' AS rule, time, tenant, environment, entity, schema, job_id, trace_id,
           if(ended > 1, concat('job ended ', toString(ended), ' times'),
              'job ended but was never created') AS detail
    FROM per_job
    WHERE ended > 1 OR (ended = 1 AND created = 0 AND {never_created})
    ORDER BY time, job_id
    """


def environment_accounting(t: Tables, since: datetime | None, until: datetime | None) -> str:
    """Per environment: created, processed, failed, deduplicated and in flight jobs."""
    return f"""
    WITH per_job AS (
        SELECT job_id, any(environment) AS environment,
               max(event_name = 'job.created') AS created,
               max(event_name = 'job.processed') AS processed,
               max(event_name = 'job.failed') AS failed,
               max(event_name = 'job.deduplicated') AS deduplicated
        FROM {_jobs(t, since, until, "job_id IS NOT NULL")} GROUP BY job_id
    )
    SELECT environment,
           toInt64(countIf(created)) AS created,
           toInt64(countIf(created AND processed)) AS processed,
           toInt64(countIf(created AND failed AND NOT processed)) AS failed,
           toInt64(countIf(created AND deduplicated AND NOT processed AND NOT failed))
               AS deduplicated,
           toInt64(countIf(created AND NOT processed AND NOT failed AND NOT deduplicated))
               AS in_flight
    FROM per_job GROUP BY environment ORDER BY environment
    """
