"""Legitimate stress never pages: the alert's statistical rule, minute by minute, on mass
re-ingests (every environment, every PROD environment), a schema deployed everywhere and a
tenant onboarding a large import (issue 11, item 4). A smaller fleet keeps it fast; it keeps
the small environments that paged before (a free tenant's whole catalogue waiting behind a
fleet-wide re-ingest coalesces most of its editors' jobs)."""

import pandas as pd
import pytest

from toolkit.detect import fit_detectors, run_detectors
from toolkit.detect.severity import PAGE
from toolkit.evaluate import FixedFit, FrameSource, label, severities_at
from toolkit.workload import DEFAULT_TENANTS, ScenarioFamily, Topology, run_scenario

SMALL = Topology(tuple(t for t in DEFAULT_TENANTS
                       if t.name in ("northwind", "acme", "globex", "tyrell", "soylent")))
FAMILY = ScenarioFamily(topology=SMALL, warmup_hours=2.0, tail_hours=0.0)
AT = "2024-05-01T10:00:00"


@pytest.fixture(scope="module")
def fit():
    history = label(run_scenario("baseline", seed=21, days=2, topology=SMALL)).frame
    return FixedFit(fit_detectors(history))


@pytest.mark.parametrize(("kind", "options"), [
    ("mass-reingest", {"hours": 3.0, "deploy_after": 0.5}),
    ("prod-reingest", {"hours": 3.0, "deploy_after": 0.5}),
    ("schema-everywhere", {"hours": 2.0}),
    ("onboarding", {"hours": 3.0, "tenant": "tyrell", "entities": 8000}),
])
def test_stress_never_pages_minute_by_minute(fit, kind, options):
    """Every cron minute at which any environment has an event in its last 10 minutes (the
    only minutes the rule can say anything, since every detector is causal) is replayed
    through the alert's own fit-then-detect: tickets, never a page. The stress is real: the
    fleet's backlog passes a thousand jobs and the detectors do raise events."""
    scenario = FAMILY.stress(kind, AT, **options)
    labelled = label(run_scenario(scenario, seed=5))
    frame = labelled.frame
    assert labelled.wrongful == {}
    assert frame.groupby("minute")["backlog"].sum().max() > 1000
    events = run_detectors(fit.detectors, frame)
    one = pd.Timedelta(minutes=1)
    minutes = sorted({t for e in events for t in pd.date_range(
        e.detected + one, e.end + pd.Timedelta(minutes=10) + one, freq="min")})
    said = {}
    source = FrameSource(frame)
    for now in minutes:
        for env, severity in severities_at(source, fit, now).items():
            said.setdefault(severity, set()).add((env, now))
    assert PAGE not in said, sorted(said.get(PAGE, ()))[:5]
    if kind != "schema-everywhere":
        assert said.get("ticket"), "the stress raised no event at all: nothing was tested"
