"""The engine observer on a hand-sized engine: exact spans, links and job log records."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from opentelemetry._logs import SeverityNumber
from opentelemetry.trace import SpanContext, SpanKind, StatusCode

from tests.telemetry.conftest import T0, Captured, attrs, capture
from toolkit.engine import (
    INGEST,
    Arrival,
    CoalescingDeduplicator,
    Engine,
    FaultWindow,
    GroundTruth,
    Job,
    combine,
)
from toolkit.engine.faults import ENV_BLIND_DEDUP
from toolkit.engine.live import LiveClock, LiveRunner
from toolkit.engine.testing import ScriptedProcessor, drain, small_engine, two_environments
from toolkit.telemetry import attributes as a
from toolkit.telemetry import to_ns

KEY = {
    a.TENANT: "acme", a.ENVIRONMENT: "acme-prod", a.SOURCE: "cms", a.ENTITY: "node-1",
}
PAGE = {**KEY, a.SCHEMA: "page"}


def _job(job_id: int, version: int, trigger: str = "ingest") -> dict[str, object]:
    return {**PAGE, a.JOB_ID: job_id, a.JOB_VERSION: version, a.JOB_TRIGGER: trigger}


def _events_of(captured: Captured, job_id: int) -> list[str]:
    return [attrs(r)[a.EVENT_NAME] for r in captured.logs() if attrs(r).get(a.JOB_ID) == job_id]


def test_an_ingest_roots_the_trace_of_the_jobs_it_creates(captured: Captured) -> None:
    """One SERVER ``ingest`` span, and a PRODUCER ``send`` span per created job under it."""
    engine = small_engine(observer=captured.observer)
    engine.ingest(T0, "acme-prod", "cms", "node-1", 5)
    [ingest] = captured.spans("ingest")
    sends = captured.spans("send")
    assert (ingest.kind, ingest.parent) == (SpanKind.SERVER, None)
    assert attrs(ingest) == {**KEY, a.JOB_VERSION: 1}
    assert [(s.name, s.kind) for s in sends] == [("send acme-prod", SpanKind.PRODUCER)] * 2
    assert {s.parent.span_id for s in sends} == {ingest.context.span_id}  # type: ignore[union-attr]
    assert {s.context.trace_id for s in sends} == {ingest.context.trace_id}  # type: ignore[union-attr]
    assert attrs(sends[0]) == {
        **_job(1, 1),
        a.DECISION: "accepted", a.SURVIVOR_JOB_ID: 1, a.SURVIVOR_STATE: "pending",
        a.SURVIVOR_VERSION: 1,
        a.MESSAGING_SYSTEM: "toolkit.fairqueue", a.MESSAGING_DESTINATION: "acme-prod",
        a.MESSAGING_OPERATION_TYPE: "send", a.MESSAGING_OPERATION_NAME: "send",
        a.MESSAGING_MESSAGE_ID: "1", a.QUEUE_DEPTH: 1,
    }


def test_each_attempt_is_a_consumer_span_child_of_and_linked_to_its_producer(
    captured: Captured,
) -> None:
    """``process`` spans run from dequeue to the attempt's end, with the producer as parent
    and as the one span link, and the job's producer SpanContext kept in ``job.context``."""
    engine = small_engine(observer=captured.observer, schemas=("page",))
    [decision] = engine.ingest(T0, "acme-prod", "cms", "node-1", 5)
    drain(engine, T0 + 10)
    [send] = captured.spans("send")
    [process] = captured.spans("process")
    assert isinstance(decision.job.context, SpanContext)
    assert decision.job.context == send.context
    assert (process.name, process.kind) == ("process acme-prod", SpanKind.CONSUMER)
    assert process.parent.span_id == send.context.span_id  # type: ignore[union-attr]
    assert [link.context for link in process.links] == [send.context]
    assert (process.start_time, process.end_time) == (to_ns(T0 + 10), to_ns(T0 + 11))
    assert process.status.status_code is StatusCode.UNSET
    assert attrs(process) == {
        **_job(1, 1), a.JOB_ATTEMPT: 1,
        a.MESSAGING_SYSTEM: "toolkit.fairqueue", a.MESSAGING_DESTINATION: "acme-prod",
        a.MESSAGING_OPERATION_TYPE: "process", a.MESSAGING_OPERATION_NAME: "process",
        a.MESSAGING_MESSAGE_ID: "1", a.VIEW_VERSION: 1,
    }


