"""The SQL that turns OTLP JSON requests into staged store rows, inside DuckDB.

Parsing and flattening happen in DuckDB's own JSON reader (``from_json`` over a typed
structure, then ``unnest``) so that a load runs at the speed of vectorised C++ on all
cores; Python only splits the file into lines and names the lines that fail. Every staged
row carries its position (line ``ln``, resource ``ri``, scope ``si``, record ``pi``) and an
``error`` that is ``NULL`` for a good record, so one bad span never stops its neighbours.

Attribute values are stored as ``values.py`` describes (plain JSON, two wrapped types).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import Any, Final, Protocol

import duckdb

from toolkit.errors import BadInput
from toolkit.otlp.constants import (
    REQUESTS,
    SEVERITY_NAMES,
    SPAN_KINDS,
    STATUS_CODES,
    proto_names,
)
from toolkit.otlp.decode.values import dumps, otlp_to_plain

__all__ = [
    "REQUEST_STRUCTURE",
    "Promoted",
    "install_macros",
    "item_name",
    "kinds_sql",
    "promoted_from_json_sql",
    "record_path",
    "stage_logs_sql",
    "stage_spans_sql",
]

class Promoted(Protocol):
    """An attribute the store also keeps in a column of its own (``key`` -> ``column``)."""

    @property
    def column(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def sql_type(self) -> str:
        """``VARCHAR`` or ``BIGINT``."""
        ...


# -- the typed structure handed to from_json ------------------------------------------------
# 64-bit integers and enums are read as text: the JSON mapping allows numbers or strings, and
# only text keeps "not a number" apart from "absent". Nested array/kvlist values stay JSON
# (their recursion cannot be typed) and go to a Python function, rare in practice.

_ANY_VALUE = {
    "stringValue": "VARCHAR",
    "boolValue": "VARCHAR",
    "intValue": "VARCHAR",
    "doubleValue": "VARCHAR",
    "bytesValue": "VARCHAR",
    "arrayValue": "JSON",
    "kvlistValue": "JSON",
}
_KEY_VALUES = [{"key": "VARCHAR", "value": _ANY_VALUE}]
_RESOURCE = {"attributes": _KEY_VALUES, "droppedAttributesCount": "VARCHAR"}
_SCOPE = {
    "name": "VARCHAR",
    "version": "VARCHAR",
    "attributes": _KEY_VALUES,
    "droppedAttributesCount": "VARCHAR",
}
_SPAN = {
    "traceId": "VARCHAR",
    "spanId": "VARCHAR",
    "traceState": "VARCHAR",
    "parentSpanId": "VARCHAR",
    "flags": "VARCHAR",
    "name": "VARCHAR",
    "kind": "VARCHAR",
    "startTimeUnixNano": "VARCHAR",
    "endTimeUnixNano": "VARCHAR",
    "attributes": _KEY_VALUES,
    "droppedAttributesCount": "VARCHAR",
    "events": [
        {
            "timeUnixNano": "VARCHAR",
            "name": "VARCHAR",
            "attributes": _KEY_VALUES,
            "droppedAttributesCount": "VARCHAR",
        }
    ],
    "droppedEventsCount": "VARCHAR",
    "links": [
        {
            "traceId": "VARCHAR",
            "spanId": "VARCHAR",
            "traceState": "VARCHAR",
            "attributes": _KEY_VALUES,
            "droppedAttributesCount": "VARCHAR",
            "flags": "VARCHAR",
        }
    ],
    "droppedLinksCount": "VARCHAR",
    "status": {"message": "VARCHAR", "code": "VARCHAR"},
}
_LOG = {
    "timeUnixNano": "VARCHAR",
    "observedTimeUnixNano": "VARCHAR",
    "severityNumber": "VARCHAR",
    "severityText": "VARCHAR",
    "body": _ANY_VALUE,
    "attributes": _KEY_VALUES,
    "droppedAttributesCount": "VARCHAR",
    "flags": "VARCHAR",
    "traceId": "VARCHAR",
    "spanId": "VARCHAR",
    "eventName": "VARCHAR",
}

#: One line of an OTLP JSON file: a traces request, a logs request, or (Collector file
#: exporter with several pipelines into one file) both.
REQUEST_STRUCTURE: Final = {
    "resourceSpans": [{"resource": _RESOURCE, "scopeSpans": [{"scope": _SCOPE, "spans": [_SPAN]}]}],
    "resourceLogs": [
        {"resource": _RESOURCE, "scopeLogs": [{"scope": _SCOPE, "logRecords": [_LOG]}]}
    ],
}


# -- macros: one small job each ---------------------------------------------------------------

_MACROS = f"""
CREATE OR REPLACE TEMP MACRO otlp_int64(x) AS
    CASE WHEN TRY_CAST(x AS BIGINT)::VARCHAR = x THEN TRY_CAST(x AS BIGINT) END;

