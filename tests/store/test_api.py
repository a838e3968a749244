"""The read API: filters, order and the errors a notebook user sees."""

from __future__ import annotations

import pytest

from tests.store.otlp import T0, jsonl, log_record, logs_request, span, traces_request
from toolkit.errors import BadInput


@pytest.fixture
def filled(store, write):
    """Logs in two environments over three minutes, and a two-span trace."""
    records = [
        log_record(T0 + t, env, event, pipeline__job__id=job)
        for t, env, event, job in (
            (1, "a-prod", "job.created", 1),
            (61, "b-dev", "job.created", 2),
            (121, "a-prod", "job.processed", 1),
        )
    ]
    parent = span(5, 1, start=T0)
    child = span(5, 2, start=T0 + 1) | {"parentSpanId": f"{1:016x}"}
    store.load(write("f.jsonl", jsonl(logs_request(records), traces_request([child, parent]))))
    return store


def test_logs_filter_by_time_environment_event_and_job(filled):
    """since is inclusive, until exclusive; filters combine."""
    assert filled.logs(since="2024-05-07 12:01:01").job_id.tolist() == [2, 1]
    assert filled.logs(until="2024-05-07T12:01:01").job_id.tolist() == [1]
    assert filled.logs(since="2024-05-07 14:01:01+02:00").job_id.tolist() == [2, 1]
    assert filled.logs(environments="a-prod").event_name.tolist() == [
        "job.created",
        "job.processed",
    ]
    assert filled.logs(events=["job.processed"], job_id=1).environment.tolist() == ["a-prod"]
    assert filled.logs(environments=[]).empty
    assert len(filled.logs(limit=2)) == 2


def test_rollup_filter_and_order(filled):
    """rollup rows come in (minute, environment) order, narrowed as asked."""
    assert filled.rollup(environments=["a-prod"]).offered.tolist() == [1, 0, 0]
    assert filled.rollup(since="2024-05-07 12:01").environment.tolist() == [
        "a-prod",
        "b-dev",
        "a-prod",
    ]


def test_trace_returns_its_spans_in_start_order(filled):
    """trace() takes the id in any case and orders spans by start."""
    spans = filled.trace(f"{5:032X}")
    assert spans.span_id.tolist() == [f"{1:016x}", f"{2:016x}"]
    assert spans.parent_span_id.tolist()[1] == f"{1:016x}"


def test_sql_with_parameters(filled):
    """sql() runs any query with parameters and returns a DataFrame."""
    frame = filled.sql("SELECT count(*) AS n FROM logs WHERE environment = ?", ["a-prod"])
    assert frame.n.tolist() == [2]


def test_a_bad_time_is_bad_input(filled):
    """A time that does not parse is a one-line BadInput naming it."""
    with pytest.raises(BadInput, match="since 'yesterday-ish' is not a time"):
        filled.logs(since="yesterday-ish")
