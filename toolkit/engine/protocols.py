"""The narrow interfaces the engine is built from, so that telemetry can wrap each component
and a user can plug in their own queue, deduplicator or processor.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from toolkit.engine.model import Attempt, Decision, Job, JobKey


@runtime_checkable
class FairQueue(Protocol):
    """Holds accepted jobs and hands them out fairly across environments."""

    def push(self, job: Job) -> None: ...
    def pop(self) -> Job | None: ...
    def depth(self, environment: str) -> int: ...
    def depths(self) -> dict[str, int]: ...
    def __len__(self) -> int: ...


@runtime_checkable
class Deduplicator(Protocol):
    """Decides, for every job offered, whether it is kept and which job survives."""

    def offer(self, job: Job) -> Decision: ...
    def start(self, job: Job) -> None: ...
    def finish(self, job: Job, *, retry: bool) -> Decision | None: ...


@runtime_checkable
class Processor(Protocol):
    """Plans one attempt at rendering a job's view from the entity version it reads."""

    def attempt(self, job: Job, version_read: int) -> Attempt: ...


class Observer(Protocol):
    """Receives every stage of every job, with the engine's clock (epoch seconds).

    Called synchronously under the engine's serialisation; an observer must not call back
    into the engine. Telemetry implements this; so can a user's own checker.
    """

    def ingested(self, now: float, key: JobKey, version: int, jobs: list[Job]) -> None:
        """A changed entity was ingested (``key.schema`` is empty); ``jobs`` were created."""

    def skipped(self, now: float, key: JobKey, version: int) -> None:
        """An ingest carried unchanged content: no job was created."""

    def deployed(self, now: float, key: JobKey, jobs: list[Job]) -> None:
        """A schema was deployed to an environment (``key.entity`` is empty)."""

    def decided(self, now: float, decision: Decision) -> None:
        """The deduplicator decided about a job (created or retried)."""

    def enqueued(self, now: float, job: Job) -> None: ...
    def dequeued(self, now: float, job: Job) -> None: ...
    def finished(self, now: float, job: Job, attempt: Attempt, will_retry: bool) -> None:
        """An attempt ended: processed (``attempt.ok``), or failed and retried or given up."""

    def fault_switched(self, now: float, name: str, on: bool, scope: frozenset[str] | None) -> None:
        """A fault was switched: seen by a real system as a deployment of the component."""
