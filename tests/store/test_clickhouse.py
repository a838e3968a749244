"""The ClickHouse backend against the DuckDB store, in embedded ClickHouse (chdb).

The Collector's tables are created from the exporter's own DDL in the shared folder. The
samples are loaded into them and into a DuckDB store from the same files, and the rollup, the
exact audit and the detectors must agree. Rows written by hand in the exporter's shape (with
and without the ``EventName`` column) must read as the same facts.

chdb runs one embedded server per process, so every test here shares one chdb path (one
database per scenario), and the samples are loaded once per module.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.shared import shared_dir
from toolkit.detect.audit import Window, audit
from toolkit.detect.window import detect
from toolkit.errors import BadInput
from toolkit.store import Store
from toolkit.store.clickhouse import ClickHouseStore, parse_target
from toolkit.store.clickhouse.connection import Connection, connect
from toolkit.store.clickhouse.loader import as_string

REPO = Path(__file__).resolve().parents[2]
MAY7 = REPO / "sample_logs" / "may7"
EXPORTER_SQL = shared_dir() / "clickhouse"
PACKAGED_SQL = REPO / "toolkit" / "store" / "clickhouse"


def create_tables(con: Connection, database: str, *, event_name: bool = True) -> None:
    """The exporter's tables from the shared DDL, in ``database`` (an older exporter's
    ``otel_logs`` lacks the ``EventName`` column)."""
    con.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    for name in ("otel_logs.sql", "otel_traces.sql"):
        ddl = (EXPORTER_SQL / name).read_text().replace("otel.", f"{database}.", 1)
        if not event_name:
            ddl = "\n".join(x for x in ddl.splitlines() if not x.strip().startswith("EventName"))
        con.command(ddl)


@pytest.fixture(scope="module")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("chdb") / "data")


@pytest.fixture(scope="module")
def admin(chdb_path: str) -> Iterator[Connection]:
    con = connect(f"chdb:{chdb_path}?database=default")
    yield con
    con.close()


@pytest.fixture(scope="module")
def pair(chdb_path: str, admin: Connection) -> Iterator[tuple[ClickHouseStore, Store]]:
    """may7 loaded into the Collector's tables (ClickHouse) and into a DuckDB store."""
    create_tables(admin, "otel")
    with ClickHouseStore.open(f"chdb:{chdb_path}") as ch, Store.open(":memory:") as duck:
        loaded = ch.load(MAY7)
        assert (loaded.spans_loaded, loaded.logs_loaded) == (63597, 121158)
        duck.load(MAY7)
        yield ch, duck


# -- the same results as DuckDB on the samples -------------------------------------------------


def test_rollup_equals_duckdb_row_for_row(pair):
    ch, duck = pair
    pd.testing.assert_frame_equal(ch.rollup(), duck.rollup())
    assert ch.rollup_range() == duck.rollup_range()
    since, until = datetime(2024, 5, 7, 9), datetime(2024, 5, 7, 18)
    assert ch.rollup_minutes(since, until) == duck.rollup_minutes(since, until) == 540
    pd.testing.assert_frame_equal(ch.rollup(since, until, environments=["acme-prod"]),
                                  duck.rollup(since, until, environments=["acme-prod"]))


def test_report_reads_equal_duckdb(pair):
    ch, duck = pair
    for until in (datetime(2024, 5, 7, 12, 30, 30), datetime(2024, 5, 1)):
        assert ch.newest_activity(until) == duck.newest_activity(until)
    since, until = datetime(2024, 5, 7, 9), datetime(2024, 5, 7, 18)
    got, want = ch.environment_stats(since, until), duck.environment_stats(since, until)
    assert got.keys() == want.keys() and len(got) > 1
    for env, (tenant, ratio, newest) in want.items():
        assert got[env][0] == tenant and got[env][2] == newest
        assert got[env][1] == pytest.approx(ratio)
    assert ch.tenants_of(["acme-prod", "nowhere"]) == duck.tenants_of(["acme-prod", "nowhere"])


@pytest.mark.parametrize("window", [Window(), Window(datetime(2024, 5, 7, 9),
                                                     datetime(2024, 5, 7, 18))])
