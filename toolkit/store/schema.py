"""The versioned DuckDB schema: creating it, checking it, and the ``meta`` key/value table.

The DDL lives in ``schema.sql`` next to this module so that it reads as one document; this
module owns the version number and the mapping from telemetry attributes (docs/contracts.md)
to the promoted ("hot") columns, which the OTLP JSON loader and the SDK exporters share.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Final

import duckdb

from toolkit.errors import BadInput
from toolkit.store.migrations import migrate

__all__ = [
    "HOT_ATTRIBUTES",
    "SCHEMA_VERSION",
    "TABLES",
    "HotAttribute",
    "MigrationNeeded",
    "columns",
    "ddl",
    "ensure_schema",
    "get_meta",
    "set_meta",
]

#: Bump when a table or column changes, and add the step from the previous version to
#: ``migrations.py``: an older store is migrated in place when first opened, a newer one refused.
SCHEMA_VERSION: Final = 2

#: Every table of the store, in the order docs/store.md documents them.
TABLES: Final = (
    "meta",
    "spans",
    "span_events",
    "span_links",
    "logs",
    "env_minute",
    "rejected",
    "loaded_files",
    "ingest_cursors",
    "detector_fits",
    "alert_incidents",
    "alert_members",
    "alert_transitions",
    "alert_outbox",
    "alert_runs",
    "alert_counters",
)

#: Tables that hold telemetry (exported to Parquet and read back); the rest is bookkeeping.
TELEMETRY_TABLES: Final = ("spans", "span_events", "span_links", "logs", "env_minute")


@dataclass(frozen=True)
class HotAttribute:
    """One telemetry attribute promoted to a real column of ``spans`` and ``logs``."""

    column: str
    key: str
    sql_type: str  # "VARCHAR" or "BIGINT"


def _hot(column: str, key: str, sql_type: str = "VARCHAR") -> HotAttribute:
    return HotAttribute(column, key, sql_type)


#: The attributes of docs/contracts.md that detectors and the audit filter and join on.
HOT_ATTRIBUTES: Final = (
    _hot("tenant", "pipeline.tenant"),
    _hot("environment", "pipeline.environment"),
    _hot("source", "pipeline.source"),
    _hot("entity", "pipeline.entity"),
    _hot("schema", "pipeline.schema"),
    _hot("job_id", "pipeline.job.id", "BIGINT"),
    _hot("version", "pipeline.job.version", "BIGINT"),
    _hot("trigger", "pipeline.job.trigger"),
    _hot("attempt", "pipeline.job.attempt", "BIGINT"),
    _hot("decision", "pipeline.dedup.decision"),
    _hot("survivor_job_id", "pipeline.dedup.survivor.job.id", "BIGINT"),
    _hot("survivor_tenant", "pipeline.dedup.survivor.tenant"),
    _hot("survivor_environment", "pipeline.dedup.survivor.environment"),
    _hot("survivor_source", "pipeline.dedup.survivor.source"),
    _hot("survivor_entity", "pipeline.dedup.survivor.entity"),
    _hot("survivor_schema", "pipeline.dedup.survivor.schema"),
    _hot("survivor_state", "pipeline.dedup.survivor.state"),
    _hot("survivor_version", "pipeline.dedup.survivor.version", "BIGINT"),
    _hot("view_version", "pipeline.view.version", "BIGINT"),
    _hot("queue_depth", "pipeline.queue.depth", "BIGINT"),
    _hot("deployment_change", "pipeline.deployment.change"),
)


def ddl() -> str:
    """The whole schema of the current version (``CREATE ... IF NOT EXISTS`` throughout)."""
    return _ddl()


def _ddl() -> str:
    return resources.files("toolkit.store").joinpath("schema.sql").read_text(encoding="utf-8")


def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT temporary"
    ).fetchall()
    return {r[0] for r in rows}


def ensure_schema(con: duckdb.DuckDBPyConnection, label: str, *, writable: bool) -> None:
    """Create the schema in an empty database, migrate an older store, check a current one.

    Args:
        con: An open connection to the store's database.
        label: How to name the store in error messages (its path).
        writable: Whether ``con`` may create tables; a read-only empty file is refused.

    Raises:
        BadInput: The database is not a toolkit store, one of a newer schema version, or an
            older one opened read-only (it must be opened writable once to be migrated).
    """
    tables = _existing_tables(con)
    if not tables:
        if not writable:
            raise BadInput(f"{label}: empty database, not a toolkit store (open it writable once)")
        with _transaction(con):
            con.execute(_ddl())
            con.execute(
                "INSERT INTO meta VALUES ('schema_version', ?), ('created_at', "
                "strftime(now() AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'))",
                [str(SCHEMA_VERSION)],
            )
        return
    if "meta" not in tables:
        raise BadInput(f"{label}: a DuckDB database but not a toolkit store (no meta table)")
    found = get_meta(con, "schema_version")
    if found == str(SCHEMA_VERSION):
        return
    if found is None or not found.isdigit() or int(found) > SCHEMA_VERSION or int(found) < 1:
        raise BadInput(
            f"{label}: store schema version {found}, this toolkit reads version "
            f"{SCHEMA_VERSION}; load the telemetry into a new store"
        )
    if not writable:
        raise MigrationNeeded(
            f"{label}: store schema version {found} must be migrated to version "
            f"{SCHEMA_VERSION}: open it writable once"
        )
    with _transaction(con):
        migrate(con, int(found), SCHEMA_VERSION, _ddl())
        set_meta(con, "schema_version", str(SCHEMA_VERSION))


class MigrationNeeded(BadInput):
    """An older store was opened read-only: it must be opened writable once to migrate."""


class _transaction:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def __enter__(self) -> None:
        self._con.execute("BEGIN TRANSACTION")

    def __exit__(self, kind: object, error: object, tb: object) -> None:
        self._con.execute("COMMIT" if kind is None else "ROLLBACK")


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    """The value of ``key`` in ``meta``, or ``None`` when absent."""
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else None


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str | None) -> None:
    """Set (or, with ``None``, delete) ``key`` in ``meta``."""
    if value is None:
        con.execute("DELETE FROM meta WHERE key = ?", [key])
    else:
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Column names of ``table`` in schema order (the order every writer inserts in)."""
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ? ORDER BY column_index",
        [table],
    ).fetchall()
    return [r[0] for r in rows]
