"""Telemetry cost: the instrumented simulation with each output, as ratios in one run.

One working day of the baseline scenario (all 14 tenants), four ways: the engine alone;
telemetry into exporters that discard everything; into the DuckDB SDK exporters; into OTLP
JSON lines files loaded into DuckDB afterwards (what ``toolkit simulate`` does). Prints wall
times, the ratios against the discarding run, spans and log records per job, and bytes stored
per job. Asserts nothing.

    .venv/bin/python benchmarks/bench_telemetry.py [--days N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from toolkit.store import DuckDBLogRecordExporter, DuckDBSpanExporter, Store
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
        db = os.path.join(scratch, "direct.duckdb")
        t = time.perf_counter()
        with Store.open(db) as store:
            with Telemetry(span_exporters=[DuckDBSpanExporter(store)],
                           log_exporters=[DuckDBLogRecordExporter(store)]) as telemetry:
                run_scenario("baseline", days=days, observer=telemetry.observer)
            store.refresh_rollup()
            store.connection.execute("CHECKPOINT")
        rows["DuckDB SDK exporters"] = time.perf_counter() - t
        direct_bytes = os.path.getsize(db)

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
    print(f"{'output':<22} {'seconds':>8} {'ratio to discarding':>20}")
    for name, seconds in rows.items():
        print(f"{name:<22} {seconds:>8.1f} {seconds / base:>20.2f}")
    print(f"per job: {n_spans / jobs:.2f} spans, {n_logs / jobs:.2f} log records; "
          f"stored {direct_bytes / jobs:.0f} bytes/job (direct), {file_bytes / jobs:.0f} (loaded)")


if __name__ == "__main__":
    main()