def test_audit_equals_duckdb(pair, window):
    ch, duck = pair
    got, want = audit(ch, window), audit(duck, window)  # type: ignore[arg-type]
    assert got.summary() == want.summary()
    assert got.summary()["wrongful_discards"] > 0
    for part in ("violations", "stale_views", "accounting", "failed_views"):
        pd.testing.assert_frame_equal(getattr(got, part), getattr(want, part))
    pd.testing.assert_frame_equal(ch.job_accounting(), duck.job_accounting())
    pd.testing.assert_frame_equal(
        ch.view_status(window.since, window.until, as_of_end=True),
        duck.view_status(window.since, window.until, as_of_end=True))


def test_detect_equals_duckdb(pair):
    ch, duck = pair
    since, until = datetime(2024, 5, 7, 9), datetime(2024, 5, 7, 18)
    got, want = detect(ch, since, until), detect(duck, since, until)
    assert got.armed and got.events
    assert got == want


def test_reads_have_duckdb_columns_and_values(pair):
    ch, duck = pair
    drop = duck.logs(events="job.deduplicated", environments="globex-prod", limit=1)
    trace = drop.trace_id[0]
    pd.testing.assert_frame_equal(
        ch.trace(trace)[["trace_id", "span_id", "parent_span_id", "name", "kind", "start_time",
                         "end_time", "duration_ns", "status_code", "environment", "job_id"]],
        duck.trace(trace)[["trace_id", "span_id", "parent_span_id", "name", "kind",
                           "start_time", "end_time", "duration_ns", "status_code",
                           "environment", "job_id"]])
    assert list(ch.trace(trace).columns) == list(duck.trace(trace).columns)
    links = ch.span_links(trace)
    assert list(links.columns) == list(duck.span_links(trace).columns)
    pd.testing.assert_frame_equal(links[["span_id", "link_index", "linked_trace_id"]],
                                  duck.span_links(trace)[["span_id", "link_index",
                                                          "linked_trace_id"]])
    assert list(ch.span_events(trace).columns) == list(duck.span_events(trace).columns)
    window = dict(since="2024-05-07 09:00", until="2024-05-07 18:00",
                  environments=["globex-prod", "acme-prod"], events="job.deduplicated")
    facts = ["time", "time_unix_nano", "trace_id", "span_id", "event_name", "environment",
             "job_id", "version", "survivor_job_id", "survivor_state", "body_text"]
    got, want = ch.logs(**window), duck.logs(**window)
    assert list(got.columns) == list(want.columns) and len(got) > 0
    # Records of one instant tie on time; record_id (a hash of each store's row) orders them.
    ordered = ["time_unix_nano", "span_id"]
    pd.testing.assert_frame_equal(got[facts].sort_values(ordered, ignore_index=True),
                                  want[facts].sort_values(ordered, ignore_index=True),
                                  check_dtype=False)
    job = int(drop.job_id[0])
    assert sorted(ch.logs(job_id=job).event_name) == sorted(duck.logs(job_id=job).event_name)
    assert json.loads(got.attributes[0])["pipeline.job.id"] == str(got.job_id[0])


def test_loading_the_same_records_again_adds_nothing(pair, tmp_path):
    ch, _ = pair
    part = tmp_path / "part.jsonl"
    with gzip.open(MAY7 / "logs.jsonl.gz", "rt") as logs:
        part.write_text("".join(next(logs) for _ in range(3)))
    before = int(ch.sql("SELECT count() AS n FROM otel.otel_logs").n[0])
    again = ch.load(part)
    assert again.loaded == 0 and again.duplicates == again.records > 0
    assert int(ch.sql("SELECT count() AS n FROM otel.otel_logs").n[0]) == before
    assert ch.refresh_rollup().start is None
    bad = tmp_path / "bad.jsonl"
    bad.write_text(part.read_text().splitlines()[0] + "\n{not json\n")
    result = ch.load(bad)
    assert (result.rejected, result.duplicates) == (1, result.records - 1)
    assert ch.rejected()[["line", "item"]].values.tolist() == [[2, ""]]
    assert str(ch.rejected().file[0]) == str(bad.resolve())


# -- rows written by hand in the exporter's shape ----------------------------------------------

_KEY_A = ("acme", "acme-prod", "cms", "e1", "page")
_KEY_G = ("globex", "globex-prod", "cms", "e9", "page")


