"""What the alert command reconciles: findings, one per (rule, environment), right now.

A finding is one run's observation; incidents (``toolkit.alert.incidents``) are what people are
told about. Several findings of one cause, across environments and runs, are one incident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PAGE = "page"
TICKET = "ticket"
_RANK = {TICKET: 1, PAGE: 2}

#: The audit proves jobs were discarded with no survivor of the same key: always a page.
WRONGFUL = "wrongful_discards"
#: The statistical detectors see the dedup ratio misbehave (page or ticket, the detectors say).
ANOMALY = "dedup_anomaly"
#: Watchdog: the newest telemetry is older than ``--max-silence``.
ABSENT = "telemetry_absent"
#: Watchdog: the detectors hold less history than they need, so their silence means nothing.
NOT_ARMED = "not_armed"

#: Rules about the alerting itself: they resolve as soon as a run no longer finds them.
WATCHDOG_RULES = frozenset({ABSENT, NOT_ARMED})
#: Rules that prove a defect: a defect does not fix itself, so its incident resolves after a
#: change was deployed, or after a long quiet (see :class:`toolkit.alert.reconcile.Policy`).
DEFECT_RULES = frozenset({WRONGFUL})


def more_severe(a: str, b: str) -> bool:
    """Is severity ``a`` more severe than ``b``?"""
    return _RANK[a] > _RANK[b]


def highest(severities: list[str]) -> str:
    """The most severe of ``severities`` (at least one)."""
    return max(severities, key=_RANK.__getitem__)


@dataclass(frozen=True, slots=True)
class Finding:
    """Something wrong with one environment (or, for a watchdog, the whole feed), as of this run.

    ``rule`` and ``environment`` identify it (``environment`` is ``""`` for the watchdog's
    findings about the whole feed); ``summary`` is the sentence a person is sent; ``evidence``
    is JSON-ready detail (counts, trace ids, detector scores); ``evidence_at`` is when the
    newest evidence happened (the latest wrongful discard, the end of the latest detector
    event): an incident resolves only once no evidence is newer than ``keep_firing_for``.
    ``None`` means "now" (a watchdog's evidence is the run itself).
    """

    rule: str
    environment: str
    severity: str
    summary: str
    started_at: datetime
    evidence: dict[str, Any] = field(default_factory=dict)
    evidence_at: datetime | None = None
    tenant: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in _RANK:
            raise ValueError(f"severity must be 'page' or 'ticket', got {self.severity!r}")

    @property
    def identity(self) -> tuple[str, str]:
        return self.rule, self.environment
