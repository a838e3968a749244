"""Events and the converters between events and boolean per-minute series."""

import json

import pandas as pd
import pytest

from tests.detect.conftest import minute
from toolkit.detect import Event, events_to_frame, events_to_series, series_to_events
from toolkit.errors import BadInput

INDEX = pd.date_range(minute(0), periods=8, freq="min")


def event(env: str, first: int, last: int, **kw) -> Event:
    return Event(env, minute(first), minute(last), kw.pop("score", 1.0),
                 kw.pop("detector", "labels"), kw.pop("explanation", ""), **kw)


@pytest.mark.parametrize(("flags", "spans"), [
    ([0, 1, 1, 0, 0, 1, 0, 0], [(1, 2), (5, 5)]),
    ([1, 1, 1, 1, 1, 1, 1, 1], [(0, 7)]),
    ([0, 0, 0, 0, 0, 0, 0, 0], []),
    ([1, 0, 1, 0, 1, 0, 1, 0], [(0, 0), (2, 2), (4, 4), (6, 6)]),
])
def test_series_to_events_and_back(flags, spans):
    """Runs of True become inclusive (start, end) events, and converting back is exact."""
    series = pd.Series([bool(f) for f in flags], index=INDEX)
    events = series_to_events(series, "acme-prod")
    assert [(e.start, e.end) for e in events] == [(minute(a), minute(b)) for a, b in spans]
    assert events_to_series(events, INDEX, "acme-prod").tolist() == series.tolist()


def test_series_gaps_break_runs():
    """A missing minute in the index ends a run instead of being bridged."""
    index = INDEX.delete(3)
    series = pd.Series([True] * len(index), index=index)
    events = series_to_events(series, "acme-prod")
    assert [(e.start, e.end) for e in events] == [(minute(0), minute(2)), (minute(4), minute(7))]


def test_events_to_series_filters_by_environment():
    """Only the named environment's events are drawn; None draws every environment."""
    events = [event("acme-prod", 1, 2), event("globex-prod", 5, 6)]
    assert events_to_series(events, INDEX, "acme-prod").tolist() == [
        False, True, True, False, False, False, False, False]
    assert events_to_series(events, INDEX).sum() == 4


def test_series_to_events_needs_booleans():
    """A numeric series is refused rather than guessed at."""
    with pytest.raises(BadInput, match="boolean"):
        series_to_events(pd.Series([0, 1], index=INDEX[:2]), "acme-prod")


def test_events_to_frame_columns_and_empty():
    """One row per event in field order; no events still gives the columns."""
    frame = events_to_frame([event("acme-prod", 1, 2, severity="page", detected_at=minute(1))])
    assert list(frame.columns) == ["environment", "start", "end", "score", "detector",
                                   "explanation", "severity", "detected_at"]
    assert frame.loc[0, "end"] == minute(2) and frame.loc[0, "severity"] == "page"
    assert list(events_to_frame([]).columns) == list(frame.columns)


def test_event_validation_and_json():
    """Unknown severities and spans ending before they start are refused; to_dict is JSON."""
    with pytest.raises(BadInput, match="severity"):
        event("acme-prod", 1, 2, severity="urgent")
    with pytest.raises(BadInput, match="before its start"):
        event("acme-prod", 3, 2)
    e = event("acme-prod", 1, 3)
    assert e.minutes == 3 and e.detected == minute(1)
    assert json.loads(json.dumps(e.to_dict()))["start"] == "2024-05-06T00:01:00Z"
