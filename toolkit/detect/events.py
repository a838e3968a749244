"""Detector output: events, and converters to and from per-minute boolean series.

An event is a span of minutes in one environment. ``start`` and ``end`` are both *inclusive*
minute stamps (the first and the last anomalous minute), as ADTK does for discrete time, so a
one-minute event has ``start == end`` and converting events to a series and back is exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from toolkit.errors import BadInput
from toolkit.timefmt import iso_utc

if TYPE_CHECKING:
    import pandas as pd

SEVERITIES = ("page", "ticket")
"""``page``: output is being lost (the yield test, in quiet minutes); ``ticket``: the dedup
ratio is anomalous but no output is seen missing (a legitimate surge, most likely)."""

_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Event:
    """One anomaly in one environment.

    Attributes:
        environment: environment id.
        start: first anomalous minute (for change-point detectors: the estimated start).
        end: last anomalous minute, inclusive.
        score: strength of the evidence, ``-log10`` of the p-value (CUSUM: statistic / threshold).
        detector: registry name of the detector that raised it.
        explanation: one line a person can act on.
        severity: ``page`` or ``ticket`` (a hint; the alert command decides).
        detected_at: the minute whose data first made the detector fire (``None``: ``start``).
            Only complete once that minute is over, so the earliest alert is one minute later.
    """

    environment: str
    start: datetime
    end: datetime
    score: float
    detector: str
    explanation: str
    severity: str = "ticket"
    detected_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise BadInput(f"severity must be one of {', '.join(SEVERITIES)}, "
                           f"got {self.severity!r}")
        if self.end < self.start:
            raise BadInput(f"event end {self.end} is before its start {self.start}")

    @property
    def detected(self) -> datetime:
        """``detected_at``, or ``start`` when the detector did not say."""
        return self.start if self.detected_at is None else self.detected_at

    @property
    def minutes(self) -> int:
        """Length in minutes (a one-minute event has length 1)."""
        return int((self.end - self.start) / _MINUTE) + 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 UTC strings with ``Z`` (:mod:`toolkit.timefmt`)."""
        out = asdict(self)
        for key in ("start", "end", "detected_at"):
            value = out[key]
            if value is not None and not isinstance(value, datetime):
                import pandas as pd  # a time given as text or numpy

                value = pd.Timestamp(value)
            out[key] = iso_utc(value)
        return out


EVENT_COLUMNS = tuple(f.name for f in fields(Event))


def events_to_frame(events: Iterable[Event]) -> pd.DataFrame:
    """One row per event, columns in :class:`Event` field order (empty frame: same columns)."""
    import pandas as pd

    rows = [asdict(e) for e in events]
    frame = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    for key in ("start", "end", "detected_at"):
        frame[key] = pd.to_datetime(frame[key])
    frame["score"] = frame["score"].astype(float)
    return frame


def events_to_series(
    events: Iterable[Event],
    index: Sequence[Any] | pd.DatetimeIndex,
    environment: str | None = None,
) -> pd.Series:
    """Boolean series over ``index``: True at minutes inside an event.

    Args:
        events: events (of any environments).
        index: the minutes to label.
        environment: keep only this environment's events (``None``: all of them).
    """
    import pandas as pd

    index = pd.DatetimeIndex(index)
    values = np.zeros(len(index), dtype=bool)
    stamps = index.as_unit("ns").asi8
    for event in events:
        if environment is not None and event.environment != environment:
            continue
        lo, hi = pd.Timestamp(event.start).as_unit("ns"), pd.Timestamp(event.end).as_unit("ns")
        values |= (stamps >= lo.value) & (stamps <= hi.value)
    return pd.Series(values, index=index, name=environment)


def series_to_events(
    series: pd.Series,
    environment: str,
    detector: str = "labels",
    score: float = float("nan"),
    explanation: str = "",
    severity: str = "ticket",
) -> list[Event]:
    """Events for the runs of True minutes in a boolean series indexed by minute.

    A run breaks at a False value or at a gap of more than one minute in the index, so a series
    with missing minutes is not bridged over them.
    """
    import pandas as pd

    if not pd.api.types.is_bool_dtype(series.dtype):
        raise BadInput(f"series_to_events needs a boolean series, got {series.dtype}")
    series = series.sort_index()
    index = pd.DatetimeIndex(series.index)
    flags = series.to_numpy(dtype=bool)
    if not flags.any():
        return []
    minute = index.as_unit("ns").asi8 // 60_000_000_000
    breaks = np.ones(len(flags), dtype=bool)
    breaks[1:] = ~flags[:-1] | (np.diff(minute) != 1)
    starts = np.flatnonzero(flags & breaks)
    ends = np.flatnonzero(flags & np.append(breaks[1:] | ~flags[1:], True))
    return [
        Event(environment, index[s], index[e], score, detector, explanation, severity)
        for s, e in zip(starts, ends, strict=True)
    ]
