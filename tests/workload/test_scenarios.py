"""The named scenarios, and the 7 May replay's ground truth."""

from datetime import UTC, datetime

import pytest

from toolkit.errors import BadInput
from toolkit.workload import SCENARIOS, run_scenario


def test_every_fault_has_a_scenario():
    """Each named fault is exercised by at least one scenario."""
    from toolkit.engine import FAULTS

    used = {f.name for s in SCENARIOS.values() for f in s.faults}
    assert used == set(FAULTS)


def test_may7_loses_jobs_only_inside_the_fault_window_and_only_across_environments():
    """The replay: wrongful discards start after 6 May 09:12 UTC, end by 7 May 16:41 UTC,
    each folded into another environment's job, and leave stale views to regenerate."""
    result = run_scenario("may7", seed=7)
    wrongful = result.truth.wrongful
    on = datetime(2024, 5, 6, 9, 12, tzinfo=UTC).timestamp()
    off = datetime(2024, 5, 7, 16, 41, tzinfo=UTC).timestamp()
    assert len(wrongful) > 100
    assert all(on <= w.time < off for w in wrongful)
    assert all(w.fault == "env-blind-dedup" for w in wrongful)
    assert all(w.key.environment != w.survivor_key.environment for w in wrongful)
    assert wrongful[0].time - on < 15 * 60
    affected = {w.key.environment for w in wrongful}
    assert len(affected) >= 10
    assert {s.key.environment for s in result.stale_views} <= affected
    assert len(result.stale_views) > 0


def test_baseline_has_duplicates_but_no_wrongful_discard_and_no_stale_view():
    """Normal days deduplicate legitimately and lose nothing."""
    result = run_scenario("baseline", seed=7, days=2)
    rows = result.summary_rows()
    assert sum(r["deduplicated"] for r in rows) > 100
    assert sum(r["wrongful_discards"] for r in rows) == 0
    assert result.stale_views == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"name": "nope"}, "unknown scenario 'nope'"), ({"name": "may7", "days": 0}, "--days"),
     ({"name": "may7", "seed": -1}, "--seed")],
)
def test_bad_scenario_arguments_are_named(kwargs, message):
    """Unknown scenarios and nonsense numbers raise BadInput naming the value."""
    name = kwargs.pop("name")
    with pytest.raises(BadInput, match=message):
        run_scenario(name, **kwargs)
