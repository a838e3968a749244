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
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from toolkit.store.api import Store
from toolkit.store.clickhouse.connection import Connection
from toolkit.store.clickhouse.sql import LOG_FINGERPRINT, Tables
from toolkit.store.otlp_json import LoadResult
from toolkit.store.values import decode_value

__all__ = ["as_string", "load_file"]

_MAP = pa.map_(pa.string(), pa.string())


def _js_number(value: float) -> str:
    """A double as Go's ``pcommon`` prints it: shortest round-trip digits, fixed notation
    between 1e-6 and 1e21, exponent without padding otherwise."""
    if math.isnan(value) or math.isinf(value):
        return f"json: unsupported value: {'NaN' if math.isnan(value) else '+Inf' if value > 0 else '-Inf'}"
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


class _Number(float):
    """A float that JSON-encodes as Go does (``3`` for 3.0)."""

    def __repr__(self) -> str:
        return _js_number(self)


def _go_json(value: Any) -> str:
    def prepare(v: Any) -> Any:
        if isinstance(v, float):
            return _Number(v)
        if isinstance(v, dict):
            return {k: prepare(x) for k, x in v.items()}
        if isinstance(v, list):
            return [prepare(x) for x in v]
        return v

    return json.dumps(prepare(_raw(value)), ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True)


