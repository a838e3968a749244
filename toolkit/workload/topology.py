"""Who uses the platform: tenants, their environments, sources, entities and schemas.

Modelled on a headless-CMS platform: a tenant's environments (DEV, PROD, sometimes STAGING)
are fed from the same CMS, so the same entity ids appear in each of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from toolkit.engine.model import Environment


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    entity_prefix: str
    entities: int
    schemas: tuple[str, ...]

    def entity_id(self, index: int) -> str:
        return f"{self.entity_prefix}-{index:05d}"


@dataclass(frozen=True, slots=True)
class Tenant:
    """A customer. ``publish_rate`` is editor publishes per minute at the working-day peak."""

    name: str
    tenant_class: str
    kinds: tuple[str, ...]
    sources: tuple[Source, ...]
    publish_rate: float

    def environment_id(self, kind: str) -> str:
        return f"{self.name}-{kind.lower()}"

    def environments(self) -> list[Environment]:
        return [
            Environment(self.environment_id(k), self.name, k, self.tenant_class)
            for k in self.kinds
        ]


def _cms(entities: int, schemas: Sequence[str] = ("page", "navigation", "search")) -> Source:
    return Source("cms", "node", entities, tuple(schemas))


def _pim(entities: int) -> Source:
    return Source("pim", "sku", entities, ("product", "listing"))


_DEV_PROD = ("DEV", "PROD")
_FULL = ("DEV", "STAGING", "PROD")

DEFAULT_TENANTS: tuple[Tenant, ...] = (
    Tenant("northwind", "enterprise", _FULL, (_cms(2400), _pim(1600)), 3.0),
    Tenant("contoso", "enterprise", _FULL, (_cms(2000), _pim(1200)), 2.5),
    Tenant("fabrikam", "enterprise", _DEV_PROD, (_cms(1800),), 2.0),
    Tenant("acme", "standard", _DEV_PROD, (_cms(1000),), 1.2),
    Tenant("globex", "standard", _FULL, (_cms(900),), 1.0),
    Tenant("initech", "standard", _DEV_PROD, (_cms(800),), 1.0),
    Tenant("umbrella", "standard", _DEV_PROD, (_cms(700), _pim(500)), 0.9),
    Tenant("hooli", "standard", _DEV_PROD, (_cms(600),), 0.8),
    Tenant("stark", "standard", _DEV_PROD, (_cms(600),), 0.7),
    Tenant("piedpiper", "free", _DEV_PROD, (_cms(200, ("page", "navigation")),), 0.4),
    Tenant("wayne", "free", _DEV_PROD, (_cms(180, ("page", "navigation")),), 0.35),
    Tenant("tyrell", "free", _DEV_PROD, (_cms(150, ("page", "navigation")),), 0.3),
    Tenant("cyberdyne", "free", _DEV_PROD, (_cms(150, ("page", "navigation")),), 0.3),
    Tenant("soylent", "free", _DEV_PROD, (_cms(120, ("page", "navigation")),), 0.25),
)


@dataclass(frozen=True, slots=True)
class Topology:
    tenants: tuple[Tenant, ...] = DEFAULT_TENANTS

    def environments(self) -> list[Environment]:
        return [env for t in self.tenants for env in t.environments()]

    def schemas(self) -> dict[tuple[str, str], tuple[str, ...]]:
        return {(t.name, s.name): s.schemas for t in self.tenants for s in t.sources}

    def tenant(self, name: str) -> Tenant:
        for t in self.tenants:
            if t.name == name:
                return t
        raise KeyError(name)
