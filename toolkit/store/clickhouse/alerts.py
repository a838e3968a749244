"""The alert's state and the detector fits in ClickHouse (``toolkit_alert_*``,
``toolkit_detector_fits``; schema.sql).

ClickHouse runs no transaction across statements, so a run's decisions cannot be written all
or nothing the way the DuckDB store writes them. Instead every row a run writes carries the
run's ``run_id``, and the run's row in ``toolkit_alert_runs`` is written last: readers take
only rows of runs that have that row (:func:`committed`). A run killed half-way therefore
leaves rows nobody reads, and the next run decides from the state of the last complete run,
as if the killed one had never happened (its outbox ids are skipped, never reused). Changes
are new versions of a key, never updates: the current incident, member, outbox item or
counter is the newest committed version. Marking deliveries is one ``INSERT ... SELECT`` of
new versions of committed items, atomic on its own. All of this relies on one writer at a
time, which the alert's ``flock`` on the cron host gives (docs/scale.md).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import astuple, fields
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from toolkit.store.alerting import (
    AlertRecord,
    CounterRow,
    IncidentRow,
    MemberRow,
    OutboxItem,
    TransitionRow,
)
from toolkit.store.clickhouse.connection import Connection
from toolkit.store.clickhouse.sql import Tables, in_list, literal, quote

__all__ = [
    "counters",
    "detector_fit",
    "incidents",
    "last_run",
    "mark",
    "open_incidents",
    "outbox",
    "put_detector_fit",
    "record",
    "transitions",
    "watermarks",
]

_TIME = pa.timestamp("us")
_TEXT_LIST = pa.list_(pa.string())
_TYPES: dict[str, pa.DataType] = {
    "run_id": pa.string(), "version": pa.uint64(), "seq": pa.uint64(), "id": pa.int64(),
    "notified_environments": _TEXT_LIST, "environments": _TEXT_LIST,
    "notifications": pa.int32(), "pages": pa.int32(), "attempts": pa.int32(),
    "firing": pa.int32(), "notified": pa.int32(), "wrongful_discards_total": pa.int64(),
}


def _type(name: str) -> pa.DataType:
    if name in _TYPES:
        return _TYPES[name]
    return _TIME if name.endswith(("_at", "_until")) else pa.string()


def _insert(con: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
            ) -> None:
    if not rows:
        return
    con.insert(table, pa.table({name: pa.array([r[i] for r in rows], type=_type(name))
                                for i, name in enumerate(columns)}))


def _naive(value: Any) -> Any:
    return value.replace(tzinfo=None) if isinstance(value, datetime) else value


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    return [tuple(_naive(v) for v in row.values()) for row in table.to_pylist()]


def committed(t: Tables) -> str:
    """The condition that a row belongs to a run that finished writing."""
    return f"run_id IN (SELECT run_id FROM {t.table('alert_runs')})"


def current(t: Tables, name: str, key: str) -> str:
    """The newest committed version of each ``key`` of ``toolkit_{name}``, as a subquery."""
    return (f"(SELECT * FROM {t.table(name)} WHERE {committed(t)} "
            f"ORDER BY version DESC LIMIT 1 BY {key})")


def _names(row_type: type) -> list[str]:
    return [f.name for f in fields(row_type)]


def last_run(con: Connection, t: Tables, before: datetime) -> datetime | None:
    table = con.arrow(f"SELECT maxOrNull(ran_at) AS r FROM {t.table('alert_runs')} "
                      f"WHERE ran_at < {literal(before)}")
    return _naive(table.column("r")[0].as_py()) if table.num_rows else None


def open_incidents(con: Connection, t: Tables) -> tuple[list[IncidentRow], list[MemberRow]]:
    incidents = current(t, "alert_incidents", "incident")
    found = [IncidentRow(*r) for r in _rows(con.arrow(
        f"SELECT {', '.join(_names(IncidentRow))} FROM {incidents} "
        "WHERE status = 'firing' ORDER BY incident"))]
    if not found:
        return [], []
    members = [MemberRow(*r) for r in _rows(con.arrow(
        f"SELECT {', '.join(_names(MemberRow))} "
        f"FROM {current(t, 'alert_members', 'incident, rule, environment')} "
        f"WHERE incident IN {in_list(i.incident for i in found)} "
        "ORDER BY incident, rule, environment"))]
    return found, members


def watermarks(con: Connection, t: Tables) -> dict[str, datetime]:
    table = con.arrow(f"""
        SELECT m.rule AS rule, max(m.evidence_at) AS newest
        FROM {current(t, 'alert_members', 'incident, rule, environment')} AS m
        INNER JOIN {current(t, 'alert_incidents', 'incident')} AS i ON i.incident = m.incident
        WHERE i.status = 'resolved' GROUP BY m.rule""")
    return {rule: _naive(newest) for rule, newest in _rows(table)}


def counters(con: Connection, t: Tables) -> list[CounterRow]:
    return [CounterRow(*r) for r in _rows(con.arrow(
        f"SELECT {', '.join(_names(CounterRow))} "
        f"FROM {current(t, 'alert_counters', 'environment')} ORDER BY environment"))]


def record(con: Connection, t: Tables, run: AlertRecord) -> None:
    """Write one run's rows, then its run row, which makes them count."""
    run_id, version = uuid.uuid4().hex, time.time_ns()
    head = [run_id, version]
    _insert(con, t.table("alert_incidents"), ["run_id", "version", *_names(IncidentRow)],
            [head + list(astuple(i)) for i in run.incidents])
    _insert(con, t.table("alert_members"), ["run_id", "version", *_names(MemberRow)],
            [head + list(astuple(m)) for m in run.members])
    _insert(con, t.table("alert_transitions"), ["run_id", "seq", *_names(TransitionRow)],
            [[run_id, version + n, *astuple(x)] for n, x in enumerate(run.transitions)])
    if run.outbox:
        top = con.arrow(f"SELECT max(id) AS top FROM {t.table('alert_outbox')}")
        first = (top.column("top")[0].as_py() or 0) + 1 if top.num_rows else 1
        _insert(con, t.table("alert_outbox"),
                ["run_id", "version", "id", "created_at", "destination", "payload", "attempts",
                 "delivered_at", "last_error"],
                [[*head, first + n, run.ran_at, destination, payload, 0, None, None]
                 for n, (destination, payload) in enumerate(run.outbox)])
    _insert(con, t.table("alert_counters"), ["run_id", "version", *_names(CounterRow)],
            [head + list(astuple(c)) for c in run.counters])
    _insert(con, t.table("alert_runs"),
            ["run_id", "ran_at", "data_until", "firing", "notified"],
            [[run_id, run.ran_at, run.data_until, run.firing, run.notified]])


