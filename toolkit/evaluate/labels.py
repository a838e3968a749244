"""A simulated run reduced to what scoring needs: its rollup (labels dropped) and, per
environment, when and how many jobs were wrongly discarded."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from toolkit.evaluate.truth import rollup_frame
from toolkit.workload import RunResult, Scenario, run_scenario

__all__ = ["Labelled", "label", "simulate"]


@dataclass(frozen=True, eq=False)
class Labelled:
    """A simulated run reduced to what scoring needs.

    ``days`` is the run's length in days (fractional for the family's scenarios);
    ``scenario`` is what was simulated; ``times`` the epoch seconds of each environment's
    wrongful discards, in order.
    """

    name: str
    seed: int
    days: float
    frame: pd.DataFrame
    first_wrongful: dict[str, float]
    last_wrongful: dict[str, float]
    wrongful: dict[str, int]
    environments: int
    scenario: Scenario | None = None
    times: dict[str, list[float]] | None = None

    @property
    def first(self) -> float | None:
        return min(self.first_wrongful.values()) if self.first_wrongful else None

    @property
    def env_weeks(self) -> float:
        """Environments x weeks observed: the unit false alarms are counted per."""
        return self.environments * self.days / 7.0


def label(result: RunResult, name: str | None = None, days: float | None = None) -> Labelled:
    """The rollup (``wrongful_discards`` column dropped) and wrongful-discard facts of a run
    (``days``: its length, by default the scenario's)."""
    truth = result.truth
    frame = rollup_frame(truth).drop(columns=["wrongful_discards"])
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    count: dict[str, int] = {}
    times: dict[str, list[float]] = {}
    for w in truth.wrongful:
        env = w.key.environment
        first.setdefault(env, w.time)
        last[env] = w.time
        count[env] = count.get(env, 0) + 1
        times.setdefault(env, []).append(w.time)
    days = result.scenario.seconds / 86400.0 if days is None else days
    return Labelled(name or result.scenario.name, result.seed, days, frame, first, last, count,
                    frame["environment"].nunique(), result.scenario, times)


@lru_cache(maxsize=16)
def simulate(name: str, seed: int, days: int | None) -> Labelled:
    """Run a named scenario once per process and keep its rollup and labels."""
    result = run_scenario(name, seed=seed, days=days)
    return label(result, name, days or result.scenario.days)
