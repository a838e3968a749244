"""Legitimate work never pages, through the whole live path: a mass re-ingest of one source into
every environment at once (written twice, then its schema deployed everywhere), recorded with
full telemetry, loaded like a Collector's files, and alerted on by ``toolkit alert`` as cron
runs it (issue 11, item 4). The rule itself is tested minute by minute, faster, in
tests/evaluate/test_stress_pages.py; this checks that nothing between the telemetry and the
pager turns congestion into a page."""

from datetime import UTC, datetime, timedelta

from toolkit.alert.replay import replay
from toolkit.app.runs import record_into
from toolkit.store import Store
from toolkit.workload import DEFAULT_TENANTS, ScenarioFamily, Topology

TENANTS = ("acme", "globex", "tyrell", "soylent")
SMALL = Topology(tuple(t for t in DEFAULT_TENANTS if t.name in TENANTS))
# Two days of history before the stress, so the detectors are armed (a day of history before
# the day their longest window looks back over) and fitted as in production.
FAMILY = ScenarioFamily(topology=SMALL, warmup_hours=50.0, tail_hours=1.0)
AT = datetime(2024, 5, 1, 10, 0)


def test_a_mass_reingest_pages_nobody(tmp_path):
    """No page over the stress and the hour after it (cron every 5 minutes: every detector
    event stays in the alert's 10-minute window for two runs), while the stress is real (the
    fleet's backlog passes ten thousand jobs) and the detectors are armed (no not_armed)."""
    scenario = FAMILY.stress("mass-reingest", AT.isoformat(), hours=3.0, deploy_after=0.5)
    db = tmp_path / "stress.duckdb"
    with Store.open(db) as store:
        result = record_into(store, scenario, seed=5, tenants=list(TENANTS))
        busiest = int(store.rollup(AT, AT + timedelta(hours=4))
                      .groupby("minute")["backlog"].sum().max())
    assert not result.truth.wrongful
    assert busiest > 10_000
    end = datetime.fromtimestamp(result.end, UTC).replace(tzinfo=None)
    minutes = [AT + timedelta(minutes=5 * i) for i in range(0, 48)]
    notes = [note for run in replay(str(db), [m for m in minutes if m <= end])
             for note in run.notifications]
    assert [n for n in notes if n["severity"] == "page"] == []
    assert not any(n["rule"] == "not_armed" for n in notes)
