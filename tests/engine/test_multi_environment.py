"""The automated test the 7 May 2024 post-mortem said was missing: several environments with
jobs queued at once, with the fairness-queue change's env-blind deduplication switched on."""

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.engine.test_properties import ENVS, actions, play
from toolkit.engine import Environment, FaultWindow
from toolkit.engine.faults import ENV_BLIND_DEDUP
from toolkit.engine.testing import drain, small_engine, truth_for

ONE_ENV_PER_TENANT = [
    Environment("acme-prod", "acme", "PROD", "standard"),
    Environment("zeta-prod", "zeta", "PROD", "free"),
]


def test_missing_postmortem_test_two_environments_queued_at_once_lose_a_job():
    """DEV and PROD both hold a job for node-1/page: with env-blind-dedup PROD's is discarded
    as a duplicate of DEV's, and PROD's view is never rendered."""
    engine = small_engine(schemas=("page",))
    truth = truth_for(engine)
    engine.switch_fault(0.0, FaultWindow(ENV_BLIND_DEDUP, 0, 100), True)
    engine.ingest(1.0, "acme-dev", "cms", "node-1", 11)
    engine.ingest(2.0, "acme-prod", "cms", "node-1", 11)
    drain(engine, 3.0)
    [lost] = truth.wrongful
    assert (lost.key.environment, lost.survivor_key.environment) == ("acme-prod", "acme-dev")
    assert (lost.key.entity, lost.key.schema, lost.fault) == ("node-1", "page", ENV_BLIND_DEDUP)
    assert [(s.key.environment, s.view_version, s.entity_version)
            for s in engine.stale_views()] == [("acme-prod", None, 1)]


def test_same_sequence_without_the_fault_loses_nothing():
    """The control: the identical sequence without the fault renders both views."""
    engine = small_engine(schemas=("page",))
    truth = truth_for(engine)
    engine.ingest(1.0, "acme-dev", "cms", "node-1", 11)
    engine.ingest(2.0, "acme-prod", "cms", "node-1", 11)
    drain(engine, 3.0)
    assert truth.wrongful == [] and engine.stale_views() == []


@settings(max_examples=200, deadline=None)
@given(actions)
def test_env_blind_dedup_never_discards_when_only_one_environment_is_active(script):
    """With one environment per tenant, env-blind-dedup has no other environment to confuse:
    zero wrongful discards whatever the traffic."""
    _, truth, _, _ = play(script, fault=ENV_BLIND_DEDUP, environments=ONE_ENV_PER_TENANT)
    assert truth.wrongful == []


@settings(max_examples=200, deadline=None)
@given(actions)
def test_env_blind_dedup_discards_only_into_another_environments_pending_job(script):
    """Every wrongful discard under env-blind-dedup names a survivor pending in another
    environment of the same tenant, for the same source, entity and schema."""
    _, truth, _, _ = play(script, fault=ENV_BLIND_DEDUP)
    for w in truth.wrongful:
        assert w.survivor_key.environment != w.key.environment
        assert w.survivor_key._replace(environment=w.key.environment) == w.key
        assert w.survivor_state == "pending"


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2))
def test_env_blind_dedup_discards_whenever_two_environments_hold_the_same_view(a, b, entity):
    """Two environments of one tenant ingesting the same entity with nothing processed in
    between: under the fault the second environment's jobs are all discarded."""
    first, second = ENVS[a % 3], ENVS[b % 3]
    script = [("ingest", ENVS.index(first), entity, True),
              ("ingest", ENVS.index(second), entity, False)]
    _, truth, _, _ = play(script, fault=ENV_BLIND_DEDUP)
    expected = 0 if first == second else 2  # one per schema
    assert len(truth.wrongful) == expected
