"""Small recorded stores shared by the report tests: one tenant, each engine fault.

Each store is a real simulation (full telemetry, OTLP JSON lines files, ``Store.load``) of a
named scenario on a one-tenant topology small enough to record in seconds, with seeded trace
ids; recorded once per test run (``tests.conftest.shared_directory``), so the report tests
share each recording across workers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import shared_directory
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


def recorded_store(fault: str) -> Path:
    """The store path of ``fault``'s scenario, recorded once per test run whichever worker (or
    test file: tests/test_cli.py uses one too) asks first; open it read-only, or copy it."""
    directory = shared_directory(f"report-{fault}", lambda path: record(path, SCENARIOS[fault]))
    return directory / "store.duckdb"


@pytest.fixture(scope="session")
def recorded():
    """``recorded(fault)``: :func:`recorded_store` as a fixture."""
    return recorded_store


@pytest.fixture(scope="session", params=sorted(SCENARIOS))
def fault_store(request, recorded) -> tuple[str, Path]:
    """``(fault, store path)`` for each engine fault."""
    return request.param, recorded(request.param)
