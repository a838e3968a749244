"""Report for a three-day replay: wall time of gathering and writing it. Asserts nothing.

Records the three-day ``lost-follow-up`` scenario (a fault on its third day) into a
temporary store, then times ``gather`` + ``write_report`` for the whole window.

    .venv/bin/python benchmarks/bench_report.py
"""

from __future__ import annotations

import os
import tempfile
import time

from toolkit.app.runs import record_scenario
from toolkit.report import gather, write_report
from toolkit.store import Store


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        db = os.path.join(scratch, "s.duckdb")
        t = time.perf_counter()
        record_scenario("lost-follow-up", db=db)
        recorded = time.perf_counter() - t
        t = time.perf_counter()
        with Store.open(db, read_only=True) as store:
            data = gather(store)
        gathered = time.perf_counter() - t
        written = write_report(data, os.path.join(scratch, "reports"))
        total = time.perf_counter() - t
    print(f"three-day replay recorded in {recorded:.1f} s; report: gather {gathered:.1f} s, "
          f"gather + write {total:.1f} s (target < 20 s); {len(written.figures)} figures, "
          f"{len(data.wrongful)} wrongful discards")


if __name__ == "__main__":
    main()
