"""The yield check: output missing beyond what the environment's queue pressure explains."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.detect.conftest import burst, minute, rollup
from toolkit.detect import DedupTailTest, YieldCheck, shortfall, to_grid
from toolkit.detect.output import OUTPUT_COLUMNS, settled

M = 240


def frame(dedup=0, backlog=0, processed=None):
    envs = {env: {"offered": 10} for env in ("globex-prod", "initech-prod")}
    spec = {"offered": 10, "deduplicated": dedup, "backlog": backlog}
    if processed is not None:
        spec["processed"] = processed
    envs["acme-prod"] = spec
    return rollup(envs, M)


@pytest.fixture(scope="module")
def check(history):
    return YieldCheck().fit(history)


def test_shortfall_is_offered_minus_output_and_queue_growth():
    """offered - processed - failed - (backlog growth), per minute."""
    data = rollup({"acme-prod": {"offered": [5, 5, 0, 4], "processed": [2, 3, 3, 4],
                                 "failed": [0, 1, 0, 0], "backlog": [3, 4, 1, 1]}}, 4)
    assert shortfall(to_grid(data, ("processed", "failed", "backlog"))).tolist() == [
        [3, 0, 0, 0]]


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("quiet", frame(), []),
    # 5 of 10 jobs a minute leave without output at an empty queue, minutes 100-109, each
    # minute counted as at most 4. At 100, 4 - 2 of slack is short of min_excess 3; at 101,
    # 8 - 2 is significant. From 138 the 30-minute window holds only minute 109: 4 - 2 = 2.
    ("wrongful discards", frame(burst(M, 100, 109, 5)), [(101, 137)]),
    # The same, inside a surge of the environment's own queue: expected, left out.
    ("legitimate surge", frame(burst(M, 100, 109, 5), burst(M, 95, 130, 500)), []),
    # Jobs vanish without being counted as deduplicated (a processor swallowing them).
    ("silent loss", frame(processed=10 - burst(M, 100, 109, 5)), [(101, 137)]),
])
def test_yield_events(check, name, data, expected):
    """Exact spans of yield events; every one is a page."""
    events = check.detect(data)
    assert [(e.start, e.end) for e in events] == [(minute(a), minute(b)) for a, b in expected]
    assert all(e.severity == "page" and e.environment == "acme-prod" for e in events), name


def test_silent_loss_is_invisible_to_the_dedup_ratio(check, history):
    """Only the yield check sees jobs lost without a dedup decision."""
    data = frame(processed=10 - burst(M, 100, 109, 5))
    assert DedupTailTest().fit(history).detect(data) == []
    (event,) = check.detect(data)
    assert event.explanation.startswith(
        "acme-prod: 40 of 1100 jobs left without output (offered - processed - failed - "
        "backlog growth, at most 4 a minute) in 120 quiet min vs ")
    assert event.explanation.endswith("output lost")


def test_settled_moves_jobs_in_flight_to_the_minute_that_finished_them():
    """3 in flight at minute 1's end, finished in 2: neither minute lost anything; 1 of 2 at
    minute 4 was in flight; the newest minute's 5 wait for the next minute to tell."""
    missing = np.array([[0, 3, -3, 0, 2, -1, 5]])
    assert settled(missing).tolist() == [[0, 0, 0, 0, 1, 0, 0]]


@given(st.lists(st.integers(-6, 6), min_size=2, max_size=40))
def test_settled_only_moves_jobs_between_neighbours(values):
    """The total changes only by what the newest minute holds back; no minute gains more than
    the one before it gave."""
    missing = np.array([values])
    out = settled(missing)
    assert out.sum() == missing.sum() - max(values[-1], 0)
    assert (np.abs(out - missing) <= np.abs(missing) + np.abs(np.roll(missing, 1))).all()


def test_slow_processing_is_not_quiet(history):
    """Five jobs lost in each of ten minutes page on a normal day; on a day where every other
    minute two of ten jobs are still running at its end (processing several times slower than
    the history's none), those minutes are not quiet and the same counts say nothing."""
    check = YieldCheck().fit(history)
    lost = burst(M, 200, 209, 5)
    normal = frame(dedup=lost)
    slow = frame(dedup=lost)
    carried = np.tile([2, -2], M // 2)
    for env in ("acme-prod", "globex-prod", "initech-prod"):
        rows = slow["environment"] == env
        slow.loc[rows, "processed"] -= carried
    assert [e.environment for e in check.detect(normal)] == ["acme-prod"]
    assert check.detect(slow) == []
    assert check.check_.slow(to_grid(slow, OUTPUT_COLUMNS))[150:].all()
    assert not check.check_.slow(to_grid(normal, OUTPUT_COLUMNS)).any()
