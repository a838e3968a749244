"""Where findings come from: the exact audit and the statistical detectors, over the store.

Two rules per environment:

``wrongful_discards`` (always ``page``)
    The audit proves drops that no survivor with the same key justifies, in the last
    ``audit_window``. Proof, not statistics: this is what pages on 7 May. The window is hours
    long so that an environment losing a job every now and then stays one firing alert
    instead of flapping between fired and resolved.
``dedup_anomaly`` (``page`` or ``ticket``)
    Detectors see the dedup ratio misbehave in the last ``recent`` minutes. It pages only when
    the yield check says output is lost *and* another detector agrees; a legitimate surge
    (bulk re-ingest, schema deployment, auto-save bursts) keeps output normal and is a ticket.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from toolkit.alert.findings import PAGE, TICKET, Finding
from toolkit.alert.runner import FindingSource
from toolkit.detect.audit import Window, unjustified_drop
from toolkit.errors import BadInput

YIELD_DETECTOR = "yield"


@dataclass(frozen=True, slots=True)
class SourceConfig:
    audit_window: timedelta = timedelta(hours=3)
    history: timedelta = timedelta(days=3)
    recent: timedelta = timedelta(minutes=10)
    detectors: tuple[str, ...] | None = None


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def audit_findings(
    con: duckdb.DuckDBPyConnection, now: datetime, config: SourceConfig
) -> list[Finding]:
    drops = unjustified_drop(con, Window(now - config.audit_window, now))
    findings = []
    for env, rows in drops.groupby("environment", sort=True):
        first = rows.time.min().to_pydatetime()
        others = sorted(set(rows.survivor_environment.dropna()) - {env})
        folded = f", folded into jobs of {', '.join(others)}" if others else ""
        sample = rows.head(3)
        findings.append(Finding(
            "wrongful_discards", env, PAGE,
            f"{len(rows)} jobs wrongly discarded in the last "
            f"{_span(config.audit_window)}{folded} "
            f"(first at {first:%H:%M} UTC); the audit proves it from job logs",
            first,
            {"jobs": len(rows), "first": first.isoformat(),
             "examples": [{"job_id": int(r.job_id), "entity": r.entity, "schema": r.schema,
                           "survivor_job_id": None if pd.isna(r.survivor_job_id)
                           else int(r.survivor_job_id),
                           "survivor_environment": r.survivor_environment,
                           "trace_id": r.trace_id} for r in sample.itertuples()]},
        ))
    return findings


def detector_findings(
    con: duckdb.DuckDBPyConnection,
    now: datetime,
    config: SourceConfig,
    fitted: dict[datetime, list[Any]] | None = None,
) -> list[Finding]:
    """Findings from the detectors, fitted on ``config.history`` before the frame they need.

    ``fitted`` caches fits by the hour their history ends in, so a process that alerts minute
    after minute (a replay) refits hourly; a cron run is a fresh process and fits once.
    """
    from toolkit.detect import available_detectors, fit_detectors, make_detector, run_detectors

    names = list(config.detectors or available_detectors())
    lookback = max(make_detector(n).lookback for n in names)
    frame_start = now - timedelta(minutes=lookback)
    hour = frame_start.replace(minute=0, second=0, microsecond=0)
    detectors = None if fitted is None else fitted.get(hour)
    if detectors is None:
        detectors = _stored_fit(con, hour, names)
    if detectors is None:
        history = con.execute(
            "SELECT * FROM env_minute WHERE minute >= ? AND minute < ? "
            "ORDER BY minute, environment", [hour - config.history, hour]).df()
        if history.empty:
            return []
        detectors = fit_detectors(history, names)
        _store_fit(con, hour, names, detectors)
    if fitted is not None:
        fitted.clear()
        fitted[hour] = detectors
    frame = con.execute(
        "SELECT * FROM env_minute WHERE minute >= ? AND minute < ? ORDER BY minute, environment",
        [frame_start, now]).df()
    if frame.empty:
        return []
    events = run_detectors(detectors, frame, since=now - config.recent)
    findings = []
    by_env: dict[str, list] = {}
    for event in events:
        by_env.setdefault(event.environment, []).append(event)
    for env in sorted(by_env):
        found = by_env[env]
        names_seen = sorted({e.detector for e in found})
        lost = any(e.detector == YIELD_DETECTOR and e.severity == PAGE for e in found)
        severity = PAGE if lost and len(names_seen) >= 2 else TICKET
        strongest = max(found, key=lambda e: (e.severity == PAGE, e.score))
        findings.append(Finding(
            "dedup_anomaly", env, severity,
            f"dedup ratio anomalous ({', '.join(names_seen)}): {strongest.explanation}",
            min(e.start for e in found).to_pydatetime(),
            {"detectors": names_seen, "events": [e.to_dict() for e in found[:5]]},
        ))
    return findings


_FITS_DDL = """CREATE TABLE IF NOT EXISTS alert_fits (
    hour TIMESTAMP NOT NULL, detectors VARCHAR NOT NULL, fitted BLOB NOT NULL,
    PRIMARY KEY (hour, detectors))"""


def _stored_fit(con: duckdb.DuckDBPyConnection, hour: datetime, names: list[str]
                ) -> list[Any] | None:
    """The detectors fitted for ``hour`` by an earlier cron run, if any.

    Refitting three days of history every minute is most of a cold run's cost, and the fit
    only changes when the history window moves to the next hour. The cache is advisory: an
    unreadable entry (another library version) is simply refitted.
    """
    con.execute(_FITS_DDL)
    row = con.execute("SELECT fitted FROM alert_fits WHERE hour = ? AND detectors = ?",
                      [hour, ",".join(names)]).fetchone()
    if row is None:
        return None
    try:
        return pickle.loads(row[0])
    except Exception:
        return None


def _store_fit(con: duckdb.DuckDBPyConnection, hour: datetime, names: list[str],
               detectors: list[Any]) -> None:
    con.execute(_FITS_DDL)
    con.execute("DELETE FROM alert_fits WHERE hour < ?", [hour - timedelta(days=1)])
    con.execute("INSERT OR REPLACE INTO alert_fits VALUES (?, ?, ?)",
                [hour, ",".join(names), pickle.dumps(detectors)])


def store_findings(config: SourceConfig | None = None) -> FindingSource:
    """The finding source ``toolkit alert`` uses on a store."""
    config = config or SourceConfig()
    fitted: dict[datetime, list[Any]] = {}

    def source(con: duckdb.DuckDBPyConnection, previous: datetime | None,
               now: datetime) -> list[Finding]:
        latest = con.execute("SELECT max(minute) FROM env_minute").fetchone()[0]
        if latest is None:
            raise BadInput("the store holds no rollup data yet: load or simulate telemetry first")
        return [*audit_findings(con, now, config), *detector_findings(con, now, config, fitted)]

    return source
