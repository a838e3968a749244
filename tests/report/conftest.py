"""Small recorded stores shared by the report tests: one tenant, each engine fault.

Each store is a real simulation (full telemetry, OTLP JSON lines files, ``Store.load``) of a
named scenario on a one-tenant topology small enough to record in seconds, with seeded trace
ids; session-scoped, so the report tests share each recording.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.store import Store
from toolkit.telemetry import Telemetry
from toolkit.workload import Topology, run_scenario
from toolkit.workload.topology import Source, Tenant

#: One tenant with DEV and PROD fed from one CMS: few entities, busy editors, so every fault
#: shows within its window.
TENANT = Tenant("solo", "standard", ("DEV", "PROD"),
                (Source("cms", "node", 30, ("page", "search")),), 4.0)
#: fault -> the scenario that switches it on.
SCENARIOS = {"env-blind-dedup": "may7", "schema-blind-dedup": "schema-blind-dedup",
             "lost-follow-up": "lost-follow-up"}


def record(directory: Path, scenario: str, tenant: Tenant = TENANT, seed: int = 7) -> Path:
    """Record ``scenario`` on a one-tenant topology into ``directory/store.duckdb``."""
    with Telemetry.to_directory(directory / "otlp", id_seed=seed) as telemetry:
        run_scenario(scenario, seed=seed, observer=telemetry.observer,
                     topology=Topology((tenant,)))
    path = directory / "store.duckdb"
    with Store.open(path) as store:
        loaded = store.load(directory / "otlp")
    assert loaded.rejected == 0
    return path


@pytest.fixture(scope="session")
def recorded(tmp_path_factory):
    """``recorded(fault)``: the store path of that fault's scenario, recorded once."""
    cache: dict[str, Path] = {}

    def get(fault: str) -> Path:
        if fault not in cache:
            cache[fault] = record(tmp_path_factory.mktemp(fault), SCENARIOS[fault])
        return cache[fault]

    return get


@pytest.fixture(scope="session", params=sorted(SCENARIOS))
def fault_store(request, recorded) -> tuple[str, Path]:
    """``(fault, store path)`` for each engine fault."""
    return request.param, recorded(request.param)
