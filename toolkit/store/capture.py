"""SDK spans and log records as plain tuples: all the work an exporter does on the caller's thread.

The SDK's batch processors call ``export`` on the instrumented program's threads (the
lossless processors even on the emitting thread), and under the GIL every microsecond spent
there is a microsecond the engine waits. Capturing copies out only what the store needs, as
ints, strings, tuples and the attribute dicts themselves: no hex, no JSON, no Arrow. The
result pickles cheaply, so the encoding (``arrow.py``) and the insert can run in a writer
process on another core (``sinks.py``).

Reading a ``ReadableSpan`` through its public properties costs more than the rest of the
capture together (each is a Python call; ``attributes`` wraps the dict in a proxy, ``events``
copies a tuple), so the fast path reads the SDK's private fields. It is checked against the
public path on every SDK the tests run with, and falls back to it for good the first time
a field is missing (a later SDK).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from typing import Any, NamedTuple

from opentelemetry.attributes import BoundedAttributes

from toolkit.store.values import as_text, encode_attributes

__all__ = ["LogTuple", "SpanTuple", "capture_logs", "capture_spans"]

#: ``(resource attributes JSON, service.name)``
ResourceTuple = tuple[str, str | None]
#: ``(scope name, scope version, scope attributes JSON)``
ScopeTuple = tuple[str | None, str | None, str]
#: ``(name, time ns, attributes, dropped attributes)``
EventTuple = tuple[str, int | None, Mapping[str, Any], int]
#: ``(trace id, span id, is remote, trace state header, attributes, dropped attributes)``
LinkTuple = tuple[int, int, bool, str | None, Mapping[str, Any], int]


class SpanTuple(NamedTuple):
    """The fields of a captured span, in order (captures are plain tuples of this shape)."""

    trace_id: int
    span_id: int
    parent_span_id: int | None
    parent_is_remote: bool
    name: str
    kind: str
    start: int | None
    end: int | None
    status_code: str
    status_message: str | None
    trace_state: str | None
    attributes: Mapping[str, Any]
    dropped_attributes: int
    dropped_events: int
    dropped_links: int
    events: tuple[EventTuple, ...]
    links: tuple[LinkTuple, ...]
    resource: ResourceTuple
    scope: ScopeTuple


class LogTuple(NamedTuple):
    """The fields of a captured log record, in order."""

    time: int | None
    observed_time: int | None
    trace_id: int | None
    span_id: int | None
    flags: int
    severity_number: int
    severity_text: str | None
    event_name: str | None
    body: Any
    attributes: Mapping[str, Any]
    dropped_attributes: int
    resource: ResourceTuple
    scope: ScopeTuple


def _plain(attributes: Any) -> Mapping[str, Any]:
    """The attributes as a picklable mapping, without copying the SDK's frozen dict."""
    if type(attributes) is BoundedAttributes:
        # Immutable once the span ended or the record was emitted; every accessor reads it.
        return attributes._dict
    if not attributes:
        return {}
    return attributes if isinstance(attributes, dict) else dict(attributes)


def _dropped(attributes: Any) -> int:
    return attributes.dropped if type(attributes) is BoundedAttributes else 0


# -- resource and scope: encoded once per object --------------------------------------------

# Keyed by identity and holding the object, so an id is never reused while cached.
_ENCODED: dict[int, tuple[Any, Any]] = {}


def _memo(obj: Any, encode: Callable[[Any], Any]) -> Any:
    hit = _ENCODED.get(id(obj))
    if hit is not None and hit[0] is obj:
        return hit[1]
    value = encode(obj)
    if len(_ENCODED) > 256:
        _ENCODED.clear()
    _ENCODED[id(obj)] = (obj, value)
    return value


def _encode_resource(resource: Any) -> ResourceTuple:
    attrs = dict(getattr(resource, "attributes", None) or {})
    return encode_attributes(attrs), as_text(attrs.get("service.name"))


def _encode_scope(scope: Any) -> ScopeTuple:
    if scope is None:
        return None, None, "{}"
    name = getattr(scope, "name", None) or None
    version = getattr(scope, "version", None) or None
    return name, version, encode_attributes(dict(getattr(scope, "attributes", None) or {}))


def _resource(resource: Any) -> ResourceTuple:
    return _memo(resource, _encode_resource)  # type: ignore[no-any-return]


def _scope(scope: Any) -> ScopeTuple:
    return _memo(scope, _encode_scope)  # type: ignore[no-any-return]


# -- enums by name, looked up once per member ------------------------------------------------

_NAMES: dict[Any, str] = {}


