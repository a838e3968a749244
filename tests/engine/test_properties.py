"""Hypothesis properties of the engine over random multi-environment arrival sequences."""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.engine import Environment, FaultWindow, GroundTruth, JobState, Outcome, combine
from toolkit.engine.testing import RecordingObserver, ScriptedProcessor, drain, small_engine
from toolkit.engine.truth import is_justified

ENVS = [
    Environment("acme-dev", "acme", "DEV", "standard"),
    Environment("acme-staging", "acme", "STAGING", "standard"),
    Environment("acme-prod", "acme", "PROD", "enterprise"),
    Environment("zeta-prod", "zeta", "PROD", "free"),
]
SCHEMAS = ("page", "search")

ingest = st.tuples(st.just("ingest"), st.integers(0, 3), st.integers(0, 3), st.booleans())
work = st.tuples(st.just("work"), st.integers(1, 6), st.lists(st.booleans(), max_size=6))
deploy = st.tuples(st.just("deploy"), st.integers(0, 3), st.integers(0, 1), st.just(None))
actions = st.lists(st.one_of(ingest, ingest, work, deploy), max_size=60)


def play(script, *, fault=None, environments=ENVS):
    """Run a script of actions; returns engine, truth and recorder (not yet drained)."""
    truth, seen = GroundTruth(0.0), RecordingObserver()
    processor = ScriptedProcessor()
    engine = small_engine(environments=environments, schemas=SCHEMAS, processor=processor,
                          observer=combine(truth, seen))
    if fault:
        engine.switch_fault(0.0, FaultWindow(fault, 0, 1e9), True)
    revision: Counter = Counter()
    now = 1.0
    for action in script:
        now += 1.0
        if action[0] == "ingest":
            _, e, entity, changed = action
            env = environments[e % len(environments)]
            revision[entity] += changed
            engine.ingest(now, env.id, "cms", f"node-{entity}", revision[entity])
        elif action[0] == "deploy":
            _, e, s, _ = action
            engine.deploy_schema(now, environments[e % len(environments)].id, "cms", SCHEMAS[s])
        else:
            _, count, outcomes = action
            processor.outcomes.extend(outcomes)
            for _ in range(count):
                job = engine.take(now)
                if job is None:
                    break
                attempt = engine.attempt(job)
                if engine.finish(now, job, attempt) is not None:
                    engine.requeue(now, job)
    return engine, truth, seen, now


@settings(max_examples=150, deadline=None)
@given(actions)
def test_every_drop_has_a_survivor_with_identical_key_and_version_not_older(script):
    """Without a fault every deduplicated job's survivor has the same full key, is pending,
    and carries a version not older."""
    _, truth, seen, _ = play(script)
    drops = [d for d in seen.decisions if d.outcome is Outcome.DEDUPLICATED]
    assert all(is_justified(d) for d in drops)
    assert truth.wrongful == []


@settings(max_examples=150, deadline=None)
@given(actions)
def test_accounting_adds_up_per_environment(script):
    """Per environment: created = processed + failed for good + deduplicated + still pending."""
    _, truth, seen, _ = play(script)
    pending = Counter(j.key.environment for j in seen.jobs.values()
                      if j.state in (JobState.PENDING, JobState.RUNNING))
    for env in ENVS:
        t = truth.totals(env.id)
        assert t["created"] == (t["processed"] + t["failed_for_good"] + t["deduplicated"]
                                + pending[env.id]), env.id


@settings(max_examples=150, deadline=None)
@given(actions)
def test_latest_version_of_every_key_is_eventually_processed(script):
    """After draining, every view renders its entity's latest version, unless a job for that
    key failed for good (a visible failure, not a silent drop)."""
    engine, _, seen, now = play(script)
    drain(engine, now)
    gave_up = {job.key for job, attempt, retry in seen.attempts if not attempt.ok and not retry}
    stale = [s for s in engine.stale_views() if s.key not in gave_up]
    assert stale == []


@settings(max_examples=150, deadline=None)
@given(actions)
def test_same_script_same_decisions(script):
    """The engine is deterministic: replaying a script gives the same decisions."""
    first = [(d.outcome, d.job.id, d.survivor.id) for d in play(script)[2].decisions]
    again = [(d.outcome, d.job.id, d.survivor.id) for d in play(script)[2].decisions]
    assert first == again
