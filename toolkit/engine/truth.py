"""Ground truth of a run: what really happened to every job, kept compactly.

Later parts (detectors, audit, report) are scored against it, so it is exportable as JSON.
Memory grows with simulated minutes, environments and wrongful discards, never with the number
of jobs processed.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Any

from toolkit.engine.model import Attempt, Decision, Job, JobKey, JobState, Outcome


class Fate(IntEnum):
    """The per-environment, per-minute counters."""

    INGESTS = 0
    SKIPPED_UNCHANGED = 1
    CREATED = 2
    DEDUPLICATED = 3
    FOLLOW_UPS = 4
    PROCESSED = 5
    FAILED_ATTEMPTS = 6
    FAILED_FOR_GOOD = 7
    WRONGFUL_DISCARDS = 8
    RETRIES = 9
    QUEUED_MAX = 10
    """Gauge, not a counter: most jobs queued at once for the environment in the minute."""
    QUEUED_END = 11
    """Gauge: jobs queued at the end of the minute (carried into minutes without events)."""
    TOUCHED = 12
    """1 if the queue of the environment changed in the minute (for carrying gauges)."""


_GAUGES = (Fate.QUEUED_MAX, Fate.QUEUED_END, Fate.TOUCHED)
# Plain ints for the hot path: IntEnum member access is several times slower.
(_INGESTS, _SKIPPED, _CREATED, _DEDUPLICATED, _FOLLOW_UPS, _PROCESSED, _FAILED_ATTEMPTS,
 _FAILED_FOR_GOOD, _WRONGFUL, _RETRIES, _QUEUED_MAX, _QUEUED_END, _TOUCHED) = map(int, Fate)


_NF = len(Fate)


@dataclass(frozen=True, slots=True)
class WrongfulDiscard:
    """A drop that no surviving job with the same full key justifies."""

    time: float
    job_id: int
    key: JobKey
    version: int
    survivor_id: int
    survivor_key: JobKey
    survivor_version: int
    survivor_state: str
    fault: str | None


def is_justified(decision: Decision) -> bool:
    """The audit's rule: a drop is justified only by a *pending* survivor with the identical
    full key and a version not older. (A running survivor has already read its content.)
    """
    return (
        decision.survivor.key == decision.job.key
        and decision.survivor_state is JobState.PENDING
        and decision.survivor_version >= decision.job.version
    )


class GroundTruth:
    """An engine observer that counts job fates per environment and minute.

    Args:
        start: epoch seconds of minute 0.
    """

    def __init__(self, start: float) -> None:
        self.start = float(start)
        self._counts: dict[str, array] = {}
        self._depth: dict[str, int] = {}
        self.wrongful: list[WrongfulDiscard] = []
        self.fault_switches: list[tuple[float, str, bool, list[str] | None]] = []

    # -- observer interface -------------------------------------------------------------
    def ingested(self, now: float, key: JobKey, version: int, jobs: list[Job]) -> None:
        row = self._row(key.environment, now)
        row[0][row[1] + _INGESTS] += 1

    def skipped(self, now: float, key: JobKey, version: int) -> None:
        counts, base = self._row(key.environment, now)
        counts[base + _INGESTS] += 1
        counts[base + _SKIPPED] += 1

    def deployed(self, now: float, key: JobKey, jobs: list[Job]) -> None:
        pass  # jobs are counted when decided

    def decided(self, now: float, decision: Decision) -> None:
        job = decision.job
        counts, base = self._row(job.key.environment, now)
        outcome = decision.outcome
        if outcome is Outcome.REQUEUED:
            counts[base + _RETRIES] += 1
            return
        if job.attempts == 0:
            counts[base + _CREATED] += 1
        if outcome is Outcome.DEDUPLICATED:
            counts[base + _DEDUPLICATED] += 1
            if not is_justified(decision):
                counts[base + _WRONGFUL] += 1
                s = decision.survivor
                self.wrongful.append(
                    WrongfulDiscard(
                        now, job.id, job.key, job.version, s.id, s.key,
                        decision.survivor_version, str(decision.survivor_state), decision.fault,
                    )
                )
        elif outcome is Outcome.FOLLOW_UP:
            counts[base + _FOLLOW_UPS] += 1

    def enqueued(self, now: float, job: Job) -> None:
        self._queue_moved(job.key.environment, now, 1)

    def dequeued(self, now: float, job: Job) -> None:
        self._queue_moved(job.key.environment, now, -1)

    def _queue_moved(self, environment: str, now: float, delta: int) -> None:
        counts, base = self._row(environment, now)
        before = self._depth.get(environment, 0)
        after = self._depth[environment] = before + delta
        if not counts[base + _TOUCHED]:
            counts[base + _TOUCHED] = 1
            counts[base + _QUEUED_MAX] = before
        if after > counts[base + _QUEUED_MAX]:
            counts[base + _QUEUED_MAX] = after
        counts[base + _QUEUED_END] = after

    def finished(self, now: float, job: Job, attempt: Attempt, will_retry: bool) -> None:
        counts, base = self._row(job.key.environment, now)
        if attempt.ok:
            counts[base + _PROCESSED] += 1
        else:
            counts[base + _FAILED_ATTEMPTS] += 1
            if not will_retry:
                counts[base + _FAILED_FOR_GOOD] += 1

    def fault_switched(self, now: float, name: str, on: bool, scope: frozenset[str] | None) -> None:
        self.fault_switches.append((now, name, on, sorted(scope) if scope is not None else None))

    # -- reading ------------------------------------------------------------------------
    def environments(self) -> list[str]:
        return sorted(self._counts)

    def totals(self, environment: str) -> dict[str, int]:
        """Counts of every counter fate over the whole run for one environment."""
        counts = self._counts.get(environment, array("q"))
        return {f.name.lower(): sum(counts[f::_NF]) for f in Fate if f not in _GAUGES}

    def minutes(self) -> Iterator[tuple[str, int, list[int]]]:
        """``(environment, minute index, row by Fate)`` for every minute from the
        environment's first activity to its last, gauges carried through quiet minutes."""
        for env in sorted(self._counts):
            counts = self._counts[env]
            n = len(counts) // _NF
            active = [m for m in range(n) if any(counts[m * _NF : (m + 1) * _NF])]
            if not active:
                continue
            carried = 0
            for m in range(active[0], active[-1] + 1):
                row = list(counts[m * _NF : (m + 1) * _NF])
                if row[Fate.TOUCHED]:
                    carried = row[Fate.QUEUED_END]
                else:
                    row[Fate.QUEUED_MAX] = row[Fate.QUEUED_END] = carried
                yield env, m, row

    def to_json(self, stale_views: list[Any] | None = None) -> dict[str, Any]:
        """A JSON-ready export of the whole ground truth."""
        return {
            "start": self.start,
            "fates": [f.name.lower() for f in Fate],
            "minutes": [[env, m, row] for env, m, row in self.minutes()],
            "wrongful_discards": [_plain(asdict(w)) for w in self.wrongful],
            "fault_switches": self.fault_switches,
            "stale_views": [_plain(s._asdict()) for s in stale_views or []],
        }

    def dump(self, path: str, stale_views: list[Any] | None = None) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_json(stale_views), fh, sort_keys=True)

    def _row(self, environment: str, now: float) -> tuple[array, int]:
        base = int((now - self.start) // 60) * _NF
        counts = self._counts.get(environment)
        if counts is None or base >= len(counts):
            counts = self._grow(environment, base)
        return counts, base

    def _grow(self, environment: str, base: int) -> array:
        if base < 0:
            raise ValueError(f"time is before the run's start {self.start}")
        counts = self._counts.setdefault(environment, array("q"))
        counts.extend([0] * (base + _NF * 1440 - len(counts)))
        return counts


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
