"""The OTLP codec against what we did not write: the SDK's own protobuf encoder.

For random batches of spans and log records (ids, every ``AnyValue`` type, events, links,
status, flags, trace state, dropped counts, several resources and scopes), the JSON line
:mod:`toolkit.otlp.encode` writes equals the SDK's OTLP protobuf encoding of the same batch
(``opentelemetry-exporter-otlp-proto-common``) rendered by ``google.protobuf.json_format`` as
the Collector's file exporter renders it; and the decoder (the store's loader) turns that
line back into rows holding exactly what the records held.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs as pb_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as pb_spans
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState

from toolkit.otlp.constants import SPAN_KINDS, STATUS_CODES
from toolkit.otlp.encode import logs_line, spans_line
from toolkit.store import Store, decode_attributes, decode_value

# -- strategies -------------------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
KEYS = TEXT.filter(bool)  # the SDK drops an attribute with an empty key
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
PRIMITIVES = st.one_of(TEXT, st.booleans(), INT64,
                       st.floats(allow_nan=True, allow_infinity=True))
#: Every AnyValue type, nested: what a span or log attribute (or a log body) may hold.
ANY_VALUE = st.recursive(
    st.one_of(PRIMITIVES, st.binary(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3).map(tuple),
                            st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=6,
)
#: Resource, scope, event and link attributes are cleaned by the SDK: primitives and
#: homogeneous sequences of them.
PLAIN_ATTRIBUTES = st.dictionaries(KEYS, st.one_of(
    PRIMITIVES, st.lists(TEXT, max_size=2).map(tuple), st.lists(INT64, max_size=2).map(tuple),
), max_size=3)
NANOS = st.integers(min_value=1, max_value=2**62)
TRACE_IDS = st.integers(min_value=1, max_value=2**128 - 1)
SPAN_IDS = st.integers(min_value=1, max_value=2**64 - 1)
STATES = st.lists(st.tuples(st.sampled_from(["a", "vendor", "k1"]),
                            st.sampled_from(["x", "v-1", "00f"])),
                  max_size=2, unique_by=lambda kv: kv[0])


def _attributes(values: dict[str, Any], maxlen: int | None) -> BoundedAttributes:
    """Attributes as the SDK holds them, some dropped past ``maxlen`` (dropped counts)."""
    return BoundedAttributes(maxlen, values, immutable=False, extended_attributes=True)


@st.composite
def contexts(draw: st.DrawFn, remote: bool | None = None) -> SpanContext:
    return SpanContext(draw(TRACE_IDS), draw(SPAN_IDS),
                       is_remote=draw(st.booleans()) if remote is None else remote,
                       trace_flags=TraceFlags(draw(st.sampled_from([0, 1]))),
                       trace_state=TraceState(draw(STATES)))


@st.composite
def resources(draw: st.DrawFn) -> list[Resource]:
    """Two or three resources with different attributes (the SDK groups by equality, the
    encoder by identity: the same thing when resources differ)."""
    count = draw(st.integers(1, 3))
    return [Resource(dict(draw(PLAIN_ATTRIBUTES)) | {"service.name": f"svc-{i}"},
                     schema_url=draw(st.sampled_from(["", "https://opentelemetry.io/s/1"])))
            for i in range(count)]


@st.composite
def scopes(draw: st.DrawFn) -> list[InstrumentationScope | None]:
    count = draw(st.integers(1, 3))
    out: list[InstrumentationScope | None] = [
        InstrumentationScope(f"scope.{i}", draw(st.sampled_from([None, "1.2"])),
                             draw(st.sampled_from([None, "https://example/schema"])),
                             draw(PLAIN_ATTRIBUTES))
        for i in range(count)
    ]
    return out


@st.composite
def spans(draw: st.DrawFn) -> list[ReadableSpan]:
    pool_r, pool_s = draw(resources()), draw(scopes())
    ids = draw(st.lists(SPAN_IDS, min_size=1, max_size=4, unique=True))
    out = []
    for span_id in ids:
        context = SpanContext(draw(TRACE_IDS), span_id, is_remote=False,
                              trace_flags=TraceFlags(1), trace_state=TraceState(draw(STATES)))
        start = draw(NANOS)
        events = BoundedList.from_seq(  # at most 2 kept: droppedEventsCount
            2, [Event(draw(TEXT), draw(PLAIN_ATTRIBUTES), timestamp=draw(NANOS))
                for _ in range(draw(st.integers(0, 3)))])
        links = BoundedList.from_seq(
            2, [Link(draw(contexts()), draw(PLAIN_ATTRIBUTES))
                for _ in range(draw(st.integers(0, 3)))])
        code = draw(st.sampled_from(list(StatusCode)))
        status = Status(code, draw(TEXT) if code is StatusCode.ERROR else None)
        out.append(ReadableSpan(
            draw(TEXT), context,
            parent=draw(st.one_of(st.none(), contexts())),
            resource=draw(st.sampled_from(pool_r)),
            attributes=_attributes(draw(st.dictionaries(KEYS, ANY_VALUE, max_size=4)),
                                   draw(st.sampled_from([None, 2]))),
            events=events, links=links, kind=draw(st.sampled_from(list(SpanKind))),
            instrumentation_scope=draw(st.sampled_from(pool_s)), status=status,
            start_time=start, end_time=start + draw(st.integers(0, 10**12)),
        ))
    return out


@st.composite
def log_records(draw: st.DrawFn) -> list[ReadableLogRecord]:
    pool_r, pool_s = draw(resources()), draw(scopes())
    out = []
    # Distinct observed times: identical records are one record to the store (loads are
    # idempotent), and the SDK stamps every record anyway.
    for observed in draw(st.lists(NANOS, min_size=1, max_size=4, unique=True)):
        in_span = draw(st.booleans())
        severity = draw(st.one_of(st.none(), st.sampled_from(list(SeverityNumber))))
        record = LogRecord(
            timestamp=draw(st.one_of(st.none(), NANOS)),
            observed_timestamp=observed,
            trace_id=draw(TRACE_IDS) if in_span else 0,
            span_id=draw(SPAN_IDS) if in_span else 0,
            trace_flags=TraceFlags(draw(st.sampled_from([0, 1])) if in_span else 0),
            severity_text=draw(st.one_of(st.none(), TEXT)),
            severity_number=severity,
            body=draw(st.one_of(st.none(), ANY_VALUE)),
            attributes=draw(st.dictionaries(KEYS, ANY_VALUE, max_size=4)),
            event_name=draw(st.one_of(st.none(), TEXT)),
        )
        record.attributes = _attributes(dict(record.attributes or {}),
                                        draw(st.sampled_from([None, 2])))
        out.append(ReadableLogRecord(record, draw(st.sampled_from(pool_r)),
                                     draw(st.sampled_from(pool_s))))
    return out


# -- the oracle: the SDK's protobuf, as the Collector writes it -------------------------------


def _hex(b64: str) -> str:
    return base64.b64decode(b64).hex()


def _collector_json(message: Any, signal: str) -> dict[str, Any]:
    """An OTLP protobuf request as the Collector's file exporter writes it: protobuf JSON
    with ids in hex, and the fields it always writes present even when empty."""
    out = MessageToDict(message, use_integers_for_enums=True)
    for resource in out.setdefault(f"resource{signal}", []):
        resource.setdefault("resource", {})
        for scope in resource[f"scope{signal}"]:
            scope.setdefault("scope", {})
            for item in scope["spans" if signal == "Spans" else "logRecords"]:
                for field in ("traceId", "spanId", "parentSpanId"):
                    if field in item:
                        item[field] = _hex(item[field])
                    elif field != "parentSpanId" or signal == "Spans":
                        item[field] = ""
                for link in item.get("links", ()):
                    link["traceId"], link["spanId"] = _hex(link["traceId"]), _hex(link["spanId"])
                item.setdefault("status" if signal == "Spans" else "body", {})
    return out


SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: A store per example costs a schema: fewer examples for the decoder.
STORE_SETTINGS = settings(SETTINGS, max_examples=20)


@SETTINGS
@given(spans())
def test_spans_are_encoded_as_the_sdk_encodes_them(batch: list[ReadableSpan]) -> None:
    line = spans_line(batch)
    assert line.endswith(b"}\n") and line.count(b"\n") == 1
    ours = json.loads(line)
    # One field more than the SDK: a link's traceState (OTLP's Span.Link.trace_state), which
    # the SDK's encoder leaves out and the store keeps (span_links.trace_state).
    links = [link for r in ours["resourceSpans"] for s in r["scopeSpans"] for span in s["spans"]
             for link in span.get("links", ())]
    assert [link.pop("traceState", "") for link in links] == [
        link.context.trace_state.to_header() for span in _in_line_order(batch)
        for link in span.links]
    assert ours == _collector_json(pb_spans(batch), "Spans")


def _in_line_order(batch: list[ReadableSpan]) -> list[ReadableSpan]:
    """The spans grouped by resource, then scope, in order of first appearance."""
    groups: dict[int, dict[int, list[ReadableSpan]]] = {}
    for span in batch:
        by_scope = groups.setdefault(id(span.resource), {})
        by_scope.setdefault(id(span.instrumentation_scope), []).append(span)
    return [span for by_scope in groups.values() for spans in by_scope.values()
            for span in spans]


@SETTINGS
@given(log_records())
def test_logs_are_encoded_as_the_sdk_encodes_them(batch: list[ReadableLogRecord]) -> None:
    line = logs_line(batch)
    assert line.endswith(b"}\n") and line.count(b"\n") == 1
    assert json.loads(line) == _collector_json(pb_logs(batch), "Logs")


# -- the decoder: back into the store's rows --------------------------------------------------


def _plain(value: Any) -> Any:
    """A Python attribute value as the store gives it back (tuples as lists)."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _same(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN (a NaN attribute must come back as NaN)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _loaded(tmp: Path, line: bytes) -> Store:
    path = tmp / "batch.jsonl"
    path.write_bytes(line)
    store = Store.open(":memory:")
    result = store.load(path, refresh=False)
    assert (result.rejected, result.duplicates) == (0, 0), result.rejections
    return store


