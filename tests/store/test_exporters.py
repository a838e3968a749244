"""The SDK exporters: real TracerProvider/LoggerProvider batches land as store rows."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

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


class _FlushingLogger:
    """A logger whose records are committed once ``emit`` returns (the exporter queues
    them for its writer; the tests read right after)."""

    def __init__(self, logger, exporter):
        self._logger, self._exporter = logger, exporter

    def emit(self, **record):
        self._logger.emit(**record)
        assert self._exporter.force_flush()


@pytest.fixture
def logging_to(store):
    """A local LoggerProvider exporting to ``store``."""
    exporter = DuckDBLogRecordExporter(store)
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    yield _FlushingLogger(provider.get_logger("toolkit.telemetry", "0.1.0"), exporter)
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
    assert tracing[1].force_flush()

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
    assert exporter.force_flush()
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
    """With the store gone, ending a span neither raises nor loses the reason, and the
    flush says the write failed."""
    tracer, exporter = tracing
    store.close()
    with caplog.at_level(logging.ERROR, logger="toolkit.store.exporters"):
        tracer.start_span("lost").end()
        assert exporter.export([]) == SpanExportResult.SUCCESS
        assert exporter.force_flush() is False
    assert "DuckDB export of 1 spans and 0 log records failed" in caplog.text


def test_a_read_only_store_is_refused_at_construction(tmp_path):
    """Bad configuration fails early with ValueError, not at the first export."""
    Store.open(tmp_path / "s.duckdb").close()
    with (
        Store.open(tmp_path / "s.duckdb", read_only=True) as reader,
        pytest.raises(ValueError, match="read-only"),
    ):
        DuckDBSpanExporter(reader)


def test_an_exporter_given_a_path_owns_the_store(tmp_path):
    """Given a path, the exporter's writer process opens the store and closes it on
    shutdown."""
    exporter = DuckDBLogRecordExporter(tmp_path / "own.duckdb")
    exporter.shutdown()
    with Store.open(tmp_path / "own.duckdb") as reopened:
        assert reopened.logs().empty


def _emit_through(span_exporter, log_exporter, jobs: int, *, shutdown: bool = True) -> None:
    """``jobs`` spans, each with two log records in its trace, through the SDK; then the
    providers shut down (their exporters flush and release the store), unless told not
    to, as a killed process never does."""
    tracer_provider = TracerProvider(resource=RESOURCE)
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    logger_provider = LoggerProvider(resource=RESOURCE)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    tracer = tracer_provider.get_tracer("toolkit.telemetry", "0.1.0")
    logger = logger_provider.get_logger("toolkit.telemetry", "0.1.0")
    for job in range(jobs):
        env = f"acme-{'dev' if job % 2 else 'prod'}"
        attrs = {"pipeline.environment": env, "pipeline.tenant": "acme", "pipeline.job.id": job}
        with tracer.start_as_current_span("job.process", start_time=T0 * NS + job,
                                          attributes=attrs):
            for event in ("job.dequeued", "job.processed"):
                logger.emit(timestamp=T0 * NS + job, body=event, event_name=event,
                            severity_number=SeverityNumber.INFO, attributes=attrs)
    if shutdown:
        tracer_provider.shutdown()
        logger_provider.shutdown()


def test_exporters_given_a_path_share_one_writer_process_and_refresh_the_rollup(tmp_path):
    """Span and log exporters of one path write through one child process (DuckDB lets
    one process write a file); after shutdown everything is stored, rollup included."""
    db = tmp_path / "child.duckdb"
    spans, logs = DuckDBSpanExporter(db), DuckDBLogRecordExporter(db)
    assert spans._sink is logs._sink
    _emit_through(spans, logs, jobs=40)
    with Store.open(db, read_only=True) as reopened:
        assert len(reopened.spans()) == 40
        stored = reopened.logs()
        assert len(stored) == 80
        assert sorted(set(stored.environment)) == ["acme-dev", "acme-prod"]
        rollup = reopened.rollup()
        assert rollup.processed.sum() == 40


def test_a_writer_process_that_cannot_open_its_store_is_reported(tmp_path, caplog):
    """A path held by another process's writer: the export fails loudly, never silently."""
    db = tmp_path / "held.duckdb"
    first = DuckDBSpanExporter(db)
    assert first.force_flush()  # its writer process holds the store
    try:
        holder = first._sink
        with caplog.at_level(logging.ERROR, logger="toolkit.store.exporters"):
            from toolkit.store.sinks import ProcessSink

            second = ProcessSink(db, open_timeout=0.5)
            assert second.flush(timeout=60) is False
            second.close()
        assert "cannot open the store" in caplog.text
        assert holder.flush()
    finally:
        first.shutdown()


_KILLED_PRODUCER = """
import os, signal, sys
from tests.store.test_exporters import _emit_through
from toolkit.store import DuckDBLogRecordExporter, DuckDBSpanExporter
db = sys.argv[1]
spans, logs = DuckDBSpanExporter(db), DuckDBLogRecordExporter(db)
_emit_through(spans, logs, jobs=300, shutdown=False)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_records_exported_before_the_producer_is_killed_are_committed(tmp_path):
    """SIGKILL of the instrumented process: its writer process sees the end of its input,
    commits every record already exported, refreshes the rollup and releases the store."""
    db = tmp_path / "killed.duckdb"
    root = Path(__file__).resolve().parents[2]
    producer = subprocess.run(
        [sys.executable, "-c", _KILLED_PRODUCER, str(db)], cwd=root, timeout=120,
        capture_output=True, text=True, check=False,
    )
    assert producer.returncode == -signal.SIGKILL, producer.stderr
    deadline = time.monotonic() + 60
    while True:  # the orphaned writer still holds the file until it has committed
        try:
            reopened = Store.open(db, read_only=True)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    with reopened:
        assert len(reopened.spans()) == 300
        assert len(reopened.logs()) == 600
        assert reopened.rollup().processed.sum() == 300


def test_a_batch_that_cannot_be_sent_fails_loudly_and_the_next_one_is_stored(tmp_path, caplog):
    """An attribute value the writer process could not rebuild (a str subclass local to a
    function) fails its export with a logged reason; the exporter keeps working."""

    class Local(str):
        pass

    db = tmp_path / "odd.duckdb"
    exporter = DuckDBSpanExporter(db)
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("toolkit.telemetry", "0.1.0")
    with caplog.at_level(logging.ERROR, logger="toolkit.store.exporters"):
        tracer.start_span("odd", attributes={"pipeline.tenant": Local("acme")}).end()
    assert "DuckDB export of 1 spans failed" in caplog.text
    tracer.start_span("plain", attributes={"pipeline.tenant": "acme"}).end()
    provider.shutdown()
    with Store.open(db, read_only=True) as reopened:
        assert reopened.spans().name.tolist() == ["plain"]
