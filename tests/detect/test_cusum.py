"""The binomial CUSUM: the restartable recursion, and small environments found late."""

import numpy as np
import pytest

from tests.detect.conftest import START, minute, rollup, sparse
from toolkit.detect import BinomialCusum, DedupTailTest
from toolkit.detect.cusum import CHUNK, cusum_alarms

STEPS = np.array([-1, 2, 2, -1, 3, 3, -5, 1, 4], dtype=float)
EXCESS_PER_MINUTE = np.array([0, 1, 1, 0, 1, 1, 0, 0, 1], dtype=float)


def cumulative(per_minute):
    return np.concatenate(([0.0], np.cumsum(per_minute)))


@pytest.mark.parametrize(("min_excess", "expected"), [
    (0.0, ([2, 5, 8], [1, 4, 7], [4.0, 6.0, 5.0])),
    # The third segment (minutes 7-8) holds one excess deduplication, not two.
    (2.0, ([2, 5], [1, 4], [4.0, 6.0])),
])
def test_alarms_restart_from_zero(min_excess, expected):
    """S = max(0, S + step) alarms at >= 4, restarts, and dates each change after its last zero."""
    assert cusum_alarms(STEPS, 4.0, cumulative(EXCESS_PER_MINUTE), min_excess) == expected


def test_statistic_carries_across_chunks():
    """Evidence split by the day-long scan chunk still adds up."""
    steps = np.full(3 * CHUNK, -0.01)
    steps[CHUNK - 1] = steps[CHUNK] = 3.0
    alarms, starts, _ = cusum_alarms(steps, 5.0, cumulative(np.ones(3 * CHUNK)), 0.0)
    assert (alarms, starts) == ([CHUNK], [CHUNK - 1])


M = 600


@pytest.fixture(scope="module")
def small_history():
    """A small environment (2 jobs a minute, two deduplications in 4000 minutes) and a big one."""
    m = 4000
    return rollup({
        "acme-prod": {"offered": 10, "deduplicated": sparse(m, 500)},
        "tiny-prod": {"offered": 2, "deduplicated": sparse(m, 2000, offset=11)},
    }, m, start=START - np.timedelta64(m, "m"))


def shifted():
    """From minute 120, tiny-prod loses one job in thirty (one deduplication every 15 min)."""
    dedup = np.zeros(M, dtype=np.int64)
    dedup[120::15] = 1
    return rollup({"acme-prod": {"offered": 10}, "tiny-prod": {"offered": 2,
                                                               "deduplicated": dedup}}, M)


def test_small_environment_is_found_late_not_never(small_history):
    """The window test never sees 5 extra in an hour; the CUSUM dates the shift to minute 120.

    Each deduplication adds ln(p1/p0) = 2.2, each job -0.002; the sixth (minute 195) is the
    first with five excess deduplications since the last zero. Its yield test (6 jobs
    without output less 4 of slack) is short of 5 beyond expectation: a ticket. Later alarms
    (every 6th) chain into the same event because the statistic never rests at zero for 30
    minutes; the one at 285 (twelve jobs without output by then) shows the loss, and the rest
    of the chain is a page raised there.
    """
    assert DedupTailTest().fit(small_history).detect(shifted()) == []
    ticket, page = BinomialCusum().fit(small_history).detect(shifted())
    assert [(e.environment, e.start, e.detected_at, e.end, e.severity)
            for e in (ticket, page)] == [
        ("tiny-prod", minute(120), minute(195), minute(195), "ticket"),
        ("tiny-prod", minute(285), minute(285), minute(555), "page")]
    assert page.explanation.startswith(
        "tiny-prod: dedup ratio shifted up since 2024-05-06 02:00 (CUSUM ")
    assert "30 of 872 jobs deduplicated" in page.explanation


def test_quiet_environment_never_alarms(small_history):
    """No deduplication, no statistic, no event."""
    quiet = rollup({"acme-prod": {"offered": 10}, "tiny-prod": {"offered": 2}}, M)
    assert BinomialCusum().fit(small_history).detect(quiet) == []
