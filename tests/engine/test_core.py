"""The engine state machine: ingest, skip, deploy, retries, failures, views."""

import pytest

from toolkit.engine import JobState, Outcome
from toolkit.engine.testing import (
    RecordingObserver,
    ScriptedProcessor,
    drain,
    small_engine,
    truth_for,
)
from toolkit.errors import BadInput


def test_unchanged_content_creates_no_job_but_records_the_skip():
    """Same content hash twice: the second ingest is skipped and observed as such."""
    seen = RecordingObserver()
    engine = small_engine(observer=seen)
    assert len(engine.ingest(1.0, "acme-prod", "cms", "node-1", 5)) == 2
    assert engine.ingest(2.0, "acme-prod", "cms", "node-1", 5) is None
    assert [k.entity for k in seen.skips] == ["node-1"]
    assert engine.entity_version("acme-prod", "cms", "node-1") == 1


def test_changed_content_bumps_the_version_per_environment():
    """Versions are a per-(environment, source, entity) sequence."""
    engine = small_engine()
    engine.ingest(1.0, "acme-prod", "cms", "node-1", 5)
    engine.ingest(2.0, "acme-prod", "cms", "node-1", 6)
    engine.ingest(3.0, "acme-dev", "cms", "node-1", 6)
    assert engine.entity_version("acme-prod", "cms", "node-1") == 2
    assert engine.entity_version("acme-dev", "cms", "node-1") == 1


def test_jobs_fan_out_one_per_schema_and_coalesce_while_pending():
    """Two ingests before processing: one job per schema survives, with the newer version."""
    engine = small_engine()
    engine.ingest(1.0, "acme-prod", "cms", "node-1", 5)
    second = engine.ingest(2.0, "acme-prod", "cms", "node-1", 6)
    assert [d.outcome for d in second] == [Outcome.DEDUPLICATED] * 2
    assert [d.survivor_version for d in second] == [2, 2]
    drain(engine, 3.0)
    assert engine.stale_views() == []
    assert engine.views.version(second[0].survivor.key) == 2


def test_schema_deploy_creates_a_job_per_entity_of_the_source():
    """Deploying a schema to an environment re-renders every entity it holds there."""
    engine = small_engine()
    for i in range(3):
        engine.ingest(1.0, "acme-dev", "cms", f"node-{i}", 1)
    drain(engine, 2.0)
    decisions = engine.deploy_schema(3.0, "acme-dev", "cms", "search")
    assert [d.job.key.entity for d in decisions] == ["node-0", "node-1", "node-2"]
    assert {d.outcome for d in decisions} == {Outcome.ACCEPTED}
    assert engine.deploy_schema(3.0, "acme-prod", "cms", "search") == []


def test_failed_attempts_are_retried_then_given_up():
    """Three failures with max_attempts=3: the job fails for good and its view is missing."""
    engine = small_engine(schemas=("page",), processor=ScriptedProcessor([False] * 3))
    truth = truth_for(engine)
    engine.ingest(1.0, "acme-prod", "cms", "node-1", 5)
    drain(engine, 2.0)
    totals = truth.totals("acme-prod")
    assert (totals["failed_attempts"], totals["retries"], totals["failed_for_good"]) == (3, 2, 1)
    assert [s.view_version for s in engine.stale_views()] == [None]


def test_one_failure_then_success_renders_the_view():
    """A transient failure is retried and the view ends current."""
    engine = small_engine(schemas=("page",), processor=ScriptedProcessor([False]))
    engine.ingest(1.0, "acme-prod", "cms", "node-1", 5)
    drain(engine, 2.0)
    assert engine.stale_views() == []


def test_out_of_order_finish_keeps_the_newest_view():
    """Two workers for one key finishing out of order cannot leave the older rendering."""
    engine = small_engine(schemas=("page",))
    engine.ingest(1.0, "acme-prod", "cms", "node-1", 5)
    old = engine.take(1.0)
    old_attempt = engine.attempt(old)
    engine.ingest(2.0, "acme-prod", "cms", "node-1", 6)
    new = engine.take(2.0)
    engine.finish(3.0, new, engine.attempt(new))
    engine.finish(4.0, old, old_attempt)
    assert engine.views.version(new.key) == 2 and old.state is JobState.PROCESSED


def test_unknown_environment_source_or_schema_is_named():
    """Bad input to the engine names the value at fault."""
    engine = small_engine()
    with pytest.raises(BadInput, match="'nope-prod'"):
        engine.ingest(1.0, "nope-prod", "cms", "x", 1)
    with pytest.raises(BadInput, match="'pim'"):
        engine.ingest(1.0, "acme-prod", "pim", "x", 1)
    with pytest.raises(BadInput, match="'menu'"):
        engine.deploy_schema(1.0, "acme-prod", "cms", "menu")


def test_custom_components_are_used_even_when_empty():
    """A user's queue and deduplicator are kept although an empty one has len() 0."""
    from toolkit.engine import CoalescingDeduplicator, DeficitRoundRobinQueue

    queue = DeficitRoundRobinQueue({"acme-dev": 1, "acme-prod": 1})
    dedup = CoalescingDeduplicator()
    engine = small_engine(queue=queue, deduplicator=dedup)
    assert engine.queue is queue and engine.deduplicator is dedup
