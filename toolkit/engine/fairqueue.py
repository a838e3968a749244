"""Fair queue: deficit round robin over environments, weighted by environment rules.

Each environment has its own FIFO. Environments with jobs take turns; on its turn an
environment may dequeue ``weight`` jobs (its quantum; every job costs one). An environment
joins the back of the round when its FIFO becomes non-empty and leaves when it empties,
forfeiting any unused deficit, as in Shreedhar and Varghese's DRR. With integer weights every
turn serves at least one job, so a pick is O(1) amortised.

Bounds (unit costs, integer weights), used by the tests:

* while environments i and j both stay backlogged, the dequeues they receive satisfy
  ``|served_i / w_i - served_j / w_j| <= 2``;
* a job at position p (0-based) of environment i's FIFO is dequeued within
  ``ceil((p + 1) / w_i) * W`` dequeues, W being the sum of the weights of all environments
  that may hold jobs meanwhile.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from toolkit.engine.model import Environment, Job
from toolkit.errors import BadInput


@dataclass(frozen=True, slots=True)
class EnvironmentRules:
    """The "environment-based rules" the post-mortem promised: a weight per environment.

    weight = class weight of the tenant x kind weight of the environment.
    """

    class_weights: Mapping[str, int] = field(
        default_factory=lambda: {"enterprise": 3, "standard": 2, "free": 1}
    )
    kind_weights: Mapping[str, int] = field(
        default_factory=lambda: {"PROD": 2, "STAGING": 1, "DEV": 1}
    )

    def weight(self, env: Environment) -> int:
        try:
            return self.class_weights[env.tenant_class] * self.kind_weights[env.kind]
        except KeyError as missing:
            raise BadInput(f"environment {env.id!r}: no weight rule for {missing}") from None


class DeficitRoundRobinQueue:
    """The reference fair queue. Thread-unsafe: the engine serialises calls."""

    def __init__(self, weight: Callable[[str], int] | Mapping[str, int]) -> None:
        self._weight_of = weight.__getitem__ if isinstance(weight, Mapping) else weight
        self._weights: dict[str, int] = {}
        self._fifos: dict[str, deque[Job]] = {}
        self._round: deque[str] = deque()
        self._deficit = 0  # of the environment at the head of the round
        self._granted = False  # has the head received its quantum this turn?
        self._size = 0

    def push(self, job: Job) -> None:
        env = job.key.environment
        fifo = self._fifos.get(env)
        if fifo is None:
            weight = int(self._weight_of(env))
            if weight < 1:
                raise BadInput(f"environment {env!r}: weight must be >= 1, got {weight}")
            self._weights[env] = weight
            fifo = self._fifos[env] = deque()
        if not fifo:
            self._round.append(env)
        fifo.append(job)
        self._size += 1

    def pop(self) -> Job | None:
        """The next job by DRR, or ``None`` when every FIFO is empty."""
        round_ = self._round
        if not round_:
            return None
        env = round_[0]
        if not self._granted:
            self._deficit = self._weights[env]
            self._granted = True
        elif self._deficit < 1:
            round_.rotate(-1)
            env = round_[0]
            self._deficit = self._weights[env]
        fifo = self._fifos[env]
        job = fifo.popleft()
        self._deficit -= 1
        self._size -= 1
        if not fifo:
            round_.popleft()
            self._granted = False
        return job

    def depth(self, environment: str) -> int:
        fifo = self._fifos.get(environment)
        return len(fifo) if fifo else 0

    def depths(self) -> dict[str, int]:
        """Jobs queued per environment, for environments that hold any."""
        return {env: len(fifo) for env, fifo in self._fifos.items() if fifo}

    def weight(self, environment: str) -> int:
        return self._weights.get(environment) or int(self._weight_of(environment))

    def __len__(self) -> int:
        return self._size
