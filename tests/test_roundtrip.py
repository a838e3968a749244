"""Engine telemetry -> OTLP JSON lines files -> load: the store holds exactly what the SDK
emitted, and its rollup equals the engine's own ground truth."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest

from toolkit.evaluate.truth import rollup_frame
from toolkit.store import Store, decode_attributes, decode_value
from toolkit.telemetry import CountingLogExporter, CountingSpanExporter, Telemetry
from toolkit.workload import Topology, run_scenario

TENANTS = Topology(tuple(t for t in Topology().tenants if t.name in ("acme", "wayne")))


class _KeepSpans(CountingSpanExporter):
    """The SDK's own span records, kept as they were handed to the exporters."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: list = []

    def export(self, spans):  # type: ignore[no-untyped-def]
        self.kept.extend(spans)
        return super().export(spans)


class _KeepLogs(CountingLogExporter):
    """The SDK's own log records, likewise."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: list = []

    def export(self, batch):  # type: ignore[no-untyped-def]
        self.kept.extend(batch)
        return super().export(batch)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One day of may7 for two tenants, into files and into memory at once, then loaded."""
    directory = tmp_path_factory.mktemp("roundtrip")
    spans, logs = _KeepSpans(), _KeepLogs()
    with Telemetry.to_directory(directory / "otlp", service_instance_id="run-1",
                                span_exporters=[spans], log_exporters=[logs]) as telemetry:
        result = run_scenario("may7", days=1, observer=telemetry.observer, topology=TENANTS)
    store = Store.open(directory / "store.duckdb")
    loaded = store.load(directory / "otlp")
    yield store, loaded, spans.kept, logs.kept, result
    store.close()


def _plain(attributes) -> dict:  # type: ignore[no-untyped-def]
    return {k: list(v) if isinstance(v, tuple) else v for k, v in (attributes or {}).items()}


def test_every_span_the_sdk_emitted_is_stored_as_it_was(run):
    """Ids, names, times, kind, status, parent, attributes and links of every span."""
    store, loaded, spans, _, _ = run
    assert loaded.rejected == 0 and loaded.duplicates == 0
    assert loaded.spans_loaded == len(spans) > 1000
    expected = {
        (f"{s.context.trace_id:032x}", f"{s.context.span_id:016x}"): (
            s.name, s.kind.name.lower(), s.start_time, s.end_time,
            s.status.status_code.name.lower(),
            f"{s.parent.span_id:016x}" if s.parent else None, _plain(s.attributes),
            sorted((f"{link.context.trace_id:032x}", f"{link.context.span_id:016x}")
                   for link in s.links),
        )
        for s in spans
    }
    rows = store.connection.execute(
        "SELECT trace_id, span_id, name, kind, start_time_unix_nano, end_time_unix_nano, "
        "status_code, parent_span_id, attributes FROM spans").fetchall()
    by_span: dict = {}
    for trace, span, linked_trace, linked_span in store.connection.execute(
            "SELECT trace_id, span_id, linked_trace_id, linked_span_id FROM span_links"
    ).fetchall():
        by_span.setdefault((trace, span), []).append((linked_trace, linked_span))
    stored = {
        (trace, span): (*rest, decode_attributes(attributes),
                        sorted(by_span.get((trace, span), [])))
        for trace, span, *rest, attributes in rows
    }
    assert stored == expected


def test_every_log_record_the_sdk_emitted_is_stored_as_it_was(run):
    """Time, trace context, severity, event name, body and attributes of every record."""
    store, loaded, _, logs, _ = run
    assert loaded.logs_loaded == len(logs) > 1000

    def key(time, trace_id, span_id, severity, body, attributes):  # type: ignore[no-untyped-def]
        return (time, trace_id, span_id, severity, repr(body), repr(sorted(attributes.items())))

    expected = Counter(
        key(r.log_record.timestamp,
            f"{r.log_record.trace_id:032x}" if r.log_record.trace_id else None,
            f"{r.log_record.span_id:016x}" if r.log_record.span_id else None,
            r.log_record.severity_number.value if r.log_record.severity_number else 0,
            r.log_record.body, _plain(r.log_record.attributes))
        for r in logs
    )
    rows = store.connection.execute(
        "SELECT time_unix_nano, trace_id, span_id, severity_number, body, attributes FROM logs"
    ).fetchall()
    stored = Counter(
        key(time, trace, span, severity, decode_value(json.loads(body)) if body else None,
            decode_attributes(attributes))
        for time, trace, span, severity, body, attributes in rows
    )
    assert stored == expected


def test_the_rollup_equals_the_ground_truth(run):
    """env_minute, computed in SQL from the loaded job logs, equals the engine's own counts."""
    store, _, _, _, result = run
    cols = ["offered", "deduplicated", "processed", "failed", "retried", "follow_ups"]
    stored = store.rollup().groupby("environment")[cols].sum().sort_index()
    exact = rollup_frame(result.truth).groupby("environment")[cols].sum().sort_index()
    pd.testing.assert_frame_equal(stored, exact, check_dtype=False)
