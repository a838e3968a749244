"""The engine: ingest, deduplicate, queue, process, write views.

:class:`Engine` is a clock-free state machine. A driver (the discrete-event
:mod:`~toolkit.engine.simulator` or the threaded :mod:`~toolkit.engine.live` runner) feeds it
arrivals, asks it for work for idle workers and reports attempts back, always passing the time.
Every stage is reported to one optional :class:`~toolkit.engine.protocols.Observer`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from toolkit.engine.dedup import CoalescingDeduplicator
from toolkit.engine.fairqueue import DeficitRoundRobinQueue, EnvironmentRules
from toolkit.engine.faults import FaultSwitchboard, FaultWindow
from toolkit.engine.model import (
    Attempt,
    Decision,
    Environment,
    Job,
    JobKey,
    JobState,
    Outcome,
    Trigger,
)
from toolkit.engine.processor import SimulatedProcessor, ViewStore
from toolkit.engine.protocols import Deduplicator, FairQueue, Observer, Processor
from toolkit.errors import BadInput


class StaleView(NamedTuple):
    """A view whose rendered version is behind its entity (``view_version`` None: missing)."""

    key: JobKey
    view_version: int | None
    entity_version: int


class Engine:
    """A multi-tenant processing platform. Not thread-safe: drivers serialise calls."""

    def __init__(
        self,
        environments: Iterable[Environment],
        schemas: Mapping[tuple[str, str], Sequence[str]],
        *,
        queue: FairQueue | None = None,
        deduplicator: Deduplicator | None = None,
        processor: Processor | None = None,
        faults: FaultSwitchboard | None = None,
        observer: Observer | None = None,
        rules: EnvironmentRules | None = None,
        seed: int = 0,
        max_attempts: int = 3,
        retry_backoff: float = 5.0,
    ) -> None:
        if max_attempts < 1:
            raise BadInput(f"max_attempts must be >= 1, got {max_attempts}")
        if retry_backoff < 0:
            raise BadInput(f"retry_backoff must be >= 0, got {retry_backoff}")
        self.environments: dict[str, Environment] = {e.id: e for e in environments}
        self.schemas: dict[tuple[str, str], tuple[str, ...]] = {
            k: tuple(v) for k, v in schemas.items()
        }
        rules = rules or EnvironmentRules()
        self.faults = faults if faults is not None else FaultSwitchboard()
        # "is not None", not "or": an empty queue or deduplicator has len() 0 and is falsy.
        self.queue: FairQueue = queue if queue is not None else DeficitRoundRobinQueue(
            {e.id: rules.weight(e) for e in self.environments.values()}
        )
        self.deduplicator: Deduplicator = (
            deduplicator if deduplicator is not None else CoalescingDeduplicator(self.faults)
        )
        self.processor: Processor = (
            processor if processor is not None else SimulatedProcessor(random.Random(seed))
        )
        self.views = ViewStore()
        self.observer = observer
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        # Source entity store: (environment, source, entity) -> [version, content hash].
        self._content: dict[tuple[str, str, str], list[int]] = {}
        self._entities: dict[tuple[str, str], list[str]] = {}
        self._next_id = 1

    def ingest(
        self, now: float, environment: str, source: str, entity: str, content_hash: int
    ) -> list[Decision] | None:
        """Ingest a source entity. Unchanged content creates no job and returns ``None``."""
        env = self.environments.get(environment)
        if env is None:
            raise BadInput(f"unknown environment {environment!r}")
        tenant = env.tenant
        schemas = self.schemas.get((tenant, source))
        if schemas is None:
            raise BadInput(f"unknown source {source!r} for tenant {tenant!r}")
        ck = (environment, source, entity)
        state = self._content.get(ck)
        obs = self.observer
        if state is None:
            version = 1
            self._content[ck] = [version, content_hash]
            self._entities.setdefault((environment, source), []).append(entity)
        elif state[1] == content_hash:
            if obs is not None:
                obs.skipped(now, JobKey(tenant, environment, source, entity, ""), state[0])
            return None
        else:
            version = state[0] = state[0] + 1
            state[1] = content_hash
        jobs = [
            self._new_job(JobKey(tenant, environment, source, entity, schema), version, now,
                          Trigger.INGEST)
            for schema in schemas
        ]
        if obs is not None:
            obs.ingested(now, JobKey(tenant, environment, source, entity, ""), version, jobs)
        return [self._submit(now, job) for job in jobs]

    def deploy_schema(
        self, now: float, environment: str, source: str, schema: str
    ) -> list[Decision]:
        """Deploy ``schema`` to an environment: a job for every entity the source holds there."""
        env = self.environments.get(environment)
        if env is None:
            raise BadInput(f"unknown environment {environment!r}")
        if schema not in self.schemas.get((env.tenant, source), ()):
            raise BadInput(f"schema {schema!r} is not a schema of source {source!r}")
        jobs = []
        content = self._content
        for entity in self._entities.get((environment, source), ()):
            key = JobKey(env.tenant, environment, source, entity, schema)
            jobs.append(self._new_job(key, content[(environment, source, entity)][0], now,
                                      Trigger.DEPLOY))
        if self.observer is not None:
            self.observer.deployed(now, JobKey(env.tenant, environment, source, "", schema), jobs)
        return [self._submit(now, job) for job in jobs]

    def take(self, now: float) -> Job | None:
        """Hand the next job to an idle worker, or ``None`` when nothing is queued."""
        job = self.queue.pop()
        if job is None:
            return None
        self.deduplicator.start(job)
        job.attempts += 1
        if self.observer is not None:
            self.observer.dequeued(now, job)
        return job

    def attempt(self, job: Job) -> Attempt:
        """Plan an attempt at ``job``: the processor reads the entity's current version."""
        k = job.key
        return self.processor.attempt(job, self._content[(k.environment, k.source, k.entity)][0])

    def finish(self, now: float, job: Job, attempt: Attempt) -> float | None:
        """Report an attempt's end. Returns the retry delay if the job waits for a retry."""
        obs = self.observer
        if attempt.ok:
            self.deduplicator.finish(job, retry=False)
            job.state = JobState.PROCESSED
            self.views.write(job.key, attempt.version_read)
            if obs is not None:
                obs.finished(now, job, attempt, False)
            return None
        will_retry = job.attempts < self.max_attempts
        decision = self.deduplicator.finish(job, retry=will_retry)
        if obs is not None:
            obs.finished(now, job, attempt, will_retry)
        if decision is None:
            job.state = JobState.FAILED
            return None
        if obs is not None:
            obs.decided(now, decision)
        if decision.outcome is not Outcome.REQUEUED:
            return None
        return self.retry_backoff * (2 ** (job.attempts - 1))

    def requeue(self, now: float, job: Job) -> None:
        """A job's retry back-off is over: queue it again (unless it was folded meanwhile)."""
        if job.state is not JobState.PENDING:
            return
        job.enqueued_at = now
        self.queue.push(job)
        if self.observer is not None:
            self.observer.enqueued(now, job)

    def switch_fault(self, now: float, window: FaultWindow, on: bool) -> None:
        self.faults.switch(window, on)
        if self.observer is not None:
            self.observer.fault_switched(now, window.name, on, window.environments)

    def entity_version(self, environment: str, source: str, entity: str) -> int | None:
        state = self._content.get((environment, source, entity))
        return state[0] if state else None

    def stale_views(self) -> list[StaleView]:
        """Every view behind its entity's latest version, in deterministic order."""
        stale = []
        views = self.views
        for (environment, source, entity), (version, _) in self._content.items():
            tenant = self.environments[environment].tenant
            for schema in self.schemas[(tenant, source)]:
                key = JobKey(tenant, environment, source, entity, schema)
                rendered = views.version(key)
                if rendered is None or rendered < version:
                    stale.append(StaleView(key, rendered, version))
        stale.sort(key=lambda s: s.key)
        return stale

    def _new_job(self, key: JobKey, version: int, now: float, trigger: Trigger) -> Job:
        job = Job(self._next_id, key, version, now, trigger)
        self._next_id += 1
        return job

    def _submit(self, now: float, job: Job) -> Decision:
        decision = self.deduplicator.offer(job)
        obs = self.observer
        if obs is not None:
            obs.decided(now, decision)
        if decision.outcome is not Outcome.DEDUPLICATED:
            self.queue.push(job)
            if obs is not None:
                obs.enqueued(now, job)
        return decision
