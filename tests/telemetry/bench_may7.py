"""Wall and CPU time of the full ``may7`` replay with telemetry (not a test: run it by hand).

    .venv/bin/python -m tests.telemetry.bench_may7                 # spans + logs, discarded
    .venv/bin/python -m tests.telemetry.bench_may7 --metrics       # + metrics, in memory
    .venv/bin/python -m tests.telemetry.bench_may7 --files out/    # + OTLP JSON lines files
    .venv/bin/python -m tests.telemetry.bench_may7 --none          # the engine alone
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from toolkit.telemetry import CountingLogExporter, CountingSpanExporter, Telemetry
from toolkit.workload.scenarios import run_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--none", action="store_true", help="no telemetry at all")
    parser.add_argument("--metrics", action="store_true", help="also collect metrics")
    parser.add_argument("--files", type=Path, help="also write JSON lines into this directory")
    parser.add_argument("--gzip", action="store_true", help="gzip the JSON lines files")
    args = parser.parse_args()

    readers = [InMemoryMetricReader()] if args.metrics else []
    if args.files is not None:
        shutil.rmtree(args.files, ignore_errors=True)
        telemetry = Telemetry.to_directory(args.files, compress=args.gzip, max_bytes=512 * 2**20,
                                           metric_readers=readers, otlp=False)
        spans, logs = telemetry.span_exporters[0], telemetry.log_exporters[0]
    else:
        spans, logs = CountingSpanExporter(), CountingLogExporter()
        telemetry = Telemetry(span_exporters=[spans], log_exporters=[logs],
                              metric_readers=readers, otlp=False)
    wall, cpu = time.perf_counter(), time.process_time()
    result = run_scenario("may7", days=args.days,
                          observer=None if args.none else telemetry.observer)
    telemetry.shutdown()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    jobs = sum(result.truth.totals(env)["created"] for env in result.truth.environments())
    span_count, log_count = _count(spans), _count(logs)
    print(f"may7 days={args.days or 'all'}: wall {wall:.1f} s, cpu {cpu:.1f} s, {jobs} jobs, "
          f"{span_count} spans ({span_count / jobs:.2f}/job), "
          f"{log_count} log records ({log_count / jobs:.2f}/job), "
          f"{wall / jobs * 1e6:.0f} us/job")
    if args.files is not None:
        size = sum(p.stat().st_size for p in args.files.iterdir())
        print(f"files: {sorted(os.listdir(args.files))}, {size / 2**20:.0f} MiB")


def _count(exporter: object) -> int:
    """Records seen by a counting exporter or written by a JSON lines exporter."""
    return int(getattr(exporter, "count", None) or getattr(exporter, "exported", 0))


if __name__ == "__main__":
    main()
