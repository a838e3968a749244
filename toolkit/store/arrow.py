"""Captured spans and log records (``capture.py``) as Arrow tables in the store's staging shape.

Records reach DuckDB as Arrow columns (one bulk insert, never row by row). Columns and
encodings are those of the OTLP JSON loader (``otlp_sql``), so a span or log record has the
same row, and a log the same ``record_id``, whichever way it arrived. Every table carries
the position columns ``ln, ri, si, pi`` that ``ingest`` orders duplicates by: here
``ln = ri = si = 0`` and ``pi`` is the index in the batch.

The work is column by column (a list comprehension per column, C for the JSON), because
this runs for every record the engine emits: the attribute JSON takes the C encoder's fast
path and falls back to ``values.encode_attributes`` only for values plain JSON cannot hold
(NaN, bytes, integers past 64 bits), so both give the same text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

import pyarrow as pa

from toolkit.errors import BadInput
from toolkit.store.capture import LogTuple, SpanTuple
from toolkit.store.values import (
    as_text,
    dumps,
    encode_attributes,
    encode_value,
    same_escapes,
)

__all__ = ["log_tables", "span_tables"]

_log = logging.getLogger(__name__)

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_US = pa.timestamp("us")
_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200


# -- values ------------------------------------------------------------------------------------


def _nanos(ns: int | None) -> int:
    if ns is None:
        return 0
    if not 0 <= ns <= _INT64_MAX:
        raise BadInput(f"timestamp {ns} ns is outside 0..{_INT64_MAX} (up to 2262-04-11)")
    return ns


def _bytes_or_fail(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return encode_value(value)
    raise TypeError  # anything else: the exact (slow) encoder decides


# The C encoder itself, made once: json.dumps would build one per call.
_c_encode = c_make_encoder(
    None, _bytes_or_fail, encode_basestring, None, ":", ",", False, False, False
)


def _attributes_json(attributes: Mapping[str, Any]) -> str:
    """``encode_attributes(attributes)``, in C unless a value needs wrapping (NaN, ...).

    An integer past the signed 64-bit range, which OTLP cannot carry, is kept as a JSON
    number here rather than dropping its record.
    """
    if not attributes:
        return "{}"
    try:
        return same_escapes("".join(_c_encode(attributes, 0)))
    except (TypeError, ValueError):
        return encode_attributes(attributes)


def _hex32(value: int | None) -> str | None:
    return f"{value:032x}" if value else None


def _hex16(value: int | None) -> str | None:
    return f"{value:016x}" if value else None


def _micros(ns: int) -> int | None:
    """Microseconds for a TIMESTAMP column (``None`` for 0: unknown in OTLP)."""
    return ns // 1000 if ns else None


# -- tables ------------------------------------------------------------------------------------

_POSITION_TYPES = dict.fromkeys(("ln", "ri", "si", "pi"), pa.int64())
_SPAN_TYPES: dict[str, pa.DataType] = {
    "start_time": _US,
    "end_time": _US,
    "duration_ns": pa.int64(),
    "start_time_unix_nano": pa.int64(),
    "end_time_unix_nano": pa.int64(),
    "flags": pa.int64(),
    "dropped_attributes_count": pa.int64(),
    "dropped_events_count": pa.int64(),
    "dropped_links_count": pa.int64(),
}
_EVENT_TYPES: dict[str, pa.DataType] = {
    "event_index": pa.int32(),
    "time": _US,
    "time_unix_nano": pa.int64(),
    "dropped_attributes_count": pa.int64(),
}
_LINK_TYPES: dict[str, pa.DataType] = {
    "link_index": pa.int32(),
    "flags": pa.int64(),
    "dropped_attributes_count": pa.int64(),
}
_LOG_TYPES: dict[str, pa.DataType] = {
    "time": _US,
    "time_unix_nano": pa.int64(),
    "observed_time": _US,
    "observed_time_unix_nano": pa.int64(),
    "flags": pa.int64(),
    "severity_number": pa.int32(),
    "dropped_attributes_count": pa.int64(),
}


def _table(columns: dict[str, list[Any]], types: Mapping[str, pa.DataType]) -> pa.Table:
    return pa.table(
        {
            name: pa.array(values, type=_POSITION_TYPES.get(name) or types.get(name, pa.string()))
            for name, values in columns.items()
        }
    )


def _positions(indexes: list[int]) -> dict[str, list[int]]:
    zeros = [0] * len(indexes)
    return {"ln": zeros, "ri": zeros, "si": zeros, "pi": indexes}


def _valid(
    rows: Sequence[tuple[Any, ...]], check: Callable[[tuple[Any, ...]], object], what: str
) -> list[tuple[Any, ...]]:
    """The rows the store can represent; the others are dropped, each with a warning."""
    out = []
    for row in rows:
        try:
            check(row)
        except BadInput as exc:
            _log.warning("dropped a %s the store cannot represent: %s", what, exc)
            continue
        out.append(row)
    return out


def _check_span(row: tuple[Any, ...]) -> None:
    span = SpanTuple._make(row)
    _nanos(span.start)
    _nanos(span.end)
    _attributes_json(span.attributes)
    for event in span.events:
        _nanos(event[1])
        _attributes_json(event[2])
    for link in span.links:
        _attributes_json(link[4])


def _check_log(row: tuple[Any, ...]) -> None:
    log = LogTuple._make(row)
    _nanos(log.time)
    _nanos(log.observed_time)
    _attributes_json(log.attributes)
    _body_json(log.body)


def _in_range(values: Sequence[int | None]) -> bool:
    present = [v for v in values if v is not None]
    return not present or (min(present) >= 0 and max(present) <= _INT64_MAX)


def _span_columns(rows: Sequence[tuple[Any, ...]]) -> dict[str, list[Any]]:
    (trace_ids, span_ids, parents, remote, names, kinds, starts, ends, statuses, messages,
     states, attributes, dropped_attributes, dropped_events, dropped_links, _events, _links,
     resources, scopes) = (list(c) for c in zip(*rows, strict=True))
    start_ns = [s or 0 for s in starts]
    end_ns = [e or 0 for e in ends]
    return {
        **_positions(list(range(len(rows)))),
        "trace_id": [_hex32(t) for t in trace_ids],
        "span_id": [_hex16(s) for s in span_ids],
        "parent_span_id": [_hex16(p) for p in parents],
        "name": names,
        "kind": kinds,
        "start_time": [_micros(s) for s in start_ns],
        "end_time": [_micros(e) for e in end_ns],
        "duration_ns": [e - s if s and e else None for s, e in zip(start_ns, end_ns, strict=True)],
        "start_time_unix_nano": start_ns,
        "end_time_unix_nano": end_ns,
        "status_code": statuses,
        "status_message": messages,
        "service_name": [r[1] for r in resources],
        "scope_name": [s[0] for s in scopes],
        "scope_version": [s[1] for s in scopes],
        "trace_state": states,
        "flags": [_HAS_IS_REMOTE | (_IS_REMOTE if r else 0) for r in remote],
        "attributes": [_attributes_json(a) for a in attributes],
        "resource_attributes": [r[0] for r in resources],
        "scope_attributes": [s[2] for s in scopes],
        "dropped_attributes_count": dropped_attributes,
        "dropped_events_count": dropped_events,
        "dropped_links_count": dropped_links,
    }


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]] | None:
    """Row dicts (all with the same keys) as columns; ``None`` for no rows."""
    if not rows:
        return None
    return {key: [row[key] for row in rows] for key in rows[0]}


def _event_rows(
    rows: Sequence[tuple[Any, ...]], span: Mapping[str, list[Any]]
) -> list[dict[str, Any]]:
    out = []
    for index, row in enumerate(rows):
        for i, (name, time, attributes, dropped) in enumerate(row[15]):
            ns = _nanos(time)
            out.append({
                "ln": 0, "ri": 0, "si": 0, "pi": index,
                "trace_id": span["trace_id"][index], "span_id": span["span_id"][index],
                "event_index": i, "name": name, "time": _micros(ns), "time_unix_nano": ns,
                "attributes": _attributes_json(attributes), "dropped_attributes_count": dropped,
            })
    return out


def _link_rows(
    rows: Sequence[tuple[Any, ...]], span: Mapping[str, list[Any]]
) -> list[dict[str, Any]]:
    out = []
    for index, row in enumerate(rows):
        for i, (trace_id, span_id, remote, state, attributes, dropped) in enumerate(row[16]):
            out.append({
                "ln": 0, "ri": 0, "si": 0, "pi": index,
                "trace_id": span["trace_id"][index], "span_id": span["span_id"][index],
                "link_index": i, "linked_trace_id": _hex32(trace_id),
                "linked_span_id": _hex16(span_id), "trace_state": state,
                "flags": _HAS_IS_REMOTE | (_IS_REMOTE if remote else 0),
                "attributes": _attributes_json(attributes), "dropped_attributes_count": dropped,
            })
    return out


_Tables = tuple[pa.Table | None, pa.Table | None, pa.Table | None]


def _span_tables(rows: Sequence[tuple[Any, ...]]) -> _Tables:
    if not rows:
        return None, None, None
    if not _in_range([t for row in rows for t in (row[6], row[7])]):
        raise BadInput("a span time is outside the store's range")
    span = _span_columns(rows)
    events = _columns(_event_rows(rows, span))
    links = _columns(_link_rows(rows, span))
    return (
        _table(span, _SPAN_TYPES),
        _table(events, _EVENT_TYPES) if events else None,
        _table(links, _LINK_TYPES) if links else None,
    )


def span_tables(rows: Sequence[tuple[Any, ...]]) -> _Tables:
    """``(spans, events, links)`` for captured spans (``None`` when empty).

    A span the store cannot represent (a time past 2262, an attribute value OTLP cannot
    carry) is dropped with a warning; the rest of the batch is kept.
    """
    try:
        return _span_tables(rows)
    except BadInput:
        return _span_tables(_valid(rows, _check_span, "span"))


def _body_json(body: Any) -> str | None:
    if body is None:
        return None
    if type(body) is str:
        return same_escapes("".join(_c_encode(body, 0)))
    return dumps(encode_value(body))


def _log_columns(rows: Sequence[tuple[Any, ...]]) -> dict[str, list[Any]]:
    (times, observed, trace_ids, span_ids, flags, severities, severity_texts, event_names,
     bodies, attributes, dropped, resources, scopes) = (list(c) for c in zip(*rows, strict=True))
    time_ns = [t or 0 for t in times]
    observed_ns = [o or 0 for o in observed]
    body_json = [_body_json(b) for b in bodies]
    return {
        **_positions(list(range(len(rows)))),
        "time": [_micros(t or o) for t, o in zip(time_ns, observed_ns, strict=True)],
        "time_unix_nano": time_ns,
        "observed_time": [_micros(o) for o in observed_ns],
        "observed_time_unix_nano": observed_ns,
        "trace_id": [_hex32(t) for t in trace_ids],
        "span_id": [_hex16(s) for s in span_ids],
        "flags": flags,
        "severity_number": severities,
        "severity_text": severity_texts,
        "event_name": [
            e or as_text(a.get("event.name")) for e, a in zip(event_names, attributes, strict=True)
        ],
        "body": body_json,
        "body_text": [b if type(b) is str else j for b, j in zip(bodies, body_json, strict=True)],
        "service_name": [r[1] for r in resources],
        "scope_name": [s[0] for s in scopes],
        "scope_version": [s[1] for s in scopes],
        "attributes": [_attributes_json(a) for a in attributes],
        "resource_attributes": [r[0] for r in resources],
        "scope_attributes": [s[2] for s in scopes],
        "dropped_attributes_count": dropped,
    }


def _log_table(rows: Sequence[tuple[Any, ...]]) -> pa.Table | None:
    if not rows:
        return None
    if not _in_range([t for row in rows for t in (row[0], row[1])]):
        raise BadInput("a log record time is outside the store's range")
    return _table(_log_columns(rows), _LOG_TYPES)


def log_tables(rows: Sequence[tuple[Any, ...]]) -> pa.Table | None:
    """The log table for captured log records (``None`` when empty); records the store
    cannot represent are dropped with a warning."""
    try:
        return _log_table(rows)
    except BadInput:
        return _log_table(_valid(rows, _check_log, "log record"))
