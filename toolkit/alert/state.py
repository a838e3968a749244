"""Alert state in the store's DuckDB file: incidents, their members, transitions, the outbox.

Tables (part of the store's versioned schema, ``toolkit/store/schema.sql``):

* ``alert_incidents``: one row per incident (one cause), firing or resolved;
* ``alert_members``: one row per (rule, environment) that joined an incident, with its latest
  finding;
* ``alert_transitions``: every notified change (opened, updated, escalated, reminded,
  resolved), which the post-mortem report reads for its timeline (``Store.alert_transitions``);
* ``alert_outbox``: every payload to deliver, per destination, until delivered: a webhook
  that is down loses nothing, the next run retries;
* ``alert_runs`` and ``alert_counters``: one row per run, and the wrongful discards counted
  per environment for the Prometheus textfile.

Every function here takes an open connection: the runner decides when the store is open.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import duckdb

from toolkit.alert.incidents import Incident, Member
from toolkit.alert.reconcile import Transition

__all__ = [
    "add_counts",
    "counters",
    "enqueue",
    "load_open",
    "mark",
    "pending",
    "record_run",
    "record_transition",
    "save",
    "watermarks",
]

_INCIDENT_COLUMNS = ("incident, rule, status, severity, opened_at, last_evidence_at, "
                     "notified_at, resolved_at, notified_environments, notifications, pages")


def load_open(con: duckdb.DuckDBPyConnection) -> list[Incident]:
    """The firing incidents, with their members."""
    rows = con.execute(f"SELECT {_INCIDENT_COLUMNS} FROM alert_incidents "
                       "WHERE status = 'firing' ORDER BY incident").fetchall()
    incidents = {r[0]: Incident(*r[:8], list(r[8]), r[9], r[10]) for r in rows}
    if not incidents:
        return []
    members = con.execute(
        "SELECT incident, rule, environment, tenant, severity, summary, first_seen_at, "
        "last_seen_at, evidence_at, evidence FROM alert_members WHERE incident IN "
        "(SELECT incident FROM alert_incidents WHERE status = 'firing')").fetchall()
    for m in members:
        member = Member(*m[1:9], json.loads(m[9]) if m[9] else {})
        incidents[m[0]].members[member.identity] = member
    return list(incidents.values())


def watermarks(con: duckdb.DuckDBPyConnection) -> dict[str, datetime]:
    """Per rule, the newest evidence already accounted for by a resolved incident."""
    rows = con.execute(
        "SELECT m.rule, max(m.evidence_at) FROM alert_members m JOIN alert_incidents i "
        "USING (incident) WHERE i.status = 'resolved' GROUP BY m.rule").fetchall()
    return dict(rows)


def _upsert(con: duckdb.DuckDBPyConnection, table: str, rows: list[list[Any]]) -> None:
    """``INSERT OR REPLACE`` many rows in one statement (one per row costs milliseconds each)."""
    if not rows:
        return
    one = f"({', '.join('?' * len(rows[0]))})"
    con.execute(f"INSERT OR REPLACE INTO {table} VALUES {', '.join([one] * len(rows))}",
                [value for row in rows for value in row])


def save(con: duckdb.DuckDBPyConnection, incidents: list[Incident]) -> None:
    """Insert or replace each incident and its members."""
    _upsert(con, "alert_incidents", [
        [i.id, i.rule, i.status, i.severity, i.summary, i.opened_at, i.resolved_at,
         i.last_evidence_at, i.notified_at, i.notified_environments, i.notifications, i.pages]
        for i in incidents])
    _upsert(con, "alert_members", [
        [i.id, m.rule, m.environment, m.tenant, m.severity, m.summary, m.first_seen_at,
         m.last_seen_at, m.evidence_at, json.dumps(m.evidence, sort_keys=True, default=str)]
        for i in incidents for m in i.members.values()])


def record_transition(con: duckdb.DuckDBPyConnection, t: Transition) -> None:
    i = t.incident
    con.execute("INSERT INTO alert_transitions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [t.at, i.id, i.rule, t.kind, t.level, i.severity, i.environments, i.summary])


def record_run(con: duckdb.DuckDBPyConnection, now: datetime, data_until: datetime | None,
               firing: int, notified: int) -> None:
    con.execute("INSERT INTO alert_runs VALUES (?, ?, ?, ?)", [now, data_until, firing, notified])


def enqueue(con: duckdb.DuckDBPyConnection, at: datetime, destination: str, payload: Any) -> None:
    con.execute("INSERT INTO alert_outbox (created_at, destination, payload) VALUES (?, ?, ?)",
                [at, destination, json.dumps(payload, sort_keys=True, default=str)])


def pending(con: duckdb.DuckDBPyConnection, destinations: list[str]
            ) -> dict[str, list[tuple[int, Any]]]:
    """Undelivered payloads per destination, oldest first."""
    out: dict[str, list[tuple[int, Any]]] = {d: [] for d in destinations}
    if not destinations:
        return out
    rows = con.execute(
        "SELECT destination, id, payload FROM alert_outbox WHERE delivered_at IS NULL "
        "AND list_contains(?, destination) ORDER BY id", [destinations]).fetchall()
    for destination, id_, payload in rows:
        out[destination].append((id_, json.loads(payload)))
    return out


def mark(con: duckdb.DuckDBPyConnection, delivered: list[int], failed: dict[int, str],
         at: datetime) -> None:
    """Record what was delivered and what failed (and why), in one go. Alertmanager gets a
    snapshot on every run; delivered snapshots older than a day are history nobody needs."""
    if delivered:
        con.execute("UPDATE alert_outbox SET delivered_at = ?, attempts = attempts + 1, "
                    "last_error = NULL WHERE list_contains(?, id)", [at, delivered])
        con.execute("DELETE FROM alert_outbox WHERE destination LIKE 'alertmanager:%' "
                    "AND delivered_at IS NOT NULL AND created_at < ?",
                    [at - timedelta(days=1)])
    for id_, error in failed.items():
        con.execute("UPDATE alert_outbox SET attempts = attempts + 1, last_error = ? "
                    "WHERE id = ?", [error, id_])


def counters(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str | None, int, datetime]]:
    """Per environment: tenant, wrongful discards counted so far, and up to when."""
    rows = con.execute("SELECT environment, tenant, wrongful_discards_total, counted_until "
                       "FROM alert_counters").fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def add_counts(con: duckdb.DuckDBPyConnection,
               rows: list[tuple[str, str | None, int, datetime]]) -> None:
    """Set ``(environment, tenant, total, counted_until)`` rows."""
    _upsert(con, "alert_counters", [list(row) for row in rows])
