"""The incident state machine, as tables of runs."""

from collections import defaultdict
from datetime import datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.alert import PAGE, TICKET, Facts, Finding, Policy, reconcile
from toolkit.alert.findings import ABSENT, ANOMALY, WRONGFUL

T0 = datetime(2024, 5, 6, 9, 15)
POLICY = Policy(group_interval=timedelta(minutes=5), repeat_interval=timedelta(hours=4),
                keep_firing_for=timedelta(minutes=60),
                quiet_without_change=timedelta(hours=12))


def at(minute):
    return T0 + timedelta(minutes=minute)


def f(env="acme-prod", minute=0, rule=WRONGFUL, severity=PAGE):
    """A finding whose newest evidence is at ``minute``."""
    return Finding(rule, env, severity, f"{env} lost jobs", at(minute), evidence_at=at(minute))


def drive(runs, facts=None, policy=POLICY):
    """Feed ``[(minute, findings)]`` (or ``(minute, findings, Facts)``); return the
    notifications as ``(minute, transition, level, environments)`` and the incidents by id."""
    incidents, marks, out = {}, {}, []
    for run in runs:
        minute, findings = run[0], run[1]
        fact = run[2] if len(run) > 2 else (facts or Facts())
        now = at(minute)
        open_ = [i for i in incidents.values() if i.status == "firing"]
        outcome = reconcile(findings, open_, now, policy, fact, marks)
        for i in outcome.changed:
            incidents[i.id] = i
            if i.status == "resolved":
                for m in i.members.values():
                    marks[m.rule] = max(marks.get(m.rule, m.evidence_at), m.evidence_at)
        out += [(minute, t.kind, t.level, t.incident.environments) for t in outcome.transitions]
    return out, incidents


def test_one_incident_per_cause_across_environments():
    """Three environments losing jobs are one incident, paged once, its environments listed."""
    out, incidents = drive([(0, [f("a-prod"), f("b-prod"), f("c-dev")]),
                            (1, [f("a-prod", 1), f("b-prod", 1), f("c-dev", 1)])])
    assert out == [(0, "opened", "page", ["a-prod", "b-prod", "c-dev"])]
    [incident] = incidents.values()
    assert incident.id == "wrongful_discards-20240506T0915" and incident.pages == 1


def test_new_environments_are_grouped_ticket_level_updates():
    """Environments joining an open incident are sent as updates at most every
    group_interval, never as pages."""
    runs = [(0, [f("a")]), (1, [f("a", 1), f("b", 1)]), (2, [f("a", 2), f("b", 2), f("c", 2)]),
            (3, [f("a", 3)]), (5, [f("a", 5)]), (6, [f("d", 6)]), (9, [f("a", 9)]),
            (10, [f("a", 10)])]
    out, _ = drive(runs)
    assert out == [(0, "opened", "page", ["a"]), (5, "updated", "update", ["a", "b", "c"]),
                   (10, "updated", "update", ["a", "b", "c", "d"])]


def test_flapping_within_keep_firing_for_is_one_incident_resolved_once():
    """Evidence that stops and returns within keep_firing_for keeps the incident; an hour of
    quiet after a deployment (with data flowing) resolves it, once."""
    deployed = Facts(fresh=True, last_change_at=at(50))
    runs = [(0, [f()]), (20, []), (40, [f(minute=40)]), (90, [], deployed),
            (100, [], deployed), (101, [], deployed), (200, [], deployed)]
    out, incidents = drive(runs)
    assert [(m, k) for m, k, _, _ in out] == [(0, "opened"), (100, "resolved")]
    assert len(incidents) == 1 and next(iter(incidents.values())).resolved_at == at(100)


def test_no_resolution_while_telemetry_is_not_fresh():
    """A silent feed is not a healthy one: no resolution until fresh data flows again."""
    stale = Facts(fresh=False, last_change_at=at(1))
    runs = [(0, [f()]), (61, [], stale), (300, [], stale),
            (301, [], Facts(fresh=True, last_change_at=at(1)))]
    out, _ = drive(runs)
    assert [(m, k) for m, k, _, _ in out] == [(0, "opened"), (301, "resolved")]


def test_a_proven_defect_needs_a_change_or_a_long_quiet_to_resolve():
    """Quiet at night proves nothing about a fault that shows under load: without a deployment
    after the last evidence a wrongful_discards incident waits quiet_without_change."""
    before = Facts(fresh=True, last_change_at=at(-30))
    out, _ = drive([(0, [f()]), (61, [], before), (600, [], before), (720, [], before)])
    assert [(m, k) for m, k, _, _ in out] == [(0, "opened"), (720, "resolved")]
    out, _ = drive([(0, [f()]), (61, [], before), (62, [], Facts(True, at(61)))])
    assert [(m, k) for m, k, _, _ in out] == [(0, "opened"), (62, "resolved")]


def test_a_statistical_incident_resolves_after_keep_firing_for():
    """dedup_anomaly is not proof of a defect: an hour of quiet with fresh data resolves it."""
    out, _ = drive([(0, [f(rule=ANOMALY, severity=TICKET)]), (59, []), (60, [])])
    assert out[-1][:3] == (60, "resolved", "resolved")


