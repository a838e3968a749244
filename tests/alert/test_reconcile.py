"""The alert state machine, as a table of runs."""

from datetime import datetime, timedelta

from toolkit.alert import PAGE, TICKET, Finding, Policy, reconcile

T0 = datetime(2024, 5, 6, 9, 15)
POLICY = Policy(resend_after=timedelta(hours=1), resolve_after=timedelta(minutes=10))


def f(env="acme-prod", severity=PAGE, rule="wrongful_discards"):
    return Finding(rule, env, severity, f"{env} lost jobs", T0 - timedelta(minutes=3))


def replay(runs):
    """Feed ``[(minutes after T0, findings)]``; return the transitions as (minute, kind, env)."""
    state, out = {}, []
    for minute, findings in runs:
        now = T0 + timedelta(minutes=minute)
        changed, transitions = reconcile(findings, state, now, POLICY)
        state.update({r.identity: r for r in changed})
        out += [(minute, t.kind, t.record.environment) for t in transitions]
    return out, state


def test_fires_once_then_stays_quiet_while_nothing_changes():
    """A finding seen every minute notifies once, not every run."""
    out, _ = replay([(m, [f()]) for m in range(30)])
    assert out == [(0, "fired", "acme-prod")]


def test_reminds_after_the_resend_interval():
    """A still-firing alert is re-sent only after resend_after."""
    out, _ = replay([(m, [f()]) for m in range(0, 125, 5)])
    assert out == [(0, "fired", "acme-prod"), (60, "reminded", "acme-prod"),
                   (120, "reminded", "acme-prod")]


def test_escalates_from_ticket_to_page_but_not_back():
    """More severe is news; less severe is not."""
    out, state = replay([(0, [f(severity=TICKET)]), (1, [f(severity=PAGE)]),
                         (2, [f(severity=TICKET)])])
    assert out == [(0, "fired", "acme-prod"), (1, "escalated", "acme-prod")]
    assert state[("wrongful_discards", "acme-prod")].severity == PAGE


def test_resolves_once_after_being_absent_long_enough():
    """Absent for resolve_after: resolved, announced once; a brief gap does not flap."""
    runs = [(0, [f()]), (1, []), (5, [f()]), (6, []), (15, []), (16, []), (30, [])]
    out, state = replay(runs)
    assert out == [(0, "fired", "acme-prod"), (15, "resolved", "acme-prod")]
    assert state[("wrongful_discards", "acme-prod")].status == "resolved"


def test_a_new_incident_after_resolution_fires_again_with_a_new_id():
    """Recurrence after resolution is a new incident."""
    out, state = replay([(0, [f()]), (20, []), (40, [f()])])
    assert [k for _, k, _ in out] == ["fired", "resolved", "fired"]
    assert state[("wrongful_discards", "acme-prod")].incident.endswith("0955")


def test_alerts_are_per_rule_and_environment():
    """Two environments and two rules are four independent alerts."""
    findings = [f("a-prod"), f("b-prod"), f("a-prod", TICKET, "dedup_anomaly")]
    out, _ = replay([(0, findings)])
    assert sorted(out) == [(0, "fired", "a-prod"), (0, "fired", "a-prod"), (0, "fired", "b-prod")]
