"""``toolkit alert``: cron-driven alerting with incidents, routing, resolution and an outbox."""

from toolkit.alert.deliver import Webhook
from toolkit.alert.findings import PAGE, TICKET, Finding
from toolkit.alert.incidents import Incident
from toolkit.alert.payloads import FORMATS, text_line
from toolkit.alert.reconcile import Facts, Policy, Transition, reconcile
from toolkit.alert.runner import AlertRun, FindingSource, run_alert
from toolkit.alert.sources import Observation

__all__ = [
    "FORMATS",
    "PAGE",
    "TICKET",
    "AlertRun",
    "Facts",
    "Finding",
    "FindingSource",
    "Incident",
    "Observation",
    "Policy",
    "Transition",
    "Webhook",
    "reconcile",
    "run_alert",
    "text_line",
]
