"""Page hints are decided from data up to the minute they are raised, and the alert's
statistical rule (``statistical_severity``) turns them into pages."""

import pandas as pd
import pytest

from tests.detect.conftest import START, burst, minute, rollup
from toolkit.detect import BinomialCusum, DedupTailTest, Event
from toolkit.detect.severity import PAGE, TICKET, statistical_severity

M = 180


@pytest.fixture(scope="module")
def tail(history):
    return DedupTailTest().fit(history)


def lossy(dedup):
    """acme-prod loses ``dedup`` jobs a minute (counted as deduplicated, never processed)
    while two siblings run normally."""
    envs = {env: {"offered": 10} for env in ("globex-prod", "initech-prod")}
    envs["acme-prod"] = {"offered": 10, "deduplicated": dedup}
    return rollup(envs, M)


def live(detector, frame, now):
    """What a run at ``now`` sees: the data of the minutes before it."""
    return detector.detect(frame[frame["minute"] < minute(now)])


def test_a_hint_turns_to_page_when_the_data_shows_it_not_before(tail):
    """Five discards a minute from 100: minute 100 alone counts as at most 3 jobs without
    output (1 of slack), short of 2 beyond expectation, so runs at 101 and 102 see a ticket
    (at 102 minute 101 is the newest and waits a minute for its jobs in flight); the run at
    103 sees the page, dated 101. The whole-run events say the same: a ticket at 100, a page
    detected at 101."""
    data = lossy(burst(M, 100, 109, 5))
    said = {now: [(e.detected, e.severity) for e in live(tail, data, now)]
            for now in (100, 101, 102, 103, 104)}
    assert said == {
        100: [],
        101: [(minute(100), TICKET)],
        102: [(minute(100), TICKET)],
        103: [(minute(100), TICKET), (minute(101), PAGE)],
        104: [(minute(100), TICKET), (minute(101), PAGE)],
    }
    assert [(e.start, e.end, e.detected, e.severity) for e in tail.detect(data)] == [
        (minute(100), minute(100), minute(100), TICKET),
        (minute(101), minute(118), minute(101), PAGE)]


@pytest.mark.parametrize("now", range(100, 140, 3))
def test_live_pages_are_the_whole_run_pages_seen_later(tail, now):
    """Every page a run at ``now`` sees is a page of the whole-run detection with the same
    start and detection minute, raised before ``now``: no hint uses data from after it."""
    data = lossy(burst(M, 100, 129, 2))
    whole = {(e.start, e.detected) for e in tail.detect(data) if e.severity == PAGE}
    seen = {(e.start, e.detected) for e in live(tail, data, now) if e.severity == PAGE}
    assert seen <= whole
    assert all(detected < minute(now) for _, detected in seen)


def test_one_clump_never_pages(tail):
    """Nine of ten jobs lost in one minute: a ratio event, but one minute counts for at most
    3 jobs without output (page slack + page excess), never a loss alone."""
    (event,) = tail.detect(lossy(burst(M, 100, 100, 9)))
    assert (event.detected, event.severity) == (minute(100), TICKET)


def test_cusum_pages_from_the_alarm_that_shows_the_loss(history):
    """Three discards a minute from 100: the CUSUM alarms at 101, dating the change to 100,
    but 6 jobs without output less 4 of slack are short of its page excess of 5: a ticket
    that keeps the change-point. The statistic restarts; its next alarm, at 103, sees 12 and
    pages from there."""
    events = BinomialCusum().fit(history).detect(lossy(burst(M, 100, 109, 3)))
    assert [(e.start, e.detected, e.end, e.severity) for e in events] == [
        (minute(100), minute(101), minute(101), TICKET),
        (minute(103), minute(103), minute(109), PAGE)]
    assert "since 2024-05-06 01:40" in events[1].explanation


def ev(detector, severity, env="acme-prod"):
    at = START + pd.Timedelta(minutes=5)
    return Event(env, at, at, 8.0, detector, f"{env}: test", severity, at)


@pytest.mark.parametrize(("events", "expected"), [
    ([], None),
    ([ev("tail", TICKET)], TICKET),
    ([ev("tail", TICKET), ev("cusum", TICKET)], TICKET),
    # A ratio detector's page hint: a ratio anomaly and lost output at once.
    ([ev("tail", PAGE)], PAGE),
    ([ev("concurrency", PAGE), ev("yield", PAGE)], PAGE),
    # The yield check alone is one burst it has not seen before; with a ratio event, a page.
    ([ev("yield", PAGE)], TICKET),
    ([ev("yield", PAGE), ev("peers", TICKET)], PAGE),
])
def test_statistical_severity(events, expected):
    """Exact answers of the alert's statistical rule on one environment's recent events."""
    assert statistical_severity(events) == expected
