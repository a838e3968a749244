"""The ClickHouse backend against the DuckDB store, in embedded ClickHouse (chdb).

The Collector's tables are created from the exporter's own DDL in the shared folder. The
samples are loaded into them and into a DuckDB store from the same files by the command line,
and every verb (``load``, ``audit``, ``detect``, ``alert`` over cron minutes with a webhook,
``report``) must print the same on both; then the rollup, the exact audit, the detectors and
the reads must agree through the Python API. Rows written by hand in the exporter's shape
(with and without the ``EventName`` column) must read as the same facts.

chdb runs one embedded server per process, and a path open in one process cannot be opened in
another. So the command-line tests come first in this file and open nothing themselves (each
step is a process of its own, as cron's would be, run on both stores at once); the tests
after them open the same path in this process, once the command lines are done (``pair``
depends on ``stores``), and share one load of the samples.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.shared import shared_dir
from toolkit.detect.audit import Window, audit
from toolkit.detect.window import detect
from toolkit.errors import BadInput
from toolkit.store import (
    AlertRecord,
    CounterRow,
    IncidentRow,
    MemberRow,
    Store,
    TransitionRow,
)
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


#: The exporter's DDL run as plain SQL, in a process of its own (the shared files create
#: database ``otel``, which ``chdb:PATH`` reads by default).
_CREATE = """
import sys
from pathlib import Path
from toolkit.store.clickhouse.connection import connect
con = connect("chdb:" + sys.argv[1] + "?database=default")
con.command("CREATE DATABASE IF NOT EXISTS otel")
for name in ("otel_logs.sql", "otel_traces.sql"):
    con.command((Path(sys.argv[2]) / name).read_text())
con.close()
"""

#: Cron minutes on 7 May: quiet before the damage, the page at 09:00, the same incident
#: firing at 09:30 (nothing new to say), and at 18:00 a reminder and a silent feed's ticket.
MINUTES = ("2024-05-07T06:00", "2024-05-07T09:00", "2024-05-07T09:30", "2024-05-07T18:00")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TOOLKIT_DB"}
    env["PYTHONPATH"] = str(REPO)
    return env


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "toolkit.cli", *args], cwd=REPO,
                            env=_env(), text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate()
    return process.returncode, out, err


def _both(*args: str, dbs: tuple[str, str]) -> tuple[tuple[int, str, str], ...]:
    """Run one command line on both stores at once: ``(exit code, stdout, stderr)`` each."""
    running = [_start(*args, "--db", db) for db in dbs]
    return tuple(_finish(p) for p in running)


def _one(*args: str) -> tuple[int, str, str]:
    return _finish(_start(*args))


class _Hook(BaseHTTPRequestHandler):
    """A webhook that refuses its first POST (503) and records every body."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.bodies.append(body)  # type: ignore[attr-defined]
        self.send_response(503 if len(self.server.bodies) == 1 else 200)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def hooks() -> Iterator[tuple[ThreadingHTTPServer, ThreadingHTTPServer]]:
    servers = tuple(ThreadingHTTPServer(("127.0.0.1", 0), _Hook) for _ in range(2))
    for server in servers:
        server.bodies = []  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield servers  # type: ignore[misc]
    for server in servers:
        server.shutdown()


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[tuple[str, str], tuple]:
    """``((chdb address, DuckDB file), (load results))``: may7 loaded into each by the CLI."""
    folder = tmp_path_factory.mktemp("chcli")
    path = folder / "ch"
    subprocess.run([sys.executable, "-c", _CREATE, str(path), str(EXPORTER_SQL)], check=True,
                   cwd=REPO, env=_env())
    dbs = (f"chdb:{path}", str(folder / "may7.duckdb"))
    return dbs, _both("load", str(MAY7), "--json", dbs=dbs)


def test_load_writes_the_same_records(stores):
    _, ((ch_code, ch_out, ch_err), (duck_code, duck_out, _)) = stores
    assert (ch_code, duck_code) == (0, 0), ch_err
    assert json.loads(ch_out) == json.loads(duck_out) == {
        "files": 2, "loaded": 184755, "spans": 63597, "logs": 121158, "duplicates": 0,
        "rejected": 0}