def test_records_carry_the_engine_clock_and_the_trace_of_their_stage(captured: Captured) -> None:
    """A job's life in log records: simulated 7 May timestamps, ingest/producer/consumer
    span ids, one trace from ingest to view."""
    engine = small_engine(observer=captured.observer, schemas=("page",))
    engine.ingest(T0, "acme-prod", "cms", "node-1", 5)
    drain(engine, T0 + 10)
    [ingest], [send], [process] = (captured.spans(n) for n in ("ingest", "send", "process"))
    records = captured.logs()
    assert [attrs(r)[a.EVENT_NAME] for r in records] == [
        "entity.ingested", "job.created", "job.enqueued", "job.dequeued", "job.processed",
    ]
    assert [r.log_record.timestamp for r in records] == [to_ns(t) for t in
                                                          (T0, T0, T0, T0 + 10, T0 + 11)]
    assert datetime.fromtimestamp(records[0].log_record.timestamp / 1e9, UTC).date().isoformat() \
        == "2024-05-07"
    assert {r.log_record.trace_id for r in records} == {ingest.context.trace_id}  # type: ignore[union-attr]
    assert [r.log_record.span_id for r in records] == [
        ingest.context.span_id, send.context.span_id, send.context.span_id,  # type: ignore[union-attr]
        process.context.span_id, process.context.span_id,  # type: ignore[union-attr]
    ]
    assert [r.log_record.event_name for r in records] == [attrs(r)[a.EVENT_NAME] for r in records]
    assert {r.log_record.severity_number for r in records} == {SeverityNumber.INFO}
    assert attrs(records[2]) == {**_job(1, 1), a.DECISION: "accepted", a.QUEUE_DEPTH: 1,
                                 a.EVENT_NAME: "job.enqueued"}
    assert attrs(records[3]) == {**_job(1, 1), a.JOB_ATTEMPT: 1, a.QUEUE_DEPTH: 0,
                                 a.EVENT_NAME: "job.dequeued"}
    assert attrs(records[4]) == {**_job(1, 1), a.JOB_ATTEMPT: 1, a.QUEUE_DEPTH: 0,
                                 a.VIEW_VERSION: 1, a.EVENT_NAME: "job.processed"}


def test_a_fold_names_its_pending_survivor(captured: Captured) -> None:
    """A second ingest before processing: job.created and job.deduplicated carry the
    survivor's id, raw key, state and raised version."""
    engine = small_engine(observer=captured.observer, schemas=("page",))
    engine.ingest(T0, "acme-prod", "cms", "node-1", 5)
    engine.ingest(T0 + 1, "acme-prod", "cms", "node-1", 6)
    [created, dropped] = [r for r in captured.logs() if attrs(r).get(a.JOB_ID) == 2]
    survivor = {
        a.DECISION: "deduplicated", a.SURVIVOR_JOB_ID: 1, a.SURVIVOR_TENANT: "acme",
        a.SURVIVOR_ENVIRONMENT: "acme-prod", a.SURVIVOR_SOURCE: "cms",
        a.SURVIVOR_ENTITY: "node-1", a.SURVIVOR_SCHEMA: "page",
        a.SURVIVOR_STATE: "pending", a.SURVIVOR_VERSION: 2, a.QUEUE_DEPTH: 1,
    }
    assert attrs(created) == {**_job(2, 2), **survivor, a.EVENT_NAME: "job.created"}
    assert attrs(dropped) == {**_job(2, 2), **survivor, a.EVENT_NAME: "job.deduplicated"}
    [_, send] = captured.spans("send")
    assert attrs(send)[a.SURVIVOR_ENVIRONMENT] == "acme-prod"
    assert (send.start_time, send.end_time) == (to_ns(T0 + 1), to_ns(T0 + 1))
    assert _events_of(captured, 2) == ["job.created", "job.deduplicated"]


