"""Telemetry cost: the instrumented simulation with each output, as ratios in one run.

One working day of the baseline scenario (all 14 tenants), three ways: the engine alone;
telemetry into exporters that discard everything; into OTLP JSON lines files loaded into
DuckDB afterwards (what ``toolkit simulate`` does). Prints wall times, the ratios against the
discarding run, spans and log records per job, and bytes stored per job. Asserts nothing.

    .venv/bin/python benchmarks/bench_telemetry.py [--days N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from toolkit.store import Store
from toolkit.telemetry import CountingLogExporter, CountingSpanExporter, Telemetry
from toolkit.workload import run_scenario


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

    with tempfile.TemporaryDirectory() as scratch:
        db = os.path.join(scratch, "files.duckdb")
        t = time.perf_counter()
        with Telemetry.to_directory(os.path.join(scratch, "otlp")) as telemetry:
            run_scenario("baseline", days=days, observer=telemetry.observer)
        with Store.open(db) as store:
            store.load(os.path.join(scratch, "otlp"))
            store.connection.execute("CHECKPOINT")
            stored = store.sql("SELECT (SELECT count(*) FROM spans) AS s, "
                               "(SELECT count(*) FROM logs) AS l").iloc[0]
        rows["JSON lines + load"] = time.perf_counter() - t
        file_bytes = os.path.getsize(db)

    base = rows["discarding exporters"]
    print(f"baseline scenario, {days} day(s): {jobs} jobs, {n_spans} spans, {n_logs} log records")
    print(f"{'output':<30} {'seconds':>8} {'ratio to discarding':>20}")
    for name, seconds in rows.items():
        print(f"{name:<30} {seconds:>8.2f} {seconds / base:>20.3f}")
    print(f"stored: {stored.s} spans, {stored.l} log records (emitted {n_spans}, {n_logs})")
    print(f"per job: {n_spans / jobs:.2f} spans, {n_logs / jobs:.2f} log records; "
          f"stored {file_bytes / jobs:.0f} bytes/job")


if __name__ == "__main__":
    main()
