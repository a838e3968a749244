"""What the alert command reconciles: findings, one per (rule, environment), right now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PAGE = "page"
TICKET = "ticket"
_RANK = {TICKET: 1, PAGE: 2}


def more_severe(a: str, b: str) -> bool:
    """Is severity ``a`` more severe than ``b``?"""
    return _RANK[a] > _RANK[b]


@dataclass(frozen=True, slots=True)
class Finding:
    """Something wrong with one environment, as of this run.

    ``rule`` and ``environment`` are the alert's identity; ``summary`` is the one sentence a
    person is sent; ``evidence`` is JSON-ready detail (counts, trace ids, detector scores).
    """

    rule: str
    environment: str
    severity: str
    summary: str
    started_at: datetime
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in _RANK:
            raise ValueError(f"severity must be 'page' or 'ticket', got {self.severity!r}")

    @property
    def identity(self) -> tuple[str, str]:
        return self.rule, self.environment