def test_an_env_blind_drop_shows_its_foreign_survivor_but_never_the_fault() -> None:
    """Under env-blind-dedup a PROD job is folded into the DEV job: the record says so with
    raw components; the fault's name appears only in the deployment record."""
    captured = capture()
    engine = Engine(
        two_environments(), {("acme", "cms"): ("page",)}, processor=ScriptedProcessor(),
        observer=captured.observer, retry_backoff=0.0,
    )
    engine.switch_fault(T0, FaultWindow(ENV_BLIND_DEDUP, T0, T0 + 3600, None), True)
    engine.ingest(T0 + 1, "acme-dev", "cms", "node-1", 5)
    [decision] = engine.ingest(T0 + 2, "acme-prod", "cms", "node-1", 5)
    assert decision.fault == ENV_BLIND_DEDUP
    [dropped] = captured.logs("job.deduplicated")
    assert attrs(dropped)[a.ENVIRONMENT] == "acme-prod"
    assert {k: v for k, v in attrs(dropped).items() if k.startswith("pipeline.dedup.")} == {
        a.DECISION: "deduplicated", a.SURVIVOR_JOB_ID: 1, a.SURVIVOR_TENANT: "acme",
        a.SURVIVOR_ENVIRONMENT: "acme-dev", a.SURVIVOR_SOURCE: "cms",
        a.SURVIVOR_ENTITY: "node-1", a.SURVIVOR_SCHEMA: "page", a.SURVIVOR_STATE: "pending",
        a.SURVIVOR_VERSION: 1,
    }
    texts = [repr(attrs(r)) + str(r.log_record.body) for r in captured.logs()]
    texts += [s.name + repr(attrs(s)) for s in captured.spans()]
    mentions = [t for t in texts if ENV_BLIND_DEDUP in t]
    assert len(mentions) == 1 and "engine.deployment" in mentions[0]
    captured.telemetry.shutdown()


def test_a_fault_switch_is_a_deployment_record_without_trace() -> None:
    """``engine.deployment`` names the change and its scope, at the switch time."""
    captured = capture()
    engine = small_engine(observer=captured.observer)
    window = FaultWindow(ENV_BLIND_DEDUP, T0, T0 + 60, frozenset({"acme-prod"}))
    engine.switch_fault(T0, window, True)
    engine.switch_fault(T0 + 60, window, False)
    records = captured.logs("engine.deployment")
    assert [attrs(r) for r in records] == [
        {a.DEPLOYMENT_CHANGE: f"{ENV_BLIND_DEDUP} {state}",
         a.DEPLOYMENT_ENVIRONMENTS: ("acme-prod",), a.EVENT_NAME: "engine.deployment"}
        for state in ("on", "off")
    ]
    assert [r.log_record.timestamp for r in records] == [to_ns(T0), to_ns(T0 + 60)]
    assert {(r.log_record.trace_id, r.log_record.span_id) for r in records} == {(0, 0)}
    captured.telemetry.shutdown()


def test_an_unchanged_ingest_is_a_skip_record_without_span(captured: Captured) -> None:
    """``job.skipped_unchanged``: raw key without schema, the unchanged version, no trace."""
    engine = small_engine(observer=captured.observer)
    engine.ingest(T0, "acme-dev", "cms", "node-1", 5)
    engine.ingest(T0 + 1, "acme-dev", "cms", "node-1", 5)
    [skip] = captured.logs("job.skipped_unchanged")
    assert attrs(skip) == {a.TENANT: "acme", a.ENVIRONMENT: "acme-dev", a.SOURCE: "cms",
                           a.ENTITY: "node-1", a.JOB_VERSION: 1,
                           a.EVENT_NAME: "job.skipped_unchanged"}
    assert (skip.log_record.trace_id, skip.log_record.span_id) == (0, 0)
    assert len(captured.spans("ingest")) == 1


