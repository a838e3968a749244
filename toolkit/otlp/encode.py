"""OTLP/JSON encoding of spans and log records, shaped as the Collector's ``file`` exporter
writes them: the one encoder, used by every writer of telemetry files.

One export batch becomes one JSON line holding an ``ExportTraceServiceRequest`` /
``ExportLogsServiceRequest``: ``resourceSpans`` -> ``scopeSpans`` -> ``spans``
(``resourceLogs`` -> ``scopeLogs`` -> ``logRecords``), lowerCamelCase names, trace and span
ids as lowercase hex, 64-bit integers (``*TimeUnixNano``, ``intValue``) as decimal strings,
enums as integers.

Field presence follows the Collector's JSON marshaler (``pdata``, jsonpb with default values
omitted): zero numbers, empty strings and empty lists are left out, except the fields the
Collector always writes: ``resource``, ``scope``, ``traceId``, ``spanId``, ``parentSpanId``
(``""`` for a root span), a span's ``status`` (``{}`` when unset) and a log record's ``body``,
``traceId`` and ``spanId``. ``flags`` carries what the SDK's OTLP encoder sends: bit 8 ("has
is-remote") on spans and links, the trace flags on log records. The content is the SDK's own
OTLP protobuf encoding, field for field (``tests/otlp/test_codec.py`` checks it).

The text is written directly: building a dict per attribute for millions of records costs
more than the simulation itself, while most attribute fragments (tenant, environment,
schema, decision, event name) repeat and are cached as text. Records are read through the
SDK's public ``ReadableSpan`` / ``ReadableLogRecord`` attributes (the protocols below), so
this package does not import the SDK.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from json.encoder import encode_basestring
from typing import Any, Protocol

from toolkit.otlp.constants import (
    INT64_MAX,
    INT64_MIN,
    REQUESTS,
    SPAN_FLAGS_HAS_IS_REMOTE,
    SPAN_FLAGS_IS_REMOTE,
)

__all__ = ["LogLike", "SpanLike", "any_value", "key_values", "logs_line", "spans_line"]


class SpanLike(Protocol):
    """What is read of a span: the public attributes of the SDK's ``ReadableSpan``."""

    name: str
    kind: Any
    parent: Any
    start_time: int | None
    end_time: int | None
    attributes: Mapping[str, Any] | None
    events: Sequence[Any]
    links: Sequence[Any]
    status: Any
    resource: Any
    instrumentation_scope: Any
    dropped_attributes: int
    dropped_events: int
    dropped_links: int

    def get_span_context(self) -> Any: ...


class LogLike(Protocol):
    """What is read of a log record: the public attributes of the SDK's
    ``ReadableLogRecord``."""

    log_record: Any
    resource: Any
    instrumentation_scope: Any
    dropped_attributes: int


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def any_value(value: Any) -> dict[str, Any]:
    """One attribute value or log body as an OTLP ``AnyValue``."""
    kind = type(value)
    if kind is str:
        return {"stringValue": value}
    if kind is int:
        if INT64_MIN <= value <= INT64_MAX:
            return {"intValue": str(value)}
        return {"stringValue": str(value)}  # OTLP integers are int64; keep the digits
    if kind is bool:
        return {"boolValue": value}
    if kind is float:
        # JSON has no NaN or infinities; protobuf JSON spells them as strings.
        if math.isfinite(value):
            return {"doubleValue": value}
        return {"doubleValue": "NaN" if value != value else
                ("Infinity" if value > 0 else "-Infinity")}
    if value is None:
        return {}
    if isinstance(value, str):  # str subclasses (enums) after the fast exact-type checks
        return {"stringValue": str(value)}
    if isinstance(value, bool):
        return {"boolValue": bool(value)}
    if isinstance(value, int):
        return any_value(int(value))
    if isinstance(value, float):
        return any_value(float(value))
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    # An empty list is left out, as everywhere in protobuf JSON: ``{"arrayValue":{}}``.
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": key_values(value)} if value else {}}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [any_value(v) for v in value]} if value else {}}
    return {"stringValue": str(value)}


