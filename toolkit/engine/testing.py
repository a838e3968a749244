"""Fixtures for testing your own queue, deduplicator or observer against the engine.

Small hand-sized topologies, a processor whose outcomes you script, and a drain loop that
runs an engine to quiescence without a clock. The project's own tests use these too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from toolkit.engine.core import Engine
from toolkit.engine.model import Attempt, Decision, Environment, Job, JobKey
from toolkit.engine.protocols import Deduplicator, FairQueue
from toolkit.engine.truth import GroundTruth

__all__ = [
    "RecordingObserver",
    "ScriptedProcessor",
    "drain",
    "small_engine",
    "truth_for",
    "two_environments",
]


def two_environments(tenant: str = "acme") -> list[Environment]:
    """A tenant with a DEV and a PROD environment fed from the same CMS."""
    return [
        Environment(f"{tenant}-dev", tenant, "DEV", "standard"),
        Environment(f"{tenant}-prod", tenant, "PROD", "standard"),
    ]


class ScriptedProcessor:
    """Attempts take ``duration`` seconds and succeed unless the next scripted outcome says
    otherwise (``outcomes`` is consumed one per attempt; when empty every attempt succeeds)."""

    def __init__(self, outcomes: Iterable[bool] = (), duration: float = 1.0) -> None:
        self.outcomes = deque(outcomes)
        self.duration = duration

    def attempt(self, job: Job, version_read: int) -> Attempt:
        ok = self.outcomes.popleft() if self.outcomes else True
        return Attempt(self.duration, ok, version_read)


class RecordingObserver:
    """Keeps every decision and every job it saw, for assertions."""

    def __init__(self) -> None:
        self.decisions: list[Decision] = []
        self.jobs: dict[int, Job] = {}
        self.skips: list[JobKey] = []
        self.attempts: list[tuple[Job, Attempt, bool]] = []

    def ingested(self, now: float, key: JobKey, version: int, jobs: list[Job]) -> None:
        for job in jobs:
            self.jobs[job.id] = job

    def skipped(self, now: float, key: JobKey, version: int) -> None:
        self.skips.append(key)

    def deployed(self, now: float, key: JobKey, jobs: list[Job]) -> None:
        for job in jobs:
            self.jobs[job.id] = job

    def decided(self, now: float, decision: Decision) -> None:
        self.decisions.append(decision)

    def enqueued(self, now: float, job: Job) -> None:
        """Not recorded: tests read queue order from the decisions and attempts."""

    def dequeued(self, now: float, job: Job) -> None:
        """Not recorded, likewise."""

    def finished(self, now: float, job: Job, attempt: Attempt, will_retry: bool) -> None:
        self.attempts.append((job, attempt, will_retry))

    def fault_switched(self, now: float, name: str, on: bool, scope: frozenset[str] | None) -> None:
        """Not recorded: tests know which faults they switched."""


def small_engine(
    *,
    environments: list[Environment] | None = None,
    schemas: tuple[str, ...] = ("page", "search"),
    queue: FairQueue | None = None,
    deduplicator: Deduplicator | None = None,
    processor: ScriptedProcessor | None = None,
    observer: object | None = None,
    max_attempts: int = 3,
) -> Engine:
    """An engine over ``environments`` (default: acme DEV and PROD) with one ``cms`` source."""
    environments = environments or two_environments()
    tenants = {e.tenant for e in environments}
    return Engine(
        environments, {(t, "cms"): schemas for t in sorted(tenants)},
        queue=queue, deduplicator=deduplicator, processor=processor or ScriptedProcessor(),
        observer=observer,  # type: ignore[arg-type]
        max_attempts=max_attempts, retry_backoff=0.0,
    )


def drain(engine: Engine, now: float, *, limit: int = 1_000_000) -> float:
    """Process until nothing is queued, one job at a time, retries immediately.

    Returns the clock after the last attempt (each attempt advances it by its duration).
    """
    for _ in range(limit):
        job = engine.take(now)
        if job is None:
            return now
        attempt = engine.attempt(job)
        now += attempt.duration
        if engine.finish(now, job, attempt) is not None:
            engine.requeue(now, job)
    raise RuntimeError(f"drain did not finish within {limit} attempts")


def truth_for(engine: Engine, start: float = 0.0) -> GroundTruth:
    """A ground truth observer attached to ``engine`` (replacing its observer)."""
    truth = GroundTruth(start)
    engine.observer = truth
    return truth
