"""Fit on history, detect in a window: the one way ``detect``, ``alert`` and ``report`` run the
detectors, so that all three report the same events for the same window.

The detectors are fitted on ``history`` of rollup ending at the whole hour before the first
minute they must look back at (``since - lookback``). Anchoring the fit to the hour lets a cron
run every minute reuse one fit for an hour (a :class:`FitCache`), and makes the fit a function
of the window alone, whoever asks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from toolkit.detect.registry import available_detectors, fit_detectors, make_detector, run_detectors
from toolkit.errors import BadInput

if TYPE_CHECKING:
    from toolkit.detect._base import Detector
    from toolkit.detect._grid import Columns
    from toolkit.detect.events import Event
    from toolkit.store import Store

__all__ = [
    "DEFAULT_HISTORY",
    "MIN_HISTORY",
    "Detection",
    "FitCache",
    "RollupSource",
    "detect",
    "detect_in_store",
]

#: Rollup the detectors are fitted on, before the window.
DEFAULT_HISTORY = timedelta(days=3)
#: Less history than this and the detectors are "not armed": their silence means nothing.
MIN_HISTORY = timedelta(hours=24)


class RollupSource(Protocol):
    """What the detectors read (a :class:`toolkit.store.Store` is one)."""

    def rollup_columns(self, since: datetime | None = None, until: datetime | None = None
                       ) -> Columns:
        """``env_minute`` rows with ``since <= minute < until``, one numpy array per column."""
        ...

    def rollup_minutes(self, since: datetime, until: datetime) -> int:
        """How many distinct minutes in ``[since, until)`` have rollup rows."""
        ...


class FitCache(Protocol):
    """Fitted detectors kept between runs, by the hour their history ends at."""

    def get(self, hour: datetime, names: Sequence[str]) -> list[Detector] | None: ...

    def put(self, hour: datetime, names: Sequence[str], detectors: list[Detector]) -> None: ...


@dataclass(frozen=True)
class Detection:
    """Events of one window, and what they were judged against.

    ``armed`` is false when the history held less than :data:`MIN_HISTORY` of data: then an
    empty ``events`` says nothing about the window.
    """

    since: datetime
    until: datetime
    fitted_from: datetime
    fitted_until: datetime
    history_minutes: int
    armed: bool
    events: list[Event] = field(default_factory=list)


def detect(
    source: RollupSource,
    since: datetime,
    until: datetime,
    *,
    history: timedelta = DEFAULT_HISTORY,
    detectors: Sequence[str] | None = None,
    environments: Iterable[str] | None = None,
    cache: FitCache | None = None,
) -> Detection:
    """Fit the detectors on the history before ``since`` and return their events in
    ``[since, until)`` (naive UTC), optionally only for some environments."""
    names = list(detectors or available_detectors())
    lookback = max(make_detector(n).lookback for n in names)
    frame_start = since - timedelta(minutes=lookback)
    hour = frame_start.replace(minute=0, second=0, microsecond=0)
    fitted = cache.get(hour, names) if cache is not None else None
    minutes = source.rollup_minutes(hour - history, hour)
    armed = minutes * timedelta(minutes=1) >= MIN_HISTORY
    result = Detection(since, until, hour - history, hour, minutes, armed)
    if fitted is None:
        past = source.rollup_columns(hour - history, hour)
        if not len(past["minute"]):
            return result
        fitted = fit_detectors(past, names)
        if cache is not None:
            cache.put(hour, names, fitted)
    frame = source.rollup_columns(frame_start, until)
    if not len(frame["minute"]):
        return result
    wanted = set(environments or ())
    events = [e for e in run_detectors(fitted, frame, since=since, until=until)
              if not wanted or e.environment in wanted]
    return Detection(since, until, hour - history, hour, minutes, armed, events)


def detect_in_store(
    store: RollupSource | Store,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    environments: Iterable[str] | None = None,
    baseline: timedelta = timedelta(days=3),
) -> list[Event]:
    """Events in ``[since, until)`` of a store (what ``toolkit detect`` prints), from
    :func:`detect`. Without ``since`` the first ``baseline`` of the store is the history,
    without ``until`` the window runs to the end of the data.

    Raises:
        BadInput: an empty store, an empty window, or no history before it to fit on.
    """
    bounds = store.rollup_range()
    if bounds is None:
        raise BadInput(f"{store.path}: the store holds no rollup data yet")
    lo, hi = bounds
    since = since or lo + baseline
    until = until or hi
    if until <= since:
        raise BadInput(f"--until {until:%Y-%m-%dT%H:%M} is not after "
                       f"--since {since:%Y-%m-%dT%H:%M}")
    found = detect(store, since, until, history=baseline, environments=environments)
    if not found.history_minutes:
        raise BadInput(f"no rollup data in the {baseline.days} days before {since:%Y-%m-%dT%H:%M} "
                       "to fit the detectors on: choose a later --since")
    return found.events
