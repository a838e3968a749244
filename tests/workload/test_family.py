"""The scenario family: each fault class and stress at a chosen time and scope, as arrivals and
fault windows (no simulation: the traffic generator and the scenario objects alone)."""

from collections import Counter
from datetime import UTC, datetime

import pytest

from toolkit.engine import DEPLOY, INGEST
from toolkit.errors import BadInput
from toolkit.workload import (
    FAULT_CLASSES,
    STRESSES,
    BulkIngest,
    ScenarioFamily,
    SchemaDeploy,
    Topology,
    Traffic,
    is_off_hours,
)

FAMILY = ScenarioFamily()
TOPOLOGY = Topology()


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def arrivals(scenario, seed=1):
    traffic = Traffic(TOPOLOGY, seed=seed, start=scenario.start_ts,
                      end=scenario.start_ts + scenario.seconds, profile=scenario.profile,
                      extras=scenario.extras)
    return list(traffic)


@pytest.mark.parametrize("fault", FAULT_CLASSES)
@pytest.mark.parametrize(("scope", "expected"), [
    ("all", None),
    ("acme", ("acme-dev", "acme-prod")),
    (("tyrell-dev", "tyrell-prod"), ("tyrell-dev", "tyrell-prod")),
])
def test_a_fault_is_placed_at_the_chosen_minute_and_scope(fault, scope, expected):
    """Saturday 02:13 for 3.5 h: the window is exactly there, the run starts 8 h before (on
    the hour) and ends 2 h after, and the scope names the environments."""
    scenario = FAMILY.fault(fault, "2024-05-04T02:13:00", 3.5, scope)
    (window,) = [f.window() for f in scenario.faults]
    assert window.name == fault
    assert (window.start, window.end) == (ts("2024-05-04T02:13:00"), ts("2024-05-04T05:43:00"))
    assert window.environments == (None if expected is None else frozenset(expected))
    assert scenario.start == "2024-05-03T18:00:00"
    assert scenario.start_ts + scenario.seconds == ts("2024-05-04T07:43:00")
    assert scenario.stress is None and scenario.extras == ()
    assert is_off_hours(window.start)


def test_off_hours_are_nights_and_weekends():
    """Monday 10:00 is working time; Monday 03:00, Monday 19:00 and Sunday noon are not."""
    assert not is_off_hours(ts("2024-04-29T10:00:00"))
    assert all(is_off_hours(ts(t)) for t in
               ("2024-04-29T03:00:00", "2024-04-29T19:00:00", "2024-05-05T12:00:00"))


def test_mass_reingest_writes_one_source_twice_into_every_environment_then_deploys():
    """Every environment gets every cms entity twice (two minutes apart), then the cms schema
    is deployed to each of them at the chosen delay."""
    scenario = FAMILY.stress("mass-reingest", "2024-05-01T10:00:00", deploy_after=1.5)
    bulk, deploy = scenario.extras
    envs = {e.id for e in TOPOLOGY.environments()}
    assert isinstance(bulk, BulkIngest) and set(bulk.environments) == envs and bulk.twice
    assert isinstance(deploy, SchemaDeploy) and deploy.at == ts("2024-05-01T11:30:00")
    got = arrivals(scenario)
    start = ts("2024-05-01T10:00:00")
    cms = Counter(a.environment for a in got if a.kind == INGEST and a.source == "cms"
                  and start <= a.time < start + 600)
    for tenant in TOPOLOGY.tenants:
        for env in tenant.environments():
            assert cms[env.id] >= 2 * tenant.sources[0].entities
    deploys = [a for a in got if a.kind == DEPLOY and a.time == deploy.at]
    assert {a.environment for a in deploys} == envs
    assert {(a.source, a.payload) for a in deploys} == {("cms", "page")}


def test_prod_reingest_touches_only_prod_environments():
    """The PROD-only re-ingest: bulk and deployment go to the PROD environments alone."""
    scenario = FAMILY.stress("prod-reingest", "2024-05-02T23:10:00")
    prods = {e.id for e in TOPOLOGY.environments() if e.kind == "PROD"}
    assert all(set(x.environments) == prods for x in scenario.extras)
    start = ts("2024-05-02T23:10:00")
    bulk = Counter(a.environment for a in arrivals(scenario)
                   if a.kind == INGEST and start <= a.time < start + 300)
    assert {env for env, n in bulk.items() if n > 100} == prods