def outbox(con: Connection, t: Tables, destinations: Sequence[str]) -> list[OutboxItem]:
    if not destinations:
        return []
    return [OutboxItem(*r) for r in _rows(con.arrow(
        f"SELECT id, destination, payload FROM {current(t, 'alert_outbox', 'id')} "
        f"WHERE delivered_at IS NULL AND destination IN {in_list(destinations)} ORDER BY id"))]


def mark(con: Connection, t: Tables, delivered: Sequence[int], failed: dict[int, str],
         at: datetime) -> None:
    """New versions of the items delivered or failed, in one statement; then forget the
    delivered Alertmanager snapshots older than a day."""
    ids = [*delivered, *failed]
    if not ids:
        return
    done = in_list(delivered)
    errors = (f"transform(id, [{', '.join(str(int(i)) for i in failed)}], "
              f"[{', '.join(quote(e) for e in failed.values())}], '')") if failed else "''"
    outbox_table = t.table("alert_outbox")
    con.command(f"""
        INSERT INTO {outbox_table} (run_id, version, id, created_at, destination, payload,
                                    attempts, delivered_at, last_error)
        SELECT run_id, {time.time_ns()}, id, created_at, destination, payload, attempts + 1,
               if(id IN {done}, {literal(at)}, delivered_at),
               if(id IN {done}, NULL, {errors})
        FROM {current(t, 'alert_outbox', 'id')} WHERE id IN {in_list(ids)}""")
    if delivered:
        stale = con.arrow(f"""
            SELECT id FROM {current(t, 'alert_outbox', 'id')}
            WHERE destination LIKE 'alertmanager:%' AND delivered_at IS NOT NULL
              AND created_at < {literal(at - timedelta(days=1))}""").column("id").to_pylist()
        if stale:
            con.command(f"DELETE FROM {outbox_table} WHERE id IN {in_list(stale)}")