def _rows(store: Store, sql: str) -> Iterator[dict[str, Any]]:
    cursor = store.connection.execute(sql)
    names = [d[0] for d in cursor.description]
    for row in cursor.fetchall():
        yield dict(zip(names, row, strict=True))


@STORE_SETTINGS
@given(spans())
def test_the_decoder_gives_back_every_span(tmp_path_factory: Any,
                                           batch: list[ReadableSpan]) -> None:
    with _loaded(tmp_path_factory.mktemp("spans"), spans_line(batch)) as store:
        rows = {r["span_id"]: r for r in _rows(store, "SELECT * FROM spans")}
        events = list(_rows(store, "SELECT * FROM span_events ORDER BY span_id, event_index"))
        links = list(_rows(store, "SELECT * FROM span_links ORDER BY span_id, link_index"))
    assert len(rows) == len(batch)
    for span in batch:
        context = span.get_span_context()
        row = rows[f"{context.span_id:016x}"]
        scope = span.instrumentation_scope
        assert (row["trace_id"], row["parent_span_id"], row["name"], row["kind"],
                row["start_time_unix_nano"], row["end_time_unix_nano"], row["status_code"],
                row["status_message"], row["trace_state"], row["flags"],
                row["dropped_attributes_count"], row["dropped_events_count"],
                row["dropped_links_count"], row["scope_name"], row["scope_version"],
                row["service_name"]) == (
            f"{context.trace_id:032x}",
            f"{span.parent.span_id:016x}" if span.parent else None,
            span.name or None, SPAN_KINDS[span.kind.value + 1], span.start_time, span.end_time,
            STATUS_CODES[span.status.status_code.value], span.status.description or None,
            context.trace_state.to_header() or None,
            0x300 if span.parent and span.parent.is_remote else 0x100,
            span.dropped_attributes, span.dropped_events, span.dropped_links,
            scope.name if scope else None, (scope.version or None) if scope else None,
            span.resource.attributes["service.name"],
        )
        assert _same(decode_attributes(row["attributes"]), _plain(dict(span.attributes)))
        assert _same(decode_attributes(row["resource_attributes"]),
                     _plain(dict(span.resource.attributes)))
        mine = [e for e in events if e["span_id"] == row["span_id"]]
        assert [(e["name"], e["time_unix_nano"]) for e in mine] == [
            (e.name or None, e.timestamp) for e in span.events]
        for stored, event in zip(mine, span.events, strict=True):
            assert _same(decode_attributes(stored["attributes"]), _plain(dict(event.attributes)))
        mine = [li for li in links if li["span_id"] == row["span_id"]]
        assert [(li["linked_trace_id"], li["linked_span_id"], li["flags"]) for li in mine] == [
            (f"{li.context.trace_id:032x}", f"{li.context.span_id:016x}",
             0x300 if li.context.is_remote else 0x100) for li in span.links]
        for stored, link in zip(mine, span.links, strict=True):
            assert _same(decode_attributes(stored["attributes"]), _plain(dict(link.attributes)))