def test_schema_everywhere_deploys_to_all_environments_at_once():
    """The deployment reaches every environment at the chosen minute, after the catalogue it
    re-renders was loaded at the start of the run."""
    scenario = FAMILY.stress("schema-everywhere", "2024-05-05T03:00:00")
    got = arrivals(scenario)
    deploys = [a for a in got if a.kind == DEPLOY and a.time == ts("2024-05-05T03:00:00")]
    assert sorted(a.environment for a in deploys) == sorted(
        e.id for e in TOPOLOGY.environments())
    loaded = {a.payload for a in got if a.environment == "acme-prod" and a.kind == INGEST
              and a.time < scenario.start_ts + 60}
    assert len(loaded) == 1000


def test_onboarding_imports_new_entities_beyond_the_catalogue_twice():
    """12,000 entities into stark's DEV and PROD, twice: ids past the 600 it had, and each id
    arrives twice per environment."""
    scenario = FAMILY.stress("onboarding", "2024-05-01T14:00:00", tenant="stark",
                             entities=12_000)
    start = ts("2024-05-01T14:00:00")
    got = [a for a in arrivals(scenario) if a.kind == INGEST and a.time >= start
           and a.environment.startswith("stark-") and a.time < start + 700]
    per_env = Counter(a.environment for a in got)
    assert per_env["stark-dev"] >= 24_000 and per_env["stark-prod"] >= 24_000
    assert "node-11999" in {a.payload for a in got}


def test_spike_multiplies_editor_traffic_in_its_window_only():
    """Editor traffic x6 for two early hours: several times the arrivals of the same hours
    without it, and the hours before unchanged."""
    at = "2024-05-01T04:00:00"
    spiked = FAMILY.stress("spike", at, hours=2, factor=6)
    calm = FAMILY.normal(at, hours=2)
    assert spiked.start == calm.start

    def count(s, lo, hi):
        return sum(1 for a in arrivals(s) if lo <= a.time < hi and a.kind == INGEST)

    lo, hi = ts(at), ts(at) + 7200
    assert count(spiked, lo, hi) > 3 * count(calm, lo, hi)
    assert count(spiked, spiked.start_ts, lo) == count(calm, calm.start_ts, lo)


def test_slow_day_slows_the_processor_only():
    scenario = FAMILY.stress("slow-day", "2024-05-02T08:00:00", hours=16, factor=3)
    assert scenario.mean_seconds == pytest.approx(3.6)
    assert scenario.extras == () and scenario.stress == "slow-day"


def test_draws_are_reproducible_and_stratified():
    """13 draws hold each fault class twice (once in working hours), each stress once and one
    normal run; the same seed gives the same draws, another seed others; times cover nights
    and weekends."""
    a, b = FAMILY.draws(13, seed=4), FAMILY.draws(13, seed=4)
    assert a == b and a != FAMILY.draws(13, seed=5)
    faults = Counter(s.faults[0].name for s in a if s.faults)
    assert faults == dict.fromkeys(FAULT_CLASSES, 2)
    assert sorted(s.stress for s in a if s.stress) == sorted(STRESSES)
    assert sum(1 for s in a if not s.faults and not s.stress) == 1
    starts = [ts(s.faults[0].start) for seed in range(6) for s in FAMILY.draws(13, seed)
              if s.faults]
    assert not any(is_off_hours(t) for t in starts[::2])  # each class's first: working hours
    assert any(is_off_hours(t) for t in starts[1::2])


@pytest.mark.parametrize(("call", "message"), [
    (lambda: FAMILY.fault("nope", "2024-05-01T00:00", 1), "unknown fault 'nope'"),
    (lambda: FAMILY.fault("lost-follow-up", "2024-05-01T00:00", 0), "hours must be > 0"),
    (lambda: FAMILY.fault("lost-follow-up", "2024-05-01T00:00", 1, "nobody"),
     "unknown scope 'nobody'"),
    (lambda: FAMILY.stress("party", "2024-05-01T00:00"), "unknown stress 'party'"),
    (lambda: FAMILY.normal("yesterday"), "not an ISO time"),
    (lambda: Traffic(TOPOLOGY, seed=1, start=0, end=60,
                     extras=[SchemaDeploy(1.0, ("mars-prod",))]), "unknown environment"),
])
def test_bad_family_arguments_are_named(call, message):
    with pytest.raises(BadInput, match=message):
        call()
