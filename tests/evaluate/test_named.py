"""The labelled evaluation on a short configuration (three simulated days per run)."""

import json

import pytest

from tests.detect.conftest import minute, rollup
from toolkit.detect import Event
from toolkit.detect._grid import to_grid
from toolkit.evaluate import (
    Labelled,
    evaluate,
    evaluation_frame,
    format_evaluation,
    score,
    simulate,
)


@pytest.fixture(scope="module")
def result():
    """Fit on 3 fault-free days; score 3 normal days and the 3-day schema-blind-dedup run."""
    return evaluate(scenarios=("baseline", "schema-blind-dedup"), days_override=3)


def test_scores_every_detector_and_their_union(result):
    """Each scenario has a metrics row per detector plus 'any', and the table shows each."""
    facts = result["scenarios"]["schema-blind-dedup"]
    assert list(facts["detectors"]) == ["tail", "cusum", "concurrency", "peers", "yield", "any"]
    assert (facts["days"], facts["environments"]) == (3, 31)
    assert facts["first_wrongful"].startswith("2024-05-01T09:00")
    text = format_evaluation(result)
    assert all(f"detector {d}" in text for d in [*facts["detectors"]])
    assert len(evaluation_frame(result)) == 12


def test_schema_blind_dedup_is_caught_everywhere_and_fast(result):
    """Every affected environment is flagged by some detector within a minute of the fault."""
    union = result["scenarios"]["schema-blind-dedup"]["detectors"]["any"]
    assert (union["flagged"], union["affected"], union["missed"]) == (31, 31, [])
    assert union["first_alert_min"] < 1.0
    assert union["false_pages"] == 0


def test_normal_days_raise_no_page(result):
    """Three fault-free days the detectors never saw: no page, whatever the tickets."""
    normal = result["scenarios"]["baseline"]["detectors"]["any"]
    assert normal["pages"] == 0 and normal["affected"] == 0
    assert result["targets"]["normal_days_zero_pages"] == {"value": 0, "met": True}
    assert result["targets"]["no_event_on_3_jobs"]["met"] is True


def test_result_is_json_and_simulations_are_cached(result):
    """The result dumps as JSON as is; a second evaluation reuses the simulated runs."""
    assert json.loads(json.dumps(result))["seed"] == 7
    before = simulate.cache_info().hits
    evaluate(scenarios=("schema-blind-dedup",), days_override=3, detectors=["tail"])
    assert simulate.cache_info().hits == before + 2


def test_unknown_scenario_is_bad_input():
    """A typo in a scenario name fails before anything is simulated."""
    with pytest.raises(ValueError, match="unknown scenario 'may8'"):
        evaluate(scenarios=("may8",), days_override=1)


def test_scoring_rules_on_hand_made_labels():
    """True positives are detected between the first wrongful discard and grace after the
    last; latency runs to the end of the detection minute; early events are false alarms."""
    frame = rollup({"acme-prod": {"offered": 10}, "globex-prod": {"offered": 10}}, 300)
    t0 = minute(100).timestamp()
    labelled = Labelled("hand", 7, 7, frame, {"acme-prod": t0 + 30},
                        {"acme-prod": t0 + 60 * 20}, {"acme-prod": 12}, 2)
    events = [
        Event("acme-prod", minute(90), minute(95), 1.0, "x", "", "ticket"),   # before: false
        Event("acme-prod", minute(103), minute(140), 9.0, "x", "", "page"),  # true, 3.5 min
        Event("acme-prod", minute(200), minute(201), 9.0, "x", "", "page"),  # after grace
        Event("globex-prod", minute(120), minute(121), 9.0, "x", "", "page"),  # unaffected
    ]
    metrics = score(events, labelled, to_grid(frame))
    assert (metrics["true_positives"], metrics["false_alarms"], metrics["false_pages"]) == (
        1, 3, 2)
    assert (metrics["flagged"], metrics["recall"], metrics["recall_10"]) == (1, 1.0, 1.0)
    assert metrics["latency_median_min"] == pytest.approx(3.5)
    assert metrics["first_alert_min"] == pytest.approx(3.5)
    assert metrics["false_alarms_per_env_week"] == pytest.approx(1.5)
    assert metrics["precision"] == pytest.approx(0.25)
