"""The env_minute rollup: exact rows on hand-made job logs, and incremental = full."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.store.otlp import T0, jsonl, log_record, logs_request
from toolkit.store import Store

START = datetime(2024, 5, 7, 12, 0)
COUNTS = [
    "ingests",
    "skipped_unchanged",
    "offered",
    "deduplicated",
    "follow_ups",
    "processed",
    "failed",
    "retried",
]


def minute(n: int) -> datetime:
    return START + timedelta(minutes=n)


def rows(store: Store) -> list[tuple]:
    frame = store.rollup()
    return [
        (
            int((r.minute - START).total_seconds() // 60),
            r.environment,
            r.tenant,
            *[int(getattr(r, c)) for c in COUNTS],
            int(r.backlog),
            int(r.active_envs),
        )
        for r in frame.itertuples()
    ]


def load(store: Store, write, name: str, events: list[tuple[float, str, str]]) -> None:
    records = [log_record(T0 + t, env, event) for t, env, event in events]
    store.load(write(name, jsonl(logs_request(records))))


def test_gaps_are_zero_rows_with_the_backlog_carried(store, write):
    """Idle minutes get zero rows; backlog carries; active_envs counts non-empty queues."""
    load(
        store,
        write,
        "a.jsonl",
        [
            (1, "a-prod", "job.created"),
            (2, "a-prod", "job.enqueued"),
            (61, "b-dev", "job.enqueued"),
            (62, "b-dev", "job.enqueued"),
            (65, "b-dev", "job.dequeued"),
            (70, "b-dev", "job.deduplicated"),
            (121, "b-dev", "job.dequeued"),
            (190, "a-prod", "job.dequeued"),
            (200, "a-prod", "job.processed"),
        ],
    )
    #                 ingests skipped offered dedup follow processed failed retried backlog active
    assert rows(store) == [
        (0, "a-prod", "a", 0, 0, 1, 0, 0, 0, 0, 0, 1, 1),
        (1, "a-prod", "a", 0, 0, 0, 0, 0, 0, 0, 0, 1, 2),
        (1, "b-dev", "b", 0, 0, 0, 1, 0, 0, 0, 0, 1, 2),
        (2, "a-prod", "a", 0, 0, 0, 0, 0, 0, 0, 0, 1, 2),
        (2, "b-dev", "b", 0, 0, 0, 0, 0, 0, 0, 0, 0, 2),
        (3, "a-prod", "a", 0, 0, 0, 0, 0, 1, 0, 0, 0, 1),
    ]


def test_every_counted_event_lands_in_its_column(store, write):
    """Each contract event counts where docs/contracts.md says; others count nowhere."""
    load(
        store,
        write,
        "a.jsonl",
        [
            (1, "a-prod", "entity.ingested"),
            (2, "a-prod", "job.skipped_unchanged"),
            (3, "a-prod", "job.created"),
            (4, "a-prod", "job.created"),
            (5, "a-prod", "job.deduplicated"),
            (6, "a-prod", "job.follow_up_scheduled"),
            (7, "a-prod", "job.processed"),
            (8, "a-prod", "job.failed"),
            (9, "a-prod", "job.retried"),
            (10, "a-prod", "schema.deployed"),
        ],
    )
    assert rows(store) == [(0, "a-prod", "a", 2, 1, 2, 1, 1, 1, 1, 1, 0, 0)]


def test_enqueue_before_dequeue_at_the_same_instant(store, write):
    """A job queued and taken in the same instant still made the queue non-empty."""
    load(store, write, "a.jsonl", [(5, "a-prod", "job.dequeued"), (5, "a-prod", "job.enqueued")])
    assert rows(store) == [(0, "a-prod", "a", 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)]


def test_records_without_environment_are_not_rolled_up(store, write):
    """Engine deployments and foreign logs carry no environment: no rows."""
    load(store, write, "a.jsonl", [(1, None, "engine.deployment")])
    assert rows(store) == []


def test_refresh_recomputes_only_from_the_watermark(store, write):
    """A second batch recomputes from the last (maybe partial) minute, not from the start."""
    load(store, write, "a.jsonl", [(1, "a-prod", "job.enqueued"), (70, "a-prod", "job.created")])
    assert store.sql("SELECT value FROM meta WHERE key = 'rollup_watermark'").value[0] == (
        "2024-05-07 12:01:00"
    )
    store.connection.execute(
        "UPDATE env_minute SET tenant = 'untouched' WHERE minute = ?", [minute(0)]
    )
    records = [log_record(T0 + 130, "a-prod", "job.dequeued")]
    refresh = store.load(write("b.jsonl", jsonl(logs_request(records))), refresh=False)
    assert refresh.logs_loaded == 1
    done = store.refresh_rollup()
    assert (done.start, done.rows) == (minute(1), 2)
    assert [r[2] for r in rows(store)] == ["untouched", "a", "a"]
    assert store.refresh_rollup().start is None  # nothing new: nothing recomputed


def test_late_records_recompute_from_their_own_minute(store, write):
    """A record older than the watermark moves the recomputation back to its minute."""
    load(store, write, "a.jsonl", [(1, "a-prod", "job.enqueued"), (300, "a-prod", "job.dequeued")])
    load(store, write, "late.jsonl", [(65, "a-prod", "job.created")])
    assert [r[0] for r in rows(store)] == [0, 1, 2, 3, 4, 5]
    assert rows(store)[1] == (1, "a-prod", "a", 0, 0, 1, 0, 0, 0, 0, 0, 1, 1)


def test_an_environment_back_from_idle_gets_its_gap_filled(store, write):
    """Active, idle across a refresh, active again: the idle minutes get zero rows."""
    load(
        store,
        write,
        "a.jsonl",
        [
            (1, "a-prod", "job.enqueued"),
            (2, "b-dev", "job.created"),
            (400, "a-prod", "job.dequeued"),
        ],
    )
    load(store, write, "b.jsonl", [(430, "b-dev", "job.created")])
    got = [(r[0], r[1]) for r in rows(store) if r[1] == "b-dev"]
    assert got == [(m, "b-dev") for m in range(8)]
    full = rows(store)
    store.rebuild_rollup()
    assert rows(store) == full


EVENTS = st.sampled_from(
    [
        "job.enqueued",
        "job.dequeued",
        "job.created",
        "job.deduplicated",
        "entity.ingested",
        "job.processed",
    ]
)
RECORDS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=900),
        st.sampled_from(["a-prod", "a-dev", "b-prod"]),
        EVENTS,
    ),
    min_size=1,
    max_size=40,
    unique=True,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    records=RECORDS,
    cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=3),
    order=st.randoms(use_true_random=False),
)
def test_incremental_refresh_equals_full_recompute(tmp_path_factory, records, cuts, order):
    """Logs split into loads in any order (late data), refreshed each time, equal a rebuild."""
    directory = tmp_path_factory.mktemp("inc")
    bounds = sorted({0, len(records), *[min(c, len(records)) for c in cuts]})
    batches = [records[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    order.shuffle(batches)
    with Store.open(":memory:") as store:
        for i, batch in enumerate(batches):
            path = directory / f"{i}.jsonl"
            path.write_text(jsonl(logs_request([log_record(T0 + t, e, n) for t, e, n in batch])))
            store.load(path)
        incremental = rows(store)
        store.rebuild_rollup()
        assert incremental == rows(store)