def test_audit_json_equals_duckdb(stores):
    dbs, _ = stores
    (ch_code, ch_out, ch_err), (duck_code, duck_out, _) = _both("audit", "--json", dbs=dbs)
    assert (ch_code, duck_code) == (0, 0), ch_err
    got = json.loads(ch_out)
    assert got == json.loads(duck_out)
    assert got["wrongful_discards"] > 0 and got["violations"]


def test_detect_json_equals_duckdb(stores):
    dbs, _ = stores
    (ch_code, ch_out, ch_err), (duck_code, duck_out, _) = _both(
        "detect", "--json", "--since", "2024-05-07T06:00", "--until", "2024-05-07T18:00",
        dbs=dbs)
    assert (ch_code, duck_code) == (0, 0), ch_err
    assert json.loads(ch_out) == json.loads(duck_out) != []


@pytest.fixture(scope="module")
def alerts(stores, hooks) -> list[tuple[tuple[int, str, str], ...]]:
    """``toolkit alert`` at each of :data:`MINUTES` on both stores, each posting to its own
    webhook (which refuses the first delivery, so the next run delivers it again)."""
    dbs, _ = stores
    runs = []
    for minute in MINUTES:
        running = [_start("alert", "--now", minute, "--json", "--db", db, "--webhook",
                          f"http://127.0.0.1:{hook.server_address[1]}/hook", "--retries", "0")
                   for db, hook in zip(dbs, hooks, strict=True)]
        runs.append(tuple(_finish(p) for p in running))
    return runs


def test_alert_decisions_equal_duckdb_minute_by_minute(alerts, hooks):
    pages = []
    for minute, ((ch_code, ch_out, ch_err), (duck_code, duck_out, _)) in zip(
            MINUTES, alerts, strict=True):
        assert ch_code == duck_code, (minute, ch_err)
        got, want = json.loads(ch_out), json.loads(duck_out)
        for run, hook in zip((got, want), hooks, strict=True):  # each posts to its own port
            url = f"http://127.0.0.1:{hook.server_address[1]}/hook"
            run["delivery_errors"] = {k.replace(url, "URL"): v
                                      for k, v in run["delivery_errors"].items()}
        assert got == want, minute
        pages += [(minute, n["incident"], n["transition"]) for n in got["notifications"]
                  if n["level"] == "page"]
    assert [code for (code, _, _), _ in alerts] == [0, 1, 1, 1]
    assert pages == [("2024-05-07T09:00", "wrongful_discards-20240507T0900", "opened"),
                     ("2024-05-07T18:00", "wrongful_discards-20240507T0900", "reminded")]
    first = json.loads(alerts[1][0][1])
    assert first["delivered"] == 0
    assert [e.split(" (")[0] for e in first["delivery_errors"].values()] == ["HTTP 503"]
    # The refused page is delivered again by the next run that has something to deliver,
    # and both webhooks received the same bodies in the same order.
    ch_bodies, duck_bodies = (hook.bodies for hook in hooks)  # type: ignore[attr-defined]
    assert ch_bodies == duck_bodies
    assert [(b["incident"], b["transition"]) for b in ch_bodies] == [
        ("wrongful_discards-20240507T0900", "opened"),
        ("wrongful_discards-20240507T0900", "opened"),
        ("telemetry_absent-20240507T1800", "opened"),
        ("wrongful_discards-20240507T0900", "reminded"),
    ]


def test_report_equals_duckdb(stores, alerts, tmp_path):
    dbs, _ = stores
    outs = [tmp_path / "ch", tmp_path / "duck"]
    running = [_start("report", "--incident", "auto", "--json", "--db", db, "--out", str(out))
               for db, out in zip(dbs, outs, strict=True)]
    results = [_finish(p) for p in running]
    assert [code for code, _, _ in results] == [0, 0], results[0][2]
    got, want = (json.loads(out) for _, out, _ in results)
    assert got["found"] and Path(got["markdown"]).name == Path(want["markdown"]).name
    text = Path(got["markdown"]).read_text()
    assert text == Path(want["markdown"]).read_text()
    assert "2024-05-07 09:00:00 UTC" in text  # the alert's page, read back from ClickHouse