def _name(member: Any) -> str:
    name = _NAMES.get(member)
    if name is None:
        name = _NAMES[member] = member.name.lower()
    return name


# -- events and links (a minority of spans): public properties --------------------------------


def _event(event: Any) -> EventTuple:
    attrs = event.attributes
    dropped = getattr(event, "dropped_attributes", None)
    return event.name, event.timestamp, _plain(attrs), dropped or _dropped(attrs)


def _link(link: Any) -> LinkTuple:
    ctx = link.context
    attrs = link.attributes
    dropped = getattr(link, "dropped_attributes", None)
    return (
        ctx.trace_id,
        ctx.span_id,
        bool(ctx.is_remote),
        ctx.trace_state.to_header() if ctx.trace_state else None,
        _plain(attrs),
        dropped or _dropped(attrs),
    )


# -- spans -----------------------------------------------------------------------------------


def _span_public(span: Any) -> tuple[Any, ...]:
    """The reference capture, through the documented ``ReadableSpan`` API only."""
    ctx = span.context
    parent = span.parent
    status = span.status
    return (
        ctx.trace_id,
        ctx.span_id,
        parent.span_id if parent is not None else None,
        bool(parent is not None and parent.is_remote),
        span.name,
        _name(span.kind),
        span.start_time,
        span.end_time,
        _name(status.status_code),
        status.description or None,
        ctx.trace_state.to_header() if ctx.trace_state else None,
        _plain(dict(span.attributes)),
        span.dropped_attributes,
        span.dropped_events,
        span.dropped_links,
        tuple(map(_event, span.events)),
        tuple(map(_link, span.links)),
        _resource(span.resource),
        _scope(span.instrumentation_scope),
    )


_SPAN_FIELDS = attrgetter(
    "_context", "_parent", "_name", "_kind", "_start_time", "_end_time", "_status",
    "_attributes", "_events", "_links", "_resource", "_instrumentation_scope",
)


def _span_fast(span: Any) -> tuple[Any, ...]:
    """:func:`_span_public`'s result from the SDK's fields (SpanContext is a tuple:
    ``trace_id, span_id, is_remote, trace_flags, trace_state, is_valid``)."""
    ctx, parent, name, kind, start, end, status, attrs, events, links, resource, scope = (
        _SPAN_FIELDS(span)
    )
    state = ctx[4]
    return (
        ctx[0],
        ctx[1],
        parent[1] if parent is not None else None,
        bool(parent is not None and parent[2]),
        name,
        _NAMES.get(kind) or _name(kind),
        start,
        end,
        _NAMES.get(status._status_code) or _name(status._status_code),
        status._description or None,
        state.to_header() if state else None,
        _plain(attrs),
        _dropped(attrs),
        getattr(events, "dropped", 0),
        getattr(links, "dropped", 0),
        tuple(map(_event, events)) if events else (),
        tuple(map(_link, links)) if links else (),
        _resource(resource),
        _scope(scope),
    )


_span: Callable[[Any], tuple[Any, ...]] = _span_fast


def capture_spans(spans: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The batch of ``ReadableSpan`` as tuples shaped like :class:`SpanTuple`."""
    global _span
    try:
        return list(map(_span, spans))
    except (AttributeError, IndexError, TypeError):
        if _span is _span_public:
            raise
        _span = _span_public  # an SDK whose internals moved: the documented API from now on
        return list(map(_span, spans))


# -- log records -------------------------------------------------------------------------------

_LOG_FIELDS = attrgetter(
    "timestamp", "observed_timestamp", "trace_id", "span_id", "trace_flags",
    "severity_number", "severity_text", "body", "attributes",
)


def _log(item: Any) -> tuple[Any, ...]:
    # SDK >= 1.39 hands ReadableLogRecord (resource on the item); older ones LogData.
    record = getattr(item, "log_record", item)
    time, observed, trace_id, span_id, flags, severity, severity_text, body, attrs = (
        _LOG_FIELDS(record)
    )
    resource = getattr(item, "resource", None) or getattr(record, "resource", None)
    return (
        time,
        observed,
        trace_id or None,
        span_id or None,
        int(flags) if flags else 0,
        severity.value if severity is not None else 0,
        severity_text or None,
        getattr(record, "event_name", None) or None,
        body,
        _plain(attrs),
        _dropped(attrs),
        _resource(resource),
        _scope(getattr(item, "instrumentation_scope", None)),
    )


def capture_logs(records: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The batch of ``ReadableLogRecord`` (or ``LogData``) as tuples shaped like
    :class:`LogTuple`."""
    return list(map(_log, records))
