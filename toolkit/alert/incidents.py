"""Incidents: one per cause, listing every environment (and rule) that showed it.

An incident is what a person is told about, and what the store keeps (``alert_incidents``,
one row each, and ``alert_members``, one row per (rule, environment) that joined it). Its id
is fixed when it opens and doubles as the PagerDuty-style incident (deduplication) key and the
Alertmanager ``incident`` label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from toolkit.alert.findings import ABSENT, ANOMALY, NOT_ARMED, WRONGFUL

#: What each rule is about, as the first words of an incident's summary.
TITLES = {
    WRONGFUL: "jobs wrongly discarded (proven by the audit)",
    ANOMALY: "dedup ratio anomalous",
    ABSENT: "no telemetry arriving",
    NOT_ARMED: "detectors not armed",
}
_NAMED = 8  # environments named in a summary before "and N more"


@dataclass(slots=True)
class Member:
    """One (rule, environment) of an incident and its latest finding."""

    rule: str
    environment: str
    tenant: str | None
    severity: str
    summary: str
    first_seen_at: datetime
    last_seen_at: datetime
    evidence_at: datetime
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> tuple[str, str]:
        return self.rule, self.environment


@dataclass(slots=True)
class Incident:
    """One cause. ``severity`` is the highest reached; ``last_evidence_at`` the newest evidence
    of the incident's own rule (findings folded in from another rule support it but do not
    keep it open); ``notified_environments`` what the last notification listed."""

    id: str
    rule: str
    status: str  # firing | resolved
    severity: str
    opened_at: datetime
    last_evidence_at: datetime
    notified_at: datetime
    resolved_at: datetime | None = None
    notified_environments: list[str] = field(default_factory=list)
    notifications: int = 0
    pages: int = 0
    members: dict[tuple[str, str], Member] = field(default_factory=dict)

    @property
    def environments(self) -> list[str]:
        """Every environment of the incident, in the order they joined it."""
        seen: dict[str, datetime] = {}
        for m in self.members.values():
            if m.environment and (m.environment not in seen
                                  or m.first_seen_at < seen[m.environment]):
                seen[m.environment] = m.first_seen_at
        return sorted(seen, key=lambda env: (seen[env], env))

    @property
    def tenants(self) -> list[str]:
        return sorted({m.tenant for m in self.members.values() if m.tenant})

    @property
    def summary(self) -> str:
        """One sentence: what, where, and the latest finding of the incident's own rule."""
        envs = self.environments
        title = TITLES.get(self.rule, self.rule)
        if envs:
            named = ", ".join(envs[:_NAMED])
            more = f" and {len(envs) - _NAMED} more" if len(envs) > _NAMED else ""
            where = (f" in {len(envs)} environment{'s' if len(envs) > 1 else ''}: "
                     f"{named}{more}")
        else:
            where = ""
        own = [m for m in self.members.values() if m.rule == self.rule]
        latest = max(own or self.members.values(), key=lambda m: (m.last_seen_at, m.evidence_at),
                     default=None)
        detail = f". Latest: {latest.summary}" if latest and latest.environment else (
            f": {latest.summary}" if latest else "")
        return f"{title}{where}{detail}"

    @property
    def description(self) -> str:
        """Every member's latest finding, one per line (Alertmanager's ``description``)."""
        return "\n".join(
            f"{m.rule} {m.environment or '(all)'}: {m.summary}"
            for m in sorted(self.members.values(), key=lambda m: (m.first_seen_at, m.identity)))
