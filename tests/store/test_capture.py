"""The exporters' capture and encoding: the fast paths give exactly what the reference
paths give, and the SDK path and the OTLP JSON path agree on every promoted column."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    set_span_in_context,
)
from opentelemetry.trace.span import TraceFlags, TraceState

from tests.store.otlp import T0
from tests.store.test_values import KEYS, VALUES
from toolkit.store import DuckDBLogRecordExporter, Store
from toolkit.store import capture as capture_module
from toolkit.store.arrow import _attributes_json
from toolkit.store.schema import HOT_ATTRIBUTES
from toolkit.store.values import encode_attributes
from toolkit.telemetry.otlp_json import logs_line

NS = 1_000_000_000
RESOURCE = Resource({"service.name": "toolkit-engine"})


def _spans() -> list:
    """Finished SDK spans covering what a capture reads: a remote parent with trace state,
    links, events, an error status, every kind."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("toolkit.telemetry", "0.1.0")
    remote = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1),
                         trace_state=TraceState([("vendor", "x")]))
    parent = set_span_in_context(NonRecordingSpan(remote))
    for i, kind in enumerate(SpanKind):
        span = tracer.start_span(
            f"s{i}", context=parent if i % 2 else None, kind=kind, start_time=T0 * NS + i,
            attributes={"pipeline.job.id": i, "ratio": 0.5, "tags": ("a", "b")},
            links=[Link(remote, {"messaging.operation.type": "send"})] if i % 3 == 0 else None,
        )
        span.add_event("retry", {"pipeline.job.attempt": 2}, timestamp=T0 * NS + i + 1)
        if i % 2:
            span.set_status(Status(StatusCode.ERROR, "failed"))
        span.end(end_time=T0 * NS + i + 2)
    return list(exporter.get_finished_spans())


def test_the_fast_span_capture_equals_the_public_api_capture():
    """Reading the SDK's private fields gives what its documented properties give."""
    spans = _spans()
    fast = [capture_module._span_fast(s) for s in spans]
    public = [capture_module._span_public(s) for s in spans]
    assert fast == public
    assert {row[5] for row in fast} == {k.name.lower() for k in SpanKind}
    assert any(row[3] for row in fast) and any(row[10] == "vendor=x" for row in fast)


def test_capture_falls_back_to_the_public_api_when_the_sdk_changes(monkeypatch):
    """A span without the private fields (a later SDK) is still captured, the same way."""
    spans = _spans()
    expected = [capture_module._span_public(s) for s in spans]

    class Renamed:
        def __init__(self, span):
            self._wrapped = span

        def __getattr__(self, name):
            if name.startswith("_"):
                raise AttributeError(name)
            return getattr(self._wrapped, name)

    monkeypatch.setattr(capture_module, "_span", capture_module._span_fast)
    assert capture_module.capture_spans([Renamed(s) for s in spans]) == expected
    assert capture_module._span is capture_module._span_public


@settings(max_examples=200, deadline=None)
@given(attributes=st.dictionaries(KEYS, VALUES, max_size=6))
def test_the_c_encoder_path_writes_what_the_reference_encoder_writes(attributes):
    """NaN, infinities, bytes and nested values included: the same JSON text, so a record
    gets the same ``record_id`` whichever path it took."""
    assert _attributes_json(attributes) == encode_attributes(attributes)


HOT_VALUES = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["7", "007", "-3", "9223372036854775807", "9223372036854775808", " 1"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, -1, 2**63 - 1, -(2**63)]),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)


@pytest.fixture(scope="module")
def two_stores(tmp_path_factory):
    """A store fed by the SDK exporter and one fed by OTLP JSON files, for all examples."""
    directory = tmp_path_factory.mktemp("parity")
    with Store.open(directory / "sdk.duckdb") as sdk, Store.open(directory / "json.duckdb") as js:
        exporter = DuckDBLogRecordExporter(sdk)
        yield sdk, js, exporter, directory, itertools.count(1)
        exporter.shutdown()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.fixed_dictionaries(
    {}, optional={h.key: HOT_VALUES for h in HOT_ATTRIBUTES}))
def test_sdk_export_and_json_load_promote_the_same_columns(two_stores, values):
    """Every promoted column (text from strings and integers; integers from integers and
    canonical digit strings) and the record id agree between the two ways in."""
    sdk, js, exporter, directory, counter = two_stores
    n = next(counter)
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    provider.get_logger("toolkit.telemetry", "0.1.0").emit(
        timestamp=T0 * NS + n, body="b", severity_number=SeverityNumber.INFO,
        attributes=values,
    )
    provider.shutdown()
    records = list(memory.get_finished_logs())
    exporter.export(records)
    assert exporter.force_flush()
    path = directory / f"{n}.jsonl"
    path.write_bytes(logs_line(records) + b"\n")
    assert js.load(path, refresh=False).logs_loaded == 1
    cols = ", ".join(["record_id", "attributes", *(h.column for h in HOT_ATTRIBUTES)])
    query = f"SELECT {cols} FROM logs WHERE time_unix_nano = ?"
    a = sdk.sql(query, [T0 * NS + n]).to_dict("records")
    b = js.sql(query, [T0 * NS + n]).to_dict("records")
    assert len(a) == len(b) == 1
    assert {k: (None if v != v else v) for k, v in a[0].items()} == {
        k: (None if v != v else v) for k, v in b[0].items()
    }
