"""OTLP/JSON encoding: the Collector file exporter's shape, the SDK's OTLP content."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, set_span_in_context

from tests.telemetry.conftest import T0, Captured
from toolkit.engine.testing import drain, small_engine
from toolkit.telemetry import encode_logs, encode_spans, logs_line, spans_line, to_ns
from toolkit.telemetry.otlp_json import any_value

SAMPLES = Path("/work/shared/otlp-samples")
HEX32, HEX16 = set("0123456789abcdef"), set("0123456789abcdef")


@pytest.fixture
def varied() -> Iterator[tuple[list[ReadableSpan], list[ReadableLogRecord]]]:
    """Spans and log records using every OTLP feature the encoders handle."""
    resource = Resource.create({"service.name": "tëst", "deployment.environment": "ci"})
    spans_out, logs_out = InMemorySpanExporter(), InMemoryLogRecordExporter()
    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans_out))
    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs_out))
    tracer = tracer_provider.get_tracer("scope.a", "1.2", schema_url="https://example/schema")
    other = tracer_provider.get_tracer("scope.b")
    values: dict[str, Any] = {
        "s": 'quote " backslash \\ newline \n é ✓ \u2028', "i": -(2**63), "big": 2**64,
        "b": True, "f": 0.1, "nan": math.nan, "inf": -math.inf, "strs": ("a", "b"),
        "ints": (1, 2), "bytes": b"\x00\xff", "map": {"k": 1, "n": {"x": "y"}},
    }
    t = to_ns(T0)
    root = tracer.start_span("root", kind=SpanKind.SERVER, attributes=values, start_time=t)
    root.add_event("evt", {"e": 1}, timestamp=t + 1)
    root.set_status(Status(StatusCode.ERROR, "boom"))
    root.end(t + 2)
    child = other.start_span(
        "child", context=set_span_in_context(root), kind=SpanKind.CONSUMER,
        links=[Link(root.get_span_context(), {"why": "producer"})], start_time=t + 3,
    )
    child.set_status(Status(StatusCode.OK))
    child.end(t + 4)
    logger = logger_provider.get_logger("scope.a", "1.2")
    logger.emit(timestamp=t, observed_timestamp=t, context=set_span_in_context(root),
                severity_number=SeverityNumber.WARN, severity_text="WARN", body="w ✓",
                attributes=values, event_name="job.retried")
    logger.emit(timestamp=t, observed_timestamp=t + 5, body={"k": [1, "x", None]},
                context=set_span_in_context(child))
    logger.emit(observed_timestamp=t, body=None)
    logger.emit(observed_timestamp=t, body=b"raw", severity_number=SeverityNumber.ERROR)
    yield list(spans_out.get_finished_spans()), list(logs_out.get_finished_logs())
    tracer_provider.shutdown()
    logger_provider.shutdown()


def _keys(obj: dict[str, Any]) -> set[str]:
    return set(obj)


def test_lines_have_the_shape_of_the_collector_samples(captured: Captured) -> None:
    """Every level of our JSON has the sample's keys (plus only OTLP fields the samples
    leave out), ids are lowercase hex, 64-bit integers strings and enums integers."""
    engine = small_engine(observer=captured.observer, schemas=("page",))
    engine.ingest(T0, "acme-prod", "cms", "node-1", 5)
    drain(engine, T0 + 10)
    ours = json.loads(spans_line(captured.spans()))
    sample = json.loads((SAMPLES / "traces_simple.jsonl").read_text().splitlines()[0])
    rs, srs = ours["resourceSpans"][0], sample["resourceSpans"][0]
    assert _keys(ours) == _keys(sample) == {"resourceSpans"}
    assert _keys(rs) == _keys(srs) == {"resource", "scopeSpans"}
    assert _keys(rs["scopeSpans"][0]) == _keys(srs["scopeSpans"][0]) == {"scope", "spans"}
    sample_span = srs["scopeSpans"][0]["spans"][0]
    process = next(s for s in rs["scopeSpans"][0]["spans"] if s["name"].startswith("process"))
    assert _keys(sample_span) <= _keys(process)
    assert _keys(process) - _keys(sample_span) == {"flags", "links"}
    assert process["kind"] == 5 and process["flags"] == 256 and process["status"] == {}
    assert process["startTimeUnixNano"] == str(to_ns(T0 + 10))
    assert len(process["traceId"]) == 32 and set(process["traceId"]) <= HEX32
    assert len(process["spanId"]) == 16 and set(process["spanId"]) <= HEX16
    assert process["links"][0]["spanId"] == process["parentSpanId"]
    assert {"key": "pipeline.job.id", "value": {"intValue": "1"}} in process["attributes"]
    assert {s["kind"] for s in rs["scopeSpans"][0]["spans"]} == {2, 4, 5}

    logs = json.loads(logs_line(captured.logs()))
    sample_logs = json.loads((SAMPLES / "logs_simple.jsonl").read_text().splitlines()[0])
    record = logs["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    sample_record = sample_logs["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    assert _keys(logs["resourceLogs"][0]) == _keys(sample_logs["resourceLogs"][0])
    assert _keys(sample_record) <= _keys(record)
    assert _keys(record) - _keys(sample_record) == {"observedTimeUnixNano", "flags",
                                                    "eventName"}
    assert (record["severityNumber"], record["timeUnixNano"]) == (9, str(to_ns(T0)))


def test_the_text_encoder_writes_exactly_the_dict_encoders_json(
    varied: tuple[list[ReadableSpan], list[ReadableLogRecord]],
) -> None:
    """``spans_line``/``logs_line`` (fast text) parse to ``encode_spans``/``encode_logs``."""
    spans, logs = varied
    assert json.loads(spans_line(spans)) == encode_spans(spans)
    assert json.loads(logs_line(logs)) == encode_logs(logs)
    assert spans_line(spans).endswith(b"}\n") and spans_line(spans).count(b"\n") == 1
    encoded = encode_spans(spans)
    assert [len(r["scopeSpans"]) for r in encoded["resourceSpans"]] == [2]
    first = encoded["resourceSpans"][0]["scopeSpans"][0]
    assert first["scope"] == {"name": "scope.a", "version": "1.2"}
    assert first["schemaUrl"] == "https://example/schema"
    assert first["spans"][0]["status"] == {"message": "boom", "code": 2}
    assert first["spans"][0]["events"] == [{"timeUnixNano": str(to_ns(T0) + 1), "name": "evt",
                                            "attributes": [{"key": "e",
                                                            "value": {"intValue": "1"}}]}]
    [scope_logs] = encode_logs(logs)["resourceLogs"][0]["scopeLogs"]
    records = scope_logs["logRecords"]
    assert [r["body"] for r in records] == [
        {"stringValue": "w ✓"},
        {"kvlistValue": {"values": [{"key": "k", "value": {"arrayValue": {"values": [
            {"intValue": "1"}, {"stringValue": "x"}, {}]}}}]}},
        {},
        {"bytesValue": "cmF3"},
    ]
    assert records[0]["eventName"] == "job.retried"
    assert records[0]["traceId"] == first["spans"][0]["traceId"]
    assert records[2]["traceId"] == records[2]["spanId"] == ""
    assert "timeUnixNano" not in records[2]


@pytest.mark.parametrize(("value", "expected"), [
    ("x", {"stringValue": "x"}),
    (7, {"intValue": "7"}),
    (2**63 - 1, {"intValue": "9223372036854775807"}),
    (2**64, {"stringValue": "18446744073709551616"}),
    (False, {"boolValue": False}),
    (1.5, {"doubleValue": 1.5}),
    (math.nan, {"doubleValue": "NaN"}),
    (math.inf, {"doubleValue": "Infinity"}),
    (b"\x01", {"bytesValue": "AQ=="}),
    (("a", 1), {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "1"}]}}),
    ({"k": True}, {"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": True}}]}}),
    (None, {}),
])
def test_any_value_follows_otlp_json(value: Any, expected: dict[str, Any]) -> None:
    """Each AnyValue kind is spelled as OTLP/JSON spells it."""
    assert any_value(value) == expected


def _hex(b64: str) -> str:
    return base64.b64decode(b64).hex()


def _as_collector_writes(message: dict[str, Any], signal: str) -> dict[str, Any]:
    """Protobuf JSON of an OTLP request -> what the Collector's file exporter writes: ids in
    hex, and the fields it always writes present even when empty."""
    for resource in message[f"resource{signal}"]:
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
                if signal == "Spans":
                    item.setdefault("status", {})
                else:
                    item.setdefault("body", {})
    return message


def test_the_content_is_what_the_sdk_sends_over_otlp(
    varied: tuple[list[ReadableSpan], list[ReadableLogRecord]],
) -> None:
    """Field for field, our JSON equals the SDK's own OTLP protobuf encoding of the same
    batch, rendered as the Collector renders it."""
    pytest.importorskip("opentelemetry.exporter.otlp.proto.common")
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs as pb_logs
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as pb_spans

    spans, logs = varied
    ours_spans, ours_logs = encode_spans(spans), encode_logs(logs)
    # Beyond int64 the SDK's encoder drops the attribute (and logs an error); we keep the
    # digits as a string. Everything else must be identical.
    for item in [*_items(ours_spans, "Spans"), *_items(ours_logs, "Logs")]:
        if "attributes" in item:
            big = [kv for kv in item["attributes"] if kv["key"] == "big"]
            assert big in ([], [{"key": "big", "value": {"stringValue": str(2**64)}}])
            item["attributes"] = [kv for kv in item["attributes"] if kv["key"] != "big"]
    expected_spans = _as_collector_writes(
        MessageToDict(pb_spans(spans), use_integers_for_enums=True), "Spans")
    expected_logs = _as_collector_writes(
        MessageToDict(pb_logs(logs), use_integers_for_enums=True), "Logs")
    assert ours_spans == expected_spans
    assert ours_logs == expected_logs


def _items(message: dict[str, Any], signal: str) -> Iterator[dict[str, Any]]:
    for resource in message[f"resource{signal}"]:
        for scope in resource[f"scope{signal}"]:
            yield from scope["spans" if signal == "Spans" else "logRecords"]