-- Unsigned 64-bit nanoseconds that fit the signed range (all TIMESTAMPs up to 2262-04-11).
CREATE OR REPLACE TEMP MACRO otlp_nanos(x) AS
    CASE WHEN x IS NULL THEN 0::BIGINT
         WHEN otlp_int64(x) >= 0 THEN otlp_int64(x) END;

CREATE OR REPLACE TEMP MACRO otlp_ts(ns) AS
    CASE WHEN ns > 0 THEN make_timestamp(ns // 1000) END;

CREATE OR REPLACE TEMP MACRO otlp_count(x) AS coalesce(TRY_CAST(x AS BIGINT), 0);

CREATE OR REPLACE TEMP MACRO otlp_is_hex(x) AS regexp_full_match(x, '[0-9a-fA-F]+');

-- Trace/span ids: hex of either case, or base64 of the right byte length (some producers
-- follow the protobuf JSON mapping literally). Hex of a non-standard length is kept as is.
CREATE OR REPLACE TEMP MACRO otlp_id(x, nbytes) AS
    CASE WHEN x IS NULL OR x = '' THEN NULL
         WHEN length(x) = 2 * nbytes AND otlp_is_hex(x) THEN lower(x)
         WHEN length(x) = (nbytes + 2) // 3 * 4
              AND try(octet_length(from_base64(x))) = nbytes THEN lower(hex(from_base64(x)))
         WHEN otlp_is_hex(x) THEN lower(x) END;

CREATE OR REPLACE TEMP MACRO otlp_id_error(field, x, nbytes) AS
    field || ' ' || to_json(x)::VARCHAR || ' is neither hex nor base64 of ' || nbytes || ' bytes';

CREATE OR REPLACE TEMP MACRO otlp_double_json(d) AS
    CASE WHEN d IS NULL THEN NULL
         WHEN isnan(d) THEN '{{"$double":"NaN"}}'
         WHEN isinf(d) AND d > 0 THEN '{{"$double":"Infinity"}}'
         WHEN isinf(d) THEN '{{"$double":"-Infinity"}}'
         ELSE d::VARCHAR END;

CREATE OR REPLACE TEMP MACRO otlp_b64(x) AS
    try(to_base64(from_base64(
        rpad(replace(replace(x, '-', '+'), '_', '/'), ((length(x) + 3) // 4 * 4)::INTEGER, '='))));

-- An AnyValue as stored JSON text (values.py); NULL when the value is invalid.
CREATE OR REPLACE TEMP MACRO otlp_value_json(v) AS
    CASE WHEN v IS NULL THEN 'null'
         WHEN v.stringValue IS NOT NULL THEN to_json(v.stringValue)::VARCHAR
         WHEN v.boolValue IS NOT NULL THEN
              CASE v.boolValue WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' END
         WHEN v.intValue IS NOT NULL THEN otlp_int64(v.intValue)::VARCHAR
         WHEN v.doubleValue IS NOT NULL THEN otlp_double_json(TRY_CAST(v.doubleValue AS DOUBLE))
         WHEN v.bytesValue IS NOT NULL THEN
              '{{"$bytes":' || to_json(otlp_b64(v.bytesValue))::VARCHAR || '}}'
         WHEN v.arrayValue IS NOT NULL OR v.kvlistValue IS NOT NULL THEN
              toolkit_otlp_nested(v.arrayValue::VARCHAR, v.kvlistValue::VARCHAR)
         ELSE 'null' END;

-- One attribute as the text `"key":value` of a JSON object; NULL when the value is invalid.
CREATE OR REPLACE TEMP MACRO otlp_part(a) AS
    to_json(coalesce(a.key, ''))::VARCHAR || ':' || otlp_value_json(a.value);

-- Per resource or scope (few rows), where computing a list twice costs nothing.
CREATE OR REPLACE TEMP MACRO otlp_attrs_json(attrs) AS
    CASE WHEN attrs IS NULL THEN '{{}}'
         WHEN list_count([otlp_part(a) FOR a IN attrs]) = len(attrs)
         THEN '{{' || array_to_string([otlp_part(a) FOR a IN attrs], ',') || '}}' END;
CREATE OR REPLACE TEMP MACRO otlp_attrs_error(what, attrs) AS
    [what || ' ' || to_json(coalesce(a.key, ''))::VARCHAR || ' has an invalid value'
     FOR a IN attrs IF otlp_part(a) IS NULL][1];
CREATE OR REPLACE TEMP MACRO otlp_service_name(attrs) AS
    [coalesce(a.value.stringValue, a.value.intValue)
     FOR a IN attrs IF a.key = 'service.name'][1];

CREATE OR REPLACE TEMP MACRO otlp_kind(x) AS
    CASE WHEN x IS NULL THEN 'unspecified' ELSE
    {list(SPAN_KINDS)!r}[
        coalesce(
            CASE WHEN otlp_int64(x) BETWEEN 0 AND {len(SPAN_KINDS) - 1} THEN otlp_int64(x) END,
            list_position({proto_names("SPAN_KIND_", SPAN_KINDS)!r}, x) - 1
        ) + 1] END;

CREATE OR REPLACE TEMP MACRO otlp_status(x) AS
    CASE WHEN x IS NULL THEN 'unset' ELSE
    {list(STATUS_CODES)!r}[
        coalesce(
            CASE WHEN otlp_int64(x) BETWEEN 0 AND {len(STATUS_CODES) - 1} THEN otlp_int64(x) END,
            list_position({proto_names("STATUS_CODE_", STATUS_CODES)!r}, x) - 1
        ) + 1] END;

CREATE OR REPLACE TEMP MACRO otlp_severity(x) AS
    CASE WHEN x IS NULL THEN 0 ELSE coalesce(
        CASE WHEN otlp_int64(x) BETWEEN 0 AND {len(SEVERITY_NAMES) - 1} THEN otlp_int64(x) END,
        list_position({list(SEVERITY_NAMES)!r}, replace(x, 'SEVERITY_NUMBER_', '')) - 1
    )::INTEGER END;
"""


def _nested_value_json(array_json: str | None, kvlist_json: str | None) -> str | None:
    """DuckDB scalar function: an ``arrayValue``/``kvlistValue`` as stored JSON, or NULL."""
    try:
        if array_json is not None:
            plain: Any = otlp_to_plain({"arrayValue": json.loads(array_json)})
        elif kvlist_json is not None:
            plain = otlp_to_plain({"kvlistValue": json.loads(kvlist_json)})
        else:
            return "null"
        return dumps(plain)
    except (BadInput, ValueError, TypeError, RecursionError):  # RecursionError: nested too deep
        return None


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define the loader's temporary macros and its one Python function on ``con``."""
    with contextlib.suppress(duckdb.CatalogException):  # registered on this connection
        con.create_function(
            "toolkit_otlp_nested",
            _nested_value_json,
            ["VARCHAR", "VARCHAR"],
            "VARCHAR",
            null_handling="special",
            side_effects=False,
        )
    con.execute(_MACROS)


def _quoted(value: Any) -> str:
    return json.dumps(value).replace("'", "''")


def record_path(kind: str) -> str:
    """SQL for the JSON path of a staged record inside its line (``$.resourceSpans[0]...``)."""
    res, scope, rec = REQUESTS[kind]
    return f"'$.{res}[' || ri || '].{scope}[' || si || '].{rec}[' || pi || ']'"


def item_name(kind: str) -> str:
    """SQL naming a staged record for people (``resourceSpans[0].scopeSpans[0].spans[3]``)."""
    return record_path(kind).replace("'$.", "'", 1)


def _shape_ok(top: str, middle: str, leaf: str) -> str:
    """SQL: the ``top`` containers of the line have the JSON types OTLP gives them: lists
    of objects holding lists of objects. ``from_json`` reads a container of another type as
    NULL, which would drop its records silently; such a line is rejected instead.

    Checked on the line's small ``json_structure`` ``s`` (one element per list; a null or
    empty list is ``"NULL"``), parsing the line once. ``s`` says ``"JSON"`` both for mixed
    types and for an empty object, so only then is the line itself checked, path by path.
    """
    paths = [
        (f"$.{top}[*]", "OBJECT"),
        (f"$.{top}[*].{middle}", "ARRAY"),
        (f"$.{top}[*].{middle}[*]", "OBJECT"),
        (f"$.{top}[*].{middle}[*].{leaf}", "ARRAY"),
        (f"$.{top}[*].{middle}[*].{leaf}[*]", "OBJECT"),
    ]
    top_value = f"json_extract(s, '$.{top}')"

    def structure(allowed: str) -> str:
        first = (f"({top_value} IS NULL OR json_type({top_value}) = 'ARRAY' "
                 f"OR {top_value}::VARCHAR IN ({allowed}))")
        rest = [f"len([e FOR e IN json_extract(s, '{path}') IF NOT (json_type(e) = '{kind}' "
                f"OR e::VARCHAR IN ({allowed}))]) = 0" for path, kind in paths]
        return " AND ".join([first, *rest])

    exact = " AND ".join(
        [f"coalesce(json_type(text, '$.{top}'), 'NULL') IN ('ARRAY', 'NULL')"]
        + [f"len([t FOR t IN json_type(text, '{path}') IF t NOT IN ('{kind}', 'NULL')]) = 0"
           for path, kind in paths]
    )
    empty, unsure = """'"NULL"'""", """'"NULL"', '"JSON"'"""
    return (f"CASE WHEN {structure(empty)} THEN true "
            f"WHEN {structure(unsure)} THEN {exact} ELSE false END")


def kinds_sql(lines: str) -> str:
    """``_t_kinds(ln, keys)``: the top-level keys of each non-blank line; NULL when the line
    is not JSON, or when a traces/logs container has the wrong JSON type."""
    checks = " AND ".join(
        f"(NOT list_contains(keys, '{top}') OR ({_shape_ok(top, middle, leaf)}))"
        for top, middle, leaf in REQUESTS.values()
    )
    return f"""
    CREATE OR REPLACE TEMP TABLE _t_kinds AS
    SELECT ln, CASE WHEN keys IS NOT NULL AND {checks} THEN keys END AS keys
    FROM (
        SELECT ln, text, s, json_keys(s) AS keys FROM (
            SELECT ln, text, try(json_structure(text)) AS s FROM {lines}
            WHERE NOT regexp_full_match(text, '[ \\t\\r\\n]*')
        )
    )
    """


def _unnest(kind: str, lines: str, every_line: bool) -> str:
    """One row per record: ``ln, ri, si, pi, s`` (typed struct) with the resource and scope
    columns computed once per resource and scope, before the records are unnested.

    ``every_line`` says that each line of ``lines`` is a request of this kind; otherwise a
    join with ``_t_kinds`` picks the lines that are.
    """
    resources, scopes, records = REQUESTS[kind]
    structure = _quoted({resources: REQUEST_STRUCTURE[resources]})
    source = (
        f"{lines} l"
        if every_line
        else (
            f"{lines} l SEMI JOIN _t_kinds k "
            f"ON l.ln = k.ln AND list_contains(k.keys, '{resources}')"
        )
    )
    return f"""
    SELECT ln, ri, si, resource_attributes, resource_error, service_name,
           y.scope.name AS scope_name, y.scope.version AS scope_version,
           otlp_attrs_json(y.scope.attributes) AS scope_attributes,
           otlp_attrs_error('scope attribute', y.scope.attributes) AS scope_error,
           generate_subscripts(y.{records}, 1) - 1 AS pi, unnest(y.{records}) AS s
    FROM (
        SELECT ln, ri,
               otlp_attrs_json(x.resource.attributes) AS resource_attributes,
               otlp_attrs_error('resource attribute', x.resource.attributes) AS resource_error,
               otlp_service_name(x.resource.attributes) AS service_name,
               generate_subscripts(x.{scopes}, 1) - 1 AS si, unnest(x.{scopes}) AS y
        FROM (
            SELECT ln, generate_subscripts(r.{resources}, 1) - 1 AS ri,
                   unnest(r.{resources}) AS x
            FROM (
                SELECT l.ln, from_json(l.text, '{structure}') AS r FROM {source}
            )
        )
    )
    """


def _attr_lists(prefix: str, attrs: str) -> str:
    """The attribute list as JSON parts (computed once per record), and the list itself
    (to name the first invalid attribute)."""
    return f"[otlp_part(a) FOR a IN {attrs}] AS {prefix}_parts, {attrs} AS {prefix}_raw"


def _joined(prefix: str) -> str:
    parts = f"{prefix}_parts"
    return (
        f"CASE WHEN {parts} IS NULL THEN '{{}}' WHEN list_count({parts}) = len({parts}) "
        f"THEN '{{' || array_to_string({parts}, ',') || '}}' END"
    )


def _attr_error(what: str, prefix: str) -> str:
    first_bad = f"list_position([p IS NULL FOR p IN {prefix}_parts], true)"
    return (
        f"'{what} ' || to_json(coalesce({prefix}_raw[{first_bad}].key, ''))::VARCHAR "
        "|| ' has an invalid value'"
    )


def _nanos_error(field: str, raw: str, column: str) -> str:
    return (
        f"WHEN {column} IS NULL THEN '{field} ' || to_json({raw})::VARCHAR || "
        "' is not a whole number of nanoseconds in 0..9223372036854775807 (up to 2262-04-11)'"
    )


_RESOURCE_AND_SCOPE = f"""
            resource_attributes, resource_error, service_name, scope_name, scope_version,
            scope_attributes, scope_error,
            {_attr_lists("a", "s.attributes")}"""

_JOINED_ATTRIBUTES = f"""
            {_joined("a")} AS attributes"""

_ATTRIBUTE_ERRORS = """
            WHEN resource_error IS NOT NULL THEN resource_error
            WHEN scope_error IS NOT NULL THEN scope_error"""


def stage_spans_sql(lines: str, every_line: bool = False,
                    promoted: Sequence[Promoted] = ()) -> list[str]:
    """Statements staging ``_t_spans`` / ``_t_events`` / ``_t_links`` from the lines table.

    Each staged table has the store table's columns plus the position ``ln, ri, si, pi`` and
    ``error``; ``promoted`` names the attributes also given a column of their own. Layers
    (CTEs) compute every list once; a span whose event or link is invalid is rejected whole.
    """
    staged = f"""
    WITH u AS ({_unnest("spans", lines, every_line)}),
    a AS (
        SELECT ln, ri, si, pi,
            s.traceId AS raw_trace_id, s.spanId AS raw_span_id,
            s.parentSpanId AS raw_parent_span_id, s.name AS name, s.kind AS raw_kind,
            s.startTimeUnixNano AS raw_start, s.endTimeUnixNano AS raw_end,
            s.status.code AS raw_status, s.status.message AS raw_status_message,
            s.traceState AS raw_trace_state, s.flags AS raw_flags,
            s.droppedAttributesCount AS raw_dropped_attributes,
            s.droppedEventsCount AS raw_dropped_events,
            s.droppedLinksCount AS raw_dropped_links,
            s.events AS events, s.links AS links,{_RESOURCE_AND_SCOPE}
        FROM u
    ),
    b AS (
        SELECT *,
            otlp_id(raw_trace_id, 16) AS trace_id, otlp_id(raw_span_id, 8) AS span_id,
            otlp_id(raw_parent_span_id, 8) AS parent_span_id,
            otlp_nanos(raw_start) AS start_time_unix_nano,
            otlp_nanos(raw_end) AS end_time_unix_nano,
            otlp_kind(raw_kind) AS kind, otlp_status(raw_status) AS status_code,{_JOINED_ATTRIBUTES}
        FROM a
    )
    SELECT ln, ri, si, pi, trace_id, span_id, parent_span_id, name, kind,
        otlp_ts(start_time_unix_nano) AS start_time, otlp_ts(end_time_unix_nano) AS end_time,
        CASE WHEN start_time_unix_nano > 0 AND end_time_unix_nano > 0
             THEN end_time_unix_nano - start_time_unix_nano END AS duration_ns,
        start_time_unix_nano, end_time_unix_nano, status_code,
        nullif(raw_status_message, '') AS status_message,
        service_name, scope_name, scope_version,
        nullif(raw_trace_state, '') AS trace_state, otlp_count(raw_flags) AS flags,
        attributes, resource_attributes, scope_attributes,
        otlp_count(raw_dropped_attributes) AS dropped_attributes_count,
        otlp_count(raw_dropped_events) AS dropped_events_count,
        otlp_count(raw_dropped_links) AS dropped_links_count,
        events, links,
        CASE{_ATTRIBUTE_ERRORS}
            WHEN nullif(raw_trace_id, '') IS NULL THEN 'span has no traceId'
            WHEN trace_id IS NULL THEN otlp_id_error('traceId', raw_trace_id, 16)
            WHEN nullif(raw_span_id, '') IS NULL THEN 'span has no spanId'
            WHEN span_id IS NULL THEN otlp_id_error('spanId', raw_span_id, 8)
            WHEN nullif(raw_parent_span_id, '') IS NOT NULL AND parent_span_id IS NULL
                THEN otlp_id_error('parentSpanId', raw_parent_span_id, 8)
            {_nanos_error("startTimeUnixNano", "raw_start", "start_time_unix_nano")}
            {_nanos_error("endTimeUnixNano", "raw_end", "end_time_unix_nano")}
            WHEN kind IS NULL THEN 'kind ' || to_json(raw_kind)::VARCHAR || ' is not a span kind'
            WHEN status_code IS NULL
                THEN 'status code ' || to_json(raw_status)::VARCHAR || ' is not a status code'
            WHEN attributes IS NULL THEN {_attr_error("attribute", "a")}
        END AS error
    FROM b
    """
    spans = f"""
    CREATE OR REPLACE TEMP TABLE _t_spans AS
    SELECT * FROM {promoted_from_json_sql(f"({staged})", promoted)}
    """
    events = f"""
    CREATE OR REPLACE TEMP TABLE _t_events AS
    WITH u AS (
        SELECT ln, ri, si, pi, trace_id, span_id,
               generate_subscripts(events, 1) - 1 AS event_index, unnest(events) AS e
        FROM _t_spans WHERE len(events) > 0
    ),
    a AS (
        SELECT ln, ri, si, pi, trace_id, span_id, event_index::INTEGER AS event_index,
               e.name AS name, e.timeUnixNano AS raw_time,
               e.droppedAttributesCount AS raw_dropped,
               {_attr_lists("a", "e.attributes")}
        FROM u
    ),
    b AS (SELECT *, otlp_nanos(raw_time) AS time_unix_nano, {_joined("a")} AS attributes FROM a)
    SELECT ln, ri, si, pi, trace_id, span_id, event_index, name,
           otlp_ts(time_unix_nano) AS time, time_unix_nano, attributes,
           otlp_count(raw_dropped) AS dropped_attributes_count,
           CASE {_nanos_error("event timeUnixNano", "raw_time", "time_unix_nano")}
                WHEN attributes IS NULL THEN {_attr_error("event attribute", "a")}
           END AS error
    FROM b
    """
    links = f"""
    CREATE OR REPLACE TEMP TABLE _t_links AS
    WITH u AS (
        SELECT ln, ri, si, pi, trace_id, span_id,
               generate_subscripts(links, 1) - 1 AS link_index, unnest(links) AS l
        FROM _t_spans WHERE len(links) > 0
    ),
    a AS (
        SELECT ln, ri, si, pi, trace_id, span_id, link_index::INTEGER AS link_index,
               l.traceId AS raw_trace_id, l.spanId AS raw_span_id,
               nullif(l.traceState, '') AS trace_state, otlp_count(l.flags) AS flags,
               l.droppedAttributesCount AS raw_dropped,
               {_attr_lists("a", "l.attributes")}
        FROM u
    ),
    b AS (
        SELECT *, otlp_id(raw_trace_id, 16) AS linked_trace_id,
               otlp_id(raw_span_id, 8) AS linked_span_id, {_joined("a")} AS attributes
        FROM a
    )
    SELECT ln, ri, si, pi, trace_id, span_id, link_index, linked_trace_id, linked_span_id,
           trace_state, flags, attributes, otlp_count(raw_dropped) AS dropped_attributes_count,
           CASE WHEN linked_trace_id IS NULL
                    THEN otlp_id_error('link traceId', raw_trace_id, 16)
                WHEN linked_span_id IS NULL THEN otlp_id_error('link spanId', raw_span_id, 8)
                WHEN attributes IS NULL THEN {_attr_error("link attribute", "a")}
           END AS error
    FROM b
    """
    # A span is only as good as its events and links.
    propagate = """
    UPDATE _t_spans SET error = bad.error
    FROM (
        SELECT ln, ri, si, pi, min(error) AS error FROM (
            SELECT ln, ri, si, pi, error FROM _t_events WHERE error IS NOT NULL
            UNION ALL
            SELECT ln, ri, si, pi, error FROM _t_links WHERE error IS NOT NULL
        ) GROUP BY ALL
    ) AS bad
    WHERE _t_spans.error IS NULL AND _t_spans.ln = bad.ln AND _t_spans.ri = bad.ri
      AND _t_spans.si = bad.si AND _t_spans.pi = bad.pi
    """
    return [spans, events, links, propagate]


def stage_logs_sql(lines: str, every_line: bool = False,
                   promoted: Sequence[Promoted] = ()) -> list[str]:
    """Statements staging ``_t_logs`` from the lines table (store columns but
    ``record_id``, plus position and ``error``; ``promoted`` as for spans)."""
    staged = f"""
    WITH u AS ({_unnest("logs", lines, every_line)}),
    a AS (
        SELECT ln, ri, si, pi,
            s.timeUnixNano AS raw_time, s.observedTimeUnixNano AS raw_observed,
            s.traceId AS raw_trace_id, s.spanId AS raw_span_id, s.flags AS raw_flags,
            s.severityNumber AS raw_severity, s.severityText AS raw_severity_text,
            s.eventName AS raw_event_name, s.body.stringValue AS body_string,
            otlp_value_json(s.body) AS body_json,
            s.droppedAttributesCount AS raw_dropped,{_RESOURCE_AND_SCOPE}
        FROM u
    ),
    b AS (
        SELECT *,
            otlp_nanos(raw_time) AS time_unix_nano,
            otlp_nanos(raw_observed) AS observed_time_unix_nano,
            otlp_id(raw_trace_id, 16) AS trace_id, otlp_id(raw_span_id, 8) AS span_id,
            otlp_severity(raw_severity) AS severity_number,
            coalesce(nullif(raw_event_name, ''),
                     [a.value.stringValue FOR a IN a_raw IF a.key = 'event.name'][1])
                AS event_name,{_JOINED_ATTRIBUTES}
        FROM a
    )
    SELECT ln, ri, si, pi,
        otlp_ts(coalesce(nullif(time_unix_nano, 0), observed_time_unix_nano)) AS time,
        time_unix_nano, otlp_ts(observed_time_unix_nano) AS observed_time,
        observed_time_unix_nano, trace_id, span_id, otlp_count(raw_flags) AS flags,
        severity_number, nullif(raw_severity_text, '') AS severity_text, event_name,
        nullif(body_json, 'null') AS body,
        coalesce(body_string, nullif(body_json, 'null')) AS body_text,
        service_name, scope_name, scope_version,
        attributes, resource_attributes, scope_attributes,
        otlp_count(raw_dropped) AS dropped_attributes_count,
        CASE{_ATTRIBUTE_ERRORS}
            {_nanos_error("timeUnixNano", "raw_time", "time_unix_nano")}
            {_nanos_error("observedTimeUnixNano", "raw_observed", "observed_time_unix_nano")}
            WHEN nullif(raw_trace_id, '') IS NOT NULL AND trace_id IS NULL
                THEN otlp_id_error('traceId', raw_trace_id, 16)
            WHEN nullif(raw_span_id, '') IS NOT NULL AND span_id IS NULL
                THEN otlp_id_error('spanId', raw_span_id, 8)
            WHEN severity_number IS NULL
                THEN 'severityNumber ' || to_json(raw_severity)::VARCHAR
                     || ' is not a severity number'
            WHEN body_json IS NULL THEN 'body has an invalid value'
            WHEN attributes IS NULL THEN {_attr_error("attribute", "a")}
        END AS error
    FROM b
    """
    logs = f"""
    CREATE OR REPLACE TEMP TABLE _t_logs AS
    SELECT * FROM {promoted_from_json_sql(f"({staged})", promoted)}
    """
    return [logs]


def promoted_from_json_sql(relation: str, promoted: Sequence[Promoted]) -> str:
    """A subquery: ``relation`` with the promoted columns added from its ``attributes`` JSON.

    Promotion reads the attribute JSON once written, so a column always agrees with the
    ``attributes`` it came from; DuckDB parses each record's JSON once for all the keys. A
    text column takes a string, or an integer as text; an integer column takes a signed
    64-bit integer, or a string holding exactly one. (DuckDB types a JSON integer >= 0
    UBIGINT.)
    """
    if not promoted:
        return relation
    paths = ", ".join(f"'$.\"{h.key}\"'" for h in promoted)
    cols = []
    for i, h in enumerate(promoted, start=1):
        v = f"_hot[{i}]"
        if h.sql_type == "BIGINT":
            cols.append(
                f"CASE json_type({v}) WHEN 'BIGINT' THEN {v}::BIGINT "
                f"WHEN 'UBIGINT' THEN TRY_CAST({v} AS BIGINT) "
                f"WHEN 'VARCHAR' THEN otlp_int64({v}->>'$') END AS {h.column}"
            )
        else:
            cols.append(
                f"CASE json_type({v}) WHEN 'VARCHAR' THEN {v}->>'$' "
                f"WHEN 'BIGINT' THEN {v}::VARCHAR WHEN 'UBIGINT' THEN {v}::VARCHAR END "
                f"AS {h.column}"
            )
    return (
        f"(SELECT * EXCLUDE (_hot), {', '.join(cols)} FROM "
        f"(SELECT *, json_extract(attributes, [{paths}]) AS _hot FROM {relation}))"
    )
