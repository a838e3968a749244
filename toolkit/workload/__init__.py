"""Realistic multi-tenant traffic and the named scenarios built from it."""

from toolkit.workload.scenarios import SCENARIOS, RunResult, Scenario, get_scenario, run_scenario
from toolkit.workload.topology import DEFAULT_TENANTS, Source, Tenant, Topology
from toolkit.workload.traffic import Traffic, TrafficProfile, working_day_curve

__all__ = [
    "DEFAULT_TENANTS",
    "SCENARIOS",
    "RunResult",
    "Scenario",
    "Source",
    "Tenant",
    "Topology",
    "Traffic",
    "TrafficProfile",
    "get_scenario",
    "run_scenario",
    "working_day_curve",
]
