"""The exact audit on constructed job logs: one justified and one unjustified drop."""

from datetime import datetime, timedelta

import pytest

from toolkit.detect.audit import Window, audit
from toolkit.errors import BadInput
from toolkit.store import Store

T = datetime(2024, 5, 6, 10, 0)
COLUMNS = [
    "time",
    "event_name",
    "tenant",
    "environment",
    "source",
    "entity",
    "schema",
    "job_id",
    "version",
    "survivor_job_id",
    "survivor_tenant",
    "survivor_environment",
    "survivor_source",
    "survivor_entity",
    "survivor_schema",
    "survivor_state",
    "survivor_version",
    "view_version",
    "trace_id",
    "span_id",
]


def rec(
    second,
    event,
    env,
    entity,
    job=None,
    version=None,
    survivor=None,
    view=None,
    trace=None,
    schema="page",
):
    row = dict.fromkeys(COLUMNS)
    row.update(
        time=T + timedelta(seconds=second),
        event_name=event,
        tenant="acme",
        environment=env,
        source="cms",
        entity=entity,
        schema=schema,
        job_id=job,
        version=version,
        view_version=view,
        trace_id=trace or f"t{job or second:031d}",
    )
    if survivor:
        s_job, s_env, s_state, s_version = survivor
        row.update(
            survivor_job_id=s_job,
            survivor_tenant="acme",
            survivor_environment=s_env,
            survivor_source="cms",
            survivor_entity=entity,
            survivor_schema=schema,
            survivor_state=s_state,
            survivor_version=s_version,
        )
    return row


def store(rows):
    """A store in memory whose ``logs`` table holds exactly ``rows`` (the audit's columns)."""
    opened = Store.open(":memory:")
    with opened.writing() as con:
        con.executemany(
            f"INSERT INTO logs ({', '.join(COLUMNS)}, record_id) "
            f"VALUES ({', '.join('?' * (len(COLUMNS) + 1))})",
            [[r[c] for c in COLUMNS] + [f"r{i}"] for i, r in enumerate(rows)],
        )
    return opened


def scenario():
    """DEV job 1 and a legit duplicate 2 (same key); PROD job 3 folded into DEV's job 1."""
    return store(
        [
            rec(0, "entity.ingested", "acme-dev", "node-1", version=1),
            rec(0, "job.created", "acme-dev", "node-1", job=1, version=1),
            rec(1, "entity.ingested", "acme-dev", "node-1", version=2),
            rec(1, "job.created", "acme-dev", "node-1", job=2, version=2),
            rec(
                1,
                "job.deduplicated",
                "acme-dev",
                "node-1",
                job=2,
                version=2,
                survivor=(1, "acme-dev", "pending", 2),
            ),
            rec(2, "entity.ingested", "acme-prod", "node-1", version=1),
            rec(2, "job.created", "acme-prod", "node-1", job=3, version=1, trace="tprod"),
            rec(
                2,
                "job.deduplicated",
                "acme-prod",
                "node-1",
                job=3,
                version=1,
                survivor=(1, "acme-dev", "pending", 2),
                trace="tprod",
            ),
            rec(5, "job.processed", "acme-dev", "node-1", job=1, version=2, view=2),
        ]
    )


def test_unjustified_drop_is_named_with_evidence_and_the_justified_one_is_not():
    """Only PROD's drop into DEV's job is a violation, with both trace ids."""
    result = audit(scenario())
    wrong = result.wrongful_discards
    assert len(wrong) == 1
    row = wrong.iloc[0]
    assert (row.environment, row.entity, row.schema, row.job_id, row.survivor_job_id) == (
        "acme-prod",
        "node-1",
        "page",
        3,
        1,
    )
    assert (row.trace_id, row.survivor_trace_id) == ("tprod", f"t{1:031d}")
    assert row.detail == "survivor has a different key: environment acme-prod vs acme-dev"
    assert row.time == T + timedelta(seconds=2)


def test_the_lost_view_is_listed_for_regeneration():
    """PROD's node-1/page view was never rendered: a latest_not_processed violation and
    exactly one view to regenerate."""
    result = audit(scenario())
    stale = result.stale_views
    assert stale[["environment", "entity", "schema", "latest_version"]].values.tolist() == [
        ["acme-prod", "node-1", "page", 1]
    ]
    assert set(result.violations.rule) == {"unjustified_drop", "latest_not_processed"}


def test_accounting_adds_up_per_environment():
    """created = processed + failed + deduplicated + in flight, per environment."""
    acct = audit(scenario()).accounting.set_index("environment")
    assert acct.loc["acme-dev"].tolist() == [2, 1, 0, 1, 0]
    assert acct.loc["acme-prod"].tolist() == [1, 0, 0, 1, 0]


def test_running_survivor_and_older_version_are_unjustified():
    """A drop into a running job, or into an older version, is never justified."""
    con = store(
        [
            rec(0, "job.created", "acme-dev", "a", job=1, version=1),
            rec(1, "job.created", "acme-dev", "a", job=2, version=2),
            rec(
                1,
                "job.deduplicated",
                "acme-dev",
                "a",
                job=2,
                version=2,
                survivor=(1, "acme-dev", "running", 1),
            ),
            rec(2, "job.created", "acme-dev", "b", job=3, version=5),
            rec(3, "job.created", "acme-dev", "b", job=4, version=6),
            rec(
                3,
                "job.deduplicated",
                "acme-dev",
                "b",
                job=4,
                version=6,
                survivor=(3, "acme-dev", "pending", 5),
            ),
        ]
    )
    details = audit(con, rules=["unjustified_drop"]).violations.detail.tolist()
    assert details == [
        "survivor was running, it had already read older content",
        "survivor version 5 older than 6",
    ]


def test_in_flight_work_is_late_not_lost():
    """A key whose job is still queued at the end is not a violation."""
    con = store([rec(0, "job.created", "acme-dev", "a", job=1, version=1)])
    result = audit(con)
    assert result.violations.empty and result.stale_views.empty
    assert result.accounting.in_flight.tolist() == [1]


def test_window_limits_the_drops_examined():
    """A window after the drop finds no wrongful discard."""
    result = audit(scenario(), Window(since=T + timedelta(seconds=3)), rules=["unjustified_drop"])
    assert result.wrongful_discards.empty


def test_a_job_that_ends_twice_breaks_the_accounting():
    """Two terminal events for one job are an accounting violation."""
    con = store(
        [
            rec(0, "job.created", "acme-dev", "a", job=1, version=1),
            rec(1, "job.processed", "acme-dev", "a", job=1, version=1, view=1),
            rec(2, "job.processed", "acme-dev", "a", job=1, version=1, view=1),
        ]
    )
    [detail] = audit(con, rules=["accounting"]).violations.detail.tolist()
    assert detail == "job ended 2 times"


def test_empty_store_and_unknown_rule_are_clear_errors():
    """No job logs, or an unknown rule: BadInput naming it."""
    with pytest.raises(BadInput, match="no job logs"):
        audit(Store.open(":memory:"))
    with pytest.raises(BadInput, match="'nope'"):
        audit(scenario(), rules=["nope"])
