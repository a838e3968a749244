"""Where findings come from: the exact audit and the statistical detectors, over the store.

Two rules per environment:

``wrongful_discards`` (always ``page``)
    The audit proves drops that no survivor with the same key justifies, in the last
    ``audit_window``. Proof, not statistics: this is what pages on 7 May. The window is hours
    long so that an environment losing a job every now and then stays one firing alert
    instead of flapping between fired and resolved.
``dedup_anomaly`` (``page`` or ``ticket``)
    Detectors see the dedup ratio misbehave in the last ``recent`` minutes. It pages only when
    the yield check says output is lost *and* another detector agrees; a legitimate surge
    (bulk re-ingest, schema deployment, auto-save bursts) keeps output normal and is a ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from toolkit.alert.findings import PAGE, TICKET, Finding
from toolkit.alert.runner import FindingSource
from toolkit.detect.audit import Window, unjustified_drop
from toolkit.detect.severity import statistical_severity
from toolkit.errors import BadInput

if TYPE_CHECKING:
    from toolkit.detect.window import FitCache
    from toolkit.store import Store


@dataclass(frozen=True, slots=True)
class SourceConfig:
    audit_window: timedelta = timedelta(hours=3)
    history: timedelta = timedelta(days=3)
    recent: timedelta = timedelta(minutes=10)
    detectors: tuple[str, ...] | None = None


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def audit_findings(store: Store, now: datetime, config: SourceConfig) -> list[Finding]:
    drops = unjustified_drop(store, Window(now - config.audit_window, now))
    findings = []
    for env, rows in drops.groupby("environment", sort=True):
        first = rows.time.min().to_pydatetime()
        others = sorted(set(rows.survivor_environment.dropna()) - {env})
        folded = f", folded into jobs of {', '.join(others)}" if others else ""
        sample = rows.head(3)
        findings.append(Finding(
            "wrongful_discards", env, PAGE,
            f"{len(rows)} jobs wrongly discarded in the last "
            f"{_span(config.audit_window)}{folded} "
            f"(first at {first:%H:%M} UTC); the audit proves it from job logs",
            first,
            {"jobs": len(rows), "first": first.isoformat(),
             "examples": [{"job_id": int(r.job_id), "entity": r.entity, "schema": r.schema,
                           "survivor_job_id": None if pd.isna(r.survivor_job_id)
                           else int(r.survivor_job_id),
                           "survivor_environment": r.survivor_environment,
                           "trace_id": r.trace_id} for r in sample.itertuples()]},
        ))
    return findings


class _LastFit:
    """Keeps the latest fit in this process (a replay alerts minute after minute)."""

    def __init__(self) -> None:
        self._key: tuple[datetime, tuple[str, ...]] | None = None
        self._detectors: list[Any] | None = None

    def get(self, hour: datetime, names: Sequence[str]) -> list[Any] | None:
        return self._detectors if self._key == (hour, tuple(names)) else None

    def put(self, hour: datetime, names: Sequence[str], detectors: list[Any]) -> None:
        self._key, self._detectors = (hour, tuple(names)), detectors


def detector_findings(
    store: Store,
    now: datetime,
    config: SourceConfig,
    cache: FitCache | None = None,
) -> list[Finding]:
    """Findings from the detectors' events in the last ``config.recent`` minutes, from the
    one fit-then-detect function that ``toolkit detect`` and the report use."""
    from toolkit.detect.window import detect

    events = detect(store, now - config.recent, now, history=config.history,
                    detectors=config.detectors, cache=cache).events
    findings = []
    by_env: dict[str, list] = {}
    for event in events:
        by_env.setdefault(event.environment, []).append(event)
    for env in sorted(by_env):
        found = by_env[env]
        names_seen = sorted({e.detector for e in found})
        severity = statistical_severity(found) or TICKET
        strongest = max(found, key=lambda e: (e.severity == PAGE, e.score))
        findings.append(Finding(
            "dedup_anomaly", env, severity,
            f"dedup ratio anomalous ({', '.join(names_seen)}): {strongest.explanation}",
            min(e.start for e in found).to_pydatetime(),
            {"detectors": names_seen, "events": [e.to_dict() for e in found[:5]]},
        ))
    return findings


def store_findings(config: SourceConfig | None = None) -> FindingSource:
    """The finding source ``toolkit alert`` uses on a store."""
    config = config or SourceConfig()
    cache = _LastFit()

    def source(store: Store, previous: datetime | None, now: datetime) -> list[Finding]:
        if store.rollup_range() is None:
            raise BadInput("the store holds no rollup data yet: load or simulate telemetry first")
        return [*audit_findings(store, now, config),
                *detector_findings(store, now, config, cache)]

    return source
