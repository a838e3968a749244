"""The SDK exporters: real TracerProvider/LoggerProvider batches land as store rows."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from tests.store.otlp import T0, jsonl
from toolkit.store import DuckDBLogRecordExporter, DuckDBSpanExporter, Store

RESOURCE = Resource({"service.name": "toolkit-engine", "service.instance.id": "i-1"})
NS = 1_000_000_000


@pytest.fixture
def tracing(store):
    """A local TracerProvider exporting to ``store`` (never the global provider)."""
    exporter = DuckDBSpanExporter(store)
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("toolkit.telemetry", "0.1.0"), exporter
    provider.shutdown()


@pytest.fixture
def logging_to(store):
    """A local LoggerProvider exporting to ``store``."""
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(DuckDBLogRecordExporter(store)))
    yield provider.get_logger("toolkit.telemetry", "0.1.0")
    provider.shutdown()


def test_spans_events_and_links_are_stored(store, tracing):
    """A producer and a linked consumer span, with attributes, an event and a status."""
    tracer, _ = tracing
    with tracer.start_as_current_span(
        "job.enqueue",
        kind=SpanKind.PRODUCER,
        start_time=T0 * NS,
        attributes={"pipeline.environment": "acme-prod", "pipeline.job.id": 7},
    ) as producer:
        producer_ctx = producer.get_span_context()
    consumer = tracer.start_span(
        "job.process",
        kind=SpanKind.CONSUMER,
        start_time=T0 * NS + 5,
        links=[Link(producer_ctx, {"messaging.operation.type": "send"})],
        attributes={
            "pipeline.environment": "acme-prod",
            "pipeline.job.id": 7,
            "pipeline.queue.depth": 3,
        },
    )
    consumer.add_event("retry", {"pipeline.job.attempt": 2}, timestamp=T0 * NS + 6)
    consumer.set_status(Status(StatusCode.ERROR, "render failed"))
    consumer.end(end_time=T0 * NS + 10)

    spans = store.spans()
    assert spans.name.tolist() == ["job.enqueue", "job.process"]
    assert spans.kind.tolist() == ["producer", "consumer"]
    row = spans.iloc[1]
    assert (row.environment, row.job_id, row.queue_depth) == ("acme-prod", 7, 3)
    assert (row.status_code, row.status_message, row.duration_ns) == ("error", "render failed", 5)
    assert (row.service_name, row.scope_name, row.scope_version) == (
        "toolkit-engine",
        "toolkit.telemetry",
        "0.1.0",
    )
    assert json.loads(row.resource_attributes) == {
        "service.name": "toolkit-engine",
        "service.instance.id": "i-1",
    }
    events = store.span_events(row.trace_id)
    assert (events.name[0], events.time_unix_nano[0], events.attributes[0]) == (
        "retry",
        T0 * NS + 6,
        '{"pipeline.job.attempt":2}',
    )
    links = store.span_links(row.trace_id)
    assert (links.linked_trace_id[0], links.linked_span_id[0]) == (
        f"{producer_ctx.trace_id:032x}",
        f"{producer_ctx.span_id:016x}",
    )


def test_exporting_a_batch_twice_stores_it_once(store, tracing):
    """Re-exporting the same finished spans (a retrying processor) adds nothing."""
    tracer, exporter = tracing
    finished = []
    for i in range(3):
        span = tracer.start_span(f"s{i}", start_time=T0 * NS + i)
        span.end(end_time=T0 * NS + i + 1)
        finished.append(span)
    assert exporter.export(finished) == SpanExportResult.SUCCESS
    assert len(store.spans()) == 3


def test_log_records_are_stored_and_dirty_the_rollup(store, logging_to):
    """A contract job log lands with its promoted columns; the rollup sees it."""
    logging_to.emit(
        timestamp=T0 * NS,
        observed_timestamp=T0 * NS + 1,
        body="job enqueued",
        severity_number=SeverityNumber.INFO,
        severity_text="INFO",
        event_name="job.enqueued",
        attributes={
            "pipeline.tenant": "acme",
            "pipeline.environment": "acme-prod",
            "pipeline.job.id": 9,
            "pipeline.queue.depth": 1,
        },
    )
    row = store.logs().iloc[0]
    assert (row.event_name, row.environment, row.job_id, row.queue_depth) == (
        "job.enqueued",
        "acme-prod",
        9,
        1,
    )
    assert (row.body, row.body_text, row.severity_number) == ('"job enqueued"', "job enqueued", 9)
    rollup = store.rollup()
    assert rollup[["environment", "backlog", "active_envs"]].values.tolist() == [
        ["acme-prod", 1, 1]
    ]


def test_sdk_and_json_paths_give_one_record(store, logging_to, write):
    """The same log record exported by the SDK and loaded from OTLP JSON is stored once."""
    logging_to.emit(
        timestamp=T0 * NS,
        observed_timestamp=T0 * NS + 1,
        body="b",
        severity_number=SeverityNumber.WARN,
        severity_text="WARN",
        attributes={
            "pipeline.environment": "acme-prod",
            "pipeline.job.id": 9,
            "ratio": 0.25,
            "ok": True,
        },
    )
    flags = int(store.logs()["flags"][0])
    request = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": "toolkit-engine"}},
                        {"key": "service.instance.id", "value": {"stringValue": "i-1"}},
                    ]
                },
                "scopeLogs": [
                    {
                        "scope": {"name": "toolkit.telemetry", "version": "0.1.0"},
                        "logRecords": [
                            {
                                "timeUnixNano": str(T0 * NS),
                                "observedTimeUnixNano": str(T0 * NS + 1),
                                "severityNumber": 13,
                                "severityText": "WARN",
                                "flags": flags,
                                "body": {"stringValue": "b"},
                                "attributes": [
                                    {
                                        "key": "pipeline.environment",
                                        "value": {"stringValue": "acme-prod"},
                                    },
                                    {"key": "pipeline.job.id", "value": {"intValue": "9"}},
                                    {"key": "ratio", "value": {"doubleValue": 0.25}},
                                    {"key": "ok", "value": {"boolValue": True}},
                                ],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    result = store.load(write("same.jsonl", jsonl(request)))
    assert (result.logs_loaded, result.duplicates) == (0, 1)


def test_a_failed_export_is_logged_not_raised(store, tracing, caplog):
    """With the store gone, ending a span neither raises nor loses the reason."""
    tracer, exporter = tracing
    store.close()
    with caplog.at_level(logging.ERROR, logger="toolkit.store.exporters"):
        tracer.start_span("lost").end()
        assert exporter.export([]) == SpanExportResult.SUCCESS
    assert "DuckDB span export of 1 spans failed" in caplog.text


def test_a_read_only_store_is_refused_at_construction(tmp_path):
    """Bad configuration fails early with ValueError, not at the first export."""
    Store.open(tmp_path / "s.duckdb").close()
    with (
        Store.open(tmp_path / "s.duckdb", read_only=True) as reader,
        pytest.raises(ValueError, match="read-only"),
    ):
        DuckDBSpanExporter(reader)


def test_an_exporter_given_a_path_owns_the_store(tmp_path):
    """Given a path, the exporter opens the store and closes it on shutdown."""
    exporter = DuckDBLogRecordExporter(tmp_path / "own.duckdb")
    exporter.shutdown()
    with Store.open(tmp_path / "own.duckdb") as reopened:
        assert reopened.logs().empty
