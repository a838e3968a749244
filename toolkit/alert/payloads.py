"""What each destination receives, in its own published format.

* **generic**: the incident as JSON, one POST per incident change (``notification``);
* **slack**: one incoming-webhook message per incident change, with ``&``, ``<`` and ``>``
  escaped as Slack's message-formatting reference requires, so that a ``<!channel>`` or
  ``<@U123>`` carried by telemetry is shown, not obeyed;
* **alertmanager**: ``POST /api/v2/alerts`` with a JSON array of postable alerts, every firing
  alert on every run (Alertmanager deduplicates by label set and resolves an alert that is not
  re-sent before its ``endsAt``), one alert per (rule, environment) of each incident.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from toolkit.alert.incidents import Incident
from toolkit.alert.reconcile import Transition
from toolkit.timefmt import iso_utc

__all__ = ["FORMATS", "alertmanager_alerts", "merge_alertmanager",
           "notification", "slack", "text_line"]

FORMATS = ("generic", "alertmanager", "slack")
_WORD = {"opened": "FIRING", "updated": "UPDATED", "escalated": "ESCALATED",
         "reminded": "STILL FIRING", "resolved": "RESOLVED"}


def notification(t: Transition) -> dict[str, Any]:
    """The generic body: the incident as JSON. ``id`` is stable per (incident, transition,
    time) so a receiver can drop a duplicate delivery; ``incident`` is the incident key."""
    i = t.incident
    return {
        "version": "2",
        "id": f"{i.id}:{t.kind}:{iso_utc(t.at)}",
        "incident": i.id,
        "transition": t.kind,
        "level": t.level,
        "status": "resolved" if t.kind == "resolved" else "firing",
        "rule": i.rule,
        "severity": i.severity,
        "previous_severity": t.previous_severity,
        "summary": i.summary,
        "environments": i.environments,
        "tenants": i.tenants,
        "opened_at": iso_utc(i.opened_at),
        "last_evidence_at": iso_utc(i.last_evidence_at),
        "resolved_at": iso_utc(i.resolved_at),
        "sent_at": iso_utc(t.at),
        "findings": [
            {"rule": m.rule, "environment": m.environment or None, "tenant": m.tenant,
             "severity": m.severity, "summary": m.summary,
             "first_seen_at": iso_utc(m.first_seen_at), "last_seen_at": iso_utc(m.last_seen_at),
             "evidence_at": iso_utc(m.evidence_at), "evidence": m.evidence}
            for m in sorted(i.members.values(), key=lambda m: (m.first_seen_at, m.identity))],
    }


def text_line(n: dict[str, Any]) -> str:
    """The one line a person reads, on stdout or in Slack."""
    return f"[{_WORD[n['transition']]}] {n['severity']} {n['incident']}: {n['summary']}"


def slack_escape(text: str) -> str:
    """Escape Slack's three control characters, and nothing else (Slack decodes only these)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(n: dict[str, Any]) -> dict[str, Any]:
    """One Slack incoming-webhook message for one incident change."""
    return {"text": slack_escape(text_line(n))}


def alertmanager_alerts(
    incidents: Iterable[Incident],
    transitions: Iterable[Transition],
    now: datetime,
    ends_after: timedelta,
    generator_url: Callable[[str], str],
) -> list[dict[str, Any]]:
    """The postable alerts of one run: every member of every incident given (the firing ones
    and those resolved in this run), with ``endsAt`` ``ends_after`` ahead while firing and the
    resolution time once resolved. An escalation changes the ``severity`` label, so the alerts
    under the old label set are ended now, or Alertmanager would keep them until they expire."""
    out = []

    def alert(i: Incident, severity: str, ends: datetime) -> list[dict[str, Any]]:
        alerts = []
        for m in sorted(i.members.values(), key=lambda m: m.identity):
            labels = {"alertname": m.rule, "severity": severity, "incident": i.id,
                      "service": "toolkit"}
            if m.environment:
                labels["environment"] = m.environment
            if m.tenant:
                labels["tenant"] = m.tenant
            alerts.append({
                "labels": labels,
                "annotations": {"summary": i.summary, "description": m.summary},
                "startsAt": iso_utc(m.first_seen_at),
                "endsAt": iso_utc(ends),
                "generatorURL": generator_url(i.id),
            })
        return alerts

    for i in sorted(incidents, key=lambda i: i.id):
        out += alert(i, i.severity, i.resolved_at if i.status == "resolved" else now + ends_after)
    for t in transitions:
        if t.kind == "escalated" and t.previous_severity:
            out += alert(t.incident, t.previous_severity, now)
    return out


def merge_alertmanager(payloads: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Several undelivered runs' alerts as one array: per label set the latest wins, so a
    resolution kept in the outbox is not lost and a stale ``endsAt`` is not re-sent."""
    latest: dict[str, dict[str, Any]] = {}
    for payload in payloads:
        for a in payload:
            latest[json.dumps(a["labels"], sort_keys=True)] = a
    return list(latest.values())
