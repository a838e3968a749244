"""The incident state machine: this run's findings against the incidents already open.

Pure: no I/O. The anchors are Alertmanager's grouping and Prometheus's ``keep_firing_for``:

* **One incident per cause.** Findings are grouped by rule across environments; a
  ``dedup_anomaly`` finding that coincides with a ``wrongful_discards`` incident (open, or
  opening in this run) joins it, and an open ``dedup_anomaly`` incident is promoted to
  ``wrongful_discards`` when the audit proves the loss. The incident lists its environments.
* **opened**: notified once, at the incident's severity, with every environment this run found
  (the run itself is Alertmanager's ``group_wait``).
* **updated**: the set of environments grew; sent at most every ``group_interval``, ticket-level
  (never a page): Alertmanager's ``group_interval``.
* **escalated**: the severity really rose (ticket to page); a page. Severity never falls.
* **reminded**: evidence resumed after ``repeat_interval`` or more without any: the problem is
  back after a lull that may have let the on-call stand down; at the incident's severity.
  While evidence keeps flowing the updates carry the news, and an Alertmanager receiving the
  incident on every run repeats it on its own ``repeat_interval``.
* **resolved**, once: no new evidence of the incident's own rule for ``keep_firing_for`` *and*
  fresh telemetry flowing (a silent feed is not a healthy one). A proven defect
  (``wrongful_discards``) also needs a reason to believe it is gone: a change deployed after its
  last evidence, or ``quiet_without_change`` of quiet, because a fault that shows only under
  load is quiet every night. Watchdog incidents resolve as soon as a run no longer finds them.
  A finding that returns within the window is the same incident (no flapping).

After an incident resolves, findings whose evidence is not newer than the evidence it had
(an audit window still holding old discards) are not news: ``watermarks`` say, per rule, up to
when evidence was already accounted for.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from toolkit.alert.findings import (
    ANOMALY,
    DEFECT_RULES,
    PAGE,
    WATCHDOG_RULES,
    WRONGFUL,
    Finding,
    highest,
    more_severe,
)
from toolkit.alert.incidents import Incident, Member

#: Notification levels, as a pager receives them.
LEVEL_PAGE, LEVEL_TICKET, LEVEL_UPDATE, LEVEL_RESOLVED = "page", "ticket", "update", "resolved"


@dataclass(frozen=True, slots=True)
class Policy:
    """Timings of the state machine (defaults: Alertmanager's and the issue's)."""

    group_interval: timedelta = timedelta(minutes=5)
    repeat_interval: timedelta = timedelta(hours=4)
    keep_firing_for: timedelta = timedelta(minutes=60)
    quiet_without_change: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the run knows besides its findings: is telemetry fresh (newest record within
    ``--max-silence``), and when the newest change (deployment) before now happened."""

    fresh: bool = True
    last_change_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """One notification-worthy change of one incident (a snapshot taken at the change)."""

    incident: Incident
    kind: str  # opened | updated | escalated | reminded | resolved
    level: str  # page | ticket | update | resolved
    at: datetime
    previous_severity: str | None = None


@dataclass(slots=True)
class Outcome:
    changed: list[Incident] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)


def _level(severity: str) -> str:
    return LEVEL_PAGE if severity == PAGE else LEVEL_TICKET


def _join(incident: Incident, f: Finding, now: datetime) -> None:
    evidence_at = f.evidence_at or now
    old = incident.members.get(f.identity)
    incident.members[f.identity] = Member(
        f.rule, f.environment, f.tenant or (old.tenant if old else None), f.severity, f.summary,
        old.first_seen_at if old else now, now,
        max(evidence_at, old.evidence_at) if old else evidence_at, dict(f.evidence))


def _notify(incident: Incident, kind: str, level: str, now: datetime, out: Outcome,
            previous: str | None = None) -> None:
    incident.notified_at = now
    incident.notified_environments = incident.environments
    incident.notifications += 1
    incident.pages += level == LEVEL_PAGE
    out.transitions.append(Transition(copy.deepcopy(incident), kind, level, now, previous))


def _may_resolve(incident: Incident, found_rules: set[str], now: datetime, policy: Policy,
                 facts: Facts) -> bool:
    if incident.rule in WATCHDOG_RULES:
        return incident.rule not in found_rules
    quiet = now - incident.last_evidence_at
    if quiet < policy.keep_firing_for or not facts.fresh:
        return False
    if incident.rule not in DEFECT_RULES:
        return True
    changed = facts.last_change_at is not None and facts.last_change_at > incident.last_evidence_at
    return changed or quiet >= policy.quiet_without_change


def reconcile(
    findings: list[Finding],
    incidents: list[Incident],
    now: datetime,
    policy: Policy,
    facts: Facts | None = None,
    watermarks: dict[str, datetime] | None = None,
) -> Outcome:
    """This run's changes: the incidents that changed (copies) and the transitions to notify,
    in a stable order. ``incidents`` are the open ones; they are not modified."""
    facts = facts or Facts()
    marks = watermarks or {}
    open_by_rule = {i.rule: copy.deepcopy(i) for i in incidents if i.status == "firing"}
    news = [f for f in findings if f.rule in WATCHDOG_RULES
            or (f.evidence_at or now) > marks.get(f.rule, datetime.min)]
    proven = any(f.rule == WRONGFUL for f in news)
    if proven and WRONGFUL not in open_by_rule and ANOMALY in open_by_rule:
        promoted = open_by_rule.pop(ANOMALY)
        promoted.rule = WRONGFUL
        open_by_rule[WRONGFUL] = promoted
    fold = proven or WRONGFUL in open_by_rule
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in sorted(news, key=lambda f: f.identity):
        groups[WRONGFUL if f.rule == ANOMALY and fold else f.rule].append(f)

    out = Outcome()
    touched: dict[str, Incident] = {}
    for rule in sorted(groups):
        found = groups[rule]
        own = [f.evidence_at or now for f in found if f.rule == rule]
        incident = open_by_rule.get(rule)
        opening = incident is None
        if incident is None:
            incident = Incident(f"{rule}-{now:%Y%m%dT%H%M}", rule, "firing",
                                highest([f.severity for f in found]), now,
                                max(own, default=now), now)
            open_by_rule[rule] = incident
        previous_evidence = incident.last_evidence_at
        for f in found:
            _join(incident, f, now)
        newest = max(own, default=None)
        if newest is not None and newest > incident.last_evidence_at:
            incident.last_evidence_at = newest
        severity = highest([f.severity for f in found])
        touched[incident.id] = incident
        if opening:
            _notify(incident, "opened", _level(incident.severity), now, out)
        elif more_severe(severity, incident.severity):
            previous = incident.severity
            incident.severity = severity
            _notify(incident, "escalated", LEVEL_PAGE, now, out, previous)
        elif newest is not None and newest - previous_evidence >= policy.repeat_interval:
            _notify(incident, "reminded", _level(incident.severity), now, out)

    found_rules = {f.rule for f in findings}
    for rule in sorted(open_by_rule):
        incident = open_by_rule[rule]
        if incident.id in touched and incident.notified_at == now:
            continue
        if _may_resolve(incident, found_rules, now, policy, facts):
            incident.status = "resolved"
            incident.resolved_at = now
            _notify(incident, "resolved", LEVEL_RESOLVED, now, out)
            touched[incident.id] = incident
        elif (set(incident.environments) - set(incident.notified_environments)
              and now - incident.notified_at >= policy.group_interval):
            _notify(incident, "updated", LEVEL_UPDATE, now, out)
            touched[incident.id] = incident
    out.changed = sorted(touched.values(), key=lambda i: i.id)
    return out