def as_string(value: Any) -> str:
    """One attribute value (as ``toolkit.store.values.decode_value`` gives it) rendered as
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


@lru_cache(maxsize=4096)
def _map_cached(text: str | None) -> tuple[tuple[str, str], ...]:
    return _map(text)


def _map(text: str | None) -> tuple[tuple[str, str], ...]:
    if not text:
        return ()
    decoded = decode_value(json.loads(text))
    return tuple((str(k), as_string(v)) for k, v in decoded.items())


def _maps(column: pa.ChunkedArray, *, cached: bool = False) -> pa.Array:
    convert = _map_cached if cached else _map
    return pa.array([list(convert(t)) for t in column.to_pylist()], _MAP)


def _arrow(con: Any, sql: str) -> pa.Table:
    result = con.execute(sql)
    fetch = getattr(result, "to_arrow_table", None) or result.fetch_arrow_table
    return fetch()


def _log_rows(mem: Store, columns: frozenset[str]) -> pa.Table:
    rows = _arrow(mem.connection, """
        SELECT make_timestamp_ns(CASE WHEN coalesce(time_unix_nano, 0) > 0 THEN time_unix_nano
                                      ELSE coalesce(observed_time_unix_nano, 0) END)
                   AS "Timestamp",
               coalesce(trace_id, '') AS "TraceId", coalesce(span_id, '') AS "SpanId",
               (coalesce(flags, 0) & 255)::UTINYINT AS "TraceFlags",
               coalesce(severity_text, '') AS "SeverityText",
               coalesce(severity_number, 0)::UTINYINT AS "SeverityNumber",
               coalesce(service_name, '') AS "ServiceName",
               body, '' AS "ResourceSchemaUrl", resource_attributes, '' AS "ScopeSchemaUrl",
               coalesce(scope_name, '') AS "ScopeName",
               coalesce(scope_version, '') AS "ScopeVersion", scope_attributes, attributes,
               coalesce(event_name, '') AS "EventName"
        FROM logs ORDER BY time_unix_nano, record_id
    """)
    out = {
        "Timestamp": rows.column("Timestamp"),
        "TraceId": rows.column("TraceId"),
        "SpanId": rows.column("SpanId"),
        "TraceFlags": rows.column("TraceFlags"),
        "SeverityText": rows.column("SeverityText"),
        "SeverityNumber": rows.column("SeverityNumber"),
        "ServiceName": rows.column("ServiceName"),
        "Body": pa.array([as_string(None if b is None else decode_value(json.loads(b)))
                          for b in rows.column("body").to_pylist()], pa.string()),
        "ResourceSchemaUrl": rows.column("ResourceSchemaUrl"),
        "ResourceAttributes": _maps(rows.column("resource_attributes"), cached=True),
        "ScopeSchemaUrl": rows.column("ScopeSchemaUrl"),
        "ScopeName": rows.column("ScopeName"),
        "ScopeVersion": rows.column("ScopeVersion"),
        "ScopeAttributes": _maps(rows.column("scope_attributes"), cached=True),
        "LogAttributes": _maps(rows.column("attributes")),
        "EventName": rows.column("EventName"),
    }
    return pa.table({k: v for k, v in out.items() if k in columns})


def _span_rows(mem: Store, columns: frozenset[str]) -> pa.Table:
    rows = _arrow(mem.connection, """
        WITH ev AS (
            SELECT trace_id, span_id,
                   list(make_timestamp_ns(coalesce(time_unix_nano, 0)) ORDER BY event_index)
                       AS times,
                   list(coalesce(name, '') ORDER BY event_index) AS names,
                   list(attributes ORDER BY event_index) AS attrs
            FROM span_events GROUP BY trace_id, span_id
        ),
        li AS (
            SELECT trace_id, span_id,
                   list(coalesce(linked_trace_id, '') ORDER BY link_index) AS traces,
                   list(coalesce(linked_span_id, '') ORDER BY link_index) AS spans,
                   list(coalesce(trace_state, '') ORDER BY link_index) AS states,
                   list(attributes ORDER BY link_index) AS attrs
            FROM span_links GROUP BY trace_id, span_id
        )
        SELECT make_timestamp_ns(coalesce(s.start_time_unix_nano, 0)) AS "Timestamp",
               s.trace_id AS "TraceId", s.span_id AS "SpanId",
               coalesce(s.parent_span_id, '') AS "ParentSpanId",
               coalesce(s.trace_state, '') AS "TraceState", coalesce(s.name, '') AS "SpanName",
               'SPAN_KIND_' || upper(coalesce(s.kind, 'unspecified')) AS "SpanKind",
               coalesce(s.service_name, '') AS "ServiceName", s.resource_attributes,
               coalesce(s.scope_name, '') AS "ScopeName",
               coalesce(s.scope_version, '') AS "ScopeVersion", s.attributes,
               greatest(coalesce(s.end_time_unix_nano - s.start_time_unix_nano, 0), 0)::UBIGINT
                   AS "Duration",
               'STATUS_CODE_' || upper(coalesce(s.status_code, 'unset')) AS "StatusCode",
               coalesce(s.status_message, '') AS "StatusMessage",
               coalesce(ev.times, []) AS "Events.Timestamp",
               coalesce(ev.names, []) AS "Events.Name", coalesce(ev.attrs, []) AS ev_attrs,
               coalesce(li.traces, []) AS "Links.TraceId",
               coalesce(li.spans, []) AS "Links.SpanId",
               coalesce(li.states, []) AS "Links.TraceState", coalesce(li.attrs, []) AS li_attrs
        FROM spans s
        LEFT JOIN ev USING (trace_id, span_id)
        LEFT JOIN li USING (trace_id, span_id)
        ORDER BY s.start_time_unix_nano, s.trace_id, s.span_id
    """)
    attributes = [list(m) for m in (_map(t) for t in rows.column("attributes").to_pylist())]
    if "ScopeName" not in columns:  # older exporters put the scope among the attributes
        for pairs, name, version in zip(attributes, rows.column("ScopeName").to_pylist(),
                                        rows.column("ScopeVersion").to_pylist(), strict=True):
            pairs.extend([(k, v) for k, v in (("otel.scope.name", name),
                                              ("otel.scope.version", version)) if v])
    out = {name: rows.column(name) for name in rows.column_names
           if name[0].isupper() and name not in ("ScopeName", "ScopeVersion")}
    out["ResourceAttributes"] = _maps(rows.column("resource_attributes"), cached=True)
    out["SpanAttributes"] = pa.array(attributes, _MAP)
    out["ScopeName"] = rows.column("ScopeName")
    out["ScopeVersion"] = rows.column("ScopeVersion")
    out["Events.Attributes"] = pa.array(
        [[list(_map(t)) for t in attrs] for attrs in rows.column("ev_attrs").to_pylist()],
        pa.list_(_MAP))
    out["Links.Attributes"] = pa.array(
        [[list(_map(t)) for t in attrs] for attrs in rows.column("li_attrs").to_pylist()],
        pa.list_(_MAP))
    return pa.table({k: v for k, v in out.items() if k in columns or k.split(".")[0] in columns})


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
    frame = mem.rejected()
    if frame.empty:
        return
    table = pa.table({
        "file": pa.array(frame["file"].astype(str).tolist(), pa.string()),
        "line": pa.array(frame["line"].astype("int64").tolist(), pa.int64()),
        "item": pa.array(frame["item"].astype(str).tolist(), pa.string()),
        "error": pa.array(frame["error"].astype(str).tolist(), pa.string()),
        "raw": pa.array([None if r is None or r != r else str(r) for r in frame["raw"]],
                        pa.string()),
        "rejected_at": pa.array(frame["rejected_at"].tolist(), pa.timestamp("us")),
    })
    con.insert(t.table("rejected"), table)


def load_file(con: Connection, t: Tables, path: Path) -> LoadResult:
    """Load one OTLP JSON file (see ``toolkit.store.otlp_json``) into the Collector's tables.

    Returns:
        The counts, as the DuckDB store's ``load`` gives them: records already stored count
        as duplicates.
    """
    with Store.open(":memory:") as mem:
        parsed = mem.load(path, refresh=False)
        logs = _log_rows(mem, t.logs_columns)
        spans = _span_rows(mem, t.traces_columns)
        _rejections(con, t, mem)
    logs_new = _insert_new(con, t.logs, logs, LOG_FINGERPRINT(t.logs_columns),
                           _bounds(logs, seconds_key="TimestampTime") if logs.num_rows else "")
    spans_new = _insert_new(con, t.traces, spans, "(TraceId, SpanId, Timestamp)",
                            _bounds(spans, seconds_key=None) if spans.num_rows else "")
    result = LoadResult(
        parsed.files, parsed.lines, spans_new, logs_new,
        parsed.duplicates + (spans.num_rows - spans_new) + (logs.num_rows - logs_new),
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
