"""The Collector's rows read as the toolkit's tables, in ClickHouse SQL.

The exporter keeps every attribute as text in a ``Map(LowCardinality(String), String)`` and
the event name either in ``EventName`` (newer exporters) or only in
``LogAttributes['event.name']``. The subqueries built here present ``otel_logs`` and
``otel_traces`` with the columns, names and types of the DuckDB store's ``logs`` and
``spans`` (docs/store.md): the promoted attributes of ``schema.HOT_ATTRIBUTES`` as real
columns (integers parsed from their text, absent keys ``NULL``), ids in lower-case hex, times
at microseconds. The rollup, the audit and the read methods all read through them, so the
mapping lives once. ClickHouse prunes the columns a query does not use, and the time bounds
are applied to the raw ``Timestamp`` (and ``TimestampTime``, the logs' primary key) so that
the primary index and the daily partitions narrow the scan.

Values are written into the SQL as literals (:func:`literal`), escaped here, instead of as
driver parameters: the two drivers format parameters differently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from toolkit.store.schema import HOT_ATTRIBUTES

__all__ = [
    "LOG_FINGERPRINT",
    "Tables",
    "in_list",
    "literal",
    "logs_relation",
    "quote",
    "span_events_relation",
    "span_links_relation",
    "spans_relation",
]


def quote(text: str) -> str:
    """A ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def literal(value: Any) -> str:
    """A ClickHouse literal for a Python value (naive datetimes are UTC)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, datetime):
        return f"toDateTime64({quote(value.isoformat(sep=' '))}, 6, 'UTC')"
    return quote(str(value))


def in_list(values: Iterable[Any]) -> str:
    """``(a, b, ...)`` for an ``IN``; ``(NULL)`` (matches nothing) when empty."""
    items = [literal(v) for v in values]
    return f"({', '.join(items)})" if items else "(NULL)"


@dataclass(frozen=True)
class Tables:
    """Where the Collector's tables are and which optional columns they have."""

    database: str
    logs_columns: frozenset[str]
    traces_columns: frozenset[str]

    @property
    def logs(self) -> str:
        return f"{self.database}.otel_logs"

    @property
    def traces(self) -> str:
        return f"{self.database}.otel_traces"

    def table(self, name: str) -> str:
        """A toolkit table beside the Collector's (``rollup`` -> ``db.toolkit_rollup``)."""
        return f"{self.database}.toolkit_{name}"


def _attr_text(column: str, key: str) -> str:
    return f"if(mapContains({column}, {quote(key)}), {column}[{quote(key)}], NULL)"


def _attr_int(column: str, key: str) -> str:
    return f"toInt64OrNull({column}[{quote(key)}])"


def _hot(column: str) -> list[str]:
    out = []
    for h in HOT_ATTRIBUTES:
        expr = _attr_int(column, h.key) if h.sql_type == "BIGINT" else _attr_text(column, h.key)
        out.append(f"{expr} AS {h.column}")
    return out


def _optional(columns: frozenset[str], name: str, expr: str, null_type: str) -> str:
    return expr if name in columns else f"CAST(NULL AS Nullable({null_type}))"


_NULL_INT = "CAST(NULL AS Nullable(Int64))"


def _log_fingerprint(columns: frozenset[str]) -> str:
    parts = ["Timestamp", "TraceId", "SpanId", "TraceFlags", "SeverityText", "SeverityNumber",
             "ServiceName", "Body", "ResourceAttributes", "LogAttributes"]
    parts += [c for c in ("ScopeName", "ScopeVersion", "ScopeAttributes", "EventName")
              if c in columns]
    return f"sipHash128({', '.join(parts)})"


#: What makes two exporter log rows the same record (the loader's duplicate check and
#: ``record_id``), given the table's columns.
LOG_FINGERPRINT = _log_fingerprint


