"""Domain model of the processing platform: keys, jobs and deduplication decisions.

Jobs are plain ``__slots__`` objects rather than dataclasses because the simulator creates
hundreds of thousands of them per second; everything else is immutable.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


class JobKey(NamedTuple):
    """The full deduplication key: one view of one entity in one environment."""

    tenant: str
    environment: str
    source: str
    entity: str
    schema: str


class JobState(StrEnum):
    """Where a job is in its life. ``PENDING`` covers queued and waiting-for-retry."""

    PENDING = "pending"
    RUNNING = "running"
    PROCESSED = "processed"
    FAILED = "failed"
    DEDUPLICATED = "deduplicated"


class Outcome(StrEnum):
    """What the deduplicator did with a job offered to it."""

    ACCEPTED = "accepted"
    """No job for the key was pending or running: the job is queued."""
    FOLLOW_UP = "follow_up"
    """A job for the key is running: this one is queued as its single follow-up."""
    DEDUPLICATED = "deduplicated"
    """A job for the key was pending: this one is folded into it (the survivor)."""
    REQUEUED = "requeued"
    """A failed job goes back to pending for another attempt."""


class Trigger(StrEnum):
    """Why a job exists."""

    INGEST = "ingest"
    DEPLOY = "schema_deploy"


class Job:
    """One request to (re)generate a view.

    ``version`` is the entity version the job must at least deliver; coalescing raises it.
    ``context`` is an opaque slot owned by whoever observes the engine (telemetry keeps the
    span context of the job's producer there); the engine never reads it.
    """

    __slots__ = (
        "attempts",
        "context",
        "created_at",
        "enqueued_at",
        "id",
        "key",
        "state",
        "trigger",
        "version",
    )

    def __init__(
        self, job_id: int, key: JobKey, version: int, created_at: float, trigger: Trigger
    ) -> None:
        self.id = job_id
        self.key = key
        self.version = version
        self.created_at = created_at
        self.enqueued_at = created_at
        self.trigger = trigger
        self.state = JobState.PENDING
        self.attempts = 0
        self.context: object | None = None

    def __repr__(self) -> str:
        return f"Job({self.id}, {tuple(self.key)}, v{self.version}, {self.state})"


class Decision(NamedTuple):
    """A deduplication decision. Every decision names its survivor.

    For ``ACCEPTED``, ``FOLLOW_UP`` and ``REQUEUED`` the survivor is the job itself. For
    ``DEDUPLICATED`` it is the job the offered one was folded into, with its state and version
    as they were right after the decision. ``fault`` names the switched-on fault whose rule
    made the decision; it is simulation ground truth and is deliberately not emitted as
    telemetry (a real system does not know its own bugs).
    """

    outcome: Outcome
    job: Job
    survivor: Job
    survivor_state: JobState
    survivor_version: int
    fault: str | None = None

    @property
    def dropped(self) -> bool:
        return self.outcome is Outcome.DEDUPLICATED


class Attempt(NamedTuple):
    """One processing attempt as planned by a processor."""

    duration: float
    ok: bool
    version_read: int


@dataclass(frozen=True, slots=True)
class Environment:
    """A tenant's environment. ``id`` is globally unique (``"acme-prod"``)."""

    id: str
    tenant: str
    kind: str
    tenant_class: str
