"""What a store keeps for ``toolkit alert``, as plain rows: the alert decides, the store keeps.

The alert (``toolkit.alert.state``) turns its incidents into these rows and back; each backend
stores them its own way (DuckDB: the ``alert_*`` tables of ``schema.sql`` in one transaction;
ClickHouse: ``toolkit_alert_*`` tables, a run's rows made visible by its run row, written
last). The store imports nothing from the alert (detect and alert import the store, never the
reverse), so the rows carry text and times only: evidence and payloads as JSON text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["AlertRecord", "CounterRow", "IncidentRow", "MemberRow", "OutboxItem",
           "TransitionRow"]


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One incident (``alert_incidents``), in the table's column order."""

    incident: str
    rule: str
    status: str
    severity: str
    summary: str
    opened_at: datetime
    resolved_at: datetime | None
    last_evidence_at: datetime
    notified_at: datetime
    notified_environments: list[str]
    notifications: int
    pages: int


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One (rule, environment) of an incident (``alert_members``); ``evidence`` is JSON."""

    incident: str
    rule: str
    environment: str
    tenant: str | None
    severity: str
    summary: str
    first_seen_at: datetime
    last_seen_at: datetime
    evidence_at: datetime
    evidence: str | None


@dataclass(frozen=True, slots=True)
class TransitionRow:
    """One notified change of an incident (``alert_transitions``)."""

    occurred_at: datetime
    incident: str
    rule: str
    transition: str
    level: str
    severity: str
    environments: list[str]
    summary: str


@dataclass(frozen=True, slots=True)
class CounterRow:
    """Wrongful discards counted in one environment, up to ``counted_until``."""

    environment: str
    tenant: str | None
    wrongful_discards_total: int
    counted_until: datetime


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A payload (JSON text) still to deliver to ``destination``."""

    id: int
    destination: str
    payload: str


@dataclass(slots=True)
class AlertRecord:
    """Everything one alert run writes, kept all or nothing: the incidents that changed and
    their members (replacing earlier versions), the transitions, the payloads to deliver
    (``(destination, JSON)``), the counters that moved, and the run itself."""

    ran_at: datetime
    data_until: datetime | None
    firing: int
    notified: int
    incidents: list[IncidentRow] = field(default_factory=list)
    members: list[MemberRow] = field(default_factory=list)
    transitions: list[TransitionRow] = field(default_factory=list)
    outbox: list[tuple[str, str]] = field(default_factory=list)
    counters: list[CounterRow] = field(default_factory=list)
