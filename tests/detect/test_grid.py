"""The rollup grid: validation of env_minute frames and the dense layout detectors count on."""

import numpy as np
import pandas as pd
import pytest

from tests.detect.conftest import minute, rollup
from toolkit.detect import DedupTailTest, to_grid
from toolkit.errors import BadInput


def test_missing_columns_are_named_in_one_message():
    """A frame without required columns fails with BadInput naming each of them."""
    frame = rollup({"acme-prod": {"offered": 3}}, 5).drop(columns=["deduplicated", "backlog"])
    with pytest.raises(BadInput, match=r"lacks column\(s\) deduplicated, backlog"):
        to_grid(frame, ("offered", "deduplicated", "backlog"), who="tail")


def test_empty_frame_is_bad_input():
    """A frame with the right columns but no rows is refused, not silently 'quiet'."""
    frame = rollup({"acme-prod": {"offered": 3}}, 5).iloc[:0]
    with pytest.raises(BadInput, match="empty"):
        to_grid(frame)


def test_detector_validates_before_it_works():
    """Detectors refuse a frame lacking a column they need, at fit and at detect."""
    frame = rollup({"acme-prod": {"offered": 3}}, 5).drop(columns=["processed"])
    with pytest.raises(BadInput, match=r"tail\.fit: .*processed"):
        DedupTailTest().fit(frame)


@pytest.mark.parametrize(("column", "value", "message"), [
    ("offered", -1, "negative"),
    ("deduplicated", np.nan, "missing values"),
    ("minute", "not a time", "does not hold times"),
])
def test_malformed_values_are_bad_input(column, value, message):
    """Negative counts, holes and unparseable times are reported with the column's name."""
    frame = rollup({"acme-prod": {"offered": 3}}, 5)
    frame[column] = frame[column].astype(object if column == "minute" else float)
    frame.loc[2, column] = value
    with pytest.raises(BadInput, match=message):
        to_grid(frame)


def test_duplicate_rows_are_bad_input():
    """Two rows for one environment and minute are a broken rollup, named in the error."""
    frame = rollup({"acme-prod": {"offered": 3}}, 5)
    frame = pd.concat([frame, frame.iloc[[3]]])
    with pytest.raises(BadInput, match="more than one row for environment 'acme-prod'"):
        to_grid(frame)


def test_missing_minutes_are_zeros_with_backlog_carried():
    """Minutes without a row count as zero jobs and keep the last backlog (the contract)."""
    frame = rollup({"acme-prod": {"offered": [4, 0, 0, 2, 1], "backlog": [0, 7, 7, 3, 0]}}, 5)
    grid = to_grid(frame.drop(index=[1, 2]), ("offered", "deduplicated", "backlog"))
    assert grid["offered"].tolist() == [[4, 0, 0, 2, 1]]
    assert grid.backlog.tolist() == [[0, 0, 0, 3, 0]]
    grid = to_grid(frame.drop(index=[2]), ("offered", "deduplicated", "backlog"))
    assert grid.backlog.tolist() == [[0, 7, 7, 3, 0]]
    assert grid.present.tolist() == [[True, True, False, True, True]]


def test_layout_rows_sorted_and_minutes_from_the_first():
    """Rows are environments in sorted order, columns whole minutes from the earliest row."""
    frame = rollup({"zeta-prod": {"offered": 1}, "acme-dev": {"offered": 2}}, 3)
    frame = frame.sample(frac=1.0, random_state=1)
    grid = to_grid(frame)
    assert grid.environments == ("acme-dev", "zeta-prod")
    assert grid.tenants == ("acme", "zeta")
    assert grid.time(0) == minute(0) and grid.minutes == 3
    assert grid.index_of(minute(2)) == 2
    assert grid["offered"].tolist() == [[2, 2, 2], [1, 1, 1]]


def test_timezone_aware_minutes_are_read_as_utc():
    """A tz-aware minute column lands on the same UTC minutes as a naive one."""
    frame = rollup({"acme-prod": {"offered": 1}}, 3)
    aware = frame.assign(minute=frame["minute"].dt.tz_localize("UTC").dt.tz_convert("Europe/Paris"))
    assert to_grid(aware).start == to_grid(frame).start


def test_siblings_and_queue_pressure():
    """Derived arrays: a sibling of the same tenant active, own queue at either minute end."""
    frame = rollup({
        "acme-dev": {"offered": [0, 3, 0, 0]},
        "acme-prod": {"offered": [2, 2, 2, 0], "backlog": [0, 5, 0, 0]},
        "globex-prod": {"offered": [1, 1, 1, 1]},
    }, 4)
    grid = to_grid(frame, ("offered", "deduplicated", "backlog", "tenant"))
    assert grid.siblings_active.tolist() == [
        [True, True, True, False], [False, True, False, False], [False, False, False, False]]
    assert grid.queue[1].tolist() == [0, 5, 5, 0]
    assert grid.others_queue[0].tolist() == [0, 5, 5, 0]
