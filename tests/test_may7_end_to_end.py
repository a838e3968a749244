"""The 7 May replay end to end: telemetry -> store -> audit, alert as cron, report.

One recording of ``may7`` on four tenants (several environments each, sharing entity ids, as on
7 May; a quarter of the full replay's jobs, which ``toolkit demo`` records whole) serves every
test here; the ground truth is the same simulation run again without telemetry (the engine is
deterministic by seed, and the audit test below checks the two agree).
"""

import re
import shutil
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from tests.conftest import shared_directory
from toolkit.alert.replay import replay, schedule
from toolkit.app.runs import record_scenario
from toolkit.detect.audit import Window, audit
from toolkit.evaluate.truth import rollup_frame
from toolkit.report import gather, write_report
from toolkit.store import Store
from toolkit.workload import Topology, run_scenario

FAULT_ON = datetime(2024, 5, 6, 9, 12)
FAULT_OFF = datetime(2024, 5, 7, 16, 41)


TENANTS = ["acme", "globex", "umbrella", "piedpiper"]


@pytest.fixture(scope="module")
def may7(tmp_path_factory):
    recorded = shared_directory(
        "may7-four-tenants",
        lambda path: record_scenario("may7", db=path / "may7.duckdb", seed=7, tenants=TENANTS))
    db = str(tmp_path_factory.mktemp("may7") / "may7.duckdb")
    shutil.copy(recorded / "may7.duckdb", db)  # the alert replay writes its state
    topology = Topology(tuple(Topology().tenant(t) for t in TENANTS))
    return db, run_scenario("may7", seed=7, topology=topology)


def test_audit_finds_exactly_the_ground_truth(may7):
    """Every wrongful discard the simulator knows is found from telemetry, and nothing else;
    the views to regenerate are exactly the simulator's stale views."""
    db, result = may7
    with Store.open(db, read_only=True) as store:
        found = audit(store)
    truth = {w.job_id for w in result.truth.wrongful}
    assert set(found.wrongful_discards.job_id.astype(int)) == truth
    assert len(truth) > 100
    stale = {(s.key.environment, s.key.entity, s.key.schema) for s in result.stale_views}
    got = set(zip(found.stale_views.environment, found.stale_views.entity,
                  found.stale_views.schema, strict=True))
    assert got == stale
    assert set(found.violations.rule) == {"unjustified_drop", "latest_not_processed"}


def test_rollup_in_the_store_equals_the_ground_truth_rollup(may7):
    """The store's env_minute, computed in SQL from job logs, equals the engine's own counts."""
    db, result = may7
    with Store.open(db, read_only=True) as store:
        stored = store.rollup()
    exact = rollup_frame(result.truth)
    cols = ["offered", "deduplicated", "processed", "failed", "retried", "follow_ups"]
    a = stored.groupby("environment")[cols].sum().sort_index()
    b = exact.groupby("environment")[cols].sum().sort_index()
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_alert_replayed_as_cron_pages_once_per_incident_and_resolves_once(may7):
    """Cron every minute around the first wrongful discard, hourly elsewhere (through the night
    and past the fix): nothing pages before the fault; one incident pages within 5 minutes of
    the first discard and names every environment that lost jobs; at most 3 pages in all (the
    open, at most one escalation and one reminder through the night); it resolves exactly
    once, after the fix."""
    db, result = may7
    first = datetime.fromtimestamp(result.truth.wrongful[0].time, UTC).replace(tzinfo=None)
    minutes = schedule(
        [(first - timedelta(minutes=5), first + timedelta(minutes=10))],
        FAULT_ON - timedelta(hours=6), FAULT_OFF + timedelta(hours=2),
        sparse=timedelta(minutes=60))
    notes = [(run.now, n) for run in replay(db, minutes) for n in run.notifications]
    assert [n for t, n in notes if t < FAULT_ON and n["level"] == "page"] == []
    paging = {n["incident"] for _, n in notes if n["level"] == "page"}
    assert len(paging) == 1
    [incident] = paging
    mine = [(t, n) for t, n in notes if n["incident"] == incident]
    assert mine[0][1]["transition"] == "opened" and mine[0][0] - first <= timedelta(minutes=5)
    pages = [n["transition"] for _, n in mine if n["level"] == "page"]
    assert pages.count("opened") == 1 and pages.count("escalated") <= 1
    assert pages.count("reminded") <= 1 and len(pages) <= 3
    assert all(n["level"] in ("page", "update") for _, n in mine[:-1])
    resolved = [t for t, n in mine if n["transition"] == "resolved"]
    assert len(resolved) == 1 and resolved[0] > FAULT_OFF and mine[-1][0] == resolved[0]
    affected = {w.key.environment for w in result.truth.wrongful}
    assert affected <= set(mine[-1][1]["environments"])
    with Store.open(db, read_only=True) as store:
        row = store.incidents().set_index("incident").loc[incident]
        transitions = store.alert_transitions()
    assert (row.status, row.resolved_at, row.pages) == ("resolved", resolved[0], len(pages))
    assert affected <= set(row.environments)
    assert list(transitions[transitions.incident == incident].transition) == [
        n["transition"] for _, n in mine]


