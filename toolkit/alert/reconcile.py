"""The alert state machine: findings of this run against what is already firing.

Pure: no I/O. For every alert identity (rule, environment):

* found, not firing           -> ``fired`` (a new incident), notify;
* found, firing, more severe  -> ``escalated``, notify;
* found, firing, quiet for ``resend_after`` since the last notification -> ``reminded``;
* not found for ``resolve_after`` while firing -> ``resolved``, notify once;
* otherwise nothing is sent (a firing alert stays quiet while nothing changes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from toolkit.alert.findings import Finding, more_severe
from toolkit.alert.state import AlertRecord


@dataclass(frozen=True, slots=True)
class Transition:
    record: AlertRecord
    kind: str  # fired | escalated | reminded | resolved


@dataclass(frozen=True, slots=True)
class Policy:
    """How often to remind, and how long a finding must be absent before it resolves."""

    resend_after: timedelta = timedelta(hours=4)
    resolve_after: timedelta = timedelta(minutes=15)


def reconcile(
    findings: list[Finding],
    state: dict[tuple[str, str], AlertRecord],
    now: datetime,
    policy: Policy,
) -> tuple[list[AlertRecord], list[Transition]]:
    """Returns every changed record and the transitions to notify, in a stable order."""
    changed: list[AlertRecord] = []
    transitions: list[Transition] = []
    seen = set()
    for f in sorted(findings, key=lambda f: f.identity):
        seen.add(f.identity)
        old = state.get(f.identity)
        if old is None or old.status == "resolved":
            new = AlertRecord(
                f.rule, f.environment, f"{f.rule}:{f.environment}:{now:%Y%m%dT%H%M}",
                "firing", f.severity, f.summary, f.started_at, now, now, now, None,
                dict(f.evidence),
            )
            kind: str | None = "fired"
        else:
            escalate = more_severe(f.severity, old.severity)
            remind = now - old.last_sent_at >= policy.resend_after
            kind = "escalated" if escalate else "reminded" if remind else None
            new = replace(
                old, severity=f.severity if escalate else old.severity,
                summary=f.summary, last_seen_at=now, evidence=dict(f.evidence),
                last_sent_at=now if kind else old.last_sent_at,
                started_at=min(old.started_at, f.started_at),
            )
        changed.append(new)
        if kind:
            transitions.append(Transition(new, kind))
    for identity in sorted(state):
        old = state[identity]
        if identity in seen or old.status != "firing":
            continue
        if now - old.last_seen_at >= policy.resolve_after:
            new = replace(old, status="resolved", resolved_at=now, last_sent_at=now)
            changed.append(new)
            transitions.append(Transition(new, "resolved"))
    return changed, transitions
