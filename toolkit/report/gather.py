"""Gather a report's inputs from the store: the window, the audit, detectors, alerts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from toolkit.detect.audit import Window, audit
from toolkit.errors import BadInput
from toolkit.report.data import Annotation, ReportData

if TYPE_CHECKING:
    from toolkit.store import Store

PAD = timedelta(hours=1)


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()[0])


def data_range(con: duckdb.DuckDBPyConnection) -> tuple[datetime, datetime]:
    """First and last minute in the rollup (the whole store)."""
    lo, hi = con.execute("SELECT min(minute), max(minute) FROM env_minute").fetchone()
    if lo is None:
        raise BadInput("the store holds no rollup data: simulate or load telemetry first")
    return lo, hi + timedelta(minutes=1)


def incident_window(store: Store) -> tuple[datetime, datetime] | None:
    """The incident's window from the alert history (page alerts fired to resolved), widened
    to the audit's first and last wrongful discard; ``None`` when nothing was found."""
    con = store.connection
    times: list[datetime] = []
    if _has_table(con, "alert_history"):
        row = con.execute(
            "SELECT min(occurred_at) FILTER (WHERE transition = 'fired'), max(occurred_at) "
            "FROM alert_history WHERE severity = 'page'").fetchone()
        times += [t for t in row if t is not None]
    drops = audit(store, rules=["unjustified_drop"]).wrongful_discards
    if len(drops):
        times += [drops.time.min().to_pydatetime(), drops.time.max().to_pydatetime()]
    if not times:
        return None
    lo, hi = data_range(con)
    return max(lo, min(times) - PAD), min(hi, max(times) + PAD)


def load_annotations(path: str | Path) -> tuple[str | None, list[Annotation], dict[str, str]]:
    """Read a YAML or JSON annotations file: ``title``, ``timeline`` (list of ``time`` and
    ``text``) and ``sections`` (title -> text). Errors name the file and the entry."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read annotations ({exc.strerror})") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            doc: Any = yaml.safe_load(text)
        else:
            doc = json.loads(text)
    except Exception as exc:  # the parser's own message names line and column
        raise BadInput(f"{path}: not valid {path.suffix.lstrip('.') or 'JSON'}: "
                       f"{str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise BadInput(f"{path}: expected a mapping with title, timeline and sections")
    notes = []
    for i, entry in enumerate(doc.get("timeline") or [], start=1):
        if not isinstance(entry, dict) or "time" not in entry or "text" not in entry:
            raise BadInput(f"{path}: timeline entry {i} needs 'time' and 'text'")
        try:
            ts = pd.Timestamp(entry["time"])
        except (ValueError, TypeError):
            raise BadInput(f"{path}: timeline entry {i}: bad time {entry['time']!r}") from None
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        notes.append(Annotation(ts.to_pydatetime(), str(entry["text"])))
    sections = doc.get("sections") or {}
    if not isinstance(sections, dict):
        raise BadInput(f"{path}: 'sections' must map a title to its text")
    title = doc.get("title")
    return (str(title) if title else None), notes, {str(k): str(v) for k, v in sections.items()}


def gather(
    store: Store,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    incident_auto: bool = False,
    annotations: str | Path | None = None,
    baseline: timedelta = timedelta(days=3),
) -> ReportData:
    """Collect everything the sections need for ``[since, until)``."""
    from toolkit.detect import events_to_frame
    from toolkit.detect.window import detect

    con = store.connection
    lo, hi = data_range(con)
    if incident_auto:
        window = incident_window(store)
        since, until = window if window else (lo, hi)
    since, until = since or lo, until or hi
    if until <= since:
        raise BadInput(f"--until {until} is not after --since {since}")
    rollup = con.execute(
        "SELECT * FROM env_minute WHERE minute >= ? AND minute < ? ORDER BY minute, environment",
        [since, until]).df()
    history = con.execute(
        "SELECT * FROM env_minute WHERE minute >= ? AND minute < ? ORDER BY minute, environment",
        [since - baseline, since]).df()
    # Views to regenerate are judged at the end of the data, not of the window: a view left
    # stale in the window but re-rendered later needs nothing.
    result = audit(store, Window(since, until), views_as_of_end=True)
    events = pd.DataFrame(columns=["environment", "start", "end", "score", "detector",
                                   "explanation", "severity"])
    found = detect(store, since, until, history=baseline).events
    if found:
        events = events_to_frame(found)
    alerts = pd.DataFrame(columns=["occurred_at", "rule", "environment", "transition",
                                   "severity", "summary"])
    if _has_table(con, "alert_history"):
        alerts = con.execute(
            "SELECT occurred_at, rule, environment, transition, severity, summary "
            "FROM alert_history WHERE occurred_at >= ? AND occurred_at < ? "
            "ORDER BY occurred_at, rule, environment", [since, until]).df()
    deployments = [tuple(r) for r in con.execute(
        "SELECT time, deployment_change FROM logs WHERE event_name = 'engine.deployment' "
        "AND time >= ? AND time < ? ORDER BY time", [since, until]).fetchall()]
    entity_counts = con.execute(
        "SELECT environment, source, count(DISTINCT entity) AS entities FROM logs "
        "WHERE event_name IN ('entity.ingested', 'job.skipped_unchanged') AND time < ? "
        "GROUP BY ALL", [until]).df()
    title, notes, sections = (load_annotations(annotations) if annotations
                              else (None, [], {}))
    return ReportData(
        since=since, until=until, wrongful=result.wrongful_discards.reset_index(drop=True),
        stale_views=result.stale_views, failed_views=result.failed_views, rollup=rollup,
        baseline=history, events=events, alerts=alerts, deployments=deployments,
        entity_counts=entity_counts, annotations=notes, human_sections=sections, title=title,
    )