@pytest.fixture(scope="module")
def report(may7, tmp_path_factory):
    db, _ = may7
    out = tmp_path_factory.mktemp("reports")
    with Store.open(db, read_only=True) as store:
        data = gather(store, since=datetime(2024, 5, 6), until=datetime(2024, 5, 8))
    return data, write_report(data, out)


def test_report_has_every_section_in_order_and_its_figures(report):
    """A real post-mortem's sections in order, the human TODO blocks, five figures each in the
    HTML beside its section, and a timeline of at most 30 rows."""
    from tests.report.markdown import tables

    _, written = report
    text = written.markdown.read_text()
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["Summary", "Impact", "Trigger", "Detection", "Response and recovery",
                        "Root cause", "Timeline", "Action items", "Lessons learned",
                        "Appendix: evidence", "Appendix: remediation", "Appendix: figures"]
    # severity is set by people; with no annotations it only names the highest alert, if any
    assert re.search(r"\| Draft \| not set( \(highest alert: page\))? \| not set \| not set \|",
                     text)
    assert text.count("TODO(human)") == 2
    assert sorted(p.name for p in written.figures) == [
        "concurrency.png", "dedup_heatmap.png", "dedup_ratio.png", "flow.png",
        "wrongful_discards.png"]
    html = written.html.read_text()
    assert html.count("data:image/png;base64,") == 5 and "<script" not in html
    detection = html[html.index('<section id="detection">'):html.index('<section id="response">')]
    assert "Dedup ratio of the environments hit" in detection
    timeline = next(t for t in tables(text) if t[0] == ["Time (UTC)", "Source", "Event"])
    assert 4 <= len(timeline) - 1 <= 30


def test_report_counts_equal_the_audit_and_the_remediation_list_the_ground_truth(report, may7):
    """The key figures are the audit's; remediation.csv is the simulator's stale views."""
    _, written = report
    db, result = may7
    with Store.open(db, read_only=True) as store:
        found = audit(store, Window(datetime(2024, 5, 6), datetime(2024, 5, 8)))
    text = written.markdown.read_text()
    assert f"{len(found.wrongful_discards):,} jobs wrongly discarded" in text
    assert f"{len(result.stale_views):,} views left stale" in text
    csv = pd.read_csv(written.remediation)
    expected = sorted((s.key.environment, s.key.entity, s.key.schema, s.entity_version)
                      for s in result.stale_views)
    got = sorted(zip(csv.environment, csv.entity, csv["schema"], csv.latest_version,
                     strict=True))
    assert got == expected


def test_report_is_deterministic(report, tmp_path):
    """The same store gives byte-identical Markdown, HTML and figures."""
    data, first = report
    second = write_report(data, tmp_path)
    assert first.markdown.read_bytes() == second.markdown.read_bytes()
    assert (first.directory / "generated.sha256").read_bytes() == (
        second.directory / "generated.sha256").read_bytes()
    assert first.html.read_bytes() == second.html.read_bytes()
    for a, b in zip(first.figures, second.figures, strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_window_with_no_incident_gives_a_short_report(may7, tmp_path):
    """A quiet window: a short 'nothing found' report, not an error."""
    db, _ = may7
    with Store.open(db, read_only=True) as store:
        data = gather(store, since=datetime(2024, 5, 5, 6),
                      until=datetime(2024, 5, 5, 9))
    written = write_report(data, tmp_path)
    text = written.markdown.read_text()
    assert not written.found and "Nothing was found" in text
    assert "## Appendix: evidence" not in text and written.figures == []


def test_incident_auto_takes_the_window_from_the_audit(may7):
    """--incident auto: the window spans the wrongful discards and the fix deployment,
    padded by an hour."""
    db, result = may7
    with Store.open(db, read_only=True) as store:
        data = gather(store, incident_auto=True)
    first = datetime.fromtimestamp(result.truth.wrongful[0].time, UTC).replace(tzinfo=None)
    assert data.since <= first - timedelta(minutes=59)
    assert data.until >= FAULT_OFF + timedelta(minutes=59) and data.fix == FAULT_OFF
