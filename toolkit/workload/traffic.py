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

Content is a per-entity revision counter in the tenant's CMS, shared by its environments, so
the content hash is simply the revision. Deterministic for a seed (no ``hash()`` of strings).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from toolkit.engine.simulator import DEPLOY, INGEST, Arrival
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

    def __iter__(self) -> Iterator[Arrival]:
        hour = self.start
        future = self._future
        while hour < self.end:
            stop = min(hour + HOUR, self.end)
            for tenant in self.topology.tenants:
                self._editors(tenant, hour, stop)
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
