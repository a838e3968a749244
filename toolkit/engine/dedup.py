"""Coalesce-to-latest deduplication on the full job key.

Rules, for a job offered with key K:

* a job for K is pending      -> the offered job is folded into it (``DEDUPLICATED``); the
  pending job's version is raised to the newer one, so the last update is never lost;
* else a job for K is running -> the offered job becomes K's one pending follow-up;
* else                        -> the offered job is accepted.

So there is at most one pending job per key. The survivor of a drop always has the identical
full key and a version not older, unless a fault is switched on: the faults change which key
the lookup uses (or skip the follow-up rule), exactly as the real defects did.
"""

from __future__ import annotations

from toolkit.engine.faults import (
    ENV_BLIND_DEDUP,
    LOST_FOLLOW_UP,
    SCHEMA_BLIND_DEDUP,
    FaultSwitchboard,
)
from toolkit.engine.model import Decision, Job, JobKey, JobState, Outcome

_PENDING = JobState.PENDING
_RUNNING = JobState.RUNNING
_DEDUPLICATED = JobState.DEDUPLICATED


class CoalescingDeduplicator:
    """The reference deduplicator. Thread-unsafe: the engine serialises calls."""

    def __init__(self, faults: FaultSwitchboard | None = None) -> None:
        self._faults = faults if faults is not None else FaultSwitchboard()
        self._pending: dict[JobKey, Job] = {}
        self._running: dict[JobKey, Job] = {}
        # Learned siblings, for the faulty lookups: environments per tenant and schemas per
        # (tenant, source). Small lists, so a faulty lookup stays O(1) in the number of jobs.
        self._environments: dict[str, list[str]] = {}
        self._schemas: dict[tuple[str, str], list[str]] = {}

    def offer(self, job: Job) -> Decision:
        """Decide what happens to a newly created job."""
        key = job.key
        if self._faults.on:
            self._learn(key)
            faulty = self._faulty_offer(job)
            if faulty is not None:
                return faulty
        pending = self._pending.get(key)
        if pending is not None:
            return self._fold(job, pending, None)
        self._pending[key] = job
        job.state = _PENDING
        if key in self._running:
            return Decision(Outcome.FOLLOW_UP, job, job, _PENDING, job.version)
        return Decision(Outcome.ACCEPTED, job, job, _PENDING, job.version)

    def start(self, job: Job) -> None:
        """The queue handed ``job`` to a worker: it is no longer pending but running."""
        key = job.key
        if self._pending.get(key) is job:
            del self._pending[key]
        self._running[key] = job
        job.state = _RUNNING

    def finish(self, job: Job, *, retry: bool) -> Decision | None:
        """A running job ended. With ``retry`` it wants another attempt.

        Returns the decision for a retry (``REQUEUED``, or ``DEDUPLICATED`` into a follow-up
        that arrived meanwhile and already carries a newer version), else ``None``.
        """
        key = job.key
        if self._running.get(key) is job:
            del self._running[key]
        if not retry:
            return None
        pending = self._pending.get(key)
        if pending is not None:
            return self._fold(job, pending, None)
        self._pending[key] = job
        job.state = _PENDING
        return Decision(Outcome.REQUEUED, job, job, _PENDING, job.version)

    def pending(self, key: JobKey) -> Job | None:
        """The pending job for ``key``, if any."""
        return self._pending.get(key)

    def running(self, key: JobKey) -> Job | None:
        """The most recently started running job for ``key``, if any."""
        return self._running.get(key)

    def __len__(self) -> int:
        """Number of pending jobs."""
        return len(self._pending)

    @staticmethod
    def _fold(job: Job, survivor: Job, fault: str | None) -> Decision:
        # A faulty fold leaves the survivor's version alone: it belongs to another key's
        # sequence (or to a job that has already read its content), so raising it would
        # only hide the loss.
        if fault is None and job.version > survivor.version:
            survivor.version = job.version
        job.state = _DEDUPLICATED
        return Decision(
            Outcome.DEDUPLICATED, job, survivor, survivor.state, survivor.version, fault
        )

    def _learn(self, key: JobKey) -> None:
        envs = self._environments.setdefault(key.tenant, [])
        if key.environment not in envs:
            envs.append(key.environment)
        schemas = self._schemas.setdefault((key.tenant, key.source), [])
        if key.schema not in schemas:
            schemas.append(key.schema)

    def _faulty_offer(self, job: Job) -> Decision | None:
        key = job.key
        faults = self._faults
        env = key.environment
        if key in self._pending:
            return None  # the correct rule already folds it; no fault changes that
        if faults.active(ENV_BLIND_DEDUP, env):
            for other in self._environments[key.tenant]:
                if other != env:
                    survivor = self._pending.get(key._replace(environment=other))
                    if survivor is not None:
                        return self._fold(job, survivor, ENV_BLIND_DEDUP)
        if faults.active(SCHEMA_BLIND_DEDUP, env):
            for other in self._schemas[(key.tenant, key.source)]:
                if other != key.schema:
                    survivor = self._pending.get(key._replace(schema=other))
                    if survivor is not None:
                        return self._fold(job, survivor, SCHEMA_BLIND_DEDUP)
        if faults.active(LOST_FOLLOW_UP, env):
            running = self._running.get(key)
            if running is not None:
                return self._fold(job, running, LOST_FOLLOW_UP)
        return None