def _attrs(key: tuple[str, ...], **more: object) -> dict[str, str]:
    names = ("pipeline.tenant", "pipeline.environment", "pipeline.source", "pipeline.entity",
             "pipeline.schema")
    out = dict(zip(names, key, strict=True))
    out.update({k.replace("_", "."): str(v) for k, v in more.items()})
    return out


def _row(second: str, event: str, key: tuple[str, ...], trace: str, **more: object) -> tuple:
    attrs = _attrs(key, **more)
    attrs["event.name"] = event
    return (f"2024-05-07 10:{second}", trace * 32, event, attrs)


#: acme: job 1, job 2 dropped for job 1 whose version is older (unjustified), job 1 processed
#: twice. globex: job 4 dropped for job 3, same key, pending, same version (justified).
FIRST = [
    _row("00:10.000000001", "job.created", _KEY_A, "1", pipeline_job_id=1, pipeline_job_version=1),
    _row("00:11", "job.enqueued", _KEY_A, "1", pipeline_job_id=1),
    _row("00:20", "job.created", _KEY_A, "2", pipeline_job_id=2, pipeline_job_version=2),
    _row("00:30", "job.deduplicated", _KEY_A, "2", pipeline_job_id=2, pipeline_job_version=2,
         pipeline_dedup_survivor_job_id=1, pipeline_dedup_survivor_tenant="acme",
         pipeline_dedup_survivor_environment="acme-prod", pipeline_dedup_survivor_source="cms",
         pipeline_dedup_survivor_entity="e1", pipeline_dedup_survivor_schema="page",
         pipeline_dedup_survivor_state="pending", pipeline_dedup_survivor_version=1),
    _row("01:05", "job.dequeued", _KEY_A, "1", pipeline_job_id=1),
    _row("01:06", "job.processed", _KEY_A, "1", pipeline_job_id=1, pipeline_view_version=1),
    _row("01:07", "job.processed", _KEY_A, "1", pipeline_job_id=1, pipeline_view_version=1),
]
#: Written after a refresh, partly before its watermark (a late batch from the Collector).
LATE = [
    _row("00:40", "job.created", _KEY_G, "3", pipeline_job_id=3, pipeline_job_version=1),
    _row("00:41", "job.enqueued", _KEY_G, "3", pipeline_job_id=3),
    _row("00:45", "job.created", _KEY_G, "4", pipeline_job_id=4, pipeline_job_version=1),
    _row("00:50", "job.deduplicated", _KEY_G, "4", pipeline_job_id=4, pipeline_job_version=1,
         pipeline_dedup_survivor_job_id=3, pipeline_dedup_survivor_tenant="globex",
         pipeline_dedup_survivor_environment="globex-prod",
         pipeline_dedup_survivor_source="cms", pipeline_dedup_survivor_entity="e9",
         pipeline_dedup_survivor_schema="page", pipeline_dedup_survivor_state="pending",
         pipeline_dedup_survivor_version=1),
    _row("03:00", "job.dequeued", _KEY_G, "3", pipeline_job_id=3),
    _row("03:01", "job.processed", _KEY_G, "3", pipeline_job_id=3, pipeline_view_version=1),
]


def _map_sql(attrs: dict[str, str]) -> str:
    return "map(" + ", ".join(f"'{k}', '{v}'" for k, v in attrs.items()) + ")"


def _insert_logs(con: Connection, database: str, rows: list[tuple], *, event_name: bool
                 ) -> None:
    columns = "Timestamp, TraceId, SpanId, SeverityText, SeverityNumber, ServiceName, Body, " \
              "ResourceAttributes, LogAttributes" + (", EventName" if event_name else "")
    values = []
    for time, trace, event, attrs in rows:
        extra = f", '{event}'" if event_name else ""
        values.append(f"('{time}', '{trace}', 'ab{trace[:14]}', 'INFO', 9, 'engine', "
                      f"'{event}', map('service.name', 'engine'), {_map_sql(attrs)}{extra})")
    con.command(f"INSERT INTO {database}.otel_logs ({columns}) VALUES {', '.join(values)}")