def test_a_schema_deploy_roots_the_trace_of_its_jobs(captured: Captured) -> None:
    """``schema deploy`` span and ``schema.deployed`` record; its jobs are its children."""
    engine = small_engine(observer=captured.observer)
    for entity in ("node-1", "node-2"):
        engine.ingest(T0, "acme-dev", "cms", entity, 1)
    drain(engine, T0 + 1)
    captured.span_exporter.clear()
    captured.log_exporter.clear()
    engine.deploy_schema(T0 + 100, "acme-dev", "cms", "search")
    [deploy] = captured.spans("schema deploy")
    sends = captured.spans("send")
    assert attrs(deploy) == {a.TENANT: "acme", a.ENVIRONMENT: "acme-dev", a.SOURCE: "cms",
                             a.SCHEMA: "search", a.JOB_TRIGGER: "schema_deploy"}
    assert [s.parent.span_id for s in sends] == [deploy.context.span_id] * 2  # type: ignore[union-attr]
    assert [attrs(s)[a.JOB_TRIGGER] for s in sends] == ["schema_deploy"] * 2
    [record] = captured.logs("schema.deployed")
    assert record.log_record.span_id == deploy.context.span_id  # type: ignore[union-attr]
    assert record.log_record.body == "schema search deployed: 2 jobs"


def test_a_trigger_while_running_schedules_one_follow_up(captured: Captured) -> None:
    """The key is running: the new job is queued as its follow-up, survivor itself."""
    engine = small_engine(observer=captured.observer, schemas=("page",))
    engine.ingest(T0, "acme-prod", "cms", "node-1", 5)
    assert engine.take(T0 + 1) is not None
    engine.ingest(T0 + 2, "acme-prod", "cms", "node-1", 6)
    assert _events_of(captured, 2) == ["job.created", "job.follow_up_scheduled", "job.enqueued"]
    [follow_up] = captured.logs("job.follow_up_scheduled")
    assert attrs(follow_up) == {
        **_job(2, 2), a.DECISION: "follow_up", a.SURVIVOR_JOB_ID: 2,
        a.SURVIVOR_STATE: "pending", a.SURVIVOR_VERSION: 2, a.QUEUE_DEPTH: 0,
        a.EVENT_NAME: "job.follow_up_scheduled",
    }


def test_a_failed_attempt_is_retried_then_processed(captured: Captured) -> None:
    """job.retried (WARN, decision requeued), a requeue job.enqueued, and an ERROR span."""
    engine = small_engine(observer=captured.observer, schemas=("page",),
                          processor=ScriptedProcessor([False]))
    engine.ingest(T0, "acme-prod", "cms", "node-1", 5)
    drain(engine, T0 + 10)
    assert _events_of(captured, 1) == [
        "job.created", "job.enqueued", "job.dequeued", "job.retried", "job.enqueued",
        "job.dequeued", "job.processed",
    ]
    [retried] = captured.logs("job.retried")
    assert retried.log_record.severity_number is SeverityNumber.WARN
    assert attrs(retried) == {
        **_job(1, 1), a.JOB_ATTEMPT: 1, a.DECISION: "requeued", a.SURVIVOR_JOB_ID: 1,
        a.SURVIVOR_STATE: "pending", a.SURVIVOR_VERSION: 1, a.QUEUE_DEPTH: 0,
        a.EVENT_NAME: "job.retried",
    }
    requeue = captured.logs("job.enqueued")[1]
    assert attrs(requeue)[a.DECISION] == "requeued"
    [send] = captured.spans("send")
    assert requeue.log_record.span_id == send.context.span_id  # type: ignore[union-attr]
    first, second = captured.spans("process")
    assert first.status.status_code is StatusCode.ERROR
    assert attrs(first)[a.ERROR_TYPE] == "attempt_failed"
    assert second.status.status_code is StatusCode.UNSET
    assert [attrs(s)[a.JOB_ATTEMPT] for s in (first, second)] == [1, 2]
    assert [s.links[0].context for s in (first, second)] == [send.context] * 2


def test_a_job_failing_every_attempt_is_reported_failed(captured: Captured) -> None:
    """max_attempts failures: two job.retried, then job.failed at ERROR severity."""
    engine = small_engine(observer=captured.observer, schemas=("page",),
                          processor=ScriptedProcessor([False] * 3))
    engine.ingest(T0, "acme-prod", "cms", "node-1", 5)
    drain(engine, T0 + 10)
    assert [attrs(r)[a.EVENT_NAME] for r in captured.logs()
            if r.log_record.severity_number is not SeverityNumber.INFO] == \
        ["job.retried", "job.retried", "job.failed"]
    [failed] = captured.logs("job.failed")
    assert failed.log_record.severity_number is SeverityNumber.ERROR
    assert attrs(failed)[a.JOB_ATTEMPT] == 3
    assert len(captured.spans("process")) == 3


