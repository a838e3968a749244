"""Unit tests of the coalescing deduplicator and its faults."""

from toolkit.engine import CoalescingDeduplicator, FaultSwitchboard, FaultWindow, Job, JobKey
from toolkit.engine.model import JobState, Outcome, Trigger

DEV = JobKey("acme", "acme-dev", "cms", "node-1", "page")
PROD = DEV._replace(environment="acme-prod")


def job(job_id: int, key: JobKey = DEV, version: int = 1) -> Job:
    return Job(job_id, key, version, 0.0, Trigger.INGEST)


def faulty(name: str) -> tuple[CoalescingDeduplicator, FaultSwitchboard]:
    board = FaultSwitchboard()
    board.switch(FaultWindow(name, 0, 10), True)
    return CoalescingDeduplicator(board), board


def test_first_job_for_a_key_is_accepted_and_survives_itself():
    """A job with no pending or running twin is accepted; its survivor is itself."""
    dedup = CoalescingDeduplicator()
    j = job(1)
    d = dedup.offer(j)
    assert (d.outcome, d.survivor, d.survivor_state, d.survivor_version) == (
        Outcome.ACCEPTED, j, JobState.PENDING, 1)
    assert dedup.pending(DEV) is j


def test_newer_job_folds_into_pending_and_raises_its_version():
    """Coalesce to latest: the pending job survives and carries the newer version."""
    dedup = CoalescingDeduplicator()
    first, second = job(1, version=1), job(2, version=3)
    dedup.offer(first)
    d = dedup.offer(second)
    assert (d.outcome, d.survivor, d.survivor_version) == (Outcome.DEDUPLICATED, first, 3)
    assert first.version == 3 and second.state is JobState.DEDUPLICATED
    assert len(dedup) == 1


def test_older_job_folds_without_lowering_the_version():
    """A stale trigger never lowers the survivor's version."""
    dedup = CoalescingDeduplicator()
    first = job(1, version=5)
    dedup.offer(first)
    d = dedup.offer(job(2, version=2))
    assert d.survivor_version == 5 and first.version == 5


def test_trigger_while_running_leaves_exactly_one_follow_up():
    """A running job leaves one pending follow-up; later triggers fold into that follow-up."""
    dedup = CoalescingDeduplicator()
    running = job(1)
    dedup.offer(running)
    dedup.start(running)
    follow = job(2, version=2)
    assert dedup.offer(follow).outcome is Outcome.FOLLOW_UP
    d = dedup.offer(job(3, version=3))
    assert (d.outcome, d.survivor, d.survivor_version) == (Outcome.DEDUPLICATED, follow, 3)
    assert dedup.running(DEV) is running and dedup.pending(DEV) is follow


def test_failed_job_is_requeued_or_folded_into_a_newer_follow_up():
    """A retry goes back to pending, unless a follow-up with a newer version is already there."""
    dedup = CoalescingDeduplicator()
    a = job(1)
    dedup.offer(a)
    dedup.start(a)
    assert dedup.finish(a, retry=True).outcome is Outcome.REQUEUED
    dedup.start(a)
    b = job(2, version=2)
    dedup.offer(b)
    d = dedup.finish(a, retry=True)
    assert (d.outcome, d.survivor, d.survivor_version) == (Outcome.DEDUPLICATED, b, 2)
    assert dedup.finish(b, retry=False) is None


def test_environments_are_distinct_keys_without_fault():
    """Without a fault, the same entity and schema in DEV and PROD are two keys."""
    dedup = CoalescingDeduplicator()
    dedup.offer(job(1, DEV))
    assert dedup.offer(job(2, PROD)).outcome is Outcome.ACCEPTED


def test_env_blind_fault_discards_the_other_environments_job():
    """env-blind-dedup folds PROD's job into DEV's pending job: a wrongful discard."""
    dedup, _ = faulty("env-blind-dedup")
    dev = job(1, DEV, version=4)
    dedup.offer(dev)
    d = dedup.offer(job(2, PROD, version=1))
    assert (d.outcome, d.survivor, d.fault) == (Outcome.DEDUPLICATED, dev, "env-blind-dedup")
    assert d.survivor.key.environment == "acme-dev"
    assert dev.version == 4  # a faulty fold does not touch the survivor's version


def test_env_blind_fault_confined_to_scope():
    """A fault scoped to one environment leaves offers in other environments alone."""
    board = FaultSwitchboard()
    board.switch(FaultWindow("env-blind-dedup", 0, 10, frozenset({"acme-dev"})), True)
    dedup = CoalescingDeduplicator(board)
    dedup.offer(job(1, DEV))
    assert dedup.offer(job(2, PROD)).outcome is Outcome.ACCEPTED


def test_schema_blind_fault_discards_another_schemas_job():
    """schema-blind-dedup folds the search job into the pending page job."""
    dedup, _ = faulty("schema-blind-dedup")
    page = job(1, DEV)
    dedup.offer(page)
    d = dedup.offer(job(2, DEV._replace(schema="search")))
    assert (d.outcome, d.survivor, d.fault) == (Outcome.DEDUPLICATED, page, "schema-blind-dedup")


def test_lost_follow_up_fault_folds_into_the_running_job():
    """lost-follow-up drops a trigger into a running job, which already read older content."""
    dedup, _ = faulty("lost-follow-up")
    running = job(1, version=1)
    dedup.offer(running)
    dedup.start(running)
    d = dedup.offer(job(2, version=2))
    assert (d.outcome, d.survivor, d.survivor_state, d.survivor_version) == (
        Outcome.DEDUPLICATED, running, JobState.RUNNING, 1)
    assert dedup.pending(DEV) is None


def test_switching_a_fault_off_restores_correct_decisions():
    """After the switch-off the same offer is accepted again."""
    dedup, board = faulty("env-blind-dedup")
    dedup.offer(job(1, DEV))
    board.switch(FaultWindow("env-blind-dedup", 0, 10), False)
    assert dedup.offer(job(2, PROD)).outcome is Outcome.ACCEPTED
