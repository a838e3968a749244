"""Hand-built OTLP JSON for the store's tests: requests exactly as a producer writes them."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

T0 = 1715083200  # 2024-05-07 12:00:00 UTC, seconds


def ns(seconds: float) -> str:
    """Unix nanoseconds as the JSON mapping writes 64-bit integers: a string."""
    return str(round(seconds * 1_000_000_000))


def value(v: Any) -> dict[str, Any]:
    """A Python value as an OTLP ``AnyValue``."""
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        if math.isnan(v):
            return {"doubleValue": "NaN"}  # the protobuf JSON mapping for non-finite doubles
        if math.isinf(v):
            return {"doubleValue": "Infinity" if v > 0 else "-Infinity"}
        return {"doubleValue": v}
    if isinstance(v, bytes):
        return {"bytesValue": base64.b64encode(v).decode()}
    if isinstance(v, list):
        return {"arrayValue": {"values": [value(x) for x in v]}}
    if isinstance(v, dict):
        return {"kvlistValue": {"values": attributes(v)}}
    return {"stringValue": v}


def attributes(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``KeyValue`` list for a mapping."""
    return [{"key": k, "value": value(v)} for k, v in values.items()]


def log_record(
    seconds: float, environment: str | None = None, event: str | None = None, **attrs: Any
) -> dict[str, Any]:
    """A log record of docs/contracts.md: ``event.name`` and the raw key as attributes."""
    values: dict[str, Any] = {}
    if environment is not None:
        values["pipeline.tenant"] = environment.split("-")[0]
        values["pipeline.environment"] = environment
    if event is not None:
        values["event.name"] = event
    values.update({k.replace("__", "."): v for k, v in attrs.items()})
    return {
        "timeUnixNano": ns(seconds),
        "severityNumber": 9,
        "severityText": "INFO",
        "body": {"stringValue": event or "log"},
        "attributes": attributes(values),
    }


def logs_request(
    records: Iterable[Mapping[str, Any]], service: str = "toolkit-engine"
) -> dict[str, Any]:
    """An ``ExportLogsServiceRequest`` with one resource and one scope."""
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": attributes({"service.name": service})},
                "scopeLogs": [
                    {"scope": {"name": "toolkit.telemetry"}, "logRecords": list(records)}
                ],
            }
        ]
    }


def span(
    trace: int,
    span_id: int,
    name: str = "job.process",
    start: float = T0,
    end: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A span with lower-case hex ids built from integers."""
    out: dict[str, Any] = {
        "traceId": f"{trace:032x}",
        "spanId": f"{span_id:016x}",
        "name": name,
        "kind": 1,
        "startTimeUnixNano": ns(start),
        "endTimeUnixNano": ns(end if end is not None else start + 1),
    }
    out.update(extra)
    return out


def traces_request(
    spans: Iterable[Mapping[str, Any]], service: str = "toolkit-engine"
) -> dict[str, Any]:
    """An ``ExportTraceServiceRequest`` with one resource and one scope."""
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": attributes({"service.name": service})},
                "scopeSpans": [{"scope": {"name": "toolkit.telemetry"}, "spans": list(spans)}],
            }
        ]
    }


def jsonl(*requests: Mapping[str, Any]) -> str:
    """JSON lines, one request per line, as the Collector's file exporter writes them."""
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in requests)
