"""A family of scenarios: any fault at any time and scope, and legitimate stress with no fault.

The named scenarios replay a few afternoons; detectors tuned on them can learn the afternoon
instead of the fault. The family places each fault class at any minute of any day of the week
(nights and weekends included), confined to the whole fleet, one tenant or one small
environment pair, and builds the heavy but legitimate work a platform sees (mass re-ingests
written twice, schema deployments everywhere, a tenant onboarding a large import, a traffic
spike, a slow processor day), so that an evaluation can ask both "is the fault found?" and
"is legitimate congestion left alone?" over many random draws::

    family = ScenarioFamily()
    scenario = family.fault("lost-follow-up", "2024-05-04T02:30", hours=4, scope="acme")
    result = run_scenario(scenario, seed=3)
    draws = family.draws(13, seed=11)            # randomised, reproducible

Every scenario starts ``warmup_hours`` before its fault or stress (floored to the hour), so
the trailing windows of the detectors are full when it begins, and ends ``tail_hours`` after.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from toolkit.engine.faults import (
    ENV_BLIND_DEDUP,
    LOST_FOLLOW_UP,
    SCHEMA_BLIND_DEDUP,
    check_fault_name,
)
from toolkit.errors import BadInput
from toolkit.workload.scenarios import SCALE, FaultPlan, Scenario
from toolkit.workload.topology import Topology
from toolkit.workload.traffic import (
    BulkIngest,
    Extra,
    RateChange,
    SchemaDeploy,
    TrafficProfile,
    is_weekday,
)

__all__ = [
    "FAULT_CLASSES",
    "NORMAL",
    "SCOPES",
    "STRESSES",
    "ScenarioFamily",
    "is_off_hours",
]

FAULT_CLASSES = (ENV_BLIND_DEDUP, LOST_FOLLOW_UP, SCHEMA_BLIND_DEDUP)
SCOPES = ("all", "tenant", "pair")
"""Fault scopes of a random draw: every environment, one tenant's, or a small tenant's
DEV/PROD pair."""
MASS_REINGEST = "mass-reingest"
PROD_REINGEST = "prod-reingest"
SCHEMA_EVERYWHERE = "schema-everywhere"
ONBOARDING = "onboarding"
SPIKE = "spike"
SLOW_DAY = "slow-day"
STRESSES = (MASS_REINGEST, PROD_REINGEST, SCHEMA_EVERYWHERE, ONBOARDING, SPIKE, SLOW_DAY)
"""Legitimate stress, no fault: mass re-ingest of one source into every environment or every
PROD environment at once (written twice, then that schema deployed there), a schema deployed
everywhere, a tenant importing a large new catalogue into all its environments, editor
traffic several times its usual rate for hours, processors several times slower all day."""
NORMAL = "normal"

WEEK = "2024-04-29T00:00:00"
"""A Monday: draws fall in the week that starts here (the simulator's calendar)."""
_HOUR = 3600.0


def _epoch(at: datetime | str | float) -> float:
    if isinstance(at, int | float):
        return float(at)
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at)
        except ValueError:
            raise BadInput(f"not an ISO time: {at!r}") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def is_off_hours(ts: float) -> bool:
    """Night (before 07:00 or from 18:00 UTC) or weekend: when a fault meets little traffic."""
    hour = (ts % 86400.0) / _HOUR
    return not is_weekday(ts) or hour < 7.0 or hour >= 18.0


