"""The root-cause draft on tiny hand-made violations: exact counts, and no guess without a
pattern."""

from datetime import datetime

import pandas as pd

from toolkit.report import ReportData, draft_root_cause

T = datetime(2024, 5, 1, 9, 0)
KEY = ("tenant", "environment", "source", "entity", "schema")


def _violation(minute, survivor=None, state="pending", version=2, survivor_version=2,
               **key):
    row = {"time": T + pd.Timedelta(minutes=minute), "job_id": 100 + minute,
           "version": version, "tenant": "t", "environment": "t-prod", "source": "cms",
           "entity": "e1", "schema": "page", **key}
    for k in KEY:
        row[f"survivor_{k}"] = (survivor or {}).get(k, row[k]) if survivor is not False else None
    row["survivor_job_id"] = None if survivor is False else 1
    row["survivor_state"] = state
    row["survivor_version"] = survivor_version
    return row


def _data(rows, busy_envs=("t-prod", "t-dev")):
    minutes = [T + pd.Timedelta(minutes=i) for i in range(5)]
    rollup = pd.DataFrame([{"minute": m, "tenant": "t", "environment": e, "offered": 1,
                            "deduplicated": 0, "backlog": 0} for m in minutes
                           for e in busy_envs])
    empty = pd.DataFrame(columns=["time", "change", "environment"])
    return ReportData(
        since=T, until=T + pd.Timedelta(hours=1), wrongful=pd.DataFrame(rows),
        stale_views=pd.DataFrame(columns=["environment"]), failed_views=pd.DataFrame(),
        rollup=rollup, baseline=rollup.iloc[:0], events=pd.DataFrame(columns=["start"]),
        incidents=pd.DataFrame(), transitions=pd.DataFrame(columns=["transition"]),
        deployments=empty, entity_counts=pd.DataFrame())


def test_mixed_differences_give_no_pattern_and_exact_counts():
    """Half differ in environment, half in schema and entity: each counted, no class named."""
    rows = [_violation(0, {"environment": "t-dev"}), _violation(1, {"environment": "t-dev"}),
            _violation(2, {"schema": "nav", "entity": "e2"}),
            _violation(3, {"schema": "nav", "entity": "e2"})]
    cause = draft_root_cause(_data(rows))
    assert cause.pattern is None
    assert cause.differences == [("differ in entity and schema", 2),
                                 ("differ only in environment", 2)]
    assert cause.untouched == ["tenant", "source"]
    text = " ".join(cause.sentences())
    assert "2 of 4 differ in entity and schema; 2 of 4 differ only in environment" in text
    assert "No pattern found" in text and "Hypothesis" not in text
    assert "4 of 4 violations (100%) happened while two or more environments" in text


def test_drops_naming_no_survivor_and_an_older_survivor():
    """Drops with no survivor are counted apart; same-key drops into an older pending job
    match the older-survivor class."""
    rows = [_violation(i, version=5, survivor_version=3) for i in range(4)]
    cause = draft_root_cause(_data(rows, busy_envs=("t-prod",)))
    assert cause.pattern is not None and cause.pattern.name == "older-survivor"
    assert cause.concurrent == (0, 4)
    lone = draft_root_cause(_data([_violation(0, False), _violation(1, False)]))
    assert lone.pattern is None and lone.differences == [("name no survivor", 2)]
    assert "Which change: no deployment record" in " ".join(lone.sentences())
