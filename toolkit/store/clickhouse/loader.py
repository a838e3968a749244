"""OTLP JSON files into ``otel_logs`` and ``otel_traces`` in the Collector's row shape.

The OTLP decoding is the DuckDB store's (``toolkit.store.Store.load`` into a private
in-memory store: the same accepted inputs, the same rejections, one parser); this module
only writes its rows the way the OpenTelemetry Collector's ``clickhouseexporter`` writes the
same records:

* every attribute value as ``pcommon.Value.AsString()`` renders it (:func:`as_string`):
  integers in decimal, booleans ``true``/``false``, doubles as JavaScript numbers print,
  bytes in standard base64, arrays and maps as JSON;
* ids in lower-case hex, ``''`` when absent; a log record's ``Timestamp`` is its observed
  time when its own time is 0; ``ServiceName`` is the resource's ``service.name``;
* ``SpanKind`` and ``StatusCode`` as the proto names (``SPAN_KIND_SERVER``,
  ``STATUS_CODE_UNSET``), ``Duration`` in nanoseconds, events and links as the ``Events.*``
  and ``Links.*`` nested arrays;
* only the columns the table has: an older exporter's table without ``EventName`` (or
  without the scope columns, whose traces then carry ``otel.scope.name`` and
  ``otel.scope.version`` as span attributes) gets what that exporter wrote.

The DuckDB store keeps no schema URLs, so ``ResourceSchemaUrl`` and ``ScopeSchemaUrl`` are
empty; ``EventName`` is the record's event name, also when the producer only set the
``event.name`` attribute (readers take either, so results do not change).

Loading a file again adds nothing: rows are written through a staging table and only those
not already stored are inserted (spans by trace id, span id and start; log records by a hash
of the whole row, as the DuckDB store's ``record_id``), comparing against the batch's time
range only.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from toolkit.otlp.decode.values import decode_value
from toolkit.store.api import Store
from toolkit.store.clickhouse.connection import Connection
from toolkit.store.clickhouse.sql import LOG_FINGERPRINT, Tables
from toolkit.store.load import LoadResult

__all__ = ["as_string", "copy_store", "load_file"]


def _js_number(value: float) -> str:
    """A double as Go's ``pcommon`` prints it: shortest round-trip digits, fixed notation
    between 1e-6 and 1e21, exponent without padding otherwise."""
    if math.isnan(value) or math.isinf(value):
        name = "NaN" if math.isnan(value) else "+Inf" if value > 0 else "-Inf"
        return f"json: unsupported value: {name}"
    if value == 0:
        return "0"
    if 1e-6 <= abs(value) < 1e21:
        text = format(Decimal(repr(value)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, exponent = repr(value).split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa}e{exponent[0]}{int(exponent[1:])}"


def _raw(value: Any) -> Any:
    """A decoded value as ``AsRaw`` then JSON would give it (bytes as base64)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _raw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_raw(v) for v in value]
    return value