def test_a_failed_attempt_folded_into_its_follow_up_is_a_drop_not_a_retry(
    captured: Captured,
) -> None:
    """The retry finds a newer pending follow-up: the deduplicator folds the failed job into
    it, so telemetry reports job.deduplicated (survivor: the follow-up), never job.retried."""
    engine = small_engine(schemas=("page",), processor=ScriptedProcessor([False]))
    truth = GroundTruth(T0)
    engine.observer = combine(truth, captured.observer)
    engine.ingest(T0, "acme-prod", "cms", "node-1", 5)
    job = engine.take(T0 + 1)
    assert job is not None
    engine.ingest(T0 + 2, "acme-prod", "cms", "node-1", 6)
    assert engine.finish(T0 + 3, job, engine.attempt(job)) is None
    assert _events_of(captured, 1) == [
        "job.created", "job.enqueued", "job.dequeued", "job.deduplicated",
    ]
    [dropped] = captured.logs("job.deduplicated")
    assert {k: attrs(dropped)[k] for k in (a.SURVIVOR_JOB_ID, a.SURVIVOR_STATE,
                                          a.SURVIVOR_VERSION, a.JOB_ATTEMPT)} == \
        {a.SURVIVOR_JOB_ID: 2, a.SURVIVOR_STATE: "pending", a.SURVIVOR_VERSION: 2,
         a.JOB_ATTEMPT: 1}
    totals = truth.totals("acme-prod")
    assert (totals["deduplicated"], totals["retries"]) == (1, 0)


class _NoRetries(CoalescingDeduplicator):
    """A deduplicator that declines every retry (the engine then marks the job failed)."""

    def finish(self, job: Job, *, retry: bool) -> None:  # type: ignore[override]
        super().finish(job, retry=False)


def test_a_declined_retry_is_reported_failed() -> None:
    """A deduplicator returning no retry decision: the job is reported failed, at the end."""
    captured = capture()
    engine = small_engine(observer=captured.observer, schemas=("page",),
                          processor=ScriptedProcessor([False]))
    # Assigned, not passed: Engine(deduplicator=...) replaces an empty (falsy) deduplicator.
    engine.deduplicator = _NoRetries()
    engine.ingest(T0, "acme-prod", "cms", "node-1", 5)
    drain(engine, T0 + 10)
    captured.telemetry.shutdown()
    assert _events_of(captured, 1) == [
        "job.created", "job.enqueued", "job.dequeued", "job.failed",
    ]
    assert captured.logs("job.failed")[0].log_record.timestamp == to_ns(T0 + 11)


def test_queue_depth_follows_the_engines_queue_at_every_event(captured: Captured) -> None:
    """``pipeline.queue.depth`` equals the engine's queue depth right after each event."""
    mismatches: list[tuple[str, int, int]] = []
    engine = small_engine()

    class Checker:
        def __getattr__(self, name: str) -> object:
            def check(*args: object) -> None:
                job = args[1]
                if name in ("enqueued", "dequeued") and isinstance(job, Job):
                    env = job.key.environment
                    told = attrs(captured.logs()[-1])[a.QUEUE_DEPTH]
                    if told != engine.queue.depth(env):
                        mismatches.append((name, told, engine.queue.depth(env)))
            return check

    engine.observer = combine(captured.observer, Checker())  # type: ignore[arg-type]
    for i in range(4):
        engine.ingest(T0 + i, "acme-prod" if i % 2 else "acme-dev", "cms", f"node-{i}", i)
    drain(engine, T0 + 10)
    assert mismatches == []
    assert len(captured.logs("job.enqueued")) == 8
    assert captured.observer.depths() == {"acme-dev": 0, "acme-prod": 0}


