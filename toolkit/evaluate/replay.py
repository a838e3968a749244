"""The alert's statistical rule, replayed minute by minute as ``toolkit alert`` computes it.

At every minute ``now`` a cron run calls :func:`toolkit.detect.window.detect` for
``[now - 10 min, now)`` and applies :func:`toolkit.detect.severity.statistical_severity` to
each environment's events. Replaying that for every minute of a simulated day costs a detector
run per minute, so the replay only visits minutes where the answer can be ``page``: the rule
pages only on a ratio detector's ``page`` hint, or on a yield event with another detector's
event, in the environment's window. Every detector is causal (trailing windows over data
before ``now``) and decides its hint from data up to the minute it is raised (an event whose
loss shows part-way is a ticket, then a page detected at that minute), and a live run counts
at most what the whole run counts (its newest minute's jobs in flight wait a minute), so the
events of the whole-run detection locate every minute a live run can page. Those minutes are
replayed exactly, through the same ``detect`` the alert uses. (One approximation: the alert's
CUSUM restarts from the start of its frame, 24 hours back, while the whole-run one runs from
the start of the run; on runs longer than a day an alarm of one may be missing from the
other.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.detect.severity import PAGE, statistical_severity
from toolkit.detect.window import detect

if TYPE_CHECKING:
    from toolkit.detect import Detector, Event

__all__ = ["RECENT", "FixedFit", "FrameSource", "page_minutes", "severities_at"]

RECENT = timedelta(minutes=10)
"""The window of events the alert judges at each run (``SourceConfig.recent``)."""


class FrameSource:
    """A rollup frame in memory, read as the alert reads the store (a ``RollupSource``)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame.sort_values("minute", kind="stable")
        self._minutes = self.frame["minute"].to_numpy()

    def rollup(self, since: datetime | None = None, until: datetime | None = None
               ) -> pd.DataFrame:
        lo = 0 if since is None else self._minutes.searchsorted(pd.Timestamp(since), "left")
        hi = len(self._minutes) if until is None else \
            self._minutes.searchsorted(pd.Timestamp(until), "left")
        return self.frame.iloc[lo:hi]

    def rollup_columns(self, since: datetime | None = None, until: datetime | None = None
                       ) -> dict[str, np.ndarray]:
        frame = self.rollup(since, until)
        return {str(name): frame[name].to_numpy() for name in frame.columns}

    def rollup_minutes(self, since: datetime, until: datetime) -> int:
        return int(self.rollup(since, until)["minute"].nunique())


class FixedFit:
    """A ``FitCache`` that always answers with one fit (fitted once on a separate history)."""

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors = list(detectors)
        self.names = [d.name for d in self.detectors]

    def get(self, hour: datetime, names: Sequence[str]) -> list[Detector] | None:
        return self.detectors if list(names) == self.names else None

    def put(self, hour: datetime, names: Sequence[str], detectors: list[Detector]) -> None:
        """Nothing to keep: the fit is fixed."""


def severities_at(
    source: FrameSource, fit: FixedFit, now: pd.Timestamp
) -> dict[str, str | None]:
    """What the alert's statistical rule says per environment at the cron run ``now``."""
    found = detect(source, (now - RECENT).to_pydatetime(), now.to_pydatetime(),
                   detectors=fit.names, cache=fit).events
    by_env: dict[str, list[Event]] = {}
    for event in found:
        by_env.setdefault(event.environment, []).append(event)
    return {env: statistical_severity(events) for env, events in by_env.items()}


def page_minutes(
    source: FrameSource,
    fit: FixedFit,
    events: Iterable[Event],
    *,
    stop_when_paged: Sequence[str] | None = None,
    progress: Callable[[], None] | None = None,
) -> dict[str, list[pd.Timestamp]]:
    """Cron minutes at which the rule pages, per environment.

    Args:
        events: the detectors' events over the whole run (they locate the minutes to replay).
        stop_when_paged: stop once every one of these environments has paged (a fault's
            first-page latency needs no more); ``None``: replay every candidate minute.
        progress: called once per replayed minute.
    """
    one = pd.Timedelta(minutes=1)
    spans: dict[tuple[str, str], set[pd.Timestamp]] = {}
    for e in events:
        minutes = pd.date_range(e.detected + one, e.end + RECENT + one, freq="min")
        kind = "yield" if e.detector == "yield" else \
            "hint" if e.severity == PAGE else "other"
        spans.setdefault((e.environment, kind), set()).update(minutes)
    # A page needs a ratio detector's page hint, or a yield event and another detector's in
    # the same environment's window.
    candidates: set[pd.Timestamp] = set()
    for (env, kind), minutes in spans.items():
        if kind == "hint":
            candidates |= minutes
        elif kind == "yield":
            candidates |= minutes & (spans.get((env, "other"), set())
                                     | spans.get((env, "hint"), set()))
    waiting = set(stop_when_paged) if stop_when_paged is not None else None
    out: dict[str, list[pd.Timestamp]] = {}
    for now in sorted(candidates):
        if waiting is not None and not waiting:
            break
        for env, severity in severities_at(source, fit, now).items():
            if severity == PAGE:
                out.setdefault(env, []).append(now)
                if waiting is not None:
                    waiting.discard(env)
        if progress is not None:
            progress()
    return out
