"""The engine observer that turns every stage of every job into OpenTelemetry signals.

Traces: an ``ingest`` (or ``schema deploy``) span roots the trace of the jobs it creates. Each
created job gets a PRODUCER span ``send {environment}`` that carries the deduplication decision
and lasts until the job is in the fair queue; each processing attempt gets a CONSUMER span
``process {environment}`` from dequeue to the attempt's end, a child of the producer span and
linked to it (messaging conventions), so one trace follows a job from ingest to its view.
Every timestamp is the engine's clock, passed explicitly: a simulated 7 May has 7 May spans.

Job logs: one log record per lifecycle event, named by ``event.name`` and carrying the raw key,
the job id and version, the decision and its survivor, and the trace context of the span the
event belongs to (see ``docs/telemetry.md``). ``Decision.fault`` is never emitted: a real
system does not know its own bugs.

Queue depth: the engine's ``Observer`` protocol gives no access to the queue, and
``run_scenario`` builds its engine after the observer, so the observer keeps the depth per
environment itself (+1 per ``enqueued``, -1 per ``dequeued``; these are exactly the engine's
pushes and pops). Pass ``depth_of`` to read a real queue instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from opentelemetry._logs import Logger, SeverityNumber
from opentelemetry.context import Context
from opentelemetry.metrics import Meter
from opentelemetry.trace import (
    INVALID_SPAN,
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    set_span_in_context,
)

from toolkit.engine.model import Attempt, Decision, Job, JobKey, Outcome, Trigger
from toolkit.telemetry import attributes as a
from toolkit.telemetry import metrics as m
from toolkit.telemetry.metrics import PipelineMetrics

__all__ = ["TelemetryObserver", "to_ns"]

_INFO: Final = SeverityNumber.INFO
_WARN: Final = SeverityNumber.WARN
_ERROR: Final = SeverityNumber.ERROR
_SEVERITY_TEXT: Final = {_INFO: "INFO", _WARN: "WARN", _ERROR: "ERROR"}

# A context whose span is invalid: records and spans made with it have no parent and no trace
# context, whatever span the calling thread happens to have active.
_NO_TRACE: Final = set_span_in_context(INVALID_SPAN)

_OUTCOME = a.OUTCOME_NAMES
_STATE = a.STATE_NAMES
_TRIGGER = a.TRIGGER_NAMES
_DEDUPLICATED = Outcome.DEDUPLICATED
_FOLLOW_UP = Outcome.FOLLOW_UP
_REQUEUED = Outcome.REQUEUED
_REQUEUED_NAME: Final = _OUTCOME[_REQUEUED]
_TRIGGER_DEPLOY: Final = _TRIGGER[Trigger.DEPLOY]
_SURVIVOR_ON_CREATED_ONLY: Final = (a.SURVIVOR_JOB_ID, a.SURVIVOR_STATE, a.SURVIVOR_VERSION)
_ATTEMPT_FAILED = Status(StatusCode.ERROR, "attempt failed")
_ABANDONED = Status(StatusCode.ERROR, "attempt abandoned at shutdown")


def to_ns(now: float) -> int:
    """Engine clock (epoch seconds) to OpenTelemetry time (epoch nanoseconds).

    Whole and fractional seconds are converted apart: ``now * 1e9`` alone is a float near
    1.7e18, which only resolves 256 ns, while the fraction of ``now`` is exact.
    """
    seconds = int(now)
    return seconds * 1_000_000_000 + round((now - seconds) * 1_000_000_000)


class _Destination:
    """Per-environment constants, built once: span names and messaging attributes."""

    __slots__ = ("process_attrs", "process_name", "send_attrs", "send_name")

    def __init__(self, environment: str) -> None:
        self.send_name = a.send_span_name(environment)
        self.process_name = a.process_span_name(environment)
        common = {
            a.MESSAGING_SYSTEM: a.MESSAGING_SYSTEM_VALUE,
            a.MESSAGING_DESTINATION: environment,
        }
        self.send_attrs = {
            **common, a.MESSAGING_OPERATION_TYPE: "send", a.MESSAGING_OPERATION_NAME: "send",
        }
        self.process_attrs = {
            **common, a.MESSAGING_OPERATION_TYPE: "process",
            a.MESSAGING_OPERATION_NAME: "process",
        }


class TelemetryObserver:
    """An engine :class:`~toolkit.engine.protocols.Observer` emitting spans, logs and metrics.

    Build it through :class:`toolkit.telemetry.Telemetry`, which wires local SDK providers
    and lossless batch processors; construct it directly to use your own providers.

    Args:
        tracer: tracer of a local ``TracerProvider``.
        logger: logger of a local ``LoggerProvider``.
        meter: meter of a local ``MeterProvider``; ``None`` records no metrics.
        depth_of: returns the jobs queued for an environment right after an event (for
            example ``engine.queue.depth``). ``None`` counts enqueues and dequeues.

    Not thread-safe, like the engine: the engine's drivers serialise calls to observers.
    """

    def __init__(
        self,
        tracer: Tracer,
        logger: Logger,
        meter: Meter | None = None,
        *,
        depth_of: Callable[[str], int] | None = None,
    ) -> None:
        self._tracer = tracer
        self._emit = logger.emit
        self._depth_of = depth_of
        self._depth: dict[str, int] = {}
        self._destinations: dict[str, _Destination] = {}
        self.metrics = PipelineMetrics(meter, self.depths) if meter is not None else None
        # The ingest or deploy whose jobs are being decided: (context, first id, last id).
        self._batch: tuple[Context, int, int] | None = None
        # A producer span between its decision and the enqueue that follows it.
        self._sending: tuple[Job, Span, Context, dict[str, Any], int] | None = None
        # A failed attempt waiting for the decision that says whether it is retried.
        self._retrying: tuple[Job, Context, dict[str, Any], int] | None = None
        # Attempts in progress by job id: (consumer span, its context, attributes, start).
        self._running: dict[int, tuple[Span, Context, dict[str, Any], float]] = {}

    # -- reading -------------------------------------------------------------------------------
    def depths(self) -> Mapping[str, int]:
        """Jobs queued per environment seen so far."""
        depth_of = self._depth_of
        if depth_of is None:
            return dict(self._depth)
        return {env: depth_of(env) for env in list(self._destinations)}

    def close_pending(self) -> None:
        """End what the engine left half-reported: a producer span without its enqueue, or a
        failed attempt without its retry decision (neither happens with the reference
        engine). Used between events and at shutdown."""
        if self._sending is not None:
            _, span, _, _, t = self._sending
            self._sending = None
            span.end(t)
        if self._retrying is not None:
            self._give_up_retry()

    def abandon_running(self, now: float) -> None:
        """End the ``process`` spans of attempts still in flight (a live runner stopped
        mid-attempt abandons them without reporting): status ERROR, ``error.type``
        ``abandoned``, ended at ``now``. Their jobs get no further record."""
        t = to_ns(now)
        for span, _, _, _ in self._running.values():
            span.set_status(_ABANDONED)
            span.set_attribute(a.ERROR_TYPE, "abandoned")
            span.end(max(t, span.start_time or t))  # type: ignore[attr-defined]
        self._running.clear()

    def _give_up_retry(self) -> None:
        assert self._retrying is not None
        job, ctx, attrs, t = self._retrying
        self._retrying = None
        # The engine marks a job failed when its deduplicator returns no retry decision.
        self._job_failed(t, job, ctx, attrs)

    # -- Observer: ingest side -----------------------------------------------------------------
    def ingested(self, now: float, key: JobKey, version: int, jobs: list[Job]) -> None:
        """An ``ingest`` span (the root of its jobs' trace) and ``entity.ingested``."""
        if self._sending is not None or self._retrying is not None:
            self.close_pending()
        t = to_ns(now)
        attrs: dict[str, Any] = a.key_attributes(key)
        attrs[a.JOB_VERSION] = version
        span = self._tracer.start_span(
            a.INGEST_SPAN, _NO_TRACE, SpanKind.SERVER, attrs, start_time=t
        )
        span.end(t)
        ctx = set_span_in_context(span)
        if jobs:
            self._batch = (ctx, jobs[0].id, jobs[-1].id)
        attrs[a.EVENT_NAME] = a.ENTITY_INGESTED
        self._log(t, ctx, _INFO, f"entity {key.entity} ingested at version {version}",
                  attrs, a.ENTITY_INGESTED)
        if self.metrics is not None:
            self.metrics.count(key.tenant, key.environment, m.INGESTS)

    def skipped(self, now: float, key: JobKey, version: int) -> None:
        """``job.skipped_unchanged``; no span, since nothing is processed."""
        if self._sending is not None or self._retrying is not None:
            self.close_pending()
        t = to_ns(now)
        attrs: dict[str, Any] = a.key_attributes(key)
        attrs[a.JOB_VERSION] = version
        attrs[a.EVENT_NAME] = a.JOB_SKIPPED_UNCHANGED
        self._log(t, _NO_TRACE, _INFO, f"entity {key.entity} unchanged at version {version}",
                  attrs, a.JOB_SKIPPED_UNCHANGED)
        if self.metrics is not None:
            metrics = self.metrics
            metrics.count(key.tenant, key.environment, m.INGESTS)
            metrics.count(key.tenant, key.environment, m.SKIPPED_UNCHANGED)

    def deployed(self, now: float, key: JobKey, jobs: list[Job]) -> None:
        """A ``schema deploy`` span (the root of its jobs' trace) and ``schema.deployed``."""
        if self._sending is not None or self._retrying is not None:
            self.close_pending()
        t = to_ns(now)
        attrs: dict[str, Any] = a.key_attributes(key)
        attrs[a.JOB_TRIGGER] = _TRIGGER_DEPLOY
        span = self._tracer.start_span(
            a.DEPLOY_SPAN, _NO_TRACE, SpanKind.SERVER, attrs, start_time=t
        )
        span.end(t)
        ctx = set_span_in_context(span)
        if jobs:
            self._batch = (ctx, jobs[0].id, jobs[-1].id)
        attrs[a.EVENT_NAME] = a.SCHEMA_DEPLOYED
        self._log(t, ctx, _INFO, f"schema {key.schema} deployed: {len(jobs)} jobs",
                  attrs, a.SCHEMA_DEPLOYED)

    # -- Observer: deduplication and queue -------------------------------------------------------
    def decided(self, now: float, decision: Decision) -> None:
        """A new job: its ``send`` span, ``job.created`` and, for a drop or a follow-up,
        ``job.deduplicated`` / ``job.follow_up_scheduled``. A job that has run: see
        :meth:`_decided_after_attempt`."""
        job = decision.job
        outcome = decision.outcome
        if job.attempts or outcome is _REQUEUED:
            self._decided_after_attempt(to_ns(now), decision)
            return
        if self._sending is not None or self._retrying is not None:
            self.close_pending()
        t = to_ns(now)
        key = job.key
        env = key.environment
        survivor = decision.survivor
        attrs: dict[str, Any] = {
            a.TENANT: key.tenant, a.ENVIRONMENT: env, a.SOURCE: key.source,
            a.ENTITY: key.entity, a.SCHEMA: key.schema,
            a.JOB_ID: job.id, a.JOB_VERSION: job.version, a.JOB_TRIGGER: _TRIGGER[job.trigger],
            a.DECISION: _OUTCOME[outcome],
            a.SURVIVOR_JOB_ID: survivor.id,
            a.SURVIVOR_STATE: _STATE[decision.survivor_state],
            a.SURVIVOR_VERSION: decision.survivor_version,
        }
        dropped = outcome is _DEDUPLICATED
        if dropped:
            attrs.update(a.survivor_key_attributes(survivor.key))
        dest = self._destination(env)
        span_attrs = {**attrs, **dest.send_attrs, a.MESSAGING_MESSAGE_ID: str(job.id)}
        batch = self._batch
        parent = batch[0] if batch is not None and batch[1] <= job.id <= batch[2] else _NO_TRACE
        span = self._tracer.start_span(
            dest.send_name, parent, SpanKind.PRODUCER, span_attrs, start_time=t
        )
        job.context = span.get_span_context()
        ctx = set_span_in_context(span)
        attrs[a.QUEUE_DEPTH] = self._depth_after(env)
        attrs[a.EVENT_NAME] = a.JOB_CREATED
        self._log(t, ctx, _INFO, f"job {job.id} created: {_OUTCOME[outcome]}", attrs,
                  a.JOB_CREATED)
        metrics = self.metrics
        if metrics is not None:
            metrics.count(key.tenant, env, m.CREATED)
        if dropped:
            span.end(t)
            attrs[a.EVENT_NAME] = a.JOB_DEDUPLICATED
            self._log(t, ctx, _INFO, _folded(job, decision), attrs, a.JOB_DEDUPLICATED)
            if metrics is not None:
                metrics.count(key.tenant, env, m.DEDUPLICATED)
            return
        if outcome is _FOLLOW_UP:
            attrs[a.EVENT_NAME] = a.JOB_FOLLOW_UP_SCHEDULED
            self._log(t, ctx, _INFO, f"job {job.id} follows up running job {survivor.id}",
                      attrs, a.JOB_FOLLOW_UP_SCHEDULED)
            if metrics is not None:
                metrics.count(key.tenant, env, m.FOLLOW_UPS)
        self._sending = (job, span, ctx, attrs, t)

    def enqueued(self, now: float, job: Job) -> None:
        """``job.enqueued``; ends the job's ``send`` span (or records a requeue)."""
        if self._retrying is not None:
            self._give_up_retry()
        t = to_ns(now)
        env = job.key.environment
        depth = self._depth_after(env, 1)
        sending = self._sending
        if sending is not None and sending[0] is job:
            self._sending = None
            _, span, ctx, attrs, _ = sending
            span.set_attribute(a.QUEUE_DEPTH, depth)
            span.end(t)
            # The survivor (the job itself, or another job for a drop) is on job.created.
            for name in _SURVIVOR_ON_CREATED_ONLY:
                attrs.pop(name, None)
        else:
            if sending is not None:
                self.close_pending()
            # A requeue after a retry back-off: the job keeps the trace of its producer.
            ctx = _context_of(job)
            attrs = _job_attributes(job)
            attrs[a.DECISION] = _REQUEUED_NAME
        attrs[a.QUEUE_DEPTH] = depth
        attrs[a.EVENT_NAME] = a.JOB_ENQUEUED
        self._log(t, ctx, _INFO, f"job {job.id} enqueued", attrs, a.JOB_ENQUEUED)

    def dequeued(self, now: float, job: Job) -> None:
        """Starts the attempt's ``process`` span and emits ``job.dequeued``."""
        if self._sending is not None or self._retrying is not None:
            self.close_pending()
        t = to_ns(now)
        key = job.key
        env = key.environment
        depth = self._depth_after(env, -1)
        producer = job.context
        if isinstance(producer, SpanContext):
            parent = set_span_in_context(NonRecordingSpan(producer))
            links: tuple[Link, ...] = (Link(producer),)
        else:
            parent, links = _NO_TRACE, ()
        attrs = _job_attributes(job)
        attrs[a.JOB_ATTEMPT] = job.attempts
        dest = self._destination(env)
        span = self._tracer.start_span(
            dest.process_name, parent, SpanKind.CONSUMER,
            {**attrs, **dest.process_attrs, a.MESSAGING_MESSAGE_ID: str(job.id)},
            links, start_time=t,
        )
        ctx = set_span_in_context(span)
        self._running[job.id] = (span, ctx, attrs, now)
        attrs[a.QUEUE_DEPTH] = depth
        attrs[a.EVENT_NAME] = a.JOB_DEQUEUED
        self._log(t, ctx, _INFO, f"job {job.id} dequeued for attempt {job.attempts}", attrs,
                  a.JOB_DEQUEUED)
        if self.metrics is not None:
            self.metrics.ensure(key.tenant, env)
            self.metrics.queue_wait(env, now - job.enqueued_at)

    # -- Observer: processing ---------------------------------------------------------------------
    def finished(self, now: float, job: Job, attempt: Attempt, will_retry: bool) -> None:
        """Ends the ``process`` span; ``job.processed`` or ``job.failed`` (a failure to be
        retried waits for the deduplicator's decision)."""
        if self._sending is not None or self._retrying is not None:
            self.close_pending()
        t = to_ns(now)
        key = job.key
        env = key.environment
        running = self._running.pop(job.id, None)
        if running is None:  # a driver that never reported the dequeue
            ctx, attrs, started = _context_of(job), _job_attributes(job), now
            attrs[a.JOB_ATTEMPT] = job.attempts
        else:
            span, ctx, attrs, started = running
            if attempt.ok:
                span.set_attribute(a.VIEW_VERSION, attempt.version_read)
            else:
                span.set_status(_ATTEMPT_FAILED)
                span.set_attribute(a.ERROR_TYPE, "attempt_failed")
            span.end(t)
        metrics = self.metrics
        if metrics is not None:
            metrics.ensure(key.tenant, env)
            metrics.processing(env, now - started)
        attrs[a.QUEUE_DEPTH] = self._depth_after(env)
        if attempt.ok:
            attrs[a.VIEW_VERSION] = attempt.version_read
            attrs[a.EVENT_NAME] = a.JOB_PROCESSED
            self._log(t, ctx, _INFO, f"job {job.id} processed: view at version "
                      f"{attempt.version_read}", attrs, a.JOB_PROCESSED)
            if metrics is not None:
                metrics.count(key.tenant, env, m.PROCESSED)
        elif will_retry:
            # Whether it is retried or folded into a newer pending job is the deduplicator's
            # decision, reported next: the record waits for it.
            self._retrying = (job, ctx, attrs, t)
        else:
            self._job_failed(t, job, ctx, attrs)

    def fault_switched(
        self, now: float, name: str, on: bool, scope: frozenset[str] | None
    ) -> None:
        """``engine.deployment``: what a real system sees of a fault is a deployment."""
        if self._sending is not None or self._retrying is not None:
            self.close_pending()
        t = to_ns(now)
        change = f"{name} {'on' if on else 'off'}"
        attrs: dict[str, Any] = {a.DEPLOYMENT_CHANGE: change, a.EVENT_NAME: a.ENGINE_DEPLOYMENT}
        if scope is not None:
            attrs[a.DEPLOYMENT_ENVIRONMENTS] = tuple(sorted(scope))
        self._log(t, _NO_TRACE, _INFO, f"deployment: {change}", attrs, a.ENGINE_DEPLOYMENT)

    # -- internals ------------------------------------------------------------------------------
    def _decided_after_attempt(self, t: int, decision: Decision) -> None:
        """A decision about a job that has run: retried (requeued) or folded into the
        follow-up that arrived meanwhile (a drop, with its survivor)."""
        job = decision.job
        retrying = self._retrying
        if retrying is not None and retrying[0] is job:
            self._retrying = None
            _, ctx, attrs, _ = retrying
        else:
            if self._sending is not None or retrying is not None:
                self.close_pending()
            ctx = _context_of(job)
            attrs = _job_attributes(job)
        survivor = decision.survivor
        outcome = decision.outcome
        attrs[a.DECISION] = _OUTCOME[outcome]
        attrs[a.SURVIVOR_JOB_ID] = survivor.id
        attrs[a.SURVIVOR_STATE] = _STATE[decision.survivor_state]
        attrs[a.SURVIVOR_VERSION] = decision.survivor_version
        key = job.key
        attrs[a.QUEUE_DEPTH] = self._depth_after(key.environment)
        metrics = self.metrics
        if outcome is _DEDUPLICATED:
            attrs.update(a.survivor_key_attributes(survivor.key))
            attrs[a.EVENT_NAME] = a.JOB_DEDUPLICATED
            self._log(t, ctx, _INFO, _folded(job, decision), attrs, a.JOB_DEDUPLICATED)
            if metrics is not None:
                metrics.count(key.tenant, key.environment, m.DEDUPLICATED)
            return
        attrs[a.EVENT_NAME] = a.JOB_RETRIED
        self._log(t, ctx, _WARN, f"job {job.id} attempt {job.attempts} failed: retrying",
                  attrs, a.JOB_RETRIED)
        if metrics is not None:
            metrics.count(key.tenant, key.environment, m.RETRIED)

    def _job_failed(self, t: int, job: Job, ctx: Context, attrs: dict[str, Any]) -> None:
        attrs[a.EVENT_NAME] = a.JOB_FAILED
        self._log(t, ctx, _ERROR, f"job {job.id} failed after {job.attempts} attempts",
                  attrs, a.JOB_FAILED)
        if self.metrics is not None:
            self.metrics.count(job.key.tenant, job.key.environment, m.FAILED)

    def _depth_after(self, environment: str, delta: int = 0) -> int:
        depth = self._depth.get(environment, 0) + delta
        if delta:
            self._depth[environment] = depth
        if self._depth_of is not None:
            return self._depth_of(environment)
        return depth

    def _destination(self, environment: str) -> _Destination:
        dest = self._destinations.get(environment)
        if dest is None:
            dest = self._destinations[environment] = _Destination(environment)
        return dest

    def _log(
        self, t: int, ctx: Context, severity: SeverityNumber, body: str,
        attrs: dict[str, Any], event: str,
    ) -> None:
        self._emit(
            timestamp=t, observed_timestamp=t, context=ctx, severity_number=severity,
            severity_text=_SEVERITY_TEXT[severity], body=body, attributes=attrs,
            event_name=event,
        )



def _job_attributes(job: Job) -> dict[str, Any]:
    key = job.key
    return {
        a.TENANT: key.tenant, a.ENVIRONMENT: key.environment, a.SOURCE: key.source,
        a.ENTITY: key.entity, a.SCHEMA: key.schema,
        a.JOB_ID: job.id, a.JOB_VERSION: job.version, a.JOB_TRIGGER: _TRIGGER[job.trigger],
    }


def _context_of(job: Job) -> Context:
    """The trace context of a job's producer span, kept in the engine's opaque slot."""
    producer = job.context
    if isinstance(producer, SpanContext):
        return set_span_in_context(NonRecordingSpan(producer))
    return _NO_TRACE


def _folded(job: Job, decision: Decision) -> str:
    survivor = decision.survivor
    return (f"job {job.id} folded into job {survivor.id} "
            f"({_STATE[decision.survivor_state]}, version {decision.survivor_version})")