def test_depth_of_reads_a_queue_given_to_the_observer() -> None:
    """With ``depth_of`` the records carry what that callable says."""
    captured = capture(depth_of=lambda environment: 42)
    engine = small_engine(observer=captured.observer, schemas=("page",))
    engine.ingest(T0, "acme-prod", "cms", "node-1", 5)
    assert {attrs(r)[a.QUEUE_DEPTH] for r in captured.logs() if a.JOB_ID in attrs(r)} == {42}
    assert captured.observer.depths() == {"acme-prod": 42}
    captured.telemetry.shutdown()


def test_metrics_count_per_environment_and_time_each_wait_and_attempt(
    captured: Captured,
) -> None:
    """Counters per environment, the queue gauge, and one histogram point per attempt."""
    engine = small_engine(observer=captured.observer, schemas=("page",))
    engine.ingest(T0, "acme-prod", "cms", "node-1", 5)
    engine.ingest(T0 + 1, "acme-prod", "cms", "node-1", 6)
    engine.ingest(T0 + 2, "acme-prod", "cms", "node-1", 6)
    drain(engine, T0 + 10)
    points = captured.metric_points()
    values = {name: points[(name, "acme-prod")].value for name in (
        "pipeline.ingests", "pipeline.ingests.skipped_unchanged", "pipeline.jobs.created",
        "pipeline.jobs.deduplicated", "pipeline.jobs.processed", "pipeline.jobs.failed",
        "pipeline.queue.depth")}
    assert values == {
        "pipeline.ingests": 3, "pipeline.ingests.skipped_unchanged": 1,
        "pipeline.jobs.created": 2, "pipeline.jobs.deduplicated": 1,
        "pipeline.jobs.processed": 1, "pipeline.jobs.failed": 0, "pipeline.queue.depth": 0,
    }
    wait = points[("pipeline.queue.wait.duration", "acme-prod")]
    process = points[("messaging.process.duration", "acme-prod")]
    assert (wait.count, wait.sum) == (1, 10.0)
    assert (process.count, process.sum) == (1, 1.0)


def test_an_attempt_in_flight_at_shutdown_is_ended_as_abandoned() -> None:
    """A stopped live runner abandons attempts: shutdown(now) still ends their spans."""
    captured = capture()
    engine = small_engine(observer=captured.observer, schemas=("page",))
    engine.ingest(T0, "acme-prod", "cms", "node-1", 5)
    assert engine.take(T0 + 1) is not None
    captured.telemetry.shutdown(now=T0 + 5)
    [process] = captured.spans("process")
    assert (process.start_time, process.end_time) == (to_ns(T0 + 1), to_ns(T0 + 5))
    assert process.status.status_code is StatusCode.ERROR
    assert attrs(process)[a.ERROR_TYPE] == "abandoned"


def test_a_live_run_with_worker_threads_reports_every_job() -> None:
    """Real threads (the live runner at 100x): every job's records arrive through the
    lossless batch processors, in the right traces."""
    captured = capture(batch=True, max_queue_size=8, flush_every=2)
    engine = small_engine(schemas=("page",), processor=ScriptedProcessor(duration=0.5))
    truth = GroundTruth(1000.0)
    engine.observer = combine(truth, captured.observer)
    clock = LiveClock(start=1000.0, speed=100.0)
    arrivals = [Arrival(1000.0 + i * 0.1, INGEST, "acme-prod", "cms", f"n{i}", 1)
                for i in range(20)]
    runner = LiveRunner(engine, arrivals, workers=3, clock=clock)
    runner.start()
    deadline = time.monotonic() + 10
    while truth.totals("acme-prod")["processed"] < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    runner.stop()
    captured.telemetry.shutdown(now=clock.now())
    assert runner.errors == []
    assert len(captured.logs("job.processed")) == 20
    producers = {attrs(s)[a.JOB_ID]: s for s in captured.spans("send")}
    consumers = captured.spans("process")
    assert len(consumers) == 20
    assert all(c.links[0].context == producers[attrs(c)[a.JOB_ID]].context for c in consumers)


def test_to_ns_keeps_the_fraction_of_a_second_exactly() -> None:
    """Whole and fractional seconds convert separately: no 256 ns float grid."""
    assert to_ns(T0) == int(T0) * 1_000_000_000
    assert to_ns(T0 + 0.25) - to_ns(T0) == 250_000_000
    assert to_ns(0.000_000_001) == 1
