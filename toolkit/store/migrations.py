"""Steps that bring an older store up to the current schema version, in place.

Each step takes a store of version ``n`` to ``n + 1`` inside the caller's transaction, so a
migration that fails leaves the store as it was. Steps never touch telemetry rows: they add
tables, move bookkeeping, and drop what the toolkit no longer trusts.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

__all__ = ["migrate"]


_V1_ALERT_TABLES = ("alert_state", "alert_history", "alert_outbox")

_V1_ALERTS = """
CREATE TEMP TABLE v1_incident AS
SELECT incident AS old, CASE WHEN status = 'firing'
       THEN rule || '-' || strftime(min(fired_at) OVER (PARTITION BY rule, status),
                                    '%Y%m%dT%H%M')
       ELSE incident END AS new
FROM alert_state_v1;

INSERT INTO alert_incidents
SELECT m.new, any_value(s.rule), any_value(s.status),
       CASE WHEN bool_or(s.severity = 'page') THEN 'page' ELSE 'ticket' END,
       any_value(s.summary), min(s.fired_at), max(s.resolved_at), max(s.last_seen_at),
       max(s.last_sent_at), list(s.environment ORDER BY s.fired_at, s.environment),
       (SELECT count(*) FROM alert_history_v1 h JOIN v1_incident x ON x.old = h.incident
        WHERE x.new = m.new),
       (SELECT count(*) FROM alert_history_v1 h JOIN v1_incident x ON x.old = h.incident
        WHERE x.new = m.new AND h.severity = 'page' AND h.transition <> 'resolved')
FROM alert_state_v1 s JOIN v1_incident m ON m.old = s.incident
GROUP BY m.new;

INSERT INTO alert_members
SELECT m.new, s.rule, s.environment, NULL, s.severity, s.summary, s.fired_at, s.last_seen_at,
       s.last_seen_at, s.evidence
FROM alert_state_v1 s JOIN v1_incident m ON m.old = s.incident;

INSERT INTO alert_transitions
SELECT h.occurred_at, coalesce(m.new, h.incident), h.rule,
       CASE h.transition WHEN 'fired' THEN 'opened' ELSE h.transition END,
       CASE WHEN h.transition = 'resolved' THEN 'resolved' ELSE h.severity END,
       h.severity, [h.environment], h.summary
FROM alert_history_v1 h LEFT JOIN v1_incident m ON m.old = h.incident;

-- Undelivered version-1 notifications become the body version 1 would have posted;
-- Alertmanager's are dropped, as version 2 re-sends every firing alert on every run.
INSERT INTO alert_outbox (id, created_at, destination, payload, attempts, delivered_at,
                          last_error)
SELECT id, created_at, destination,
       CASE WHEN destination LIKE 'slack:%' THEN json_object('text', replace(replace(replace(
                '[' || CASE notification->>'transition' WHEN 'fired' THEN 'FIRING'
                       WHEN 'escalated' THEN 'ESCALATED' WHEN 'reminded' THEN 'STILL FIRING'
                       ELSE 'RESOLVED' END || '] ' || (notification->>'severity') || ' '
                || (notification->>'rule') || ' ' || (notification->>'environment') || ': '
                || (notification->>'summary'), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'))
            ELSE json_object('version', '1', 'notifications', json_array(notification)) END,
       attempts, delivered_at, last_error
FROM alert_outbox_v1
WHERE NOT (destination LIKE 'alertmanager:%' AND delivered_at IS NULL);

DROP TABLE v1_incident;
"""


def _v1_to_v2(con: duckdb.DuckDBPyConnection, ddl: str) -> None:
    """Version 2 versions the alert tables and turns version 1's alerts (one per rule and
    environment, created by ``toolkit alert`` on first use) into incidents (one per cause:
    the firing alerts of one rule become one incident listing their environments), adds the
    spool cursors and a JSON detector-fit cache, and drops version 1's pickled fit cache:
    loading a pickle from a file other processes write can run arbitrary code."""
    con.execute("DROP TABLE IF EXISTS alert_fits")
    existing = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main'").fetchall()}
    old = [t for t in _V1_ALERT_TABLES if t in existing]
    for table in old:
        con.execute(f"ALTER TABLE {table} RENAME TO {table}_v1")
    con.execute(ddl)
    if len(old) == len(_V1_ALERT_TABLES):  # version 1 made all three on first use
        con.execute(_V1_ALERTS)
    for table in old:
        con.execute(f"DROP TABLE {table}_v1")


_STEPS: dict[int, Callable[[duckdb.DuckDBPyConnection, str], None]] = {1: _v1_to_v2}


def migrate(con: duckdb.DuckDBPyConnection, found: int, target: int, ddl: str) -> None:
    """Run every step from version ``found`` to ``target``; ``ddl`` is the whole schema of
    ``target`` (``CREATE ... IF NOT EXISTS`` throughout), which steps use to add tables."""
    for version in range(found, target):
        _STEPS[version](con, ddl)
