"""The traffic model: working-day curve, shared entity ids, order and determinism."""

from datetime import UTC, datetime
from itertools import pairwise

from toolkit.engine import DEPLOY, INGEST
from toolkit.workload import Topology, Traffic, working_day_curve
from toolkit.workload.traffic import DAY


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_working_day_curve_peaks_in_european_office_hours():
    """Monday 11:30 UTC is the peak, 03:00 is night, Saturday noon is quiet."""
    assert working_day_curve(ts("2024-05-06T11:30:00")) > 0.99
    assert working_day_curve(ts("2024-05-06T03:00:00")) == 0.03
    assert working_day_curve(ts("2024-05-04T11:30:00")) < 0.16


def test_topology_has_a_dozen_tenants_with_overlapping_entity_ids():
    """At least 12 tenants, DEV and PROD each, some STAGING, small free environments."""
    topo = Topology()
    assert len(topo.tenants) >= 12
    kinds = {t.name: t.kinds for t in topo.tenants}
    assert all({"DEV", "PROD"} <= set(k) for k in kinds.values())
    assert sum("STAGING" in k for k in kinds.values()) >= 2
    assert {t.tenant_class for t in topo.tenants} == {"enterprise", "standard", "free"}


def test_arrivals_are_time_ordered_deterministic_and_share_ids_across_environments():
    """A working day: ordered, identical for the same seed, same entity ids in DEV and PROD."""
    start = ts("2024-05-06T00:00:00")
    a = list(Traffic(Topology(), seed=5, start=start, end=start + DAY))
    b = list(Traffic(Topology(), seed=5, start=start, end=start + DAY))
    assert a == b
    assert all(x.time <= y.time for x, y in pairwise(a))
    assert all(start <= x.time < start + DAY for x in a)
    dev = {x.payload for x in a if x.environment == "acme-dev" and x.kind == INGEST}
    prod = {x.payload for x in a if x.environment == "acme-prod" and x.kind == INGEST}
    assert dev & prod


def test_schema_deployments_reach_dev_before_prod():
    """Over a working week each deployment goes to DEV, and PROD deployments follow one."""
    start = ts("2024-05-06T00:00:00")
    deploys = [x for x in Traffic(Topology(), seed=5, start=start, end=start + 5 * DAY)
               if x.kind == DEPLOY]
    assert any(x.environment.endswith("-dev") for x in deploys)
    for x in deploys:
        if x.environment.endswith("-prod"):
            dev = x.environment.replace("-prod", "-dev")
            assert any(d.environment == dev and d.payload == x.payload and d.time < x.time
                       for d in deploys)


def test_small_environments_see_about_one_job_a_minute_at_peak():
    """Free tenants' PROD gets on the order of one ingest a minute in office hours."""
    start = ts("2024-05-06T09:00:00")
    arrivals = Traffic(Topology(), seed=2, start=start, end=start + 4 * 3600)
    per_minute = sum(1 for x in arrivals if x.environment == "soylent-prod") / 240
    assert 0.05 < per_minute < 2.0