def _go_json(value: Any) -> str:
    """JSON as Go's encoder writes an ``AsRaw`` value: sorted keys, whole doubles without
    ``.0`` (other doubles as Python writes them, which agrees for ordinary magnitudes)."""

    def prepare(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
            return int(v)
        if isinstance(v, dict):
            return {k: prepare(x) for k, x in v.items()}
        if isinstance(v, list):
            return [prepare(x) for x in v]
        return v

    return json.dumps(prepare(_raw(value)), ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True)


def as_string(value: Any) -> str:
    """One attribute value (as ``toolkit.otlp.decode.values.decode_value`` gives it) rendered as
    the Collector's ``pcommon.Value.AsString()`` renders it for the ClickHouse exporter."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _js_number(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return _go_json(value)


def _as_string_json(text: str) -> str:
    return as_string(decode_value(json.loads(text)))


#: A stored JSON value (docs/store.md) as ``AsString`` text, and an attribute object as the
#: exporter's map. Strings, integers and booleans are rendered in SQL; the rare doubles,
#: bytes, arrays and maps go to :func:`as_string`.
_MACROS = """
CREATE OR REPLACE TEMP MACRO ch_value(v) AS CASE
    WHEN v IS NULL THEN ''
    WHEN json_type(v) = 'VARCHAR' THEN v->>'$'
    WHEN json_type(v) IN ('BIGINT', 'UBIGINT', 'BOOLEAN') THEN v::VARCHAR
    ELSE toolkit_as_string(v::VARCHAR) END;
CREATE OR REPLACE TEMP MACRO ch_map(a) AS map_from_entries(list_transform(
    map_entries(coalesce(a, '{}')::JSON::MAP(VARCHAR, JSON)),
    lambda e: {'key': e.key, 'value': ch_value(e.value)}));
"""


def _prepare(mem: Store) -> None:
    con = mem.connection
    known = con.execute("SELECT count(*) FROM duckdb_functions() "
                        "WHERE function_name = 'toolkit_as_string'").fetchall()[0][0]
    if not known:
        con.create_function("toolkit_as_string", _as_string_json, ["VARCHAR"], "VARCHAR")
    con.execute(_MACROS)


def _arrow(con: Any, sql: str) -> pa.Table:
    relation = con.sql(sql)
    fetch = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
    return fetch()


def _log_rows(mem: Store, columns: frozenset[str], where: str = "true") -> pa.Table:
    rows = _arrow(mem.connection, f"""
        SELECT make_timestamp_ns(CASE WHEN coalesce(time_unix_nano, 0) > 0 THEN time_unix_nano
                                      ELSE coalesce(observed_time_unix_nano, 0) END)
                   AS "Timestamp",
               coalesce(trace_id, '') AS "TraceId", coalesce(span_id, '') AS "SpanId",
               (coalesce(flags, 0) & 255)::UTINYINT AS "TraceFlags",
               coalesce(severity_text, '') AS "SeverityText",
               coalesce(severity_number, 0)::UTINYINT AS "SeverityNumber",
               coalesce(service_name, '') AS "ServiceName",
               ch_value(body::JSON) AS "Body", '' AS "ResourceSchemaUrl",
               ch_map(resource_attributes) AS "ResourceAttributes", '' AS "ScopeSchemaUrl",
               coalesce(scope_name, '') AS "ScopeName",
               coalesce(scope_version, '') AS "ScopeVersion",
               ch_map(scope_attributes) AS "ScopeAttributes",
               ch_map(attributes) AS "LogAttributes",
               coalesce(event_name, '') AS "EventName"
        FROM logs WHERE {where} ORDER BY time_unix_nano, record_id
    """)
    return rows.select([c for c in rows.column_names if c in columns])


def _span_rows(mem: Store, columns: frozenset[str], where: str = "true") -> pa.Table:
    # Older exporters (no ScopeName column) put the scope among the span attributes.
    scope_in_attributes = "ScopeName" not in columns
    attributes = ("map_concat(ch_map(s.attributes), map_from_entries(list_filter(["
                  "{'key': 'otel.scope.name', 'value': coalesce(s.scope_name, '')}, "
                  "{'key': 'otel.scope.version', 'value': coalesce(s.scope_version, '')}], "
                  "lambda e: e.value <> '')))" if scope_in_attributes else "ch_map(s.attributes)")
    rows = _arrow(mem.connection, f"""
        WITH ev AS (
            SELECT trace_id, span_id,
                   list(make_timestamp_ns(coalesce(time_unix_nano, 0)) ORDER BY event_index)
                       AS times,
                   list(coalesce(name, '') ORDER BY event_index) AS names,
                   list(ch_map(attributes) ORDER BY event_index) AS attrs
            FROM span_events GROUP BY trace_id, span_id
        ),
        li AS (
            SELECT trace_id, span_id,
                   list(coalesce(linked_trace_id, '') ORDER BY link_index) AS traces,
                   list(coalesce(linked_span_id, '') ORDER BY link_index) AS spans,
                   list(coalesce(trace_state, '') ORDER BY link_index) AS states,
                   list(ch_map(attributes) ORDER BY link_index) AS attrs
            FROM span_links GROUP BY trace_id, span_id
        )
        SELECT make_timestamp_ns(coalesce(s.start_time_unix_nano, 0)) AS "Timestamp",
               s.trace_id AS "TraceId", s.span_id AS "SpanId",
               coalesce(s.parent_span_id, '') AS "ParentSpanId",
               coalesce(s.trace_state, '') AS "TraceState", coalesce(s.name, '') AS "SpanName",
               'SPAN_KIND_' || upper(coalesce(s.kind, 'unspecified')) AS "SpanKind",
               coalesce(s.service_name, '') AS "ServiceName",
               ch_map(s.resource_attributes) AS "ResourceAttributes",
               coalesce(s.scope_name, '') AS "ScopeName",
               coalesce(s.scope_version, '') AS "ScopeVersion",
               {attributes} AS "SpanAttributes",
               greatest(coalesce(s.end_time_unix_nano - s.start_time_unix_nano, 0), 0)::UBIGINT
                   AS "Duration",
               'STATUS_CODE_' || upper(coalesce(s.status_code, 'unset')) AS "StatusCode",
               coalesce(s.status_message, '') AS "StatusMessage",
               coalesce(ev.times, []) AS "Events.Timestamp",
               coalesce(ev.names, []) AS "Events.Name",
               coalesce(ev.attrs, []) AS "Events.Attributes",
               coalesce(li.traces, []) AS "Links.TraceId",
               coalesce(li.spans, []) AS "Links.SpanId",
               coalesce(li.states, []) AS "Links.TraceState",
               coalesce(li.attrs, []) AS "Links.Attributes"
        FROM (SELECT * FROM spans WHERE {where}) s
        LEFT JOIN ev USING (trace_id, span_id)
        LEFT JOIN li USING (trace_id, span_id)
        ORDER BY s.start_time_unix_nano, s.trace_id, s.span_id
    """)
    return rows.select([c for c in rows.column_names
                        if c in columns or c.split(".")[0] in columns])


def _insert_new(con: Connection, target: str, rows: pa.Table, key: str, bounds: str) -> int:
    """Insert the rows of ``rows`` whose ``key`` is not already in ``target`` (looked up in
    the batch's time range ``bounds`` only); returns how many were new."""
    if not rows.num_rows:
        return 0
    stage = f"{target.rsplit('.', 1)[0]}.toolkit_stage_{uuid.uuid4().hex}"
    con.command(f"CREATE TABLE {stage} AS {target} ENGINE = Memory")
    try:
        con.insert(stage, rows)
        new = f"""SELECT * FROM {stage} WHERE {key} NOT IN (
                      SELECT {key} FROM {target} WHERE {bounds})"""
        counted = con.arrow(f"SELECT count() AS n FROM ({new})").column("n")[0].as_py()
        if counted:
            con.command(f"INSERT INTO {target} {new}")
    finally:
        con.command(f"DROP TABLE IF EXISTS {stage}")
    return int(counted)


def _bounds(rows: pa.Table, *, seconds_key: str | None) -> str:
    nanos = rows.column("Timestamp").cast(pa.int64())
    lo, hi = pc.min(nanos).as_py(), pc.max(nanos).as_py()
    lo_sql = f"fromUnixTimestamp64Nano(toInt64({lo}), 'UTC')"
    hi_sql = f"fromUnixTimestamp64Nano(toInt64({hi}), 'UTC')"
    clauses = [f"Timestamp >= {lo_sql}", f"Timestamp <= {hi_sql}"]
    if seconds_key:
        clauses += [f"{seconds_key} >= toDateTime({lo_sql}, 'UTC')",
                    f"{seconds_key} <= toDateTime({hi_sql}, 'UTC')"]
    return " AND ".join(clauses)


def _rejections(con: Connection, t: Tables, mem: Store) -> None:
    rows = _arrow(mem.connection, "SELECT file, line, item, error, raw, rejected_at "
                                  "FROM rejected ORDER BY file, line, item")
    if rows.num_rows:
        con.insert(t.table("rejected"), rows)


def _write(con: Connection, t: Tables, source: Store, log_where: str = "true",
           span_where: str = "true") -> tuple[tuple[int, int], tuple[int, int]]:
    """The rows of ``source`` (a DuckDB store) matching the conditions into the Collector's
    tables; returns ``(seen, new)`` for logs, then for spans."""
    _prepare(source)
    logs = _log_rows(source, t.logs_columns, log_where)
    logs_new = _insert_new(con, t.logs, logs, LOG_FINGERPRINT(t.logs_columns),
                           _bounds(logs, seconds_key="TimestampTime") if logs.num_rows else "")
    spans = _span_rows(source, t.traces_columns, span_where)
    spans_new = _insert_new(con, t.traces, spans, "(TraceId, SpanId, Timestamp)",
                            _bounds(spans, seconds_key=None) if spans.num_rows else "")
    return (logs.num_rows, logs_new), (spans.num_rows, spans_new)


def load_file(con: Connection, t: Tables, path: Path) -> LoadResult:
    """Load one OTLP JSON file (see ``toolkit.store.load``) into the Collector's tables.

    Returns:
        The counts, as the DuckDB store's ``load`` gives them: records already stored count
        as duplicates.
    """
    with Store.open(":memory:") as mem:
        parsed = mem.load(path, refresh=False)
        (logs_seen, logs_new), (spans_seen, spans_new) = _write(con, t, mem)
        _rejections(con, t, mem)
    result = LoadResult(
        parsed.files, parsed.lines, spans_new, logs_new,
        parsed.duplicates + (spans_seen - spans_new) + (logs_seen - logs_new),
        parsed.rejected, parsed.ignored_lines, parsed.rejections,
    )
    ledger = pa.table({
        "file": [str(path.resolve())],
        "size_bytes": pa.array([path.stat().st_size if path.exists() else 0], pa.int64()),
        "lines": pa.array([result.lines], pa.int64()),
        "spans_loaded": pa.array([result.spans_loaded], pa.int64()),
        "logs_loaded": pa.array([result.logs_loaded], pa.int64()),
        "duplicates": pa.array([result.duplicates], pa.int64()),
        "rejected": pa.array([result.rejected], pa.int64()),
    })
    con.insert(t.table("loaded_files"), ledger)
    return result


def copy_store(con: Connection, t: Tables, source: Store, *, days: int = 1) -> LoadResult:
    """Every span and log record of a DuckDB store into the Collector's tables, ``days`` of
    telemetry per batch (a store moving to ClickHouse; records already there are skipped)."""
    [(lo, hi)] = source.connection.execute(
        "SELECT min(t), max(t) FROM (SELECT min(time) AS t FROM logs UNION ALL "
        "SELECT max(time) FROM logs UNION ALL SELECT min(start_time) FROM spans UNION ALL "
        "SELECT max(start_time) FROM spans)").fetchall()
    total = LoadResult()
    if lo is None:
        return total
    step = timedelta(days=days)
    day = lo.replace(hour=0, minute=0, second=0, microsecond=0)
    while day <= hi:
        bounds = f"{{column}} >= TIMESTAMP '{day}' AND {{column}} < TIMESTAMP '{day + step}'"
        (logs_seen, logs_new), (spans_seen, spans_new) = _write(
            con, t, source, bounds.format(column="time"), bounds.format(column="start_time"))
        total = total + LoadResult(0, 0, spans_new, logs_new,
                                   spans_seen - spans_new + logs_seen - logs_new)
        day += step
    return total
