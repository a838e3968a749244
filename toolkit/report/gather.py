"""Gather a report's inputs through the :class:`~toolkit.store.Store` API: the window, the
audit, the detectors (the one fit-then-detect function), incidents and deployments."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.detect import events_to_frame
from toolkit.detect.audit import Window, audit
from toolkit.detect.window import DEFAULT_HISTORY, MIN_HISTORY, detect
from toolkit.errors import BadInput
from toolkit.report.annotations import Annotations, load_annotations
from toolkit.report.data import TRIGGER_HORIZON, ReportData, changes_before

if TYPE_CHECKING:
    from toolkit.store import Store

__all__ = ["PAD", "gather", "incident_window"]

#: Margin around an incident's evidence, so its start and its recovery both show.
PAD = timedelta(hours=1)
#: How long after the last wrongful discard a deployment still counts as the fix.
FIX_HORIZON = timedelta(days=1)


def _data_range(store: Store) -> tuple[datetime, datetime]:
    bounds = store.rollup_range()
    if bounds is None:
        raise BadInput(f"{store.path}: the store holds no rollup data: simulate or load "
                       "telemetry first")
    return bounds


def incident_window(store: Store) -> tuple[datetime, datetime] | None:
    """The incident's window, or ``None`` when nothing was found.

    It spans the audit's wrongful discards and the page incidents (opened to resolved), is
    widened to the deployment that triggered the first discard
    (:func:`~toolkit.report.data.changes_before`) and the first one after the last (the fix),
    and padded by :data:`PAD` within the data.
    """
    lo, hi = _data_range(store)
    times: list[datetime] = []
    incidents = store.incidents()
    pages = incidents[incidents.severity == "page"]
    if len(pages):
        times.append(pages.opened_at.min().to_pydatetime())
        ends = pages.resolved_at.fillna(hi)
        times.append(ends.max().to_pydatetime())
    drops = audit(store, rules=["unjustified_drop"]).wrongful_discards
    if len(drops):
        first, last = drops.time.min().to_pydatetime(), drops.time.max().to_pydatetime()
        times += [first, last]
        trigger = changes_before(
            store.deployments(first - TRIGGER_HORIZON, first + timedelta(seconds=1)), first)
        fix = store.deployments(last, last + FIX_HORIZON)
        times += [t.to_pydatetime() for t in trigger.time.head(1)]
        times += [t.to_pydatetime() for t in fix.time.head(1)]
    if not times:
        return None
    return max(lo, min(times) - PAD), min(hi, max(times) + PAD)


def gather(
    store: Store,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    incident_auto: bool = False,
    annotations: str | Path | Annotations | None = None,
    baseline: timedelta = DEFAULT_HISTORY,
) -> ReportData:
    """Collect everything the sections need for ``[since, until)``.

    Without ``since`` the window starts with the data, and the detectors look from the
    first minute they have ``baseline`` of history for, as ``toolkit detect`` does, so
    both report the same events for the same store.
    """
    lo, hi = _data_range(store)
    if incident_auto:
        window = incident_window(store)
        since, until = window if window else (lo, hi)
    detect_since = since if since is not None else min(lo + baseline, hi)
    since, until = since or lo, until or hi
    if until <= since:
        raise BadInput(f"--until {until:%Y-%m-%dT%H:%M} is not after --since "
                       f"{since:%Y-%m-%dT%H:%M}")
    notes = (annotations if isinstance(annotations, Annotations)
             else load_annotations(annotations) if annotations else Annotations())
    # Views to regenerate are judged at the end of the data, not of the window: a view left
    # stale in the window but re-rendered later needs nothing.
    result = audit(store, Window(since, until), views_as_of_end=True)
    found = detect(store, max(detect_since, since), until, history=baseline)
    events = events_to_frame(found.events).sort_values(
        ["start", "environment", "detector"], ignore_index=True)
    return ReportData(
        since=since, until=until,
        wrongful=result.wrongful_discards.reset_index(drop=True),
        stale_views=result.stale_views, failed_views=result.failed_views,
        rollup=store.rollup(since, until), baseline=store.rollup(since - baseline, since),
        events=events, incidents=store.incidents(since, until),
        transitions=store.alert_transitions(since, until),
        deployments=store.deployments(since - PAD, until),
        entity_counts=store.entity_counts(until), annotations=notes,
        detectors_armed=found.history_minutes * timedelta(minutes=1) >= MIN_HISTORY,
    )
