"""Processors render views; the view store keeps the version each view was rendered from."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

from toolkit.engine.model import Attempt, Job, JobKey
from toolkit.errors import BadInput

_exp = math.exp


class SimulatedProcessor:
    """Plans attempts with log-normal durations and a configurable failure rate.

    The processor reads the entity's *current* version when it starts, as a real renderer
    reads the source entity store, so a job may deliver a newer version than it asked for.
    Deterministic for a given ``rng``.
    """

    def __init__(
        self,
        rng: random.Random,
        *,
        mean_seconds: float = 1.0,
        sigma: float = 0.6,
        failure_rate: float = 0.005,
        schema_cost: dict[str, float] | None = None,
    ) -> None:
        if mean_seconds <= 0:
            raise BadInput(f"processor mean_seconds must be > 0, got {mean_seconds}")
        if not 0 <= failure_rate < 1:
            raise BadInput(f"processor failure_rate must be in [0, 1), got {failure_rate}")
        if sigma < 0:
            raise BadInput(f"processor sigma must be >= 0, got {sigma}")
        self._rng = rng
        self._mu = math.log(mean_seconds) - sigma * sigma / 2
        self._sigma = sigma
        self._failure_rate = failure_rate
        self._schema_cost = schema_cost or {}

    def attempt(self, job: Job, version_read: int) -> Attempt:
        rng = self._rng
        # exp(gauss) is lognormvariate without its slower normalvariate sampler.
        duration = _exp(rng.gauss(self._mu, self._sigma))
        if self._schema_cost:
            duration *= self._schema_cost.get(job.key.schema, 1.0)
        return Attempt(duration, rng.random() >= self._failure_rate, version_read)


class ViewStore:
    """The rendered views: key -> entity version the view was rendered from.

    Writes are conditional on the version (optimistic concurrency), so two workers finishing
    out of order for the same key cannot leave the older rendering in place.
    """

    def __init__(self) -> None:
        self._versions: dict[JobKey, int] = {}

    def write(self, key: JobKey, version: int) -> bool:
        """Store ``version`` for ``key`` unless a newer one is there; True if written."""
        current = self._versions.get(key)
        if current is not None and current >= version:
            return False
        self._versions[key] = version
        return True

    def version(self, key: JobKey) -> int | None:
        return self._versions.get(key)

    def __len__(self) -> int:
        return len(self._versions)

    def __iter__(self) -> Iterator[JobKey]:
        return iter(self._versions)