def _time_bounds(since: datetime | None, until: datetime | None, *, seconds_key: str | None
                 ) -> list[str]:
    clauses = []
    if since is not None:
        clauses.append(f"Timestamp >= {literal(since)}")
        if seconds_key:
            clauses.append(f"{seconds_key} >= toDateTime({literal(since)}, 'UTC')")
    if until is not None:
        clauses.append(f"Timestamp < {literal(until)}")
        if seconds_key:
            clauses.append(f"{seconds_key} <= toDateTime({literal(until)}, 'UTC')")
    return clauses


def _where(clauses: list[str]) -> str:
    return f"WHERE {' AND '.join(clauses)}" if clauses else ""


def event_name_sql(columns: frozenset[str]) -> str:
    """The record's event name: ``EventName`` when the exporter writes it and it is set,
    else the ``event.name`` attribute (older exporters, older SDKs)."""
    from_attr = _attr_text("LogAttributes", "event.name")
    if "EventName" in columns:
        return f"coalesce(nullIf(EventName, ''), {from_attr})"
    return from_attr


def _only(cols: list[str], wanted: Iterable[str] | None) -> list[str]:
    """The ``expr AS name`` items of ``cols`` named in ``wanted`` (all when ``None``): a
    query that needs four columns gets a subquery of four, which ClickHouse plans faster
    and which never computes a column nobody reads."""
    if wanted is None:
        return cols
    keep = set(wanted)
    return [c for c in cols if c.rsplit(" AS ", 1)[1] in keep]


def logs_relation(t: Tables, since: datetime | None = None, until: datetime | None = None,
                  where: Iterable[str] = (), columns: Iterable[str] | None = None) -> str:
    """``otel_logs`` as the store's ``logs`` table (same columns, same order), optionally only
    the records with ``since <= time < until`` and the raw-column conditions ``where``, and
    only the ``columns`` named."""
    c = t.logs_columns
    cols = [
        f"lower(hex({_log_fingerprint(c)})) AS record_id",
        "toDateTime64(Timestamp, 6, 'UTC') AS time",
        "toInt64(toUnixTimestamp64Nano(Timestamp)) AS time_unix_nano",
        "CAST(NULL AS Nullable(DateTime64(6, 'UTC'))) AS observed_time",
        f"{_NULL_INT} AS observed_time_unix_nano",
        "nullIf(lower(TraceId), '') AS trace_id",
        "nullIf(lower(SpanId), '') AS span_id",
        "toInt64(TraceFlags) AS flags",
        "toInt32(SeverityNumber) AS severity_number",
        "nullIf(toString(SeverityText), '') AS severity_text",
        f"{event_name_sql(c)} AS event_name",
        "toJSONString(Body) AS body",
        "Body AS body_text",
        "nullIf(toString(ServiceName), '') AS service_name",
        _optional(c, "ScopeName", "nullIf(toString(ScopeName), '')", "String") + " AS scope_name",
        _optional(c, "ScopeVersion", "nullIf(toString(ScopeVersion), '')", "String")
        + " AS scope_version",
        *_hot("LogAttributes"),
        "toJSONString(LogAttributes) AS attributes",
        "toJSONString(ResourceAttributes) AS resource_attributes",
        _optional(c, "ScopeAttributes", "toJSONString(ScopeAttributes)", "String")
        + " AS scope_attributes",
        f"{_NULL_INT} AS dropped_attributes_count",
    ]
    clauses = _time_bounds(since, until, seconds_key="TimestampTime"
                           if "TimestampTime" in c else None) + list(where)
    return f"(SELECT {', '.join(_only(cols, columns))} FROM {t.logs} {_where(clauses)})"


def _kind(expr: str, prefix: str) -> str:
    """``SPAN_KIND_SERVER`` (the exporter's proto names) or ``Server`` as ``server``."""
    return f"lower(replaceRegexpOne(toString({expr}), '^{prefix}', ''))"


