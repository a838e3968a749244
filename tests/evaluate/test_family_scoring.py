"""The family's scoring on a known event stream: known recall, latency and false alarms."""

import json
import math

import pandas as pd
import pytest

from toolkit.detect import Event
from toolkit.evaluate import ANY, RULE, Labelled, quantile_ci, score_draw, summarise
from toolkit.workload import ScenarioFamily

T0 = pd.Timestamp("2024-05-01 10:00")


def at(minutes: float) -> float:
    """Epoch seconds ``minutes`` after 10:00."""
    return (T0 + pd.Timedelta(minutes=minutes)).timestamp()


def event(env, detector, detected_min, end_min, severity):
    start = T0 + pd.Timedelta(minutes=detected_min)
    return Event(env, start, T0 + pd.Timedelta(minutes=end_min), 9.0, detector, "x", severity,
                 start)


@pytest.fixture
def draw():
    """acme-prod loses 12 jobs from 10:00:30 to 10:20, acme-dev 10 from 11:00 to 11:30,
    globex-prod nothing. tail pages acme-prod at 10:05 and tickets globex-prod at 12:00;
    yield pages acme-prod at 10:07; cusum fires on acme-dev at 13:00, after the grace hour.
    The rule pages acme-prod at the cron runs of 10:08 and 10:09."""
    scenario = ScenarioFamily().fault("schema-blind-dedup", "2024-05-01T10:00:00", 2)
    frame = pd.DataFrame({"minute": [T0] * 3,
                          "environment": ["acme-prod", "acme-dev", "globex-prod"]})
    labelled = Labelled(
        "known", 1, 1.0, frame,
        first_wrongful={"acme-prod": at(0.5), "acme-dev": at(60)},
        last_wrongful={"acme-prod": at(20), "acme-dev": at(90)},
        wrongful={"acme-prod": 12, "acme-dev": 10}, environments=3, scenario=scenario,
        times={"acme-prod": [at(0.5), at(1), at(4), *(at(5 + i) for i in range(9))],
               "acme-dev": [at(60 + 3 * i) for i in range(10)]},
    )
    per = {
        "tail": [event("acme-prod", "tail", 5, 30, "page"),
                 event("globex-prod", "tail", 120, 125, "ticket")],
        "yield": [event("acme-prod", "yield", 7, 20, "page")],
        "cusum": [event("acme-dev", "cusum", 180, 185, "page")],
    }
    per[ANY] = [e for events in per.values() for e in events]
    pages = {"acme-prod": [T0 + pd.Timedelta(minutes=8), T0 + pd.Timedelta(minutes=9)]}
    return score_draw(labelled, per, pages)


def test_latencies_run_from_the_first_discard_to_the_end_of_the_detected_minute(draw):
    """tail: detected in minute 10:05, complete at 10:06, 5.5 min after 10:00:30; the rule's
    first page is the 10:08 cron run, 7.5 min after. acme-dev's event came after the grace
    hour: not found."""
    rows = {r["environment"]: r["detectors"] for r in draw.environments}
    assert rows["acme-prod"]["tail"] == {"event": 5.5, "page": 5.5}
    assert rows["acme-prod"]["yield"] == {"event": 7.5, "page": 7.5}
    assert rows["acme-prod"][RULE] == {"event": 5.5, "page": 7.5}
    assert rows["acme-dev"]["cusum"] == {"event": None, "page": None}
    assert rows["acme-dev"][RULE] == {"event": None, "page": None}
    assert rows["acme-prod"]["oracle-3"] == {"event": 3.5, "page": 3.5}
    assert rows["acme-dev"]["oracle-5"] == {"event": 12.0, "page": 12.0}
    assert (draw.category, draw.kind, draw.off_hours, draw.wrongful) == (
        "fault", "schema-blind-dedup", False, 22)


def test_false_alarms_count_only_environments_that_lost_nothing(draw):
    """globex-prod's ticket is the one false alarm; acme-dev's late page is a miss, not a
    false page."""
    assert draw.false["tail"] == {"pages": 0, "tickets": 1}
    assert draw.false["cusum"] == {"pages": 0, "tickets": 0}
    assert draw.false[RULE] == {"pages": 0, "tickets": 1}


def test_summary_of_known_draws(draw):
    """One incident, found; two environments with >= 10 lost, one found: recall 0.5, median
    the found one's latency, 90th percentile never. The normal draw's one page is 1 per
    environment-week... of its 3 environments x 7 days."""
    normal = type(draw)("calm", 2, "normal", "normal", False, 3.0, 0, [],
                        {d: {"pages": 1 if d == RULE else 0, "tickets": 0}
                         for d in ["tail", "yield", "cusum", ANY, RULE]})
    summary = summarise([draw, normal], ["tail", ANY, RULE])
    rule = summary["detectors"][RULE]
    assert (summary["incidents"], summary["environments_10"]) == (1, 2)
    assert (rule["recall_incidents"], rule["recall_10"], rule["paged_10"]) == (1.0, 0.5, 0.5)
    assert rule["event_latency"]["median"] == 5.5 and rule["page_latency"]["median"] == 7.5
    assert rule["page_latency"]["p90"] == "never"
    assert rule["false_pages_per_env_week_normal"] == pytest.approx(1 / 3.0)
    assert summary["detectors"]["tail"]["false_tickets"
                                        "_per_env_week_normal"] == 0.0
    assert json.loads(json.dumps(summary)) == summary


def test_quantile_ci_brackets_the_quantile_and_treats_misses_as_never():
    point, low, high = quantile_ci(list(range(1, 41)), 0.5)
    assert point == 20 and low <= 20 <= high
    assert quantile_ci([1.0, 2.0, math.inf], 0.9)[0] == math.inf
    assert all(math.isnan(x) for x in quantile_ci([], 0.5))
