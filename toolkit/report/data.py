"""Everything a report is drafted from, gathered once from the store (see ``gather.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, slots=True)
class Annotation:
    """A human timeline entry (incident declared, status page update, fix deployed)."""

    time: datetime
    text: str


@dataclass
class ReportData:
    """Inputs of every section. Frames follow the store's column names.

    ``wrongful``: the audit's unjustified drops; ``stale_views``: views to regenerate;
    ``rollup``: ``env_minute`` rows for the window plus the baseline before it;
    ``events``: detector events; ``alerts``: ``alert_history`` rows in the window;
    ``deployments``: ``(time, change)`` from ``engine.deployment`` records.
    """

    since: datetime
    until: datetime
    wrongful: pd.DataFrame
    stale_views: pd.DataFrame
    failed_views: pd.DataFrame
    rollup: pd.DataFrame
    baseline: pd.DataFrame
    events: pd.DataFrame
    alerts: pd.DataFrame
    deployments: list[tuple[datetime, str]]
    entity_counts: pd.DataFrame
    annotations: list[Annotation] = field(default_factory=list)
    human_sections: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    exact: bool = True

    @property
    def found(self) -> bool:
        return len(self.wrongful) > 0 or len(self.stale_views) > 0 or len(self.events) > 0

    @property
    def first_wrongful(self) -> datetime | None:
        return None if self.wrongful.empty else self.wrongful.time.min().to_pydatetime()

    @property
    def last_wrongful(self) -> datetime | None:
        return None if self.wrongful.empty else self.wrongful.time.max().to_pydatetime()

    @property
    def first_alert(self) -> datetime | None:
        fired = self.alerts[self.alerts.transition == "fired"] if len(self.alerts) else None
        if fired is None or fired.empty:
            return None
        return fired.occurred_at.min().to_pydatetime()

    @property
    def affected(self) -> list[str]:
        envs = set(self.wrongful.environment) | set(self.stale_views.environment)
        return sorted(envs)
