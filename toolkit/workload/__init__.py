"""Realistic multi-tenant traffic, the named scenarios, and the scenario family built from it."""

from toolkit.workload.family import (
    FAULT_CLASSES,
    NORMAL,
    SCOPES,
    STRESSES,
    ScenarioFamily,
    is_off_hours,
)
from toolkit.workload.scenarios import SCENARIOS, RunResult, Scenario, get_scenario, run_scenario
from toolkit.workload.topology import DEFAULT_TENANTS, Source, Tenant, Topology
from toolkit.workload.traffic import (
    BulkIngest,
    RateChange,
    SchemaDeploy,
    Traffic,
    TrafficProfile,
    working_day_curve,
)

__all__ = [
    "DEFAULT_TENANTS",
    "FAULT_CLASSES",
    "NORMAL",
    "SCENARIOS",
    "SCOPES",
    "STRESSES",
    "BulkIngest",
    "RateChange",
    "RunResult",
    "Scenario",
    "ScenarioFamily",
    "SchemaDeploy",
    "Source",
    "Tenant",
    "Topology",
    "Traffic",
    "TrafficProfile",
    "get_scenario",
    "is_off_hours",
    "run_scenario",
    "working_day_curve",
]
