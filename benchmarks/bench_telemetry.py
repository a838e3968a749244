"""Telemetry cost: the instrumented simulation with each output, as ratios in one run.

One working day of the baseline scenario (all 14 tenants), six ways: the engine alone;
telemetry into exporters that discard everything; into exporters that capture and pickle
each batch as the DuckDB exporters do, then discard it; into the DuckDB SDK exporters given a
store path (a writer process) and given an open Store (a writer thread); into OTLP JSON
lines files loaded into DuckDB afterwards (what ``toolkit simulate`` does). Prints wall
times, the ratios against the discarding run, spans and log records per job, and bytes stored
per job. Asserts nothing.

    .venv/bin/python benchmarks/bench_telemetry.py [--days N]
"""

from __future__ import annotations

import argparse
import os
import pickle
import tempfile
import time

from toolkit.store import DuckDBLogRecordExporter, DuckDBSpanExporter, Store
from toolkit.store.capture import capture_logs, capture_spans
from toolkit.telemetry import CountingLogExporter, CountingSpanExporter, Telemetry
from toolkit.workload import run_scenario


class _CaptureOnlySpans(CountingSpanExporter):
    """What a DuckDB exporter given a path costs the program itself: capture and pickle,
    then discard (the floor of any exporter that copies records out of the SDK's objects)."""

    def export(self, spans):  # type: ignore[no-untyped-def]
        pickle.dumps(("spans", capture_spans(spans)), protocol=5)
        return super().export(spans)


class _CaptureOnlyLogs(CountingLogExporter):
    """Likewise for log records."""

    def export(self, batch):  # type: ignore[no-untyped-def]
        pickle.dumps(("logs", capture_logs(batch)), protocol=5)
        return super().export(batch)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=1)
    days = parser.parse_args().days
    rows = {}
    t = time.perf_counter()
    result = run_scenario("baseline", days=days)
    rows["engine alone"] = time.perf_counter() - t
    jobs = sum(r["jobs"] for r in result.summary_rows())

    spans, logs = CountingSpanExporter(), CountingLogExporter()
    t = time.perf_counter()
    with Telemetry(span_exporters=[spans], log_exporters=[logs]) as telemetry:
        run_scenario("baseline", days=days, observer=telemetry.observer)
    rows["discarding exporters"] = time.perf_counter() - t
    n_spans, n_logs = spans.count, logs.count

    t = time.perf_counter()
    with Telemetry(span_exporters=[_CaptureOnlySpans()],
                   log_exporters=[_CaptureOnlyLogs()]) as telemetry:
        run_scenario("baseline", days=days, observer=telemetry.observer)
    rows["capture + pickle, discarded"] = time.perf_counter() - t

    with tempfile.TemporaryDirectory() as scratch:
        db = os.path.join(scratch, "direct.duckdb")
        t = time.perf_counter()
        with Telemetry(span_exporters=[DuckDBSpanExporter(db)],
                       log_exporters=[DuckDBLogRecordExporter(db)]) as telemetry:
            run_scenario("baseline", days=days, observer=telemetry.observer)
        rows["DuckDB exporters (path)"] = time.perf_counter() - t
        direct_bytes = os.path.getsize(db)
        with Store.open(db, read_only=True) as store:
            stored = store.sql("SELECT (SELECT count(*) FROM spans) AS s, "
                               "(SELECT count(*) FROM logs) AS l").iloc[0]

        db = os.path.join(scratch, "thread.duckdb")
        t = time.perf_counter()
        with Store.open(db) as store:
            with Telemetry(span_exporters=[DuckDBSpanExporter(store)],
                           log_exporters=[DuckDBLogRecordExporter(store)]) as telemetry:
                run_scenario("baseline", days=days, observer=telemetry.observer)
            store.refresh_rollup()
        rows["DuckDB exporters (open Store)"] = time.perf_counter() - t

        db = os.path.join(scratch, "files.duckdb")
        t = time.perf_counter()
        with Telemetry.to_directory(os.path.join(scratch, "otlp")) as telemetry:
            run_scenario("baseline", days=days, observer=telemetry.observer)
        with Store.open(db) as store:
            store.load(os.path.join(scratch, "otlp"))
            store.connection.execute("CHECKPOINT")
        rows["JSON lines + load"] = time.perf_counter() - t
        file_bytes = os.path.getsize(db)

    base = rows["discarding exporters"]
    print(f"baseline scenario, {days} day(s): {jobs} jobs, {n_spans} spans, {n_logs} log records")
    print(f"{'output':<30} {'seconds':>8} {'ratio to discarding':>20}")
    for name, seconds in rows.items():
        print(f"{name:<30} {seconds:>8.2f} {seconds / base:>20.3f}")
    print(f"stored by the exporters: {stored.s} spans, {stored.l} log records "
          f"(emitted {n_spans}, {n_logs})")
    print(f"per job: {n_spans / jobs:.2f} spans, {n_logs / jobs:.2f} log records; "
          f"stored {direct_bytes / jobs:.0f} bytes/job (direct), {file_bytes / jobs:.0f} (loaded)")


if __name__ == "__main__":
    main()
