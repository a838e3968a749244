"""The ClickHouse store's schema: the Collector's tables found (never altered), the toolkit's
own ``toolkit_`` tables created and versioned beside them, and ``toolkit_meta``.
"""

from __future__ import annotations

import time
from importlib import resources
from typing import Final

from toolkit.errors import BadInput
from toolkit.store.clickhouse.connection import Connection
from toolkit.store.clickhouse.sql import Tables, quote

__all__ = [
    "JOB_LOG_COLUMNS",
    "SCHEMA_VERSION",
    "TOOLKIT_TABLES",
    "create_exporter_tables",
    "ensure_schema",
    "get_meta",
    "set_meta",
]

#: Bump when a ``toolkit_`` table changes (and say how to move an older database forward in
#: :data:`_UPGRADABLE`).
SCHEMA_VERSION: Final = 2

#: Versions a writable open brings forward in place: version 2 only added tables (the
#: detector fits and the alert's state), which schema.sql's ``CREATE TABLE IF NOT EXISTS``
#: adds to a version-1 database.
_UPGRADABLE: Final = ("1",)

#: The toolkit's own tables, in schema.sql's order.
TOOLKIT_TABLES: Final = ("meta", "env_minute", "job_logs", "log_minutes", "log_partitions",
                         "rejected", "loaded_files", "detector_fits", "alert_runs",
                         "alert_incidents", "alert_members", "alert_transitions",
                         "alert_outbox", "alert_counters")

#: The columns of ``toolkit_job_logs``, in order.
JOB_LOG_COLUMNS: Final = (
    "time", "event_name", "tenant", "environment", "source", "entity", "schema", "job_id",
    "version", "view_version", "trace_id", "survivor_job_id", "survivor_tenant",
    "survivor_environment", "survivor_source", "survivor_entity", "survivor_schema",
    "survivor_state", "survivor_version",
)

_EXPORTER_TABLES = ("otel_logs", "otel_traces")


def _statements(name: str) -> list[str]:
    text = resources.files("toolkit.store.clickhouse").joinpath(name).read_text("utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def create_exporter_tables(con: Connection) -> None:
    """Create ``otel_logs`` and ``otel_traces`` as the Collector's ClickHouse exporter does
    (its DDL, shipped with the toolkit, in the connection's database), if they are missing:
    for a ClickHouse that no Collector has written to yet, such as a new ``chdb:`` path."""
    db = con.target.database
    con.command(f"CREATE DATABASE IF NOT EXISTS {db}")
    for table in _EXPORTER_TABLES:
        for statement in _statements(f"{table}.sql"):
            con.command(statement.replace(" otel.", f" {db}.", 1))


def _columns(con: Connection, table: str) -> frozenset[str]:
    rows = con.arrow(
        f"SELECT name FROM system.columns WHERE database = {quote(con.target.database)} "
        f"AND table = {quote(table)}"
    )
    return frozenset(rows.column("name").to_pylist())


def ensure_schema(con: Connection, *, writable: bool) -> Tables:
    """Find the Collector's tables and make sure the toolkit's are there, of this version.

    Raises:
        BadInput: ``otel_logs`` or ``otel_traces`` is missing, the toolkit's tables are of
            another version, or they are missing and the store is opened read-only.
    """
    label, db = con.target.label, con.target.database
    logs, traces = (_columns(con, t) for t in _EXPORTER_TABLES)
    for table, found in zip(_EXPORTER_TABLES, (logs, traces), strict=True):
        if not found:
            raise BadInput(f"{label}: no table {db}.{table}: point the Collector's clickhouse "
                           f"exporter at database {db} first (or load OTLP files into it)")
    tables = Tables(db, logs, traces)
    found_version = get_meta(con, tables, "schema_version") if _columns(
        con, "toolkit_meta") else None
    if found_version == str(SCHEMA_VERSION):
        return tables
    if found_version is not None and found_version not in _UPGRADABLE:
        raise BadInput(f"{label}: toolkit tables of schema version {found_version}, this "
                       f"toolkit reads version {SCHEMA_VERSION}")
    if not writable:
        state = "yet" if found_version is None else f"of version {SCHEMA_VERSION} yet"
        raise BadInput(f"{label}: no toolkit tables in {db} {state} (open it writable once)")
    for statement in _statements("schema.sql"):
        con.command(statement.replace("{db}", db))
    set_meta(con, tables, "schema_version", str(SCHEMA_VERSION))
    return tables


def get_meta(con: Connection, tables: Tables, key: str) -> str | None:
    """The value of ``key`` in ``toolkit_meta``, or ``None`` when absent."""
    rows = con.arrow(f"SELECT argMax(value, version) AS v FROM {tables.table('meta')} "
                     f"WHERE key = {quote(key)}").column("v").to_pylist()
    return rows[0] if rows else None


def set_meta(con: Connection, tables: Tables, key: str, value: str | None) -> None:
    """Set (or, with ``None``, delete) ``key`` in ``toolkit_meta``."""
    text = "NULL" if value is None else quote(value)
    con.command(f"INSERT INTO {tables.table('meta')} VALUES ({quote(key)}, {text}, "
                f"{time.time_ns()})")
