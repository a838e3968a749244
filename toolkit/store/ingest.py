"""Staged rows into the store, in bulk, without duplicates: the one write path.

The OTLP JSON loader stages rows (temporary tables) with the store's columns plus a position
``ln, ri, si, pi``, and hands them here. Natural keys make every write idempotent:

* spans by ``(trace_id, span_id, start_time_unix_nano)``. A re-sent span always has the
  same start; two spans that share ids but not a start are both kept, since discarding
  one silently is the failure this project exists to catch. Events and links are written
  only with a span that is new, so a re-sent span never grows extra events;
* logs by ``record_id``, an MD5 of the record's whole normalised content (OpenTelemetry
  log records carry no id of their own);
* rejected lines by ``(file, line, item)`` (a primary key: that table is small).

Within one batch the first occurrence (lowest position) wins; against the store, the row
already there wins. The duplicate check is an anti-join restricted to the batch's time
range, which DuckDB's zone maps turn into a scan of only the row groups of that range: a
load costs in proportion to what it writes, not to the history kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.store.rollup import mark_dirty
from toolkit.store.schema import columns

__all__ = [
    "LOG_HASH_COLUMNS",
    "LogInsert",
    "insert_logs",
    "insert_rejected",
    "insert_spans",
    "record_id_sql",
]

_POSITION = "ln, ri, si, pi"
_SPAN_KEY = ("trace_id", "span_id", "start_time_unix_nano")

#: What makes two log records the same record (everything but derived columns).
LOG_HASH_COLUMNS = (
    "time_unix_nano",
    "observed_time_unix_nano",
    "trace_id",
    "span_id",
    "flags",
    "severity_number",
    "severity_text",
    "event_name",
    "body",
    "attributes",
    "resource_attributes",
    "scope_name",
    "scope_version",
    "scope_attributes",
    "dropped_attributes_count",
)


def record_id_sql() -> str:
    """SQL computing a log record's ``record_id`` from its columns."""
    items = ", ".join(f"{c}::VARCHAR" for c in LOG_HASH_COLUMNS)
    return f"md5(to_json([{items}])::VARCHAR)"


def _arrow(relation: duckdb.DuckDBPyRelation) -> pa.Table:
    """The relation's rows as Arrow (``to_arrow_table`` in DuckDB 2, ``fetch_`` before)."""
    fetch = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
    return fetch()


def _select(con: duckdb.DuckDBPyConnection, table: str, alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{c}"' for c in columns(con, table))


def _has_repeats(con: duckdb.DuckDBPyConnection, relation: str, key: str) -> bool:
    rows = con.execute(f"SELECT count(*) <> count(DISTINCT ({key})) FROM {relation}").fetchall()
    return bool(rows and rows[0][0])


def _first_only(con: duckdb.DuckDBPyConnection, relation: str, key: str) -> str:
    """``QUALIFY`` keeping the first copy of a key within the batch, when there are copies."""
    if not _has_repeats(con, relation, key):
        return ""
    return f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {_POSITION}) = 1"


def _range(con: duckdb.DuckDBPyConnection, relation: str, column: str) -> tuple[str, str]:
    rows = con.execute(
        f"SELECT min({column})::VARCHAR, max({column})::VARCHAR, count(*) = count({column}) "
        f"FROM {relation}"
    ).fetchall()
    low, high, complete = rows[0]
    return (low, high) if complete and low is not None else ("", "")


def insert_spans(
    con: duckdb.DuckDBPyConnection, spans: str, events: str | None, links: str | None
) -> int:
    """Insert the staged spans that are new, with their events and links.

    Args:
        con: Connection to the store, inside the caller's transaction.
        spans: Relation of good staged spans (store columns plus position).
        events: Relation of their staged events (store columns plus the span's position).
        links: Relation of their staged links, likewise.

    Returns:
        How many spans were inserted (the rest were duplicates).
    """
    low, high = _range(con, spans, "start_time_unix_nano")
    window = f"AND s.start_time_unix_nano BETWEEN {low} AND {high}" if low else ""
    key = ", ".join(_SPAN_KEY)
    new = _arrow(
        con.sql(f"""
        INSERT INTO spans BY NAME
        SELECT {_select(con, "spans", "x")} FROM {spans} x
        WHERE NOT EXISTS (
            SELECT 1 FROM spans s
            WHERE s.trace_id = x.trace_id AND s.span_id = x.span_id
              AND s.start_time_unix_nano = x.start_time_unix_nano {window})
        {_first_only(con, spans, key)}
        RETURNING trace_id, span_id
    """)
    )
    if not new.num_rows:
        return 0
    con.register("_t_new_spans", new)
    try:
        for table, staged in (("span_events", events), ("span_links", links)):
            if staged:
                # Only the first staged copy of a new span brings its events and links.
                con.execute(f"""
                    INSERT INTO {table} BY NAME
                    SELECT {_select(con, table)} FROM (
                        SELECT * FROM {staged} x SEMI JOIN _t_new_spans n
                            USING (trace_id, span_id)
                        QUALIFY dense_rank() OVER (
                            PARTITION BY trace_id, span_id ORDER BY {_POSITION}) = 1
                    )
                """)
    finally:
        con.unregister("_t_new_spans")
    return new.num_rows


@dataclass(frozen=True)
class LogInsert:
    """What an insert of log records did: how many were new, and the earliest new time
    that can move the ``env_minute`` rollup (records with an environment)."""

    inserted: int
    earliest_rollup_time: datetime | None


def insert_logs(con: duckdb.DuckDBPyConnection, logs: str) -> LogInsert:
    """Insert the staged log records that are new (by ``record_id``).

    Args:
        con: Connection to the store, inside the caller's transaction.
        logs: Relation of good staged log records (store columns but ``record_id``, plus
            position).
    """
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _t_hashed AS
        SELECT {record_id_sql()} AS record_id, * FROM {logs}
    """)
    low, high = _range(con, "_t_hashed", "time")
    window = f"AND l.time BETWEEN '{low}' AND '{high}'" if low else ""
    try:
        new = _arrow(
            con.sql(f"""
            INSERT INTO logs BY NAME
            SELECT {_select(con, "logs", "x")} FROM _t_hashed x
            WHERE NOT EXISTS (
                SELECT 1 FROM logs l WHERE l.record_id = x.record_id {window})
            {_first_only(con, "_t_hashed", "record_id")}
            RETURNING time, environment
        """)
        )
    finally:
        con.execute("DROP TABLE IF EXISTS _t_hashed")
    earliest = None
    if new.num_rows:
        times = pc.filter(new.column("time"), pc.is_valid(new.column("environment")))
        low_time = pc.min(times).as_py() if len(times) else None
        earliest = low_time if isinstance(low_time, datetime) else None
    mark_dirty(con, earliest)
    return LogInsert(new.num_rows, earliest)


def insert_rejected(con: duckdb.DuckDBPyConnection, rejected: str) -> None:
    """Keep rejected lines/records aside; the same rejection twice is kept once.

    Args:
        con: Connection to the store.
        rejected: Relation with columns ``file, line, item, error, raw``.
    """
    con.execute(f"""
        INSERT OR IGNORE INTO rejected BY NAME
        SELECT file, line, item, error, raw, now() AT TIME ZONE 'UTC' AS rejected_at
        FROM {rejected}
    """)
