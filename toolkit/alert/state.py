"""Alert state, history and outbox, kept in the store's DuckDB file.

Tables (created on first use, owned by this module):

* ``alert_state``: one row per alert identity (rule, environment): firing or resolved, the
  incident it belongs to, when it was first fired, last seen, last notified;
* ``alert_history``: every transition (fired, escalated, reminded, resolved), which the
  post-mortem report reads for its timeline;
* ``alert_outbox``: every notification to deliver, per destination, until delivered; a webhook
  that is down does not lose anything, the next run retries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

DDL = """
CREATE TABLE IF NOT EXISTS alert_state (
    rule VARCHAR NOT NULL,
    environment VARCHAR NOT NULL,
    incident VARCHAR NOT NULL,
    status VARCHAR NOT NULL,          -- firing | resolved
    severity VARCHAR NOT NULL,        -- page | ticket
    summary VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,    -- when the finding says the problem began
    fired_at TIMESTAMP NOT NULL,      -- when this incident was first notified
    last_seen_at TIMESTAMP NOT NULL,  -- last run that still found it
    last_sent_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    evidence JSON,
    PRIMARY KEY (rule, environment)
);
CREATE TABLE IF NOT EXISTS alert_history (
    occurred_at TIMESTAMP NOT NULL,
    rule VARCHAR NOT NULL,
    environment VARCHAR NOT NULL,
    incident VARCHAR NOT NULL,
    transition VARCHAR NOT NULL,      -- fired | escalated | reminded | resolved
    severity VARCHAR NOT NULL,
    summary VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS alert_outbox_id;
CREATE TABLE IF NOT EXISTS alert_outbox (
    id BIGINT PRIMARY KEY DEFAULT nextval('alert_outbox_id'),
    created_at TIMESTAMP NOT NULL,
    destination VARCHAR NOT NULL,
    notification JSON NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at TIMESTAMP,
    last_error VARCHAR
);
CREATE TABLE IF NOT EXISTS alert_runs (
    ran_at TIMESTAMP NOT NULL,
    data_until TIMESTAMP,
    firing INTEGER NOT NULL,
    notified INTEGER NOT NULL
);
"""


@dataclass(slots=True)
class AlertRecord:
    """One row of ``alert_state``."""

    rule: str
    environment: str
    incident: str
    status: str
    severity: str
    summary: str
    started_at: datetime
    fired_at: datetime
    last_seen_at: datetime
    last_sent_at: datetime
    resolved_at: datetime | None
    evidence: dict[str, Any]

    @property
    def identity(self) -> tuple[str, str]:
        return self.rule, self.environment


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def load_state(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], AlertRecord]:
    rows = con.execute(
        "SELECT rule, environment, incident, status, severity, summary, started_at, fired_at, "
        "last_seen_at, last_sent_at, resolved_at, evidence FROM alert_state"
    ).fetchall()
    out = {}
    for row in rows:
        record = AlertRecord(*row[:11], json.loads(row[11]) if row[11] else {})
        out[record.identity] = record
    return out


def save_state(con: duckdb.DuckDBPyConnection, records: list[AlertRecord]) -> None:
    for r in records:
        con.execute(
            "INSERT OR REPLACE INTO alert_state VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [r.rule, r.environment, r.incident, r.status, r.severity, r.summary, r.started_at,
             r.fired_at, r.last_seen_at, r.last_sent_at, r.resolved_at,
             json.dumps(r.evidence, sort_keys=True, default=str)],
        )


def record_history(
    con: duckdb.DuckDBPyConnection, at: datetime, record: AlertRecord, transition: str
) -> None:
    con.execute(
        "INSERT INTO alert_history VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [at, record.rule, record.environment, record.incident, transition, record.severity,
         record.summary, record.started_at],
    )


def enqueue(
    con: duckdb.DuckDBPyConnection, at: datetime, destination: str, notification: dict[str, Any]
) -> None:
    con.execute(
        "INSERT INTO alert_outbox (created_at, destination, notification) VALUES (?, ?, ?)",
        [at, destination, json.dumps(notification, sort_keys=True, default=str)],
    )


def undelivered(
    con: duckdb.DuckDBPyConnection, destination: str
) -> list[tuple[int, dict[str, Any]]]:
    rows = con.execute(
        "SELECT id, notification FROM alert_outbox WHERE destination = ? "
        "AND delivered_at IS NULL ORDER BY id", [destination],
    ).fetchall()
    return [(row[0], json.loads(row[1])) for row in rows]


def mark(
    con: duckdb.DuckDBPyConnection, ids: list[int], at: datetime, error: str | None
) -> None:
    if not ids:
        return
    placeholders = ", ".join("?" * len(ids))
    if error is None:
        con.execute(
            f"UPDATE alert_outbox SET delivered_at = ?, attempts = attempts + 1, "
            f"last_error = NULL WHERE id IN ({placeholders})", [at, *ids],
        )
    else:
        con.execute(
            f"UPDATE alert_outbox SET attempts = attempts + 1, last_error = ? "
            f"WHERE id IN ({placeholders})", [error, *ids],
        )
