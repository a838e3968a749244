"""OTLP exporters from the standard OTEL_EXPORTER_OTLP_* variables."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.telemetry.conftest import T0
from toolkit.engine.testing import drain, small_engine
from toolkit.telemetry import (
    Telemetry,
    TelemetryConfigError,
    otlp_exporters_from_env,
    otlp_requested,
)

HTTP_TRACES = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


def test_only_endpoint_variables_ask_for_otlp(monkeypatch: pytest.MonkeyPatch) -> None:
    """Headers alone do not turn OTLP on; any endpoint variable does."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x=1")
    assert otlp_requested() is False
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://127.0.0.1:9/v1/logs")
    assert otlp_requested() is True


def test_a_signal_endpoint_attaches_only_that_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: a span exporter, no log or metric exporter."""
    pytest.importorskip(HTTP_TRACES)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9/v1/traces")
    found = otlp_exporters_from_env()
    assert type(found.spans).__name__ == "OTLPSpanExporter"
    assert (found.logs, found.metrics) == (None, None)


def test_an_unsupported_protocol_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """http/json has no Python exporter: said at construction."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(TelemetryConfigError, match="'http/json' for traces is not supported"):
        Telemetry()


def test_a_missing_exporter_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OTLP asked for without its package: a clear error at construction, naming it."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9/v1/traces")
    monkeypatch.setitem(sys.modules, HTTP_TRACES, None)
    with pytest.raises(TelemetryConfigError,
                       match="pip install opentelemetry-exporter-otlp-proto-http"):
        Telemetry()


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """A stand-in OTLP/HTTP receiver on a free local port."""
    received: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_spans_and_logs_reach_an_otlp_endpoint(
    monkeypatch: pytest.MonkeyPatch, collector: tuple[str, list[tuple[str, bytes]]]
) -> None:
    """With endpoint variables set, Telemetry() also sends every span and record over OTLP."""
    pytest.importorskip(HTTP_TRACES)
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    url, received = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{url}/v1/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", f"{url}/v1/logs")
    telemetry = Telemetry()
    engine = small_engine(observer=telemetry.observer, schemas=("page",))
    engine.ingest(T0, "acme-prod", "cms", "node-1", 5)
    drain(engine, T0 + 10)
    telemetry.shutdown()
    spans = [s for path, body in received if path == "/v1/traces"
             for rs in ExportTraceServiceRequest.FromString(body).resource_spans
             for ss in rs.scope_spans for s in ss.spans]
    records = [r for path, body in received if path == "/v1/logs"
               for rl in ExportLogsServiceRequest.FromString(body).resource_logs
               for sl in rl.scope_logs for r in sl.log_records]
    assert sorted(s.name for s in spans) == ["ingest", "process acme-prod", "send acme-prod"]
    assert [r.event_name for r in records] == [
        "entity.ingested", "job.created", "job.enqueued", "job.dequeued", "job.processed"]
