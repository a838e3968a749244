"""A report for each engine fault: generic text, and a root-cause draft that names the
right differing key component or mechanism."""

import re
from datetime import timedelta

import pytest

from toolkit.app.demo import ANNOTATIONS
from toolkit.cli import main
from toolkit.detect.audit import audit
from toolkit.report import draft_root_cause, gather, write_report
from toolkit.store import Store

#: Text from the 7 May 2024 incident, which must come only from annotations.
SEVEN_MAY = re.compile(r"7 May|May 7|CEST|Enterspeed|In reality|fairness", re.IGNORECASE)

EXPECTED = {
    "env-blind-dedup": ("differ only in environment",
                        "none differs in tenant, source, entity or schema"),
    "schema-blind-dedup": ("differ only in schema",
                           "none differs in tenant, environment, source or entity"),
    "lost-follow-up": ("have the identical key", "had a running survivor (same key)"),
}


@pytest.fixture(scope="module")
def drafted(fault_store, tmp_path_factory):
    fault, path = fault_store
    with Store.open(path, read_only=True) as store:
        data = gather(store, incident_auto=True)
    return fault, data, write_report(data, tmp_path_factory.mktemp("out"))


def test_report_has_no_incident_specific_text(drafted):
    """Nothing about 7 May 2024 unless the annotations put it there."""
    _, _, written = drafted
    for path in (written.markdown, written.html):
        assert not SEVEN_MAY.search(path.read_text()), path


def test_root_cause_names_the_fault_class_and_the_differing_component(drafted):
    """Counted over every violation: all of them fit the fault's class, and the draft says
    which key component differs (or, for a lost follow-up, that the survivor was running)."""
    fault, data, written = drafted
    cause = draft_root_cause(data)
    assert cause.violations == len(data.wrongful) > 0
    assert cause.pattern is not None and cause.pattern.name == fault
    assert cause.explained == cause.violations
    what, also = EXPECTED[fault]
    total = f"{cause.violations:,} of {cause.violations:,} {what}"
    text = written.markdown.read_text()
    root = text[text.index("## Root cause"):text.index("## Timeline")]
    assert total in root and also in root
    assert f"matches the fault class {fault}" in root
    assert "Hypothesis" in root and "The check that would have caught it" in root


def test_root_cause_names_the_change_before_the_first_violation(drafted):
    """The last deployment record before the first violation is the trigger, in the window
    and named in the draft with how long before the violation it came."""
    fault, data, written = drafted
    first = data.first_wrongful
    changes = data.change_before
    assert list(changes.change) == [f"{fault} on"]
    assert data.since < changes.time.iloc[0] <= first
    lag = first - changes.time.iloc[0].to_pydatetime()
    text = written.markdown.read_text()
    assert f"Which change: '{fault} on' at" in text
    assert ("in the hour before the first violation" in text) == (lag <= timedelta(hours=1))


def test_env_blind_violations_all_happen_while_siblings_are_busy(recorded):
    """env-blind-dedup folds a job into another environment's: every violation falls in a
    minute when two or more environments of the tenant had work."""
    with Store.open(recorded("env-blind-dedup"), read_only=True) as store:
        data = gather(store, incident_auto=True)
    cause = draft_root_cause(data)
    assert cause.concurrent == (len(data.wrongful), len(data.wrongful))
    assert cause.normal is not None and cause.normal[0] < cause.normal[1]


def test_a_quiet_window_says_no_pattern_found(recorded, tmp_path):
    """Before the fault there is nothing to explain: 'no pattern found', not a guess."""
    with Store.open(recorded("lost-follow-up"), read_only=True) as store:
        lo, _ = store.rollup_range()
        data = gather(store, since=lo + timedelta(days=1), until=lo + timedelta(days=2))
    assert data.wrongful.empty
    cause = draft_root_cause(data)
    assert cause.pattern is None
    assert cause.sentences()[0].startswith("No pattern found")


def test_annotations_bring_their_own_text(recorded, tmp_path):
    """The demo's annotations put the 7 May story in: it appears, as written."""
    with Store.open(recorded("env-blind-dedup"), read_only=True) as store:
        data = gather(store, incident_auto=True, annotations=ANNOTATIONS)
    text = write_report(data, tmp_path).markdown.read_text()
    assert "In reality: incident declared on the status page" in text
    assert "| 2024-05-07 11:42:00 UTC | people |" in text


def test_incident_auto_without_alert_history_keeps_the_fix_in_the_window(recorded):
    """No alert ever ran on the store: the window still reaches the fix deployment."""
    with Store.open(recorded("lost-follow-up"), read_only=True) as store:
        assert store.incidents().empty
        off = store.deployments()
        data = gather(store, incident_auto=True)
    fix = off[off.change == "lost-follow-up off"].time.iloc[0]
    assert data.fix == fix.to_pydatetime()
    assert data.since < data.first_wrongful and data.until > fix


def _detect_json(path, capsys, *args):
    import json

    assert main(["detect", "--db", str(path), "--json", *args]) == 0
    return [(e["environment"], e["detector"], e["start"][:16], e["end"][:16])
            for e in json.loads(capsys.readouterr().out)]


def _events(data):
    return [(r.environment, r.detector, f"{r.start:%Y-%m-%dT%H:%M}", f"{r.end:%Y-%m-%dT%H:%M}")
            for r in data.events.itertuples()]


def test_detector_events_equal_toolkit_detect_for_the_same_window(recorded, capsys):
    """The report's detector events are `toolkit detect`'s, for an explicit window and for
    the whole store (no window given to either)."""
    path = recorded("schema-blind-dedup")
    with Store.open(path, read_only=True) as store:
        lo, hi = store.rollup_range()
        since = lo + timedelta(days=2)
        window = gather(store, since=since, until=hi)
        whole = gather(store, baseline=timedelta(days=2))
    got = _detect_json(path, capsys, "--since", f"{since:%Y-%m-%dT%H:%M}",
                       "--until", f"{hi:%Y-%m-%dT%H:%M}")
    assert got and sorted(_events(window)) == sorted(got)
    assert sorted(_events(whole)) == sorted(_detect_json(path, capsys, "--baseline-days", "2"))


def test_report_counts_are_the_audits(drafted, recorded):
    """The first screen's count of wrongful discards is the audit's over the whole store
    (the incident window holds every one)."""
    fault, data, written = drafted
    with Store.open(recorded(fault), read_only=True) as store:
        found = audit(store).wrongful_discards
    assert len(found) == len(data.wrongful)
    assert f"{len(found):,} jobs wrongly discarded" in written.markdown.read_text()
