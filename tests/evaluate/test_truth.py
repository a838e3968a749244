"""The ground truth as a rollup frame: what detectors are scored on without telemetry."""

from toolkit.evaluate.truth import rollup_frame
from toolkit.workload import run_scenario


def test_rollup_frame_matches_totals_and_counts_active_environments():
    """The exact rollup sums to the totals, and active_envs is the same for every row of a
    minute."""
    result = run_scenario("baseline", seed=3, days=1)
    frame = rollup_frame(result.truth)
    for env in ("acme-prod", "soylent-dev"):
        totals = result.truth.totals(env)
        rows = frame[frame.environment == env]
        assert rows.offered.sum() == totals["created"]
        assert rows.deduplicated.sum() == totals["deduplicated"]
        assert rows.processed.sum() == totals["processed"]
    assert (frame.groupby("minute").active_envs.nunique() == 1).all()
    busy = frame[frame.backlog > 0]
    assert (busy.active_envs >= 1).all()