# -- one line and exit 2 ---------------------------------------------------------------------


def _one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2 and out == "" and err.count("\n") == 1, (code, out, err)
    assert "Traceback" not in err and "secret" not in err
    return err


@pytest.mark.parametrize(("db", "needle"), [
    ("clickhouse://toolkit:secret@host:port/otel", "the port is not a number"),
    ("clickhouse://toolkit:secret@host:8123", "no database"),
    ("chdb:", "no path after chdb:"),
    ("clickhouse://toolkit:secret@127.0.0.1:1/otel", "cannot reach ClickHouse"),
])
def test_bad_or_unreachable_addresses_are_one_line_errors(db, needle):
    err = _one_line_error(*_one("audit", "--db", db))
    assert needle in err and err.startswith("toolkit audit: error: ")


def test_missing_tables_and_spool_are_one_line_errors(tmp_path):
    empty = tmp_path / "empty"
    err = _one_line_error(*_one("detect", "--db", f"chdb:{empty}"))
    assert "no such store" in err
    err = _one_line_error(*_one("load", str(MAY7), "--db", f"chdb:{empty}"))
    assert "no table otel.otel_logs" in err
    (tmp_path / "spool").mkdir()
    err = _one_line_error(*_one("load", "--spool", str(tmp_path / "spool"), "--db",
                                f"chdb:{empty}"))
    assert "a ClickHouse store has no spool" in err


# -- the Python API, in this process, on the path the command lines loaded ---------------------


@pytest.fixture(scope="module")
def chdb_path(stores) -> str:
    (ch, _), _ = stores
    return ch[len("chdb:"):]


@pytest.fixture(scope="module")
def admin(chdb_path: str) -> Iterator[Connection]:
    con = connect(f"chdb:{chdb_path}?database=default")
    yield con
    con.close()


@pytest.fixture(scope="module")
def pair(stores, admin: Connection) -> Iterator[tuple[ClickHouseStore, Store]]:
    """may7 as the command line loaded it into the Collector's tables (ClickHouse) and into
    a DuckDB store."""
    (ch_db, duck_db), _ = stores
    with Store.open(ch_db) as ch, Store.open(duck_db) as duck:
        assert isinstance(ch, ClickHouseStore)
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
    got, want = audit(ch, window), audit(duck, window)
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


# -- the alert's state: kept the same, and a run killed half-way is never half-read -------------


def _record(at: datetime, status: str = "firing", *, outbox: int = 2) -> AlertRecord:
    """One run's decisions: an incident of two members, its transition, payloads, a counter."""
    resolved = at if status == "resolved" else None
    return AlertRecord(
        ran_at=at, data_until=at - timedelta(minutes=1), firing=int(status == "firing"),
        notified=1,
        incidents=[IncidentRow("wrongful_discards-1", "wrongful_discards", status, "page",
                               "jobs wrongly discarded", datetime(2024, 5, 7, 9), resolved,
                               at - timedelta(minutes=2), at, ["b-prod", "a-prod"], 2, 1)],
        members=[MemberRow("wrongful_discards-1", "wrongful_discards", env, tenant, "page",
                           f"drops in {env}", datetime(2024, 5, 7, 9, n), at,
                           at - timedelta(minutes=n), json.dumps({"jobs": n}))
                 for n, (env, tenant) in enumerate([("b-prod", "b"), ("a-prod", None)])],
        transitions=[TransitionRow(at, "wrongful_discards-1", "wrongful_discards",
                                   "opened" if status == "firing" else "resolved", "page",
                                   "page", ["b-prod", "a-prod"], "jobs wrongly discarded")],
        outbox=[("generic:http://hook", json.dumps({"n": n, "at": str(at)}))
                for n in range(outbox)],
        counters=[CounterRow("b-prod", "b", 3, at)],
    )


