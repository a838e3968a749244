"""``toolkit alert``: cron-driven alerting with state, routing, resolution and an outbox."""

from toolkit.alert.deliver import Webhook
from toolkit.alert.findings import PAGE, TICKET, Finding
from toolkit.alert.payloads import FORMATS, text_line
from toolkit.alert.reconcile import Policy, Transition, reconcile
from toolkit.alert.runner import AlertRun, FindingSource, run_alert

__all__ = [
    "FORMATS",
    "PAGE",
    "TICKET",
    "AlertRun",
    "Finding",
    "FindingSource",
    "Policy",
    "Transition",
    "Webhook",
    "reconcile",
    "run_alert",
    "text_line",
]
