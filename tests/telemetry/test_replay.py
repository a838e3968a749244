"""A six-day 7 May replay through lossless batch processors: telemetry agrees with the
ground truth, job by job and environment by environment."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from opentelemetry.trace import SpanKind

from tests.telemetry.conftest import Replay, attrs
from toolkit.telemetry import attributes as a
from toolkit.telemetry import to_ns

SURVIVOR_KEYS = (
    a.SURVIVOR_JOB_ID, a.SURVIVOR_TENANT, a.SURVIVOR_ENVIRONMENT, a.SURVIVOR_SOURCE,
    a.SURVIVOR_ENTITY, a.SURVIVOR_SCHEMA, a.SURVIVOR_STATE, a.SURVIVOR_VERSION,
)
KEY_PARTS = (a.TENANT, a.ENVIRONMENT, a.SOURCE, a.ENTITY, a.SCHEMA)
SURVIVOR_PARTS = (a.SURVIVOR_TENANT, a.SURVIVOR_ENVIRONMENT, a.SURVIVOR_SOURCE,
                  a.SURVIVOR_ENTITY, a.SURVIVOR_SCHEMA)


def _per_environment(replay: Replay, event: str) -> Counter[str]:
    return Counter(str(attrs(r)[a.ENVIRONMENT]) for r in replay.captured.logs(event))


def _justified(record: dict[str, Any]) -> bool:
    """The audit's rule, from telemetry alone: a pending survivor with the identical raw key
    and a version not older."""
    return (
        tuple(record[k] for k in SURVIVOR_PARTS) == tuple(record[k] for k in KEY_PARTS)
        and record[a.SURVIVOR_STATE] == "pending"
        and record[a.SURVIVOR_VERSION] >= record[a.JOB_VERSION]
    )


def test_job_logs_count_every_fate_the_ground_truth_counts(replay: Replay) -> None:
    """Per environment: created, deduplicated, follow-ups, processed, retried, failed,
    ingests and skips from log records equal the ground truth's totals."""
    truth = replay.result.truth
    counts = {event: _per_environment(replay, event) for event in a.EVENT_NAMES
              if event != a.ENGINE_DEPLOYMENT}
    assert set(truth.environments()) == set(counts["job.created"])
    for env in truth.environments():
        t = truth.totals(env)
        attempts = t["processed"] + t["failed_attempts"]
        assert {
            "created": counts["job.created"][env],
            "deduplicated": counts["job.deduplicated"][env],
            "follow_ups": counts["job.follow_up_scheduled"][env],
            "processed": counts["job.processed"][env],
            "retries": counts["job.retried"][env],
            "failed_for_good": counts["job.failed"][env],
            "ingests": counts["entity.ingested"][env] + counts["job.skipped_unchanged"][env],
            "skipped_unchanged": counts["job.skipped_unchanged"][env],
            "enqueued": counts["job.enqueued"][env],
            "dequeued": counts["job.dequeued"][env],
        } == {
            "created": t["created"], "deduplicated": t["deduplicated"],
            "follow_ups": t["follow_ups"], "processed": t["processed"],
            "retries": t["retries"], "failed_for_good": t["failed_for_good"],
            "ingests": t["ingests"], "skipped_unchanged": t["skipped_unchanged"],
            "enqueued": attempts, "dequeued": attempts,
        }, env
    # The replay exercises what matters: drops, retries and follow-ups in several envs.
    assert sum(counts["job.deduplicated"].values()) > 10
    assert sum(counts["job.retried"].values()) > 10
    assert sum(counts["job.follow_up_scheduled"].values()) > 0


def test_every_drop_names_its_survivor_and_the_wrongful_ones_are_found(replay: Replay) -> None:
    """Every job.deduplicated record carries the survivor's id, raw key, state and version,
    and the audit rule applied to telemetry alone finds exactly the ground truth's
    wrongful discards."""
    truth = replay.result.truth
    drops = [attrs(r) for r in replay.captured.logs("job.deduplicated")]
    assert all(all(k in record for k in SURVIVOR_KEYS) for record in drops)
    wrongful = sorted(int(r[a.JOB_ID]) for r in drops if not _justified(r))
    assert wrongful == sorted(w.job_id for w in truth.wrongful)
    assert len(wrongful) > 10
    foreign = Counter(str(r[a.SURVIVOR_ENVIRONMENT]) != str(r[a.ENVIRONMENT]) for r in drops)
    assert foreign[True] > 0


