"""OpenTelemetry SDK spans and log records as Arrow tables in the store's staging shape.

The SDK exporters hand a whole batch to DuckDB as Arrow columns (one bulk insert, never
row by row). Columns and encodings are those of the OTLP JSON loader (``otlp_sql``), so a
span or log record has the same row, and a log the same ``record_id``, whichever way it
arrived. Every table carries the position columns ``ln, ri, si, pi`` that ``ingest`` orders
duplicates by: here ``ln = ri = si = 0`` and ``pi`` is the index in the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from toolkit.errors import BadInput
from toolkit.store.schema import HOT_ATTRIBUTES
from toolkit.store.values import dumps, encode_attributes, encode_value

__all__ = ["log_tables", "span_tables"]

_log = logging.getLogger(__name__)

_INT64_MAX = 2**63 - 1
_US = pa.timestamp("us")


def _ts(ns: int | None) -> int | None:
    """Microseconds for a TIMESTAMP column (``None`` for 0/absent: unknown in OTLP)."""
    return ns // 1000 if ns else None


def _nanos(ns: int | None) -> int:
    if ns is None:
        return 0
    if not 0 <= ns <= _INT64_MAX:
        raise BadInput(f"timestamp {ns} ns is outside 0..{_INT64_MAX} (up to 2262-04-11)")
    return ns


def _hex(value: int, width: int) -> str | None:
    return format(value, f"0{width}x") if value else None


def _text(value: Any) -> str | None:
    """A promoted text column: strings, and integers as text (as the JSON loader does)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _bigint(value: Any) -> int | None:
    """A promoted integer column: integers, and strings holding one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -_INT64_MAX - 1 <= value <= _INT64_MAX else None
    if isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            return None
        return number if str(number) == value and -_INT64_MAX - 1 <= number <= _INT64_MAX else None
    return None


def _hot(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    attrs = attributes or {}
    out: dict[str, Any] = {}
    for hot in HOT_ATTRIBUTES:
        value = attrs.get(hot.key)
        out[hot.column] = _bigint(value) if hot.sql_type == "BIGINT" else _text(value)
    return out


# A process emits every record with the same few Resource and scope objects: encode each
# once. Keyed by identity and holding the object, so an id is never reused while cached.
_ENCODED: dict[int, tuple[Any, tuple[Any, ...]]] = {}


def _memo(obj: Any, encode: Callable[[Any], tuple[Any, ...]]) -> tuple[Any, ...]:
    hit = _ENCODED.get(id(obj))
    if hit is not None and hit[0] is obj:
        return hit[1]
    value = encode(obj)
    if len(_ENCODED) > 256:
        _ENCODED.clear()
    _ENCODED[id(obj)] = (obj, value)
    return value


def _encode_resource(resource: Any) -> tuple[str, str | None]:
    attrs = dict(getattr(resource, "attributes", None) or {})
    return encode_attributes(attrs), _text(attrs.get("service.name"))


def _encode_scope(scope: Any) -> tuple[str | None, str | None, str]:
    if scope is None:
        return None, None, "{}"
    name = getattr(scope, "name", None) or None
    version = getattr(scope, "version", None) or None
    return name, version, encode_attributes(dict(getattr(scope, "attributes", None) or {}))


def _resource(resource: Any) -> tuple[str, str | None]:
    return _memo(resource, _encode_resource)  # type: ignore[return-value]


def _scope(scope: Any) -> tuple[str | None, str | None, str]:
    return _memo(scope, _encode_scope)  # type: ignore[return-value]


_POSITIONS = ("ln", "ri", "si", "pi")


def _position(index: int) -> dict[str, int]:
    return {"ln": 0, "ri": 0, "si": 0, "pi": index}


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
    **{h.column: pa.int64() for h in HOT_ATTRIBUTES if h.sql_type == "BIGINT"},
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
    **{h.column: pa.int64() for h in HOT_ATTRIBUTES if h.sql_type == "BIGINT"},
}


def _table(rows: list[dict[str, Any]], types: Mapping[str, pa.DataType]) -> pa.Table | None:
    if not rows:
        return None
    names = list(rows[0])
    return pa.table(
        {
            name: pa.array(
                [row[name] for row in rows],
                type=pa.int64() if name in _POSITIONS else types.get(name, pa.string()),
            )
            for name in names
        }
    )


_Row = dict[str, Any]


def _span_row(index: int, span: Any) -> tuple[_Row, list[_Row], list[_Row]]:
    ctx = span.context
    trace_id, span_id = _hex(ctx.trace_id, 32), _hex(ctx.span_id, 16)
    start, end = _nanos(span.start_time), _nanos(span.end_time)
    resource_attributes, service_name = _resource(span.resource)
    scope_name, scope_version, scope_attributes = _scope(span.instrumentation_scope)
    parent = span.parent
    # As the SDK's OTLP encoder writes them (so both paths into the store agree): the
    # HAS_IS_REMOTE / IS_REMOTE bits of the parent, without the W3C trace flags.
    flags = 0x100 | (0x200 if parent is not None and parent.is_remote else 0)
    state = ctx.trace_state.to_header() if ctx.trace_state else ""
    row = {
        **_position(index),
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": _hex(parent.span_id, 16) if parent is not None else None,
        "name": span.name,
        "kind": span.kind.name.lower(),
        "start_time": _ts(start),
        "end_time": _ts(end),
        "duration_ns": end - start if start and end else None,
        "start_time_unix_nano": start,
        "end_time_unix_nano": end,
        "status_code": span.status.status_code.name.lower(),
        "status_message": span.status.description or None,
        "service_name": service_name,
        "scope_name": scope_name,
        "scope_version": scope_version,
        **_hot(span.attributes),
        "trace_state": state or None,
        "flags": flags,
        "attributes": encode_attributes(span.attributes),
        "resource_attributes": resource_attributes,
        "scope_attributes": scope_attributes,
        "dropped_attributes_count": span.dropped_attributes,
        "dropped_events_count": span.dropped_events,
        "dropped_links_count": span.dropped_links,
    }
    events = [
        {
            **_position(index),
            "trace_id": trace_id,
            "span_id": span_id,
            "event_index": i,
            "name": event.name,
            "time": _ts(_nanos(event.timestamp)),
            "time_unix_nano": _nanos(event.timestamp),
            "attributes": encode_attributes(event.attributes),
            "dropped_attributes_count": getattr(event, "dropped_attributes", 0),
        }
        for i, event in enumerate(span.events)
    ]
    links = [
        {
            **_position(index),
            "trace_id": trace_id,
            "span_id": span_id,
            "link_index": i,
            "linked_trace_id": _hex(link.context.trace_id, 32),
            "linked_span_id": _hex(link.context.span_id, 16),
            "trace_state": (
                link.context.trace_state.to_header() if link.context.trace_state else None
            )
            or None,
            "flags": 0x100 | (0x200 if link.context.is_remote else 0),
            "attributes": encode_attributes(link.attributes),
            "dropped_attributes_count": getattr(link, "dropped_attributes", 0),
        }
        for i, link in enumerate(span.links)
    ]
    return row, events, links


def _each(items: Sequence[Any], convert: Callable[[int, Any], Any], what: str) -> list[Any]:
    """Convert every item, dropping (and logging) the few the store cannot represent."""
    out = []
    for index, item in enumerate(items):
        try:
            out.append(convert(index, item))
        except BadInput as exc:
            _log.warning("dropped a %s the store cannot represent: %s", what, exc)
    return out


def span_tables(spans: Sequence[Any]) -> tuple[pa.Table | None, pa.Table | None, pa.Table | None]:
    """``(spans, events, links)`` for a batch of ``ReadableSpan`` (``None`` when empty)."""
    converted = _each(spans, _span_row, "span")
    rows = [c[0] for c in converted]
    events = [e for c in converted for e in c[1]]
    links = [link for c in converted for link in c[2]]
    return _table(rows, _SPAN_TYPES), _table(events, _EVENT_TYPES), _table(links, _LINK_TYPES)


def _log_row(index: int, item: Any) -> dict[str, Any]:
    # SDK >= 1.39 hands ReadableLogRecord (resource on the item); older ones LogData.
    record = getattr(item, "log_record", item)
    resource = getattr(item, "resource", None) or getattr(record, "resource", None)
    scope = getattr(item, "instrumentation_scope", None)
    timestamp = _nanos(record.timestamp)
    observed = _nanos(record.observed_timestamp)
    attributes = dict(record.attributes or {})
    resource_attributes, service_name = _resource(resource)
    scope_name, scope_version, scope_attributes = _scope(scope)
    body = record.body
    body_json = dumps(encode_value(body)) if body is not None else None
    severity = record.severity_number
    event_name = getattr(record, "event_name", None) or _text(attributes.get("event.name"))
    dropped = getattr(item, "dropped_attributes", None)
    if dropped is None:
        dropped = getattr(getattr(record, "attributes", None), "dropped", 0)
    return {
        **_position(index),
        "time": _ts(timestamp or observed),
        "time_unix_nano": timestamp,
        "observed_time": _ts(observed),
        "observed_time_unix_nano": observed,
        "trace_id": _hex(record.trace_id or 0, 32),
        "span_id": _hex(record.span_id or 0, 16),
        "flags": int(record.trace_flags or 0),
        "severity_number": severity.value if severity is not None else 0,
        "severity_text": record.severity_text or None,
        "event_name": event_name,
        "body": body_json,
        "body_text": body if isinstance(body, str) else body_json,
        "service_name": service_name,
        "scope_name": scope_name,
        "scope_version": scope_version,
        **_hot(attributes),
        "attributes": encode_attributes(attributes),
        "resource_attributes": resource_attributes,
        "scope_attributes": scope_attributes,
        "dropped_attributes_count": dropped or 0,
    }


def log_tables(records: Sequence[Any]) -> pa.Table | None:
    """The log table for a batch of ``ReadableLogRecord`` (or ``LogData``); ``None`` if empty."""
    return _table(_each(records, _log_row, "log record"), _LOG_TYPES)