@STORE_SETTINGS
@given(log_records())
def test_the_decoder_gives_back_every_log_record(tmp_path_factory: Any,
                                                 batch: list[ReadableLogRecord]) -> None:
    with _loaded(tmp_path_factory.mktemp("logs"), logs_line(batch)) as store:
        rows = list(_rows(store, "SELECT * FROM logs"))
    assert len(rows) == len(batch)
    # Rows carry no position: each record is found by what it holds.
    expected = sorted(repr((
        r.timestamp or 0, r.observed_timestamp,
        f"{r.trace_id:032x}" if r.trace_id else None,
        f"{r.span_id:016x}" if r.span_id else None, int(r.trace_flags),
        r.severity_number.value if r.severity_number else 0, r.severity_text or None,
        r.event_name or None, readable.dropped_attributes,
        _plain(dict(r.attributes or {})), _plain(r.body),
        readable.resource.attributes["service.name"],
    )) for readable in batch for r in [readable.log_record])
    got = sorted(repr((
        row["time_unix_nano"], row["observed_time_unix_nano"], row["trace_id"],
        row["span_id"], row["flags"], row["severity_number"], row["severity_text"],
        row["event_name"], row["dropped_attributes_count"],
        decode_attributes(row["attributes"]),
        decode_value(json.loads(row["body"])) if row["body"] is not None else None,
        row["service_name"],
    )) for row in rows)
    assert got == expected
