"""The discrete-event simulator and the ground truth it keeps."""

import json

import pytest

from toolkit.engine import DEPLOY, INGEST, Arrival, FaultSchedule, FaultWindow, Simulator
from toolkit.engine.testing import ScriptedProcessor, small_engine, truth_for
from toolkit.errors import BadInput
from toolkit.workload import run_scenario


def test_workers_process_in_parallel_on_simulated_time():
    """Two workers, four 1-second jobs arriving at t=0: the last finishes at t=2."""
    engine = small_engine(schemas=("page",), processor=ScriptedProcessor(duration=1.0))
    truth = truth_for(engine)
    arrivals = [Arrival(0.0, INGEST, "acme-prod", "cms", f"node-{i}", 1) for i in range(4)]
    assert Simulator(engine, arrivals, workers=2).run() == 2.0
    assert truth.totals("acme-prod")["processed"] == 4


def test_fault_window_switches_on_and_off_at_its_times():
    """Jobs colliding inside the window are lost, the same collision after it is not."""
    engine = small_engine(schemas=("page",), processor=ScriptedProcessor(duration=30.0))
    truth = truth_for(engine)
    arrivals = []
    for t in (0.0, 100.0):  # inside, then after the window
        arrivals += [Arrival(t, INGEST, "acme-dev", "cms", f"node-{t}", 1),
                     Arrival(t + 1, INGEST, "acme-dev", "cms", f"busy-{t}", 1),
                     Arrival(t + 2, INGEST, "acme-prod", "cms", f"busy-{t}", 1)]
    faults = FaultSchedule([FaultWindow("env-blind-dedup", 0.0, 50.0)])
    Simulator(engine, arrivals, workers=1, faults=faults).run()
    assert [(w.key.entity, w.time) for w in truth.wrongful] == [("busy-0.0", 2.0)]
    assert [s[1:3] for s in truth.fault_switches] == [("env-blind-dedup", True),
                                                      ("env-blind-dedup", False)]


def test_deploy_arrival_fans_out():
    """A DEPLOY arrival creates a job per entity held in the environment."""
    engine = small_engine(schemas=("page", "search"))
    truth = truth_for(engine)
    arrivals = [Arrival(0.0, INGEST, "acme-dev", "cms", f"node-{i}", 1) for i in range(3)]
    arrivals.append(Arrival(60.0, DEPLOY, "acme-dev", "cms", "search"))
    Simulator(engine, arrivals, workers=1).run()
    assert truth.totals("acme-dev")["created"] == 9


def test_out_of_order_arrivals_are_rejected():
    """Arrivals must be time-ordered; a late one is named."""
    engine = small_engine()
    arrivals = [Arrival(5.0, INGEST, "acme-dev", "cms", "a", 1),
                Arrival(1.0, INGEST, "acme-dev", "cms", "b", 1)]
    with pytest.raises(BadInput, match="out of order"):
        Simulator(engine, arrivals, workers=1).run()


def test_same_seed_same_summary_byte_for_byte():
    """Determinism: the same scenario and seed give the identical summary bytes."""
    a = run_scenario("baseline", seed=3, days=1).summary()
    b = run_scenario("baseline", seed=3, days=1).summary()
    c = run_scenario("baseline", seed=4, days=1).summary()
    assert a.encode() == b.encode()
    assert a != c


def test_ground_truth_exports_json(tmp_path):
    """The ground truth is exportable: minutes, wrongful discards and stale views as JSON."""
    result = run_scenario("small-env", seed=1)
    path = tmp_path / "truth.json"
    result.truth.dump(str(path), result.stale_views)
    data = json.loads(path.read_text())
    assert len(data["wrongful_discards"]) == len(result.truth.wrongful) > 0
    assert {w["key"][1] for w in data["wrongful_discards"]} == {"piedpiper-prod"}
    assert len(data["stale_views"]) == len(result.stale_views)
