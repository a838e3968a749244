"""Notification bodies: a generic JSON body, Alertmanager's API v2 alerts, Slack's webhook.

A notification is the generic body; the other formats are derived from it at delivery time,
so the outbox keeps one canonical record whatever the destination wants.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from toolkit.alert.reconcile import Transition

FORMATS = ("generic", "alertmanager", "slack")


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def notification(transition: Transition, sent_at: datetime) -> dict[str, Any]:
    """The generic body. ``id`` is stable per (incident, transition, time) so a receiver can
    discard a duplicate delivery."""
    r = transition.record
    status = "resolved" if transition.kind == "resolved" else "firing"
    return {
        "version": "1",
        "id": f"{r.incident}:{transition.kind}:{_iso(sent_at)}",
        "status": status,
        "transition": transition.kind,
        "rule": r.rule,
        "environment": r.environment,
        "severity": r.severity,
        "summary": r.summary,
        "incident": r.incident,
        "started_at": _iso(r.started_at),
        "fired_at": _iso(r.fired_at),
        "resolved_at": _iso(r.resolved_at),
        "sent_at": _iso(sent_at),
        "evidence": r.evidence,
    }


def text_line(n: dict[str, Any]) -> str:
    """The one line a person reads, on stdout or in Slack."""
    word = {"fired": "FIRING", "escalated": "ESCALATED", "reminded": "STILL FIRING",
            "resolved": "RESOLVED"}[n["transition"]]
    return f"[{word}] {n['severity']} {n['rule']} {n['environment']}: {n['summary']}"


def alertmanager(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alertmanager ``POST /api/v2/alerts`` body: resolved alerts carry ``endsAt``."""
    out = []
    for n in batch:
        alert: dict[str, Any] = {
            "labels": {"alertname": n["rule"], "environment": n["environment"],
                       "severity": n["severity"], "service": "toolkit"},
            "annotations": {"summary": n["summary"], "incident": n["incident"]},
            "startsAt": n["started_at"],
        }
        if n["status"] == "resolved":
            alert["endsAt"] = n["resolved_at"]
        out.append(alert)
    return out


def slack(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """Slack incoming-webhook body: one line per notification, plain text (no mrkdwn
    injection from telemetry values)."""
    lines = [text_line(n) for n in batch]
    return {"text": "\n".join(lines), "mrkdwn": False}


def generic(batch: list[dict[str, Any]]) -> dict[str, Any]:
    return {"version": "1", "notifications": batch}


BODY: dict[str, Callable[[list[dict[str, Any]]], Any]] = {
    "generic": generic, "alertmanager": alertmanager, "slack": slack,
}
