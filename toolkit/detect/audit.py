"""The exact audit: proves from telemetry alone, with no statistics, which jobs were lost.

Three rules, each a small function over the store's ``logs`` table (job log records, see
docs/contracts.md), registered in :data:`RULES`:

``unjustified_drop``
    Every ``job.deduplicated`` record must name a survivor with the identical full key
    (tenant, environment, source, entity, schema), still *pending*, with a version not older
    (``toolkit.engine.truth.is_justified`` states the same rule for the ground truth).
``latest_not_processed``
    For every key that had a job, the newest version demanded (by ``job.created`` or an
    ``entity.ingested`` of the entity) must have been rendered by a ``job.processed``, unless a
    job for the key is still in flight (then it is late, not lost) or was given up
    (``job.failed``: a visible failure, listed separately).
``accounting``
    Per environment: created = processed + failed + deduplicated + in flight, every job ends at
    most once, and no job ends that was never created.

Each violation names environment, entity, schema, job, survivor, time and trace ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb

from toolkit.errors import BadInput

if TYPE_CHECKING:
    import pandas as pd

TERMINAL = ("job.processed", "job.failed", "job.deduplicated")
_TERMINAL_SQL = ", ".join(f"'{e}'" for e in TERMINAL)
_KEY = ("tenant", "environment", "source", "entity", "schema")


@dataclass(frozen=True, slots=True)
class Window:
    """Records with ``since <= time < until`` (either bound may be open)."""

    since: datetime | None = None
    until: datetime | None = None

    def sql(self, alias: str = "") -> tuple[str, list[Any]]:
        col = f"{alias}.time" if alias else "time"
        clauses, params = [], []
        if self.since is not None:
            clauses.append(f"{col} >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append(f"{col} < ?")
            params.append(self.until)
        return (" AND ".join(clauses) or "TRUE"), params


@dataclass
class AuditResult:
    """Violations of every rule, the stale views to regenerate, and the accounting."""

    window: Window
    violations: pd.DataFrame
    stale_views: pd.DataFrame
    accounting: pd.DataFrame
    failed_views: pd.DataFrame = field(default=None)  # type: ignore[assignment]

    @property
    def wrongful_discards(self) -> pd.DataFrame:
        return self.violations[self.violations.rule == "unjustified_drop"]

    def summary(self) -> dict[str, Any]:
        per_env = (self.wrongful_discards.groupby("environment").size().to_dict()
                   if len(self.violations) else {})
        return {
            "wrongful_discards": len(self.wrongful_discards),
            "views_to_regenerate": len(self.stale_views),
            "violations": len(self.violations),
            "environments_affected": sorted(per_env),
            "wrongful_discards_per_environment": {k: int(v) for k, v in per_env.items()},
        }


def unjustified_drop(con: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """Drops that no pending survivor with the identical key and a version not older
    justifies. The survivor's trace is found from its own ``job.created`` record."""
    where, params = window.sql("d")
    same_key = " AND ".join(f"d.survivor_{k} IS NOT DISTINCT FROM d.{k}" for k in _KEY)
    return con.execute(
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
                 WHEN NOT ({same_key}) THEN 'survivor has a different key: ' || concat_ws(', ',
                   {", ".join(f"CASE WHEN d.survivor_{k} IS DISTINCT FROM d.{k} THEN '{k} ' || "
                              f"coalesce(d.{k}, '?') || ' vs ' || coalesce(d.survivor_{k}, '?') END"
                              for k in _KEY)})
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
    ).df()


def _view_status(
    con: duckdb.DuckDBPyConnection, window: Window, as_of_end: bool = False
) -> pd.DataFrame:
    """Per key with a job in ``window``: latest version demanded, version rendered, jobs in
    flight, jobs given up; as of the window's end, or of the data's end with ``as_of_end``
    (a view left stale in the window but re-rendered later needs nothing)."""
    where, params = window.sql()
    open_end = window.until is None or as_of_end
    until = "TRUE" if open_end else "time < ?"
    until_params = [] if open_end else [window.until]
    return con.execute(
        f"""
        WITH scoped AS (SELECT * FROM logs WHERE {until}),
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
        [*until_params, *params],
    ).df()


def latest_not_processed(con: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """Keys whose newest version was never rendered, with nothing in flight and nothing
    given up: silently lost work."""
    import pandas as pd

    status = _view_status(con, window)
    lost = status[(status.in_flight == 0) & (status.failed == 0)].copy()
    lost.insert(0, "rule", "latest_not_processed")
    lost["detail"] = [
        f"version {v} never rendered (view at {'none' if pd.isna(r) else int(r)})"
        for v, r in zip(lost.latest_version, lost.rendered_version, strict=True)
    ]
    return lost


def accounting(con: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """Jobs that end twice, or end without having been created."""
    where, params = window.sql()
    return con.execute(
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
        WHERE ended > 1 OR (ended = 1 AND created = 0 AND {"TRUE" if window.since is None
                                                             else "FALSE"})
        ORDER BY time, job_id
        """,
        params,
    ).df()


RULES: dict[str, Callable[[duckdb.DuckDBPyConnection, Window], pd.DataFrame]] = {
    "unjustified_drop": unjustified_drop,
    "latest_not_processed": latest_not_processed,
    "accounting": accounting,
}


def environment_accounting(con: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """Per environment: created, processed, failed, deduplicated, in flight, and whether
    created = processed + failed + deduplicated + in flight."""
    where, params = window.sql()
    return con.execute(
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
    ).df()


def audit(
    con: duckdb.DuckDBPyConnection,
    window: Window | None = None,
    *,
    environments: list[str] | None = None,
    rules: list[str] | None = None,
    views_as_of_end: bool = False,
) -> AuditResult:
    """Run the audit rules over ``window`` and gather the evidence.

    With ``views_as_of_end`` the stale views are those left stale by the window's end and
    still stale at the end of the data: what still needs regenerating now.
    """
    import pandas as pd

    window = window or Window()
    names = rules or list(RULES)
    for name in names:
        if name not in RULES:
            raise BadInput(f"unknown audit rule {name!r} (known: {', '.join(RULES)})")
    _require_logs(con)
    frames = [RULES[name](con, window) for name in names]
    violations = pd.concat([f for f in frames if len(f)] or [frames[0].iloc[:0]],
                           ignore_index=True)
    status = _view_status(con, window)
    if views_as_of_end and window.until is not None:
        # Stale at the window's end *and* still stale now: damage done in the window and never
        # repaired (not later damage to keys that merely had a job in the window).
        now = _view_status(con, window, as_of_end=True)
        key = list(_KEY)
        status = now.merge(status[key], on=key, how="inner")
    stale = status[status.in_flight == 0].reset_index(drop=True)
    acct = environment_accounting(con, window)
    if environments:
        violations = violations[violations.environment.isin(environments)]
        stale = stale[stale.environment.isin(environments)]
        acct = acct[acct.environment.isin(environments)]
    return AuditResult(
        window,
        violations.reset_index(drop=True),
        stale[stale.failed == 0].reset_index(drop=True),
        acct.reset_index(drop=True),
        stale[stale.failed > 0].reset_index(drop=True),
    )


def _require_logs(con: duckdb.DuckDBPyConnection) -> None:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'logs'"
    ).fetchone()[0]
    if not found:
        raise BadInput("the store has no job logs table: load telemetry first")
