"""The alert's state, kept by the store: the alert decides, the store keeps.

What is kept (DuckDB: ``alert_*`` tables of ``toolkit/store/schema.sql``; ClickHouse:
``toolkit_alert_*``, docs/scale.md):

* incidents (one per cause), firing or resolved, and their members: one per (rule,
  environment) that joined an incident, with its latest finding;
* every notified change (opened, updated, escalated, reminded, resolved), which the
  post-mortem report reads for its timeline (``Store.alert_transitions``);
* the outbox: every payload to deliver, per destination, until delivered: a webhook that is
  down loses nothing, the next run retries;
* one row per run, and the wrongful discards counted per environment for the Prometheus
  textfile.

This module turns :class:`Incident` objects into the store's plain rows
(:mod:`toolkit.store.alerting`) and back; every function takes an open store: the runner
decides when the store is open.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from toolkit.alert.incidents import Incident, Member
from toolkit.alert.reconcile import Transition
from toolkit.store import AlertRecord, CounterRow, IncidentRow, MemberRow, TransitionRow

if TYPE_CHECKING:
    from toolkit.store import Store

__all__ = ["Counts", "counts", "load_open", "mark", "pending", "record", "to_json"]

#: Per environment: tenant, wrongful discards counted so far, and up to when.
Counts = dict[str, tuple[str | None, int, datetime]]


def to_json(value: Any) -> str:
    """Evidence and payloads as the store keeps them: JSON with sorted keys."""
    return json.dumps(value, sort_keys=True, default=str)


def load_open(store: Store) -> list[Incident]:
    """The firing incidents, with their members."""
    rows, members = store.alert_open_incidents()
    incidents = {r.incident: Incident(
        r.incident, r.rule, r.status, r.severity, r.opened_at, r.last_evidence_at,
        r.notified_at, r.resolved_at, list(r.notified_environments), r.notifications, r.pages)
        for r in rows}
    for m in members:
        member = Member(m.rule, m.environment, m.tenant, m.severity, m.summary, m.first_seen_at,
                        m.last_seen_at, m.evidence_at, json.loads(m.evidence) if m.evidence
                        else {})
        incidents[m.incident].members[member.identity] = member
    return list(incidents.values())


def counts(store: Store) -> Counts:
    """Per environment: tenant, wrongful discards counted so far, and up to when."""
    return {c.environment: (c.tenant, c.wrongful_discards_total, c.counted_until)
            for c in store.alert_counters()}


def record(store: Store, *, now: datetime, data_until: datetime | None, firing: int,
           changed: list[Incident], transitions: list[Transition],
           outbox: list[tuple[str, Any]], counted: Counts) -> None:
    """Keep one run's decisions, all or nothing (see ``Store.record_alert_run``)."""
    store.record_alert_run(AlertRecord(
        ran_at=now, data_until=data_until, firing=firing, notified=len(transitions),
        incidents=[IncidentRow(
            i.id, i.rule, i.status, i.severity, i.summary, i.opened_at, i.resolved_at,
            i.last_evidence_at, i.notified_at, list(i.notified_environments), i.notifications,
            i.pages) for i in changed],
        members=[MemberRow(
            i.id, m.rule, m.environment, m.tenant, m.severity, m.summary, m.first_seen_at,
            m.last_seen_at, m.evidence_at, to_json(m.evidence))
            for i in changed for m in i.members.values()],
        transitions=[TransitionRow(
            t.at, t.incident.id, t.incident.rule, t.kind, t.level, t.incident.severity,
            t.incident.environments, t.incident.summary) for t in transitions],
        outbox=[(destination, to_json(payload)) for destination, payload in outbox],
        counters=[CounterRow(env, tenant, total, until)
                  for env, (tenant, total, until) in counted.items()],
    ))


def pending(store: Store, destinations: list[str]) -> dict[str, list[tuple[int, Any]]]:
    """Undelivered payloads per destination, oldest first."""
    out: dict[str, list[tuple[int, Any]]] = {d: [] for d in destinations}
    for item in store.alert_outbox(destinations):
        out[item.destination].append((item.id, json.loads(item.payload)))
    return out


def mark(store: Store, delivered: list[int], failed: dict[int, str], at: datetime) -> None:
    """Record what was delivered and what failed (and why), in one go."""
    store.mark_delivered(delivered, failed, at)
