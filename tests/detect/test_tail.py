"""The tail test of the dedup ratio over a short and a long window, on hand-made series."""

import numpy as np
import pytest

from tests.detect.conftest import burst, minute, rollup
from toolkit.detect import DedupTailTest, NotFittedError

M = 240


def frame(dedup, backlog=0, offered=10):
    envs = {env: {"offered": 10} for env in ("globex-prod", "initech-prod")}
    envs["acme-prod"] = {"offered": offered, "deduplicated": dedup, "backlog": backlog}
    return rollup(envs, M)


@pytest.fixture(scope="module")
def tail(history):
    return DedupTailTest().fit(history)


@pytest.mark.parametrize(("name", "dedup", "backlog", "expected"), [
    ("quiet", 0, 0, []),
    # Minute 100 holds 5 extra deduplications, 4.9 beyond the baseline (min_excess 4): both
    # windows are significant. Its yield test counts one minute as at most 3 lost jobs (page
    # slack 1 + page excess 2), 2 after slack, short of 2 beyond expectation: a ticket, as a
    # live run at 101 sees it. Minute 101's loss makes the rest a page, raised at 101. The
    # short window forgets 109 after 118.
    ("wrongful burst", burst(M, 100, 109, 5), 0, [(100, 100, "ticket"), (101, 118, "page")]),
    # The same burst inside a backlog surge: the surge's own coalescing is legitimate, its
    # minutes count for nothing (the ten minutes after it too).
    ("legitimate surge", burst(M, 100, 109, 5), burst(M, 95, 130, 500), []),
    # One clump of 8 (never seen in the history, so not covered by its dispersion) fires;
    # one minute counts as at most 3 jobs without output, 2 after slack: one clump alone
    # never makes a page, a ticket.
    ("one clump", burst(M, 100, 100, 8), 0, [(100, 109, "ticket")]),
    # One extra deduplication every 20 minutes: at most 3 in any hour, never 5.
    ("slow trickle", np.tile([1] + [0] * 19, M // 20), 0, []),
])
def test_tail_events(tail, name, dedup, backlog, expected):
    """Exact spans and severities of the tail test's events on tiny series."""
    events = tail.detect(frame(dedup, backlog))
    assert [(e.start, e.end, e.severity) for e in events] == [
        (minute(a), minute(b), s) for a, b, s in expected], name
    assert all(e.environment == "acme-prod" and e.detector == "tail" for e in events)


def test_explanation_reads_as_one_line(tail):
    """The explanation names the environment, both windows, the baseline and the p-value."""
    first, event = tail.detect(frame(burst(M, 100, 109, 5)))
    assert "output normal for its queue pressure" in first.explanation
    assert event.explanation.startswith(
        "acme-prod: 50 of 100 jobs deduplicated in 10 min (50 of 600 in 60 min) vs 0.02% "
        "baseline (p=")
    assert "output lost" in event.explanation and "\n" not in event.explanation
    assert event.detected_at == minute(101) and event.score > 6


def test_legitimate_surge_is_left_to_the_surge(tail):
    """Deduplications while the environment's own queue holds 500 jobs are not an anomaly;
    the same ones at an empty queue twenty minutes after a surge are."""
    assert tail.detect(frame(burst(M, 100, 109, 5), burst(M, 95, 130, 500))) == []
    assert len(tail.detect(frame(burst(M, 100, 109, 5), burst(M, 60, 70, 500)))) == 1


def test_since_and_until_keep_overlapping_events(tail):
    """since/until keep events overlapping the range; the windows still see earlier rows."""
    data = frame(burst(M, 100, 109, 5))
    assert len(tail.detect(data, since=minute(118))) == 1
    assert tail.detect(data, since=minute(119)) == []
    assert tail.detect(data, until=minute(99)) == []
    incremental = data[data["minute"] > minute(118 - 60)]
    assert [e.end for e in tail.detect(incremental, since=minute(118))] == [minute(118)]


def test_detect_before_fit_is_refused():
    """An unfitted detector says so instead of guessing a baseline."""
    with pytest.raises(NotFittedError, match="call fit"):
        DedupTailTest().detect(frame(0))


def test_constructor_rejects_bad_parameters():
    """Bad configuration fails at construction with the parameter's name."""
    with pytest.raises(ValueError, match="alpha"):
        DedupTailTest(alpha=2.0)
    with pytest.raises(ValueError, match="short"):
        DedupTailTest(short=0)
