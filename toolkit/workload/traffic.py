"""Realistic multi-tenant traffic for the simulator, generated lazily hour by hour.

What reaches the platform, per tenant:

* editor publishes on a European working-day curve, each to PROD, to DEV, or to every
  environment at once (the CMS pushes to all connected environments within a second or two);
* auto-save bursts: a few more revisions of the same entity in the following minute, which
  legitimately create duplicate jobs;
* publishes without changes (skipped by the content hash);
* bulk re-ingests of a whole source, sometimes written twice by the importer (duplicates);
* schema deployments to DEV, often followed hours later by PROD (thousands of jobs);
* a nightly full sync to PROD, almost entirely unchanged.

Besides these, a caller can place work at chosen times (``extras``): a :class:`BulkIngest`
into any environments (written once or twice, of a source's entities or of a larger import),
a :class:`SchemaDeploy` anywhere, and a :class:`RateChange` (a spike of editor traffic).

Content is a per-entity revision counter in the tenant's CMS, shared by its environments, so
the content hash is simply the revision. Deterministic for a seed (no ``hash()`` of strings).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from toolkit.engine.simulator import DEPLOY, INGEST, Arrival
from toolkit.errors import BadInput
from toolkit.workload.topology import Source, Tenant, Topology

HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class TrafficProfile:
    """Knobs of the traffic model. ``scale`` multiplies every editor rate."""

    scale: float = 1.0
    all_env_share: float = 0.30
    dev_only_share: float = 0.25
    unchanged_share: float = 0.08
    burst_probability: float = 0.2
    bulk_per_weekday: float = 0.12
    double_write_probability: float = 0.5
    deploy_per_weekday: float = 0.2
    deploy_to_prod_probability: float = 0.6
    nightly_sync_share: float = 0.3


@dataclass(frozen=True, slots=True)
class BulkIngest:
    """Every entity of a source ingested into some environments at once, from ``at``.

    Attributes:
        at: epoch seconds of the first job.
        environments: environment ids (of one or several tenants).
        source: the tenant's source name; ``None``: each of its sources, one after another.
        twice: written twice by the importer, the second pass ``gap`` seconds later (every job
            of the second pass is a legitimate duplicate while the first is still queued).
        entities: how many entities; more than the source holds is an import of new ones (a
            tenant onboarding); ``None``: exactly the source's.
        change: the content changed (a re-ingest of unchanged content is skipped by its hash).
        gap: seconds between the two passes.
    """

    at: float
    environments: tuple[str, ...]
    source: str | None = None
    twice: bool = False
    entities: int | None = None
    change: bool = True
    gap: float = 120.0


@dataclass(frozen=True, slots=True)
class SchemaDeploy:
    """A schema deployed to some environments at ``at`` (every entity re-rendered).

    ``source`` ``None``: the tenant's first source; ``schema`` ``None``: its first schema.
    """

    at: float
    environments: tuple[str, ...]
    source: str | None = None
    schema: str | None = None


@dataclass(frozen=True, slots=True)
class RateChange:
    """Editor traffic of ``tenants`` (``None``: all) multiplied by ``factor`` in
    ``[start, end)``, at any hour: the extra publishes do not follow the working-day curve."""

    start: float
    end: float
    factor: float
    tenants: tuple[str, ...] | None = None


Extra = BulkIngest | SchemaDeploy | RateChange
"""Work a caller places at chosen times (see :class:`Traffic`)."""


def working_day_curve(t: float) -> float:
    """Editor activity in [0.03, 1] at epoch second ``t``: European working hours in UTC."""
    day = int(t // DAY)
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    hour = (t % DAY) / HOUR
    bump = math.sin(math.pi * (hour - 6.0) / 11.0) if 6.0 < hour < 17.0 else 0.0
    level = 0.03 + 0.97 * max(bump, 0.0) ** 1.5
    return level * (0.15 if weekday >= 5 else 1.0)


def is_weekday(t: float) -> bool:
    return (int(t // DAY) + 3) % 7 < 5


class Traffic:
    """The arrival stream for ``[start, end)`` (epoch seconds), in time order."""

    def __init__(
        self,
        topology: Topology,
        *,
        seed: int,
        start: float,
        end: float,
        profile: TrafficProfile | None = None,
        extras: Sequence[Extra] = (),
    ) -> None:
        self.topology = topology
        self.start = start
        self.end = end
        self.profile = profile or TrafficProfile()
        self._rng = random.Random(seed)
        self._revision: dict[tuple[str, str], list[int]] = {
            (t.name, s.name): [1] * s.entities for t in topology.tenants for s in t.sources
        }
        self._future: list[tuple[float, int, Arrival]] = []
        self._seq = 0
        self._owner = {env.id: (t, env.kind) for t in topology.tenants
                       for env in t.environments()}
        self._placed = sorted((e for e in extras if not isinstance(e, RateChange)),
                              key=lambda e: e.at)
        self._rates = [e for e in extras if isinstance(e, RateChange)]
        for extra in extras:
            for env in getattr(extra, "environments", ()):
                if env not in self._owner:
                    raise BadInput(f"unknown environment {env!r} in {type(extra).__name__}")

    def __iter__(self) -> Iterator[Arrival]:
        hour = self.start
        future = self._future
        while hour < self.end:
            stop = min(hour + HOUR, self.end)
            for tenant in self.topology.tenants:
                self._editors(tenant, hour, stop)
            if self._rates:
                self._spikes(hour, stop)
            while self._placed and self._placed[0].at < stop:
                self._place(self._placed.pop(0))
            if hour % DAY < HOUR:
                for tenant in self.topology.tenants:
                    self._daily(tenant, hour)
            while future and future[0][0] < stop:
                yield heapq.heappop(future)[2]
            hour = stop
        while future and future[0][0] < self.end:
            yield heapq.heappop(future)[2]

    # -- generators ---------------------------------------------------------------------
    def _emit(self, arrival: Arrival) -> None:
        self._seq += 1
        heapq.heappush(self._future, (arrival.time, self._seq, arrival))

    def _editors(self, tenant: Tenant, start: float, stop: float) -> None:
        """Publishes by thinning a Poisson process at the tenant's peak rate."""
        rng = self._rng
        peak = tenant.publish_rate * self.profile.scale / 60.0
        if peak <= 0:
            return
        t = start
        while True:
            t += rng.expovariate(peak)
            if t >= stop:
                return
            if rng.random() < working_day_curve(t):
                self._publish(tenant, t)

    def _spikes(self, start: float, stop: float) -> None:
        """Extra publishes of every :class:`RateChange` overlapping ``[start, stop)``."""
        rng = self._rng
        for change in self._rates:
            lo, hi = max(start, change.start), min(stop, change.end)
            if hi <= lo or change.factor <= 1:
                continue
            for tenant in self.topology.tenants:
                if change.tenants is not None and tenant.name not in change.tenants:
                    continue
                rate = tenant.publish_rate * self.profile.scale * (change.factor - 1) / 60.0
                t = lo + rng.expovariate(rate)
                while t < hi:
                    self._publish(tenant, t)
                    t += rng.expovariate(rate)

    def _place(self, extra: BulkIngest | SchemaDeploy) -> None:
        """Emit one placed bulk ingest or schema deployment."""
        by_tenant: dict[str, tuple[Tenant, list[str]]] = {}
        for env in extra.environments:
            tenant, kind = self._owner[env]
            by_tenant.setdefault(tenant.name, (tenant, []))[1].append(kind)
        for tenant, kinds in by_tenant.values():
            if isinstance(extra, SchemaDeploy):
                source = self._source(tenant, extra.source) or tenant.sources[0]
                schema = extra.schema or source.schemas[0]
                for kind in kinds:
                    self._emit(Arrival(extra.at, DEPLOY, tenant.environment_id(kind),
                                       source.name, schema))
                continue
            named = self._source(tenant, extra.source)
            at = extra.at
            for source in (named,) if named else tenant.sources:
                count = extra.entities or source.entities
                end = self._bulk_many(tenant, source, kinds, at, count, change=extra.change)
                if extra.twice:
                    self._bulk_many(tenant, source, kinds, at + extra.gap, count,
                                    change=extra.change)
                at = end

    @staticmethod
    def _source(tenant: Tenant, name: str | None) -> Source | None:
        if name is None:
            return None
        for source in tenant.sources:
            if source.name == name:
                return source
        raise BadInput(f"tenant {tenant.name!r} has no source {name!r}")

    def _bulk_many(
        self, tenant: Tenant, source: Source, kinds: Sequence[str], at: float, count: int,
        *, change: bool,
    ) -> float:
        """``count`` entities of ``source`` into the environments of ``kinds`` at once, about
        40 a second each (ids beyond the source's are new entities: an import)."""
        revisions = self._revision[(tenant.name, source.name)]
        if count > len(revisions):
            revisions.extend([1] * (count - len(revisions)))
        envs = [tenant.environment_id(k) for k in kinds]
        for index in range(count):
            if change:
                revisions[index] += 1
            for env in envs:
                self._emit(Arrival(at, INGEST, env, source.name, source.entity_id(index),
                                   revisions[index]))
            at += 0.025
        return at

    def _publish(self, tenant: Tenant, t: float) -> None:
        rng, p = self._rng, self.profile
        source = tenant.sources[0] if len(tenant.sources) == 1 or rng.random() < 0.6 else \
            tenant.sources[1]
        index = self._popular(source)
        roll = rng.random()
        if roll < p.all_env_share:
            kinds = tenant.kinds
        elif roll < p.all_env_share + p.dev_only_share:
            kinds = ("DEV",)
        else:
            kinds = ("PROD",)
        revisions = self._revision[(tenant.name, source.name)]
        if rng.random() >= p.unchanged_share:
            revisions[index] += 1
        self._send(tenant, source, index, kinds, t, revisions[index])
        if rng.random() < p.burst_probability:
            for _ in range(rng.randint(2, 6)):
                t += rng.uniform(4.0, 20.0)
                revisions[index] += 1
                self._send(tenant, source, index, kinds, t, revisions[index])

    def _send(
        self, tenant: Tenant, source: Source, index: int, kinds: tuple[str, ...], t: float,
        revision: int,
    ) -> None:
        entity = source.entity_id(index)
        for kind in kinds:
            self._emit(Arrival(t, INGEST, tenant.environment_id(kind), source.name, entity,
                               revision))
            t += self._rng.uniform(0.05, 1.5)

    def _popular(self, source: Source) -> int:
        """Half the edits go to a hot tenth of the entities."""
        rng = self._rng
        if rng.random() < 0.5:
            return rng.randrange(max(1, source.entities // 10))
        return rng.randrange(source.entities)

    def _daily(self, tenant: Tenant, midnight: float) -> None:
        rng, p = self._rng, self.profile
        weekday = is_weekday(midnight)
        if rng.random() < p.nightly_sync_share and "PROD" in tenant.kinds:
            at = midnight + 2 * HOUR + rng.uniform(0, 1800)
            for source in tenant.sources:
                at = self._bulk(tenant, source, "PROD", at, change=False)
        if weekday and rng.random() < p.bulk_per_weekday:
            kind = "DEV" if rng.random() < 0.6 else "PROD"
            source = rng.choice(tenant.sources)
            at = midnight + rng.uniform(8.0, 15.0) * HOUR
            self._bulk(tenant, source, kind, at, change=True)
            if rng.random() < p.double_write_probability:
                self._bulk(tenant, source, kind, at + rng.uniform(60, 240), change=True)
        if weekday and rng.random() < p.deploy_per_weekday:
            source = rng.choice(tenant.sources)
            schema = rng.choice(source.schemas)
            at = midnight + rng.uniform(7.5, 14.0) * HOUR
            self._emit(Arrival(at, DEPLOY, tenant.environment_id("DEV"), source.name, schema))
            if rng.random() < p.deploy_to_prod_probability:
                later = at + rng.uniform(1.0, 4.0) * HOUR
                self._emit(Arrival(later, DEPLOY, tenant.environment_id("PROD"), source.name,
                                   schema))

    def _bulk(self, tenant: Tenant, source: Source, kind: str, at: float, *, change: bool) -> float:
        """Ingest every entity of ``source`` into one environment at about 40 per second."""
        revisions = self._revision[(tenant.name, source.name)]
        env = tenant.environment_id(kind)
        for index in range(source.entities):
            if change:
                revisions[index] += 1
            self._emit(Arrival(at, INGEST, env, source.name, source.entity_id(index),
                               revisions[index]))
            at += 0.025
        return at
