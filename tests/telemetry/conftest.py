"""Fixtures: telemetry kept in memory, and one small replay of the 7 May incident."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from toolkit.telemetry import Telemetry
from toolkit.telemetry import attributes as a
from toolkit.workload.scenarios import RunResult, run_scenario
from toolkit.workload.topology import Source, Tenant, Topology

# 7 May 2024, 10:00 UTC: what a simulated incident day's timestamps look like.
T0 = datetime(2024, 5, 7, 10, 0, tzinfo=UTC).timestamp()


@pytest.fixture(autouse=True)
def _no_otlp_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own OTEL_EXPORTER_OTLP_* settings must not reach these tests."""
    import os

    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)


@dataclass
class Captured:
    """A Telemetry whose spans, log records and metrics stay in memory."""

    telemetry: Telemetry
    span_exporter: InMemorySpanExporter
    log_exporter: InMemoryLogRecordExporter
    reader: InMemoryMetricReader

    @property
    def observer(self) -> Any:
        return self.telemetry.observer

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        return [s for s in self.span_exporter.get_finished_spans()
                if name is None or s.name == name or s.name.startswith(name + " ")]

    def logs(self, event: str | None = None) -> list[ReadableLogRecord]:
        return [r for r in self.log_exporter.get_finished_logs()
                if event is None or r.log_record.attributes[a.EVENT_NAME] == event]

    def events(self) -> list[str]:
        return [str(r.log_record.attributes[a.EVENT_NAME])
                for r in self.log_exporter.get_finished_logs()]

    def metric_points(self) -> dict[tuple[str, str], Any]:
        """``(metric name, environment) -> data point`` from one collection."""
        data = self.reader.get_metrics_data()
        points: dict[tuple[str, str], Any] = {}
        assert data is not None
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    for point in metric.data.data_points:
                        points[(metric.name, str(point.attributes[a.ENVIRONMENT]))] = point
        return points


def attrs(item: ReadableSpan | ReadableLogRecord) -> dict[str, Any]:
    """The attributes of a span or a log record as a plain dict."""
    if isinstance(item, ReadableLogRecord):
        return dict(item.log_record.attributes or {})
    return dict(item.attributes or {})


def capture(**options: Any) -> Captured:
    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    reader = InMemoryMetricReader()
    options.setdefault("batch", False)
    telemetry = Telemetry(span_exporters=[spans], log_exporters=[logs], metric_readers=[reader],
                          otlp=False, **options)
    return Captured(telemetry, spans, logs, reader)


@pytest.fixture
def captured() -> Iterator[Captured]:
    """Synchronous (simple processor) telemetry into memory, shut down after the test."""
    c = capture()
    yield c
    c.telemetry.shutdown()


SMALL_TOPOLOGY = Topology((
    Tenant("acme", "standard", ("DEV", "PROD"),
           (Source("cms", "node", 30, ("page", "search")),), 0.3),
    Tenant("contoso", "enterprise", ("DEV", "STAGING", "PROD"),
           (Source("cms", "node", 25, ("page", "navigation", "search")),
            Source("pim", "sku", 15, ("product",))), 0.4),
))


@dataclass
class Replay:
    result: RunResult
    captured: Captured


@pytest.fixture(scope="session")
def replay() -> Iterator[Replay]:
    """The ``may7`` scenario (6 days, env-blind-dedup on 6-7 May) on a five-environment
    topology, through lossless batch processors with tiny queues: every record must survive
    hundreds of forced flushes."""
    c = capture(batch=True, max_queue_size=16, max_export_batch_size=8, flush_every=4,
                schedule_delay_millis=5.0)
    result = run_scenario("may7", topology=SMALL_TOPOLOGY, observer=c.observer)
    c.telemetry.force_flush()
    yield Replay(result, c)
    c.telemetry.shutdown()