def test_every_processing_span_links_to_its_jobs_producer(replay: Replay) -> None:
    """Each ``process`` span has exactly one link, to the ``send`` span of the same job,
    which is also its parent in the job's trace."""
    spans = replay.captured.spans()
    producers = {attrs(s)[a.JOB_ID]: s for s in spans if s.kind is SpanKind.PRODUCER}
    consumers = [s for s in spans if s.kind is SpanKind.CONSUMER]
    assert consumers
    for span in consumers:
        producer = producers[attrs(span)[a.JOB_ID]]
        assert [link.context for link in span.links] == [producer.context]
        assert span.parent is not None
        assert span.parent.span_id == producer.context.span_id  # type: ignore[union-attr]
        assert span.context.trace_id == producer.context.trace_id  # type: ignore[union-attr]
        assert attrs(span)[a.MESSAGING_MESSAGE_ID] == str(attrs(span)[a.JOB_ID])


def test_job_records_carry_the_trace_of_their_job(replay: Replay) -> None:
    """Every record about a job is in the trace of that job's producer span."""
    traces = {attrs(s)[a.JOB_ID]: s.context.trace_id  # type: ignore[union-attr]
              for s in replay.captured.spans() if s.kind is SpanKind.PRODUCER}
    records = [r for r in replay.captured.logs() if a.JOB_ID in attrs(r)]
    assert records
    assert all(r.log_record.trace_id == traces[attrs(r)[a.JOB_ID]] for r in records)


def test_timestamps_are_the_simulated_ones(replay: Replay) -> None:
    """Spans and records lie in the replayed days, and the fault switches sit exactly at
    6 May 09:12 and 7 May 16:41 UTC."""
    start = to_ns(datetime(2024, 5, 2, tzinfo=UTC).timestamp())
    end = to_ns(replay.result.end) + 1
    times = [r.log_record.timestamp for r in replay.captured.logs()]
    times += [t for s in replay.captured.spans() for t in (s.start_time, s.end_time)]
    assert all(start <= t <= end for t in times)  # type: ignore[operator]
    switches = [r.log_record.timestamp for r in replay.captured.logs("engine.deployment")]
    assert switches == [
        to_ns(datetime(2024, 5, 6, 9, 12, tzinfo=UTC).timestamp()),
        to_ns(datetime(2024, 5, 7, 16, 41, tzinfo=UTC).timestamp()),
    ]


def test_no_span_was_dropped_by_the_batch_processors(replay: Replay) -> None:
    """Span counts equal what the ground truth implies: one ingest span per changed ingest,
    one producer per created job, one consumer per attempt."""
    truth = replay.result.truth
    totals = [truth.totals(env) for env in truth.environments()]
    kinds = Counter(s.kind for s in replay.captured.spans())
    names = Counter(s.name for s in replay.captured.spans() if s.kind is SpanKind.SERVER)
    assert names["ingest"] == sum(t["ingests"] - t["skipped_unchanged"] for t in totals)
    assert names["schema deploy"] == len(replay.captured.logs("schema.deployed"))
    assert kinds[SpanKind.PRODUCER] == sum(t["created"] for t in totals)
    assert kinds[SpanKind.CONSUMER] == sum(t["processed"] + t["failed_attempts"]
                                            for t in totals)


def test_metrics_agree_with_the_ground_truth(replay: Replay) -> None:
    """The per-environment counters equal the ground truth; every queue ends empty."""
    truth = replay.result.truth
    points = replay.captured.metric_points()
    for env in truth.environments():
        t = truth.totals(env)
        assert [points[(name, env)].value for name in (
            "pipeline.ingests", "pipeline.jobs.created", "pipeline.jobs.deduplicated",
            "pipeline.jobs.processed", "pipeline.jobs.retried", "pipeline.jobs.failed",
            "pipeline.queue.depth",
        )] == [t["ingests"], t["created"], t["deduplicated"], t["processed"], t["retries"],
               t["failed_for_good"], 0]
        attempts = t["processed"] + t["failed_attempts"]
        assert points[("messaging.process.duration", env)].count == attempts
        assert points[("pipeline.queue.wait.duration", env)].count == attempts
