"""Named scenarios: a topology, a traffic profile, a time span and the faults switched on.

``may7`` replays the 7 May 2024 incident: normal traffic from Thursday 2 May, the fairness
queue change with the ``env-blind-dedup`` bug shipped during the working day on Monday 6 May,
fixed at 16:41 UTC (18:41 CEST) on Tuesday 7 May, and traffic to the end of 7 May.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from toolkit.engine.core import Engine, StaleView
from toolkit.engine.faults import (
    ENV_BLIND_DEDUP,
    LOST_FOLLOW_UP,
    SCHEMA_BLIND_DEDUP,
    FaultSchedule,
    FaultWindow,
)
from toolkit.engine.observers import combine
from toolkit.engine.processor import SimulatedProcessor
from toolkit.engine.protocols import Observer
from toolkit.engine.simulator import Simulator
from toolkit.engine.truth import GroundTruth
from toolkit.errors import BadInput
from toolkit.workload.topology import Topology
from toolkit.workload.traffic import DAY, HOUR, Extra, Traffic, TrafficProfile

SCALE = 0.5
"""Editor traffic of the named scenarios relative to the topology's peak rates. Sized so that
the 6-day ``may7`` replay (about 150,000 jobs, 1 million spans and log records) records with
full telemetry in about a minute on two cores, while the working-day overlap between
environments that the 7 May bug needs is kept (several environments queued at once most
minutes of the working day; see ``toolkit evaluate``)."""


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """A fault window given relative to nothing: absolute UTC times as ISO strings."""

    name: str
    start: str
    end: str
    environments: tuple[str, ...] | None = None

    def window(self) -> FaultWindow:
        scope = frozenset(self.environments) if self.environments is not None else None
        return FaultWindow(self.name, _ts(self.start), _ts(self.end), scope)


@dataclass(frozen=True, slots=True)
class Scenario:
    """What to simulate: when, for how long, which faults, and any work placed at chosen
    times (``extras``: bulk ingests, schema deployments, traffic spikes).

    ``hours``, when set, overrides ``days`` (a scenario of the family lasts hours, not days).
    ``mean_seconds`` is the processor's mean job duration (a slow processor day raises it).
    ``stress`` names the legitimate stress a scenario of the family carries, if any.
    """

    name: str
    description: str
    start: str
    days: int
    faults: tuple[FaultPlan, ...] = ()
    profile: TrafficProfile = field(default_factory=lambda: TrafficProfile(scale=SCALE))
    workers: int = 4
    mean_seconds: float = 1.2
    failure_rate: float = 0.005
    extras: tuple[Extra, ...] = ()
    hours: float | None = None
    stress: str | None = None

    @property
    def start_ts(self) -> float:
        return _ts(self.start)

    @property
    def seconds(self) -> float:
        """Length of the run, in seconds."""
        return self.hours * HOUR if self.hours is not None else self.days * DAY


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "baseline",
            "Normal working days, no fault: bursts, bulk re-ingests, schema deployments.",
            "2024-04-29T00:00:00", 3,
        ),
        Scenario(
            "may7",
            "The 7 May 2024 incident: env-blind-dedup from 6 May 09:12 to 7 May 16:41 UTC.",
            "2024-05-02T00:00:00", 6,
            (FaultPlan(ENV_BLIND_DEDUP, "2024-05-06T09:12:00", "2024-05-07T16:41:00"),),
        ),
        Scenario(
            LOST_FOLLOW_UP,
            "Triggers that arrive while a job runs are dropped, on the third day 09:00-15:00.",
            "2024-04-29T00:00:00", 3,
            (FaultPlan(LOST_FOLLOW_UP, "2024-05-01T09:00:00", "2024-05-01T15:00:00"),),
        ),
        Scenario(
            SCHEMA_BLIND_DEDUP,
            "The dedup key ignores the schema, on the third day 09:00-15:00.",
            "2024-04-29T00:00:00", 3,
            (FaultPlan(SCHEMA_BLIND_DEDUP, "2024-05-01T09:00:00", "2024-05-01T15:00:00"),),
        ),
        Scenario(
            "small-env",
            "env-blind-dedup confined to one small environment (piedpiper-prod) for two days.",
            "2024-04-29T00:00:00", 4,
            (FaultPlan(ENV_BLIND_DEDUP, "2024-05-01T08:00:00", "2024-05-02T18:00:00",
                       ("piedpiper-prod",)),),
        ),
    )
}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        known = ", ".join(sorted(SCENARIOS))
        raise BadInput(f"unknown scenario {name!r} (known: {known})") from None


@dataclass
class RunResult:
    """What a simulated run leaves: the engine's final state and the ground truth."""

    scenario: Scenario
    seed: int
    start: float
    end: float
    engine: Engine
    truth: GroundTruth
    stale_views: list[StaleView]

    def summary_rows(self) -> list[dict[str, int | str]]:
        stale: dict[str, int] = {}
        for view in self.stale_views:
            stale[view.key.environment] = stale.get(view.key.environment, 0) + 1
        rows = []
        for env in sorted(self.engine.environments):
            t = self.truth.totals(env)
            rows.append({
                "environment": env,
                "ingests": t["ingests"],
                "skipped_unchanged": t["skipped_unchanged"],
                "jobs": t["created"],
                "deduplicated": t["deduplicated"],
                "processed": t["processed"],
                "failed": t["failed_for_good"],
                "wrongful_discards": t["wrongful_discards"],
                "stale_views": stale.get(env, 0),
            })
        return rows

    def summary(self) -> str:
        """A fixed-width per-environment table; identical bytes for identical runs."""
        rows = self.summary_rows()
        cols = list(rows[0])
        total: dict[str, int | str] = {"environment": "TOTAL"}
        for c in cols[1:]:
            total[c] = sum(int(r[c]) for r in rows)
        widths = {c: max(len(c), *(len(str(r[c])) for r in [*rows, total])) for c in cols}
        head = f"scenario {self.scenario.name}, seed {self.seed}, " \
            f"{_iso(self.start)} to {_iso(self.end)} UTC"
        lines = [head, "  ".join(c.ljust(widths[c]) if c == "environment" else
                                 c.rjust(widths[c]) for c in cols)]
        for r in [*rows, total]:
            lines.append("  ".join(str(r[c]).ljust(widths[c]) if c == "environment" else
                                   str(r[c]).rjust(widths[c]) for c in cols))
        return "\n".join(lines)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def run_scenario(
    name: str | Scenario,
    *,
    seed: int = 7,
    days: int | None = None,
    observer: Observer | None = None,
    progress: Callable[[float], None] | None = None,
    scale: float = 1.0,
    topology: Topology | None = None,
) -> RunResult:
    """Simulate a scenario (by name, or a :class:`Scenario` object such as one of
    :class:`toolkit.workload.ScenarioFamily`'s) to the end and drain the backlog.

    ``days`` overrides the scenario's length."""
    scenario = name if isinstance(name, Scenario) else get_scenario(name)
    if days is not None and days < 1:
        raise BadInput(f"--days must be >= 1, got {days}")
    if seed < 0:
        raise BadInput(f"--seed must be >= 0, got {seed}")
    if scale <= 0:
        raise BadInput(f"scale must be > 0, got {scale}")
    topology = topology or Topology()
    start = scenario.start_ts
    end = start + (days * DAY if days is not None else scenario.seconds)
    truth = GroundTruth(start)
    rng = random.Random(seed * 1_000_003 + 17)
    processor = SimulatedProcessor(
        rng, mean_seconds=scenario.mean_seconds, failure_rate=scenario.failure_rate
    )
    engine = Engine(
        topology.environments(), topology.schemas(), processor=processor,
        observer=combine(truth, observer),
    )
    profile = scenario.profile
    if scale != 1.0:
        profile = TrafficProfile(**{**_fields(profile), "scale": profile.scale * scale})
    traffic = Traffic(topology, seed=seed, start=start, end=end, profile=profile,
                      extras=scenario.extras)
    windows = [f.window() for f in scenario.faults if f.window().start < end]
    sim = Simulator(
        engine, traffic, workers=max(1, round(scenario.workers * scale)),
        faults=FaultSchedule(windows), end=end,
    )
    last = sim.run(progress)
    return RunResult(scenario, seed, start, max(end, last), engine, truth, engine.stale_views())


def _fields(profile: TrafficProfile) -> dict[str, float]:
    return {name: getattr(profile, name) for name in profile.__dataclass_fields__}