def key_values(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Attributes as a list of OTLP ``KeyValue``."""
    if not attributes:
        return []
    # An empty key is left out, as protobuf JSON leaves out every empty string.
    return [{"key": str(k), "value": any_value(v)} if k != "" else {"value": any_value(v)}
            for k, v in attributes.items()]


def _put_attributes(out: dict[str, Any], attributes: Mapping[str, Any] | None,
                    dropped: int) -> None:
    if attributes:
        out["attributes"] = key_values(attributes)
    if dropped:
        out["droppedAttributesCount"] = dropped


def _resource(resource: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if resource is not None:
        _put_attributes(out, resource.attributes, 0)
    return out


def _scope(scope: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if scope is None:
        return out
    if scope.name:
        out["name"] = scope.name
    if scope.version:
        out["version"] = scope.version
    _put_attributes(out, scope.attributes, 0)
    return out


def _span_flags(context: Any) -> int:
    if context is not None and context.is_remote:
        return SPAN_FLAGS_HAS_IS_REMOTE | SPAN_FLAGS_IS_REMOTE
    return SPAN_FLAGS_HAS_IS_REMOTE


def _trace_state(context: Any) -> str:
    state = context.trace_state
    return ",".join(f"{k}={v}" for k, v in state.items()) if state else ""


def _status(status: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if status is not None:
        if status.description:
            out["message"] = status.description
        if status.status_code.value:
            out["code"] = status.status_code.value
    return out


def _event(event: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if event.timestamp:
        out["timeUnixNano"] = str(event.timestamp)
    if event.name:
        out["name"] = event.name
    _put_attributes(out, event.attributes, getattr(event, "dropped_attributes", 0))
    return out


# -- text caches ----------------------------------------------------------------------------------
_MAX_CACHED = 1 << 16
_key_prefix: dict[str, str] = {}  # key -> '{"key":"...","value":'
_string_value: dict[str, str] = {}  # string -> '{"stringValue":"..."}'
_pair_text: dict[tuple[str, str], str] = {}  # (key, string) -> the whole KeyValue
_int_prefix: dict[str, str] = {}  # key -> '{"key":"...","value":{"intValue":"'
_resource_text: dict[Any, str] = {}
_scope_text: dict[Any, str] = {}


def _prefix(key: str) -> str:
    text = _key_prefix.get(key)
    if text is None:
        if len(_key_prefix) >= _MAX_CACHED:
            _key_prefix.clear()
        text = _key_prefix[key] = (
            '{"key":' + encode_basestring(str(key)) + ',"value":' if key != "" else '{"value":')
    return text


def _value_text(value: Any) -> str:
    kind = type(value)
    if kind is str:
        text = _string_value.get(value)
        if text is None:
            if len(_string_value) >= _MAX_CACHED:
                _string_value.clear()
            text = _string_value[value] = '{"stringValue":' + encode_basestring(value) + "}"
        return text
    if kind is int and INT64_MIN <= value <= INT64_MAX:
        return '{"intValue":"' + str(value) + '"}'
    if kind is bool:
        return '{"boolValue":true}' if value else '{"boolValue":false}'
    return _dumps(any_value(value))


def _body_text(body: Any) -> str:
    # Bodies are mostly unique sentences: encoded without filling the string cache.
    if type(body) is str:
        return '{"stringValue":' + encode_basestring(body) + "}"
    return _value_text(body)


def _attributes_text(attributes: Mapping[str, Any]) -> str:
    # The SDK's BoundedAttributes iterate through Python-level Mapping methods; its copy()
    # is a plain dict, iterated in C.
    items = attributes.copy().items() if hasattr(attributes, "copy") else attributes.items()
    pairs, int_prefixes = _pair_text, _int_prefix
    parts = []
    for key, value in items:
        kind = type(value)
        if kind is str:
            text = pairs.get((key, value))
            if text is None:
                if len(pairs) >= _MAX_CACHED:
                    pairs.clear()
                text = pairs[(key, value)] = _prefix(key) + _value_text(value) + "}"
        elif kind is int and INT64_MIN <= value <= INT64_MAX:
            prefix = int_prefixes.get(key)
            if prefix is None:
                prefix = int_prefixes[key] = _prefix(key) + '{"intValue":"'
            text = prefix + str(value) + '"}}'
        else:
            text = _prefix(key) + _value_text(value) + "}"
        parts.append(text)
    return ",".join(parts)


def _attrs_fields(attributes: Mapping[str, Any] | None, dropped: int) -> str:
    """``"attributes":[..],"droppedAttributesCount":n,`` with empty parts left out."""
    text = '"attributes":[' + _attributes_text(attributes) + "]," if attributes else ""
    if dropped:
        text += f'"droppedAttributesCount":{dropped},'
    return text


def _cached(cache: dict[Any, str], key: Any, encode: Callable[[Any], dict[str, Any]]) -> str:
    """A resource's or scope's JSON, kept: a batch's records share a few of them."""
    text = cache.get(key)
    if text is None:
        if len(cache) >= 64:
            cache.clear()
        text = cache[key] = _dumps(encode(key))
    return text


def _span_text(span: SpanLike) -> str:
    context = span.get_span_context()
    parent = span.parent
    state = _trace_state(context)
    parts = [
        f'{{"traceId":"{context.trace_id:032x}","spanId":"{context.span_id:016x}",',
        f'"traceState":{encode_basestring(state)},' if state else "",
        f'"parentSpanId":"{parent.span_id:016x}",' if parent is not None
        else '"parentSpanId":"",',
        f'"flags":{_span_flags(parent)},',
        f'"name":{encode_basestring(span.name)},' if span.name else "",
        f'"kind":{span.kind.value + 1},',
        f'"startTimeUnixNano":"{span.start_time}",' if span.start_time else "",
        f'"endTimeUnixNano":"{span.end_time}",' if span.end_time else "",
        _attrs_fields(span.attributes, span.dropped_attributes),
    ]
    if span.events:
        parts.append('"events":' + _dumps([_event(e) for e in span.events]) + ",")
    if span.dropped_events:
        parts.append(f'"droppedEventsCount":{span.dropped_events},')
    if span.links:
        parts.append('"links":[' + ",".join([_link_text(link) for link in span.links]) + "],")
    if span.dropped_links:
        parts.append(f'"droppedLinksCount":{span.dropped_links},')
    status = span.status
    if status is None or (not status.description and not status.status_code.value):
        parts.append('"status":{}}')
    else:
        parts.append('"status":' + _dumps(_status(status)) + "}")
    return "".join(parts)


def _link_text(link: Any) -> str:
    context = link.context
    state = _trace_state(context)
    return "".join((
        f'{{"traceId":"{context.trace_id:032x}","spanId":"{context.span_id:016x}",',
        f'"traceState":{encode_basestring(state)},' if state else "",
        _attrs_fields(link.attributes, getattr(link, "dropped_attributes", 0)),
        f'"flags":{_span_flags(context)}}}',
    ))


def _log_text(readable: LogLike) -> str:
    record = readable.log_record
    severity = record.severity_number
    flags = int(record.trace_flags or 0)
    event_name = getattr(record, "event_name", None)
    return "".join((
        f'{{"timeUnixNano":"{record.timestamp}",' if record.timestamp else "{",
        f'"observedTimeUnixNano":"{record.observed_timestamp}",'
        if record.observed_timestamp else "",
        f'"severityNumber":{severity.value},' if severity is not None and severity.value
        else "",
        f'"severityText":{encode_basestring(record.severity_text)},'
        if record.severity_text else "",
        '"body":' + _body_text(record.body) + ",",
        _attrs_fields(record.attributes, readable.dropped_attributes),
        f'"flags":{flags},' if flags else "",
        f'"traceId":"{record.trace_id:032x}",' if record.trace_id else '"traceId":"",',
        f'"spanId":"{record.span_id:016x}"' if record.span_id else '"spanId":""',
        f',"eventName":{encode_basestring(event_name)}}}' if event_name else "}",
    ))


def _group_text(
    items: Iterable[Any],
    encode: Callable[[Any], str],
    names: tuple[str, str, str],
) -> str:
    # Grouped by identity: records of one provider share their Resource and scope objects,
    # and Resource.__hash__ serialises all its attributes on every call.
    resources: dict[int, tuple[Any, dict[int, tuple[Any, list[str]]]]] = {}
    for item in items:
        resource = item.resource
        scopes = resources.get(id(resource))
        if scopes is None:
            scopes = resources[id(resource)] = (resource, {})
        scope = item.instrumentation_scope
        entry = scopes[1].get(id(scope))
        if entry is None:
            entry = scopes[1][id(scope)] = (scope, [])
        entry[1].append(encode(item))
    top, middle, leaf = names
    out = []
    for resource, scopes_by_id in resources.values():
        scope_entries = []
        for scope, encoded in scopes_by_id.values():
            schema = scope.schema_url if scope is not None else ""
            scope_entries.append(
                '{"scope":' + _cached(_scope_text, scope, _scope)
                + f',"{leaf}":[' + ",".join(encoded) + "]"
                + (f',"schemaUrl":{encode_basestring(schema)}}}' if schema else "}")
            )
        out.append(
            '{"resource":' + _cached(_resource_text, resource, _resource) + f',"{middle}":['
            + ",".join(scope_entries) + "]"
            + (f',"schemaUrl":{encode_basestring(resource.schema_url)}}}'
               if resource is not None and resource.schema_url else "}")
        )
    return f'{{"{top}":[' + ",".join(out) + "]}"


def spans_line(spans: Iterable[SpanLike]) -> bytes:
    """One JSON line (UTF-8, newline-terminated) holding a batch of spans."""
    return (_group_text(spans, _span_text, REQUESTS["spans"]) + "\n").encode("utf-8")


def logs_line(records: Iterable[LogLike]) -> bytes:
    """One JSON line (UTF-8, newline-terminated) holding a batch of log records."""
    return (_group_text(records, _log_text, REQUESTS["logs"]) + "\n").encode("utf-8")
