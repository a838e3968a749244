"""The live clock: real worker threads, real time (compressed), stopped cleanly."""

import time

from toolkit.engine import INGEST, Arrival
from toolkit.engine.live import LiveClock, LiveRunner
from toolkit.engine.testing import ScriptedProcessor, small_engine, truth_for


def test_live_runner_processes_arrivals_with_threads_until_stopped():
    """At 100x speed, 20 ingests over 2 simulated seconds are all processed, then it stops."""
    engine = small_engine(schemas=("page",), processor=ScriptedProcessor(duration=0.5))
    truth = truth_for(engine)
    clock = LiveClock(start=1000.0, speed=100.0)
    arrivals = [Arrival(1000.0 + i * 0.1, INGEST, "acme-prod", "cms", f"n{i}", 1)
                for i in range(20)]
    runner = LiveRunner(engine, arrivals, workers=3, clock=clock)
    runner.start()
    deadline = time.monotonic() + 10
    while truth.totals("acme-prod")["processed"] < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    runner.stop()
    assert truth.totals("acme-prod")["processed"] == 20
    assert runner.errors == [] and not runner.running
    assert engine.stale_views() == []