def _expected_rollup() -> pd.DataFrame:
    rows = [  # minute, environment, tenant, offered, deduplicated, processed, backlog, active
        ("10:00", "acme-prod", "acme", 2, 1, 0, 1, 2),
        ("10:00", "globex-prod", "globex", 2, 1, 0, 1, 2),
        ("10:01", "acme-prod", "acme", 0, 0, 2, 0, 2),
        ("10:01", "globex-prod", "globex", 0, 0, 0, 1, 2),
        ("10:02", "globex-prod", "globex", 0, 0, 0, 1, 1),
        ("10:03", "globex-prod", "globex", 0, 0, 1, 0, 1),
    ]
    frame = pd.DataFrame(rows, columns=["minute", "environment", "tenant", "offered",
                                        "deduplicated", "processed", "backlog", "active_envs"])
    frame["minute"] = pd.to_datetime("2024-05-07 " + frame.minute).astype("datetime64[us]")
    return frame


@pytest.mark.parametrize("event_name", [True, False], ids=["EventName", "older-exporter"])
def test_rows_written_by_hand_read_as_the_same_facts(chdb_path, admin, event_name):
    database = "handmade" if event_name else "legacy"
    create_tables(admin, database, event_name=event_name)
    _insert_logs(admin, database, FIRST, event_name=event_name)
    admin.command(
        f"INSERT INTO {database}.otel_traces (Timestamp, TraceId, SpanId, SpanName, SpanKind, "
        f"ServiceName, SpanAttributes, Duration, StatusCode, `Events.Timestamp`, "
        f"`Events.Name`, `Events.Attributes`) VALUES ('2024-05-07 10:00:10', '{'1' * 32}', "
        f"'00000000000000aa', 'job', 'SPAN_KIND_CONSUMER', 'engine', "
        f"map('pipeline.job.id', '1', 'pipeline.environment', 'acme-prod'), 1500, "
        f"'STATUS_CODE_OK', ['2024-05-07 10:00:11'], ['queued'], [map('depth', '1')])")
    with ClickHouseStore.open(f"chdb:{chdb_path}?database={database}") as store:
        first = store.rollup()
        assert first.minute.max() == pd.Timestamp("2024-05-07 10:01")
        _insert_logs(admin, database, LATE, event_name=event_name)
        refresh = store.refresh_rollup()
        assert refresh.start == datetime(2024, 5, 7, 10, 0)
        assert store.refresh_rollup().start is None
        got = store.rollup()
        assert list(got.columns) == ["minute", "environment", "tenant", "ingests",
                                     "skipped_unchanged", "offered", "deduplicated",
                                     "follow_ups", "processed", "failed", "retried", "backlog",
                                     "active_envs"]
        expected = _expected_rollup()
        pd.testing.assert_frame_equal(got[list(expected.columns)], expected, check_dtype=False)
        incremental = got.copy()
        store.rebuild_rollup()
        pd.testing.assert_frame_equal(store.rollup(), incremental)

        drops = store.unjustified_drops()
        assert drops[["environment", "job_id", "survivor_job_id", "detail"]].values.tolist() == [
            ["acme-prod", 2, 1, "survivor version 1 older than 2"]]
        assert drops.survivor_trace_id[0] == "1" * 32 and drops.trace_id[0] == "2" * 32
        assert str(drops.job_id.dtype) == "Int64"
        assert store.job_accounting()[["job_id", "detail"]].values.tolist() == [
            [1, "job ended 2 times"]]
        acct = store.environment_accounting()
        assert acct.values.tolist() == [["acme-prod", 2, 1, 0, 1, 0],
                                        ["globex-prod", 2, 1, 0, 1, 0]]
        stale = store.view_status()
        assert stale[["environment", "entity", "latest_version", "rendered_version",
                      "in_flight"]].values.tolist() == [["acme-prod", "e1", 2, 1, 0]]
        result = audit(store)  # type: ignore[arg-type]
        assert result.summary()["wrongful_discards_per_environment"] == {"acme-prod": 1}

        logs = store.logs(environments="acme-prod", events="job.created")
        assert logs.event_name.tolist() == ["job.created"] * 2
        assert logs.job_id.tolist() == [1, 2] and logs.version.tolist() == [1, 2]
        assert logs.time_unix_nano[0] == 1715076010000000001
        span = store.spans(job_id=1)
        assert span[["kind", "status_code", "duration_ns", "environment"]].values.tolist() == [
            ["consumer", "ok", 1500, "acme-prod"]]
        events = store.span_events("1" * 32)
        assert events[["name", "attributes"]].values.tolist() == [["queued", '{"depth":"1"}']]


