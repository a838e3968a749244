"""The alert's state in a DuckDB store: the ``alert_*`` tables of ``schema.sql``.

Every function takes an open connection; :class:`toolkit.store.api.DuckDBStore` wraps each in
its lock, and :func:`record` in one transaction, so a run killed half-way leaves the state of
the run before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple
from datetime import datetime, timedelta
from typing import Any

import duckdb

from toolkit.store.alerting import AlertRecord, CounterRow, IncidentRow, MemberRow, OutboxItem

__all__ = ["counters", "last_run", "mark", "open_incidents", "outbox", "record", "watermarks"]

_INCIDENT_COLUMNS = ("incident, rule, status, severity, summary, opened_at, resolved_at, "
                     "last_evidence_at, notified_at, notified_environments, notifications, pages")
_MEMBER_COLUMNS = ("incident, rule, environment, tenant, severity, summary, first_seen_at, "
                   "last_seen_at, evidence_at, CAST(evidence AS VARCHAR)")


def last_run(con: duckdb.DuckDBPyConnection, before: datetime) -> datetime | None:
    return con.execute("SELECT max(ran_at) FROM alert_runs WHERE ran_at < ?",
                       [before]).fetchone()[0]


def open_incidents(con: duckdb.DuckDBPyConnection
                   ) -> tuple[list[IncidentRow], list[MemberRow]]:
    incidents = [IncidentRow(*r[:9], list(r[9]), *r[10:]) for r in con.execute(
        f"SELECT {_INCIDENT_COLUMNS} FROM alert_incidents WHERE status = 'firing' "
        "ORDER BY incident").fetchall()]
    members = [MemberRow(*r) for r in con.execute(
        f"SELECT {_MEMBER_COLUMNS} FROM alert_members WHERE incident IN "
        "(SELECT incident FROM alert_incidents WHERE status = 'firing') "
        "ORDER BY incident, rule, environment").fetchall()] if incidents else []
    return incidents, members


def watermarks(con: duckdb.DuckDBPyConnection) -> dict[str, datetime]:
    return dict(con.execute(
        "SELECT m.rule, max(m.evidence_at) FROM alert_members m JOIN alert_incidents i "
        "USING (incident) WHERE i.status = 'resolved' GROUP BY m.rule").fetchall())


def counters(con: duckdb.DuckDBPyConnection) -> list[CounterRow]:
    return [CounterRow(*r) for r in con.execute(
        "SELECT environment, tenant, wrongful_discards_total, counted_until "
        "FROM alert_counters ORDER BY environment").fetchall()]


def _upsert(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence[Any]]) -> None:
    """``INSERT OR REPLACE`` many rows in one statement (one per row costs milliseconds each)."""
    if not rows:
        return
    one = f"({', '.join('?' * len(rows[0]))})"
    con.execute(f"INSERT OR REPLACE INTO {table} VALUES {', '.join([one] * len(rows))}",
                [value for row in rows for value in row])


def record(con: duckdb.DuckDBPyConnection, run: AlertRecord) -> None:
    """Write one run's decisions (the caller holds the transaction)."""
    _upsert(con, "alert_incidents", [astuple(i) for i in run.incidents])
    _upsert(con, "alert_members", [astuple(m) for m in run.members])
    for t in run.transitions:
        con.execute("INSERT INTO alert_transitions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", astuple(t))
    for destination, payload in run.outbox:
        con.execute("INSERT INTO alert_outbox (created_at, destination, payload) "
                    "VALUES (?, ?, ?)", [run.ran_at, destination, payload])
    _upsert(con, "alert_counters", [astuple(c) for c in run.counters])
    con.execute("INSERT INTO alert_runs VALUES (?, ?, ?, ?)",
                [run.ran_at, run.data_until, run.firing, run.notified])


def outbox(con: duckdb.DuckDBPyConnection, destinations: Sequence[str]) -> list[OutboxItem]:
    if not destinations:
        return []
    return [OutboxItem(*r) for r in con.execute(
        "SELECT id, destination, CAST(payload AS VARCHAR) FROM alert_outbox "
        "WHERE delivered_at IS NULL AND list_contains(?, destination) ORDER BY id",
        [list(destinations)]).fetchall()]


def mark(con: duckdb.DuckDBPyConnection, delivered: Sequence[int], failed: dict[int, str],
         at: datetime) -> None:
    if delivered:
        con.execute("UPDATE alert_outbox SET delivered_at = ?, attempts = attempts + 1, "
                    "last_error = NULL WHERE list_contains(?, id)", [at, list(delivered)])
        con.execute("DELETE FROM alert_outbox WHERE destination LIKE 'alertmanager:%' "
                    "AND delivered_at IS NOT NULL AND created_at < ?",
                    [at - timedelta(days=1)])
    for id_, error in failed.items():
        con.execute("UPDATE alert_outbox SET attempts = attempts + 1, last_error = ? "
                    "WHERE id = ?", [error, id_])