def _alert_state(store: Store) -> tuple:
    """What the alert and the report read back (the frames as text: ``NaT != NaT``)."""
    return (store.alert_open_incidents(), store.alert_watermarks(), store.alert_counters(),
            store.alert_outbox(["generic:http://hook"]), store.alert_last_run(datetime.max),
            store.incidents().to_csv(index=False), store.alert_transitions().to_csv(index=False))


def test_alert_state_reads_back_the_same_from_both_backends(pair):
    first, later = datetime(2030, 1, 1, 10), datetime(2030, 1, 1, 11)
    states = []
    for store in pair:
        store.record_alert_run(_record(first))
        ids = [item.id for item in store.alert_outbox(["generic:http://hook"])][-2:]
        store.mark_delivered(ids[:1], {ids[1]: "HTTP 503"}, first)
        store.record_alert_run(_record(later, "resolved", outbox=0))
        state = _alert_state(store)
        assert state[4] == later
        assert "wrongful_discards-1" not in {i.incident for i in state[0][0]}
        assert state[1]["wrongful_discards"] >= later - timedelta(minutes=1)
        assert [i.payload for i in state[3]][-1] == json.dumps({"n": 1, "at": str(first)})
        row = store.incidents().set_index("incident").loc["wrongful_discards-1"]
        assert (row.status, row.environments) == ("resolved", ["b-prod", "a-prod"])
        pd.testing.assert_frame_equal(store.incidents(), pair[0].incidents())
        states.append(state)
    got, want = states
    assert got[:3] == want[:3] and got[4:] == want[4:]
    assert [(i.destination, i.payload) for i in got[3]] == [
        (i.destination, i.payload) for i in want[3]]
    for store in pair:
        store.put_detector_fit(first, "a,b", '{"fit": 1}', forget_before=first)
        store.put_detector_fit(first, "a,b", '{"fit": 2}', forget_before=first)
    assert [s.detector_fit(first, "a,b") for s in pair] == ['{"fit": 2}'] * 2
    assert [s.detector_fit(first, "c") for s in pair] == [None, None]


class _Killed(Exception):
    pass


class _DiesBeforeTheRunRow:
    """A connection whose process dies (once armed) just before a run's row is written."""

    def __init__(self, con: Connection) -> None:
        self._con, self.armed = con, False
        self.target = con.target

    def arrow(self, sql, params=None):
        return self._con.arrow(sql, params)

    def command(self, sql):
        self._con.command(sql)

    def insert(self, table, rows):
        if self.armed and table.endswith("toolkit_alert_runs"):
            raise _Killed
        self._con.insert(table, rows)

    def close(self):
        self._con.close()


def test_a_run_killed_half_way_is_ignored_and_the_next_run_repairs(chdb_path, admin):
    create_tables(admin, "killed")
    con = _DiesBeforeTheRunRow(connect(f"chdb:{chdb_path}?database=killed"))
    store = ClickHouseStore(con, read_only=False)  # type: ignore[arg-type]
    try:
        store.record_alert_run(_record(datetime(2030, 1, 1, 10)))
        before = _alert_state(store)
        con.armed = True
        with pytest.raises(_Killed):
            store.record_alert_run(_record(datetime(2030, 1, 1, 11), "resolved", outbox=3))
        assert _alert_state(store) == before  # every row it wrote is there, and ignored
        con.armed = False
        store.record_alert_run(_record(datetime(2030, 1, 1, 12), "resolved", outbox=1))
        ids = [item.id for item in store.alert_outbox(["generic:http://hook"])]
        assert ids == [1, 2, 6]  # the dead run's 3, 4, 5 are never handed out again
        assert store.alert_open_incidents() == ([], [])
        assert store.alert_transitions().transition.tolist() == ["opened", "resolved"]
    finally:
        store.close()


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
        result = audit(store)
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