def test_loader_writes_the_older_exporter_shape(chdb_path, admin, tmp_path):
    create_tables(admin, "olderload", event_name=False)
    part = tmp_path / "part.jsonl"
    with gzip.open(MAY7 / "logs.jsonl.gz", "rt") as logs:
        part.write_text("".join(next(logs) for _ in range(2)))
    with ClickHouseStore.open(f"chdb:{chdb_path}?database=olderload") as store:
        assert store.load(part).logs_loaded > 0
        names = store.sql("SELECT DISTINCT LogAttributes['event.name'] AS e "
                          "FROM olderload.otel_logs ORDER BY e").e.tolist()
        assert names == sorted(store.logs().event_name.unique().tolist())


def test_a_duckdb_store_copied_over_reads_the_same(chdb_path, admin, tmp_path):
    for name in ("logs", "traces"):
        with gzip.open(MAY7 / f"{name}.jsonl.gz", "rt") as lines:
            (tmp_path / f"{name}.jsonl").write_text("".join(next(lines) for _ in range(40)))
    create_tables(admin, "copied")
    with Store.open(":memory:") as duck, \
            ClickHouseStore.open(f"chdb:{chdb_path}?database=copied") as ch:
        duck.load(tmp_path)
        copied = ch.copy_from(duck)
        assert copied.logs_loaded == len(duck.logs()) > 0
        assert copied.spans_loaded == len(duck.spans()) > 0
        pd.testing.assert_frame_equal(ch.rollup(), duck.rollup())
        again = ch.copy_from(duck)
        assert again.loaded == 0 and again.duplicates == copied.loaded


# -- the exporter's value rendering -------------------------------------------------------------


@pytest.mark.parametrize(("value", "text"), [
    ("x", "x"), (17, "17"), (-3, "-3"), (True, "true"), (False, "false"), (None, ""),
    (3.0, "3"), (0.5, "0.5"), (1e20, "100000000000000000000"), (1e21, "1e+21"),
    (1e-7, "1e-7"), (0.000001, "0.000001"), (b"\x00\x01", "AAE="),
    ({"b": 1, "a": [2.0, "x"]}, '{"a":[2,"x"],"b":1}'),
])
def test_values_render_as_the_collector_renders_them(value, text):
    assert as_string(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_doubles_render_to_the_same_number(value):
    assert float(as_string(value)) == value


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "needle"), [
    ("clickhouse://user:secret@host:8123", "no database"),
    ("clickhouse://user:secret@host:port/otel", "port is not a number"),
    ("clickhouse:///otel", "no host"),
    ("chdb:", "no path"),
    ("chdb:/tmp/x?db=otel", "unknown option 'db'"),
    ("clickhouse://host/otel;drop", "not a plain ClickHouse identifier"),
])
def test_bad_addresses_are_one_line_errors(url, needle):
    with pytest.raises(BadInput) as caught:
        parse_target(url)
    message = str(caught.value)
    assert needle in message and "\n" not in message and "secret" not in message


def test_unreachable_server_is_a_one_line_error():
    with pytest.raises(BadInput) as caught:
        ClickHouseStore.open("clickhouse://toolkit:secret@127.0.0.1:1/otel")
    message = str(caught.value)
    assert "cannot reach ClickHouse" in message and "\n" not in message
    assert "secret" not in message and "127.0.0.1:1" in message


def test_missing_collector_tables_are_a_one_line_error(chdb_path, admin):
    admin.command("CREATE DATABASE IF NOT EXISTS nothing")
    with pytest.raises(BadInput) as caught:
        ClickHouseStore.open(f"chdb:{chdb_path}?database=nothing")
    message = str(caught.value)
    assert "no table nothing.otel_logs" in message and "\n" not in message
    create_tables(admin, "readonly")
    with pytest.raises(BadInput, match="open it writable once"):
        ClickHouseStore.open(f"chdb:{chdb_path}?database=readonly", read_only=True)


def test_packaged_exporter_ddl_is_the_collectors():
    for name in ("otel_logs.sql", "otel_traces.sql"):
        assert (PACKAGED_SQL / name).read_text() == (EXPORTER_SQL / name).read_text()