def incidents(t: Tables, since: datetime | None, until: datetime | None) -> str:
    """The query of :meth:`toolkit.store.Store.incidents`."""
    where = []
    if until is not None:
        where.append(f"i.opened_at < {literal(until)}")
    if since is not None:
        where.append(f"(i.resolved_at IS NULL OR i.resolved_at >= {literal(since)})")
    return f"""
        SELECT i.incident AS incident, i.rule AS rule, i.severity AS severity,
               i.status AS status, i.opened_at AS opened_at, i.resolved_at AS resolved_at,
               coalesce(e.envs, CAST([] AS Array(String))) AS environments,
               i.notifications AS notifications, i.pages AS pages, i.summary AS summary
        FROM {current(t, 'alert_incidents', 'incident')} AS i
        LEFT JOIN (
            SELECT incident, arrayMap(x -> x.2, arraySort(groupArray((joined, environment))))
                   AS envs
            FROM (SELECT incident, environment, min(first_seen_at) AS joined
                  FROM {current(t, 'alert_members', 'incident, rule, environment')}
                  WHERE environment != '' GROUP BY incident, environment)
            GROUP BY incident) AS e ON e.incident = i.incident
        {'WHERE ' + ' AND '.join(where) if where else ''}
        ORDER BY opened_at, incident"""


def transitions(t: Tables, since: datetime | None, until: datetime | None) -> str:
    """The query of :meth:`toolkit.store.Store.alert_transitions`."""
    where = [committed(t)]
    if since is not None:
        where.append(f"occurred_at >= {literal(since)}")
    if until is not None:
        where.append(f"occurred_at < {literal(until)}")
    return (f"SELECT occurred_at, incident, transition, severity, environments, summary "
            f"FROM {t.table('alert_transitions')} WHERE {' AND '.join(where)} "
            "ORDER BY occurred_at, incident, seq")


def detector_fit(con: Connection, t: Tables, hour: datetime, detectors: str) -> str | None:
    table = con.arrow(f"SELECT argMax(fitted, version) AS fitted, count() AS n "
                      f"FROM {t.table('detector_fits')} WHERE hour = {literal(hour)} "
                      f"AND detectors = {quote(detectors)}")
    return table.column("fitted")[0].as_py() if table.column("n")[0].as_py() else None


def put_detector_fit(con: Connection, t: Tables, hour: datetime, detectors: str, fitted: str,
                     forget_before: datetime) -> None:
    """Keep a fit (a newer version of the key wins), then forget fits of older hours."""
    fits = t.table("detector_fits")
    con.command(f"INSERT INTO {fits} (hour, detectors, fitted, version) VALUES "
                f"({literal(hour)}, {quote(detectors)}, {quote(fitted)}, {time.time_ns()})")
    old = con.arrow(f"SELECT count() AS n FROM {fits} WHERE hour < {literal(forget_before)}")
    if old.column("n")[0].as_py():
        con.command(f"DELETE FROM {fits} WHERE hour < {literal(forget_before)}")