def test_escalates_once_on_a_real_change_of_severity():
    """Ticket to page is an escalation (a page); page back to ticket says nothing."""
    runs = [(0, [f(rule=ANOMALY, severity=TICKET)]), (1, [f(rule=ANOMALY, minute=1)]),
            (2, [f(rule=ANOMALY, severity=TICKET, minute=2)]),
            (3, [f(rule=ANOMALY, minute=3)])]
    out, incidents = drive(runs)
    assert [(m, k, lv) for m, k, lv, _ in out] == [(0, "opened", "ticket"),
                                                   (1, "escalated", "page")]
    assert next(iter(incidents.values())).severity == PAGE


def test_reminds_when_evidence_resumes_after_a_lull_not_while_it_flows():
    """Evidence every few minutes for hours: no reminder. Evidence again after five quiet
    hours (a fault that slept through the evening): one reminder, at page level."""
    steady = [(m, [f(minute=m)]) for m in range(0, 420, 10)]
    out, _ = drive(steady)
    assert [k for _, k, _, _ in out] == ["opened"]
    lull = [(0, [f()]), (100, [f(minute=100)]), (400, [f(minute=400)]),
            (410, [f(minute=410)])]
    out, _ = drive(lull)
    assert [(m, k, lv) for m, k, lv, _ in out] == [(0, "opened", "page"),
                                                   (400, "reminded", "page")]


def test_anomalies_that_coincide_with_proven_losses_join_that_incident():
    """A dedup_anomaly in another environment while discards are proven is the same cause;
    an anomaly incident already open is promoted when the audit proves the loss."""
    out, incidents = drive([(0, [f("a"), f("b", rule=ANOMALY, severity=TICKET)])])
    assert out == [(0, "opened", "page", ["a", "b"])] and len(incidents) == 1
    out, incidents = drive([(0, [f("b", rule=ANOMALY, severity=TICKET)]),
                            (3, [f("a", 3), f("b", 3, rule=ANOMALY, severity=TICKET)])])
    assert [(m, k, lv) for m, k, lv, _ in out] == [(0, "opened", "ticket"),
                                                   (3, "escalated", "page")]
    [incident] = incidents.values()
    assert (incident.id, incident.rule) == ("dedup_anomaly-20240506T0915", WRONGFUL)
    assert incident.environments == ["b", "a"]


def test_old_evidence_after_resolution_is_not_news_new_evidence_is():
    """An audit window still holding the discards that an incident resolved over does not
    reopen it; a newer discard opens a new incident."""
    deployed = Facts(True, at(5))
    out, incidents = drive([(0, [f()]), (61, [f()], deployed), (62, [f()], deployed),
                            (90, [f(minute=89)], deployed)])
    assert [(m, k) for m, k, _, _ in out] == [(0, "opened"), (61, "resolved"), (90, "opened")]
    assert sorted(incidents) == ["wrongful_discards-20240506T0915",
                                 "wrongful_discards-20240506T1045"]


def test_watchdog_resolves_as_soon_as_data_flows():
    """telemetry_absent fires while found and resolves at the first run without it."""
    absent = Finding(ABSENT, "", TICKET, "no telemetry for 20 min", at(0))
    out, _ = drive([(0, [absent]), (1, [absent]), (2, [])])
    assert [(m, k, lv) for m, k, lv, _ in out] == [(0, "opened", "ticket"),
                                                   (2, "resolved", "resolved")]


runs_strategy = st.lists(
    st.tuples(st.integers(1, 40),
              st.lists(st.tuples(st.sampled_from(["a", "b", "c"]),
                                 st.sampled_from([WRONGFUL, ANOMALY]),
                                 st.sampled_from([PAGE, TICKET])), max_size=4),
              st.booleans(), st.booleans()),
    max_size=40)


@settings(max_examples=150, deadline=None)
@given(runs_strategy)
def test_invariants_hold_for_any_sequence_of_runs(steps):
    """Whatever the findings: at most one firing incident per rule; an incident opens once,
    resolves at most once and last; updates are never pages and come group_interval apart."""
    minute, runs = 0, []
    for gap, found, fresh, deployed in steps:
        minute += gap
        runs.append((minute, [f(env, minute, rule, sev) for env, rule, sev in found],
                     Facts(fresh, at(minute - 1) if deployed else None)))
    incidents, marks, per_incident = {}, {}, defaultdict(list)
    for m, findings, fact in runs:
        open_ = [i for i in incidents.values() if i.status == "firing"]
        outcome = reconcile(findings, open_, at(m), POLICY, fact, marks)
        for i in outcome.changed:
            incidents[i.id] = i
            if i.status == "resolved":
                for mem in i.members.values():
                    marks[mem.rule] = max(marks.get(mem.rule, mem.evidence_at), mem.evidence_at)
        for t in outcome.transitions:
            per_incident[t.incident.id].append((m, t.kind, t.level))
        firing = [i.rule for i in incidents.values() if i.status == "firing"]
        assert len(firing) == len(set(firing))
    for notes in per_incident.values():
        kinds = [k for _, k, _ in notes]
        assert kinds[0] == "opened" and kinds.count("opened") == 1
        assert kinds.count("resolved") <= 1 and "resolved" not in kinds[:-1]
        updates = [m for m, k, lv in notes if k == "updated"]
        assert all(lv == "update" for _, k, lv in notes if k == "updated")
        assert all(b - a >= 5 for a, b in pairwise(updates))
