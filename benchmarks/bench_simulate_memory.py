"""Memory of a recorded run: peak resident memory of ``toolkit simulate --scenario may7 --db``.

Issue 14's targets: at most 1 GB for the 6-day may7 replay (about 150,000 jobs), and flat in
the number of days (twice the days: at most 1.2 times the peak).

1. ``toolkit simulate --scenario may7 --days N --db X`` and the same at ``2N`` days, each a
   child process: peak RSS (``wait4``'s ``ru_maxrss``), wall time, and the ratio.
2. Where it goes, for ``N`` days: the same run's steps in one child (what
   ``toolkit.app.runs.record_into`` does), with the resident memory (``VmRSS``) after the
   imports, its highest value sampled during the simulation (engine, ground truth,
   telemetry observer, the SDK's batch processors, the JSON lines writers) and during the
   store's load of the files, and the Python heap's peak during the simulation
   (``tracemalloc``).

Prints; asserts nothing.

    .venv/bin/python benchmarks/bench_simulate_memory.py [--days 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_STEPS = r'''
import re, sys, tempfile, tracemalloc
from pathlib import Path


def rss():
    status = open("/proc/self/status").read()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024


days, db = int(sys.argv[1]), sys.argv[2]
from toolkit.store import Store
from toolkit.store.load import reporting_progress
from toolkit.telemetry import Telemetry
from toolkit.workload.scenarios import run_scenario

print(f"  after imports                     {rss():5d} MB")
high = [0]


def sample(_):
    high[0] = max(high[0], rss())


tracemalloc.start()
with tempfile.TemporaryDirectory() as scratch:
    with Telemetry.to_directory(Path(scratch), id_seed=7) as telemetry:
        result = run_scenario("may7", days=days, observer=telemetry.observer, progress=sample)
    heap = tracemalloc.get_traced_memory()[1] >> 20
    tracemalloc.stop()
    print(f"  simulating (highest VmRSS)        {high[0]:5d} MB   Python heap peak {heap} MB")
    print(f"  after the telemetry is flushed    {rss():5d} MB   "
          f"({sum(t['created'] for t in map(result.truth.totals, result.engine.environments))}"
          " jobs)")
    high[0] = 0
    with Store.open(db) as store, reporting_progress(sample):
        store.load(Path(scratch) / "traces.jsonl", Path(scratch) / "logs.jsonl")
    print(f"  loading the files (highest VmRSS) {high[0]:5d} MB")
'''


def simulate(days: int, db: Path) -> tuple[int, float]:
    """``toolkit simulate --scenario may7 --days DAYS --db DB`` as a child: (peak MB, s)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit.cli", "simulate", "--scenario", "may7",
         "--days", str(days), "--db", str(db)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"toolkit simulate --days {days} failed")
    return usage.ru_maxrss // 1024, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=3, help="N: runs N and 2N days")
    days = parser.parse_args().days
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        print("toolkit simulate --scenario may7 --db X (peak RSS, wall time):")
        peaks = []
        for n in (days, 2 * days):
            peak, seconds = simulate(n, root / f"may7-{n}.duckdb")
            peaks.append(peak)
            print(f"  --days {n:2d}: {peak:5d} MB  {seconds:6.1f} s")
        print(f"  ratio {2 * days} days / {days} days: {peaks[1] / peaks[0]:.2f} "
              "(target <= 1.2; target peak <= 1000 MB)")
        print(f"where it goes, --days {days}:", flush=True)
        subprocess.run([sys.executable, "-c", _STEPS, str(days), str(root / "steps.duckdb")],
                       check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