def spans_relation(t: Tables, since: datetime | None = None, until: datetime | None = None,
                   where: Iterable[str] = ()) -> str:
    """``otel_traces`` as the store's ``spans`` table (same columns, same order)."""
    c = t.traces_columns
    scope_name = ("nullIf(ScopeName, '')" if "ScopeName" in c
                  else _attr_text("SpanAttributes", "otel.scope.name"))
    scope_version = ("nullIf(ScopeVersion, '')" if "ScopeVersion" in c
                     else _attr_text("SpanAttributes", "otel.scope.version"))
    end_ns = "toInt64(toUnixTimestamp64Nano(Timestamp)) + toInt64(Duration)"
    cols = [
        "lower(TraceId) AS trace_id",
        "lower(SpanId) AS span_id",
        "nullIf(lower(ParentSpanId), '') AS parent_span_id",
        "toString(SpanName) AS name",
        f"{_kind('SpanKind', 'SPAN_KIND_')} AS kind",
        "toDateTime64(Timestamp, 6, 'UTC') AS start_time",
        f"toDateTime64(fromUnixTimestamp64Nano({end_ns}, 'UTC'), 6, 'UTC') AS end_time",
        "toInt64(Duration) AS duration_ns",
        "toInt64(toUnixTimestamp64Nano(Timestamp)) AS start_time_unix_nano",
        f"{end_ns} AS end_time_unix_nano",
        f"{_kind('StatusCode', 'STATUS_CODE_')} AS status_code",
        "nullIf(StatusMessage, '') AS status_message",
        "nullIf(toString(ServiceName), '') AS service_name",
        f"{scope_name} AS scope_name",
        f"{scope_version} AS scope_version",
        *_hot("SpanAttributes"),
        "nullIf(TraceState, '') AS trace_state",
        f"{_NULL_INT} AS flags",
        "toJSONString(SpanAttributes) AS attributes",
        "toJSONString(ResourceAttributes) AS resource_attributes",
        "CAST(NULL AS Nullable(String)) AS scope_attributes",
        f"{_NULL_INT} AS dropped_attributes_count",
        f"{_NULL_INT} AS dropped_events_count",
        f"{_NULL_INT} AS dropped_links_count",
    ]
    clauses = _time_bounds(since, until, seconds_key=None) + list(where)
    return f"(SELECT {', '.join(cols)} FROM {t.traces} {_where(clauses)})"


def span_events_relation(t: Tables, trace_id: str) -> str:
    """The events of one trace's spans, as the store's ``span_events``."""
    return f"""(
        SELECT lower(TraceId) AS trace_id, lower(SpanId) AS span_id,
               toInt32(i - 1) AS event_index, toString(e_name) AS name,
               toDateTime64(e_time, 6, 'UTC') AS time,
               toInt64(toUnixTimestamp64Nano(e_time)) AS time_unix_nano,
               toJSONString(e_attributes) AS attributes,
               {_NULL_INT} AS dropped_attributes_count
        FROM {t.traces}
        ARRAY JOIN `Events.Name` AS e_name, `Events.Timestamp` AS e_time,
                   `Events.Attributes` AS e_attributes, arrayEnumerate(`Events.Name`) AS i
        WHERE TraceId = {quote(trace_id.lower())})"""


def span_links_relation(t: Tables, trace_id: str) -> str:
    """The links of one trace's spans, as the store's ``span_links``."""
    return f"""(
        SELECT lower(TraceId) AS trace_id, lower(SpanId) AS span_id,
               toInt32(i - 1) AS link_index, nullIf(lower(l_trace), '') AS linked_trace_id,
               nullIf(lower(l_span), '') AS linked_span_id,
               nullIf(l_state, '') AS trace_state, {_NULL_INT} AS flags,
               toJSONString(l_attributes) AS attributes,
               {_NULL_INT} AS dropped_attributes_count
        FROM {t.traces}
        ARRAY JOIN `Links.TraceId` AS l_trace, `Links.SpanId` AS l_span,
                   `Links.TraceState` AS l_state, `Links.Attributes` AS l_attributes,
                   arrayEnumerate(`Links.TraceId`) AS i
        WHERE TraceId = {quote(trace_id.lower())})"""
