"""The JSON lines and counting exporters, alone and behind the SDK's processors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from tests.telemetry.conftest import T0
from toolkit.engine.testing import drain, small_engine
from toolkit.telemetry import (
    CountingLogExporter,
    CountingSpanExporter,
    JsonLinesLogExporter,
    JsonLinesSpanExporter,
    Telemetry,
)
from toolkit.telemetry import attributes as a


def _run(telemetry: Telemetry) -> None:
    engine = small_engine(observer=telemetry.observer)
    for i in range(3):
        engine.ingest(T0 + i, "acme-prod", "cms", f"node-{i}", 1)
    drain(engine, T0 + 10)


def test_the_exporters_are_plain_sdk_exporters() -> None:
    """Span exporters subclass SpanExporter, log exporters LogRecordExporter."""
    assert issubclass(JsonLinesSpanExporter, SpanExporter)
    assert issubclass(CountingSpanExporter, SpanExporter)
    assert issubclass(JsonLinesLogExporter, LogRecordExporter)
    assert issubclass(CountingLogExporter, LogRecordExporter)


def test_each_batch_is_one_request_line(tmp_path: Path) -> None:
    """Batched export writes one ExportTraceServiceRequest / ExportLogsServiceRequest per
    line, and the lines hold every record emitted."""
    with Telemetry.to_directory(tmp_path, max_export_batch_size=4, max_queue_size=8,
                                flush_every=4, otlp=False) as telemetry:
        _run(telemetry)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs.jsonl", "traces.jsonl"]
    span_lines = (tmp_path / "traces.jsonl").read_text().splitlines()
    log_lines = (tmp_path / "logs.jsonl").read_text().splitlines()
    spans = [s for line in span_lines
             for s in json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]]
    records = [r for line in log_lines
               for r in json.loads(line)["resourceLogs"][0]["scopeLogs"][0]["logRecords"]]
    # 3 ingests x 2 schemas: 3 ingest spans, 6 producers, 6 consumers.
    assert len(spans) == 15 and len(span_lines) == 4
    # per ingest: entity.ingested; per job: created, enqueued, dequeued, processed.
    assert len(records) == 27 and len(log_lines) == 7
    assert max(len(json.loads(line)["resourceLogs"][0]["scopeLogs"][0]["logRecords"])
               for line in log_lines) == 4


def test_a_failed_write_is_logged_and_reported_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telemetry never breaks its host: a disk error becomes FAILURE and a log line."""
    exporter = JsonLinesSpanExporter(tmp_path / "traces.jsonl")

    def broken(data: bytes) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(exporter.file, "write", broken)
    spans = CountingSpanExporter()
    telemetry = Telemetry(span_exporters=[exporter, spans], batch=False, otlp=False)
    with caplog.at_level(logging.ERROR, logger="toolkit.telemetry.exporters"):
        _run(telemetry)
    assert exporter.export([]) is SpanExportResult.SUCCESS
    telemetry.shutdown()
    assert spans.count == 15
    assert exporter.exported == 0
    assert sum("could not write 1 spans" in r.getMessage() for r in caplog.records) == 15


def test_export_after_shutdown_fails_quietly(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """A late batch after shutdown is refused with a warning, not an exception."""
    exporter = JsonLinesLogExporter(tmp_path / "logs.jsonl")
    exporter.shutdown()
    with caplog.at_level(logging.WARNING, logger="toolkit.telemetry.exporters"):
        assert exporter.export([object()]) is LogRecordExportResult.FAILURE  # type: ignore[list-item]
    assert "is shut down; 1 records not written" in caplog.text
    assert exporter.force_flush() is True


def test_counting_exporters_count_and_discard() -> None:
    """The counting exporters see every record and keep none."""
    spans, logs = CountingSpanExporter(), CountingLogExporter()
    telemetry = Telemetry(span_exporters=[spans], log_exporters=[logs], otlp=False)
    _run(telemetry)
    telemetry.shutdown()
    assert (spans.count, logs.count) == (15, 27)
    assert spans.batches >= 1 and logs.batches >= 1


def test_records_in_the_file_keep_the_contract_attributes(tmp_path: Path) -> None:
    """A job.processed record read back from the file has its raw key and view version."""
    with Telemetry.to_directory(tmp_path, otlp=False, batch=False) as telemetry:
        engine = small_engine(observer=telemetry.observer, schemas=("page",))
        engine.ingest(T0, "acme-prod", "cms", "node-1", 5)
        drain(engine, T0 + 10)
    lines = (tmp_path / "logs.jsonl").read_text().splitlines()
    records = [json.loads(line)["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
               for line in lines]
    processed = {kv["key"]: kv["value"] for kv in records[-1]["attributes"]}
    assert processed == {
        a.TENANT: {"stringValue": "acme"}, a.ENVIRONMENT: {"stringValue": "acme-prod"},
        a.SOURCE: {"stringValue": "cms"}, a.ENTITY: {"stringValue": "node-1"},
        a.SCHEMA: {"stringValue": "page"}, a.JOB_ID: {"intValue": "1"},
        a.JOB_VERSION: {"intValue": "1"}, a.JOB_TRIGGER: {"stringValue": "ingest"},
        a.JOB_ATTEMPT: {"intValue": "1"}, a.QUEUE_DEPTH: {"intValue": "0"},
        a.EVENT_NAME: {"stringValue": "job.processed"}, a.VIEW_VERSION: {"intValue": "1"},
    }
    assert records[-1]["eventName"] == "job.processed"
