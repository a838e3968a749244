"""The engine's telemetry as OTLP/JSON lines has the shape of the Collector file exporter's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.telemetry.conftest import T0, Captured
from toolkit.engine.testing import drain, small_engine
from toolkit.otlp.encode import logs_line, spans_line
from toolkit.telemetry import to_ns

SAMPLES = Path("/work/shared/otlp-samples")
HEX32, HEX16 = set("0123456789abcdef"), set("0123456789abcdef")


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
