"""Everything a report is drafted from, gathered once from the store (see ``gather.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from toolkit.report.annotations import Annotations

__all__ = ["TRIGGER_HORIZON", "TRIGGER_HOUR", "ReportData", "changes_before"]

#: Deployments this close before the first violation are all named as the trigger.
TRIGGER_HOUR = timedelta(hours=1)
#: With none that close, the last deployment up to this long before is.
TRIGGER_HORIZON = timedelta(days=1)


def changes_before(deployments: pd.DataFrame, first: datetime | None) -> pd.DataFrame:
    """Deployments within :data:`TRIGGER_HOUR` before ``first`` (inclusive); with none, the
    last one within :data:`TRIGGER_HORIZON` (a change may take a while to bite)."""
    if first is None or deployments.empty:
        return deployments.iloc[:0]
    before = deployments[(deployments.time <= first)
                         & (deployments.time > first - TRIGGER_HORIZON)]
    close = before[before.time > first - TRIGGER_HOUR]
    return close if len(close) else before.tail(1)


@dataclass
class ReportData:
    """Inputs of every section. Frames follow the store's column names.

    ``wrongful``: the audit's unjustified drops, with the survivors' key columns;
    ``stale_views`` / ``failed_views``: views to regenerate / given up visibly;
    ``rollup``: ``env_minute`` rows of the window; ``baseline``: the rows before it the
    detectors were fitted on; ``events``: detector events (:func:`toolkit.detect.window.detect`);
    ``incidents`` / ``transitions``: ``Store.incidents`` / ``Store.alert_transitions``;
    ``deployments``: ``Store.deployments`` from an hour before the window to its end.
    """

    since: datetime
    until: datetime
    wrongful: pd.DataFrame
    stale_views: pd.DataFrame
    failed_views: pd.DataFrame
    rollup: pd.DataFrame
    baseline: pd.DataFrame
    events: pd.DataFrame
    incidents: pd.DataFrame
    transitions: pd.DataFrame
    deployments: pd.DataFrame
    entity_counts: pd.DataFrame
    annotations: Annotations = field(default_factory=Annotations)
    detectors_armed: bool = True

    @property
    def found(self) -> bool:
        """Whether anything is wrong in the window: a proven loss or a detector event."""
        return len(self.wrongful) > 0 or len(self.stale_views) > 0 or len(self.events) > 0

    @property
    def first_wrongful(self) -> datetime | None:
        return None if self.wrongful.empty else self.wrongful.time.min().to_pydatetime()

    @property
    def last_wrongful(self) -> datetime | None:
        return None if self.wrongful.empty else self.wrongful.time.max().to_pydatetime()

    @property
    def first_anomaly(self) -> datetime | None:
        return None if self.events.empty else self.events.start.min().to_pydatetime()

    @property
    def first_alert(self) -> datetime | None:
        """When the first incident opened in the window."""
        opened = self.transitions[self.transitions.transition == "opened"]
        return None if opened.empty else opened.occurred_at.min().to_pydatetime()

    @property
    def first_page(self) -> datetime | None:
        """When an incident first notified at page severity (opened or escalated)."""
        t = self.transitions
        paged = t[(t.severity == "page") & t.transition.isin(["opened", "escalated"])]
        return None if paged.empty else paged.occurred_at.min().to_pydatetime()

    @property
    def affected(self) -> list[str]:
        """Environments with a proven loss (a wrongful discard or a view left stale)."""
        return sorted(set(self.wrongful.environment) | set(self.stale_views.environment))

    @property
    def tenant_of(self) -> dict[str, str]:
        """Environment -> tenant, from the ``pipeline.tenant`` attribute the records carry."""
        pairs: dict[str, str] = {}
        for frame in (self.rollup, self.wrongful, self.stale_views):
            if len(frame) and "tenant" in frame.columns:
                pairs.update(frame[["environment", "tenant"]].dropna()
                             .drop_duplicates().itertuples(index=False, name=None))
        return pairs

    @property
    def affected_tenants(self) -> list[str]:
        tenant_of = self.tenant_of
        return sorted({tenant_of.get(e, "?") for e in self.affected})

    @property
    def change_before(self) -> pd.DataFrame:
        """The trigger: the deployments before the first wrongful discard (else the first
        anomaly); see :func:`changes_before`."""
        first = self.first_wrongful or self.first_anomaly
        return changes_before(self.deployments, first)

    @property
    def fix(self) -> datetime | None:
        """The first deployment at or after the last wrongful discard: the likely fix."""
        last = self.last_wrongful
        d = self.deployments
        if last is None or d.empty:
            return None
        after = d[d.time >= last]
        return None if after.empty else after.time.min().to_pydatetime()