@dataclass(frozen=True)
class ScenarioFamily:
    """Builds scenarios of the family on one topology; :meth:`draws` samples them.

    Attributes:
        topology: tenants and environments (the simulator's default).
        scale: editor traffic relative to the topology's peak rates (as the named scenarios).
        warmup_hours: simulated before the fault or stress begins.
        tail_hours: simulated after it ends.
        normal_hours: length of a normal-days draw.
    """

    topology: Topology = field(default_factory=Topology)
    scale: float = SCALE
    warmup_hours: float = 8.0
    tail_hours: float = 2.0
    normal_hours: float = 48.0

    # -- scopes ----------------------------------------------------------------------------
    def environments(self, scope: str | Sequence[str]) -> tuple[str, ...] | None:
        """Environment ids of a scope: ``"all"`` (``None``: every one), a tenant name, or
        environment ids given as a sequence."""
        known = [e.id for e in self.topology.environments()]
        if isinstance(scope, str):
            if scope == "all":
                return None
            try:
                return tuple(e.id for e in self.topology.tenant(scope).environments())
            except KeyError:
                names = ", ".join(t.name for t in self.topology.tenants)
                raise BadInput(f"unknown scope {scope!r} (all, a tenant: {names}, or "
                               f"environment ids)") from None
        envs = tuple(scope)
        unknown = sorted(set(envs) - set(known))
        if unknown or not envs:
            raise BadInput(f"unknown environments in scope: {', '.join(unknown) or '(none)'}")
        return envs

    def small_pairs(self) -> list[tuple[str, str]]:
        """DEV/PROD pairs of the free-plan tenants (the smallest environments)."""
        return [(t.environment_id("DEV"), t.environment_id("PROD"))
                for t in self.topology.tenants if t.tenant_class == "free"]

    # -- building blocks -----------------------------------------------------------------------
    def _scenario(
        self, name: str, description: str, begin: float, end: float, *,
        faults: tuple[FaultPlan, ...] = (), extras: tuple[Extra, ...] = (),
        stress: str | None = None, mean_seconds: float = 1.2,
    ) -> Scenario:
        start = (begin - self.warmup_hours * _HOUR) // _HOUR * _HOUR
        hours = (end + self.tail_hours * _HOUR - start) / _HOUR
        return Scenario(name, description, _iso(start), max(1, round(hours / 24)),
                        faults=faults, profile=TrafficProfile(scale=self.scale),
                        mean_seconds=mean_seconds, extras=extras, hours=hours, stress=stress)

    def fault(
        self, fault: str, at: datetime | str | float, hours: float,
        scope: str | Sequence[str] = "all",
    ) -> Scenario:
        """Fault ``fault`` switched on at ``at`` (naive: UTC) for ``hours``, in ``scope``."""
        check_fault_name(fault)
        if not hours > 0:
            raise BadInput(f"fault hours must be > 0, got {hours}")
        begin = _epoch(at)
        end = begin + hours * _HOUR
        envs = self.environments(scope)
        where = "every environment" if envs is None else ", ".join(envs)
        plan = FaultPlan(fault, _iso(begin), _iso(end), envs)
        return self._scenario(
            f"{fault}@{_iso(begin)}", f"{fault} from {_iso(begin)} for {hours:g} h in {where}",
            begin, end, faults=(plan,))

    def stress(
        self, kind: str, at: datetime | str | float, *, hours: float = 4.0,
        tenant: str | None = None, factor: float | None = None, entities: int | None = None,
        deploy_after: float = 1.0,
    ) -> Scenario:
        """Legitimate stress ``kind`` (one of :data:`STRESSES`) beginning at ``at``.

        Args:
            hours: how long a spike or slow processing lasts, and how long after ``at`` the
                run goes on for the others (bulk work drains for hours).
            tenant: the onboarding tenant (default: the largest).
            factor: spike: editor traffic multiple (default 4); slow day: processing time
                multiple (default 3).
            entities: onboarding: entities imported (default 10x the tenant's first source).
            deploy_after: re-ingests: hours until the schema is deployed where it went.
        """
        begin = _epoch(at)
        end = begin + hours * _HOUR
        envs = self.topology.environments()
        extras: tuple[Extra, ...]
        mean = 1.2
        if kind in (MASS_REINGEST, PROD_REINGEST):
            where = tuple(e.id for e in envs if kind == MASS_REINGEST or e.kind == "PROD")
            extras = (BulkIngest(begin, where, "cms", twice=True),
                      SchemaDeploy(begin + deploy_after * _HOUR, where, "cms"))
            text = (f"one source re-ingested into {len(where)} environments at once, written "
                    f"twice, then its schema deployed there {deploy_after:g} h later")
        elif kind == SCHEMA_EVERYWHERE:
            where = tuple(e.id for e in envs)
            # A deployment re-renders the entities an environment holds; a simulated run
            # starts empty, so the catalogue is loaded first, at the start of the warm-up.
            prime = (begin - self.warmup_hours * _HOUR) // _HOUR * _HOUR
            extras = (BulkIngest(prime, where, "cms", change=False),
                      SchemaDeploy(begin, where, "cms"))
            text = f"a schema deployed to all {len(where)} environments at once"
        elif kind == ONBOARDING:
            who = self.topology.tenant(tenant) if tenant else max(
                self.topology.tenants, key=lambda t: t.sources[0].entities)
            count = entities or 10 * who.sources[0].entities
            where = tuple(e.id for e in who.environments())
            extras = (BulkIngest(begin, where, who.sources[0].name, twice=True,
                                 entities=count),)
            text = f"{who.name} imports {count:,} entities into {', '.join(where)}, twice"
        elif kind == SPIKE:
            extras = (RateChange(begin, end, factor or 4.0),)
            text = f"editor traffic x{factor or 4.0:g} for {hours:g} h"
        elif kind == SLOW_DAY:
            extras = ()
            mean = 1.2 * (factor or 3.0)
            text = f"processing {factor or 3.0:g}x slower all day"
        else:
            raise BadInput(f"unknown stress {kind!r} (known: {', '.join(STRESSES)})")
        return self._scenario(f"{kind}@{_iso(_epoch(at))}", text, begin, end, extras=extras,
                              stress=kind, mean_seconds=mean)

    def normal(self, at: datetime | str | float, hours: float | None = None) -> Scenario:
        """Ordinary traffic from ``at`` for ``hours`` (default :attr:`normal_hours`)."""
        begin = _epoch(at)
        hours = self.normal_hours if hours is None else hours
        return self._scenario(f"{NORMAL}@{_iso(begin)}", f"normal traffic for {hours:g} h",
                              begin, begin + hours * _HOUR, stress=None)

    # -- random draws --------------------------------------------------------------------------
    def random_time(self, rng: random.Random, *, working: bool = False) -> float:
        """A uniformly random minute of the family's week (nights and weekends included), or
        with ``working`` of its working hours (Monday to Friday, 08:00-17:00 UTC)."""
        if working:
            return (_epoch(WEEK) + rng.randrange(5) * 86400.0 + 8 * _HOUR
                    + rng.randrange(9 * 60) * 60.0)
        return _epoch(WEEK) + rng.randrange(7 * 24 * 60) * 60.0

    def random_fault(
        self, rng: random.Random, fault: str | None = None, *, working: bool = False,
    ) -> Scenario:
        """A fault of a random (or given) class at a random time (``working``: in working
        hours), 1 to 6 hours, in a random scope (every environment, one tenant, or a small
        pair)."""
        fault = fault or rng.choice(FAULT_CLASSES)
        at = self.random_time(rng, working=working)
        hours = round(rng.uniform(1.0, 6.0), 2)
        kind = rng.choice(SCOPES)
        scope: str | Sequence[str] = "all"
        if kind == "tenant":
            scope = rng.choice(self.topology.tenants).name
        elif kind == "pair":
            scope = rng.choice(self.small_pairs())
        return self.fault(fault, at, hours, scope)

    def random_stress(self, rng: random.Random, kind: str | None = None) -> Scenario:
        """Stress of a random (or given) kind at a random time."""
        kind = kind or rng.choice(STRESSES)
        at = self.random_time(rng)
        if kind == SPIKE:
            return self.stress(kind, at, hours=round(rng.uniform(1.0, 4.0), 2),
                               factor=round(rng.uniform(3.0, 8.0), 1))
        if kind == SLOW_DAY:
            return self.stress(kind, at - at % 86400.0 + self.warmup_hours * _HOUR,
                               hours=24.0 - self.warmup_hours,
                               factor=round(rng.uniform(2.0, 4.0), 1))
        if kind == ONBOARDING:
            tenant = rng.choice(self.topology.tenants).name
            return self.stress(kind, at, tenant=tenant, entities=rng.randrange(5000, 20001))
        return self.stress(kind, at, hours=4.0, deploy_after=round(rng.uniform(0.5, 2.0), 2))

    def draws(self, count: int, seed: int, *, faults_per_class: int = 2) -> list[Scenario]:
        """``count`` scenarios, reproducible from ``seed``, stratified so that every
        ``len(FAULT_CLASSES) * faults_per_class + len(STRESSES) + 1`` draws hold each fault
        class ``faults_per_class`` times (the first of them in working hours, where traffic
        overlaps and most faults bite; the others at any time), each stress once and one
        normal run."""
        if count < 1:
            raise BadInput(f"draw count must be >= 1, got {count}")
        rng = random.Random(seed * 7919 + 13)
        cycle: list[tuple[str, str | None, bool]] = [
            *(("fault", f, i == 0) for f in FAULT_CLASSES for i in range(faults_per_class)),
            *(("stress", s, False) for s in STRESSES), (NORMAL, None, False)]
        out = []
        while len(out) < count:
            for what, kind, working in cycle:
                if len(out) == count:
                    break
                if what == "fault":
                    out.append(self.random_fault(rng, kind, working=working))
                elif what == "stress":
                    out.append(self.random_stress(rng, kind))
                else:
                    out.append(self.normal(self.random_time(rng)))
        return out
