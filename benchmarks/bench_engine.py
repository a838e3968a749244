"""Engine throughput and memory: simulated jobs per second, engine alone (no telemetry).

Runs the may7 topology and traffic for six days at 1x and at 10x the editor traffic (with 10x
the workers), each in a fresh process so peak RSS is its own. Throughput is timed over the
simulation only (arrivals pre-generated); memory is measured with arrivals streamed lazily, so
it shows what the engine itself holds. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_engine.py
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time


def child(scale: float, mode: str) -> dict[str, float]:
    from toolkit.engine import Engine, GroundTruth, SimulatedProcessor, Simulator
    from toolkit.workload import Topology, Traffic, TrafficProfile, get_scenario

    scenario = get_scenario("may7")
    topology = Topology()
    start = scenario.start_ts
    end = start + scenario.days * 86400
    traffic = Traffic(topology, seed=7, start=start, end=end, profile=TrafficProfile(scale=scale))
    arrivals = list(traffic) if mode == "speed" else traffic
    truth = GroundTruth(start) if mode != "speed-bare" else None
    if mode == "speed-bare":
        arrivals = list(traffic)
    engine = Engine(
        topology.environments(), topology.schemas(),
        processor=SimulatedProcessor(random.Random(1), mean_seconds=scenario.mean_seconds),
        observer=truth,
    )
    t0 = time.perf_counter()
    Simulator(engine, arrivals, workers=round(scenario.workers * scale)).run()
    elapsed = time.perf_counter() - t0
    jobs = engine._next_id - 1
    return {
        "scale": scale, "mode": mode, "jobs": jobs, "seconds": round(elapsed, 3),
        "jobs_per_second": round(jobs / elapsed),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(float(sys.argv[2]), sys.argv[3])))
        return
    rows = []
    for scale, mode in [(1, "speed-bare"), (1, "speed"), (1, "memory"), (10, "memory")]:
        out = subprocess.run([sys.executable, __file__, "--child", str(scale), mode],
                             capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out))
    print(f"{'scale':>5} {'mode':<11} {'jobs':>9} {'seconds':>8} {'jobs/s':>9} {'peak RSS':>9}")
    for r in rows:
        print(f"{r['scale']:>5} {r['mode']:<11} {r['jobs']:>9} {r['seconds']:>8} "
              f"{r['jobs_per_second']:>9} {r['peak_rss_mib']:>7}Mi")
    one, ten = rows[2], rows[3]
    print(f"memory 10x/1x jobs: {ten['jobs'] / one['jobs']:.1f}x jobs, "
          f"{ten['peak_rss_mib'] / one['peak_rss_mib']:.2f}x peak RSS")
    print("speed-bare: no observer; speed: with the ground-truth observer (what scenarios run)")


if __name__ == "__main__":
    main()
