"""Alert state, history and outbox, kept in the store's DuckDB file.

Tables (part of the store's versioned schema, ``toolkit/store/schema.sql``):

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
