"""Where findings come from: the exact audit, the statistical detectors, and the watchdog.

Per environment:

``wrongful_discards`` (always ``page``)
    The audit proves drops that no survivor with the same key justifies, in the last
    ``audit_window``. Proof, not statistics: this is what pages on 7 May. Its evidence time is
    the latest such drop, so an incident resolves once drops stop, not once they leave the
    window.
``dedup_anomaly`` (``page`` or ``ticket``)
    Detectors see the dedup ratio misbehave in the last ``recent`` minutes; how loud that is,
    is the detectors' to say (:func:`toolkit.detect.severity.statistical_severity`).

For the whole feed (the watchdog; Prometheus's ``absent()`` and Watchdog alert):

``telemetry_absent`` (``ticket`` by default)
    The newest telemetry is older than ``max_silence``: silence from a dead feed must not read
    as "all is well".
``not_armed`` (``ticket`` by default)
    The detectors hold less history than they need (:data:`toolkit.detect.window.MIN_HISTORY`),
    so their silence means nothing yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from toolkit.alert.findings import ABSENT, ANOMALY, NOT_ARMED, PAGE, TICKET, WRONGFUL, Finding
from toolkit.detect.fitcache import StoreFitCache
from toolkit.detect.severity import statistical_severity
from toolkit.timefmt import iso_utc

if TYPE_CHECKING:
    from toolkit.detect.window import FitCache
    from toolkit.store import Store

__all__ = ["Observation", "SourceConfig", "store_findings"]

@dataclass(frozen=True, slots=True)
class SourceConfig:
    audit_window: timedelta = timedelta(hours=3)
    history: timedelta = timedelta(days=3)
    recent: timedelta = timedelta(minutes=10)
    detectors: tuple[str, ...] | None = None
    max_silence: timedelta = timedelta(minutes=15)
    watchdog_severity: str = TICKET


@dataclass(slots=True)
class Observation:
    """One run's view of the store: the findings, and the facts the incident state machine
    and the textfile need. ``newest_data_at`` is the start of the newest minute with telemetry
    at or before now (``None``: none at all); ``discards`` the times of the wrongful discards
    in the audit window per environment (for the counters); ``environments`` per environment
    ``(tenant, dedup ratio of the recent window or None, newest minute)``, gathered only when
    asked for; ``fresh`` whether the newest data is recent enough (``max_silence``) for quiet
    to mean something."""

    findings: list[Finding]
    newest_data_at: datetime | None = None
    fresh: bool = True
    discards: dict[str, tuple[str | None, list[datetime]]] = field(default_factory=dict)
    environments: dict[str, tuple[str | None, float | None, datetime | None]] = field(
        default_factory=dict)


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def audit_findings(
    store: Store, now: datetime, config: SourceConfig
) -> tuple[list[Finding], dict[str, tuple[str | None, list[datetime]]]]:
    """One ``wrongful_discards`` finding per environment with unjustified drops in the audit
    window (the audit's rule, read as records: the cron path builds no DataFrame)."""
    by_env: dict[str, list[dict]] = {}
    for record in store.unjustified_drop_records(now - config.audit_window, now):
        by_env.setdefault(record["environment"], []).append(record)
    findings = []
    times: dict[str, tuple[str | None, list[datetime]]] = {}
    for env in sorted(by_env):
        rows = by_env[env]
        stamps = [r["time"] for r in rows]
        first, last = min(stamps), max(stamps)
        tenant = next((str(r["tenant"]) for r in rows if r["tenant"] is not None), None)
        times[env] = (tenant, stamps)
        others = sorted({r["survivor_environment"] for r in rows
                         if r["survivor_environment"] is not None} - {env})
        folded = f", folded into jobs of {', '.join(others)}" if others else ""
        examples = [
            {"job_id": int(r["job_id"]), "entity": r["entity"], "schema": r["schema"],
             "survivor_job_id": None if r["survivor_job_id"] is None
             else int(r["survivor_job_id"]),
             "survivor_environment": r["survivor_environment"], "trace_id": r["trace_id"]}
            for r in rows[:3]]
        findings.append(Finding(
            WRONGFUL, env, PAGE,
            f"{len(rows)} jobs wrongly discarded in {env} in the last "
            f"{_span(config.audit_window)}{folded} "
            f"(first at {first:%H:%M}, latest at {last:%H:%M} UTC); the audit proves it "
            "from job logs",
            first,
            {"jobs": len(rows), "first": iso_utc(first), "latest": iso_utc(last),
             "examples": examples},
            evidence_at=last, tenant=tenant,
        ))
    return findings, times


def detector_findings(
    store: Store,
    now: datetime,
    config: SourceConfig,
    cache: FitCache | None = None,
) -> list[Finding]:
    """Findings from the detectors' events in the last ``config.recent`` minutes, from the
    one fit-then-detect function that ``toolkit detect`` and the report use; a ``not_armed``
    finding when the detectors lack the history they need."""
    from toolkit.detect.window import MIN_HISTORY, detect

    found = detect(store, now - config.recent, now, history=config.history,
                   detectors=config.detectors, cache=cache)
    findings = []
    if not found.armed:
        hours = found.history_minutes / 60
        findings.append(Finding(
            NOT_ARMED, "", config.watchdog_severity,
            f"the detectors have {hours:.1f} h of history before "
            f"{found.fitted_until:%Y-%m-%d %H:%M} UTC and need {_span(MIN_HISTORY)}: "
            "their silence means nothing yet",
            now, {"history_minutes": found.history_minutes,
                  "needed_minutes": int(MIN_HISTORY.total_seconds() // 60)}))
    by_env: dict[str, list] = {}
    for event in found.events:
        by_env.setdefault(event.environment, []).append(event)
    for env in sorted(by_env):
        events = by_env[env]
        names_seen = sorted({e.detector for e in events})
        severity = statistical_severity(events) or TICKET
        strongest = max(events, key=lambda e: (e.severity == PAGE, e.score))
        findings.append(Finding(
            ANOMALY, env, severity,
            f"dedup ratio anomalous in {env} ({', '.join(names_seen)}): "
            f"{strongest.explanation}",
            min(e.start for e in events),
            {"detectors": names_seen, "events": [e.to_dict() for e in events[:5]]},
            evidence_at=min(max(e.end for e in events), now),
        ))
    return findings


def watchdog_findings(newest: datetime | None, now: datetime, config: SourceConfig
                      ) -> list[Finding]:
    """``telemetry_absent`` when nothing newer than ``max_silence`` has arrived."""
    if newest is not None and now - newest <= config.max_silence:
        return []
    if newest is None:
        summary = "no telemetry at all in the store yet: is the Collector writing the spool?"
    else:
        age = now - newest
        summary = (f"no telemetry for {_span(age - age % timedelta(minutes=1))} (newest at "
                   f"{newest:%Y-%m-%d %H:%M} UTC; --max-silence {_span(config.max_silence)})")
    return [Finding(ABSENT, "", config.watchdog_severity, summary, newest or now,
                    {"newest_data_at": iso_utc(newest),
                     "max_silence_minutes": int(config.max_silence.total_seconds() // 60)})]


def _tenants(store: Store, findings: list[Finding]) -> list[Finding]:
    """Fill in the tenant of findings that lack it (the detectors know environments only)."""
    from dataclasses import replace

    wanted = sorted({f.environment for f in findings if f.environment and not f.tenant})
    if not wanted:
        return findings
    known = store.tenants_of(wanted)
    return [replace(f, tenant=known.get(f.environment)) if f.environment and not f.tenant
            else f for f in findings]


def store_findings(config: SourceConfig | None = None, *, environments: bool = False):
    """The finding source ``toolkit alert`` uses on a store; with ``environments`` it also
    gathers the per-environment figures of the Prometheus textfile."""
    config = config or SourceConfig()
    cache = StoreFitCache()

    def source(store: Store, previous: datetime | None, now: datetime) -> Observation:
        newest = store.newest_activity(now)
        findings = watchdog_findings(newest, now, config)
        discards: dict[str, tuple[str | None, list[datetime]]] = {}
        if newest is not None:
            audited, discards = audit_findings(store, now, config)
            findings += audited + detector_findings(store, now, config, cache.attach(store))
        fresh = newest is not None and now - newest <= config.max_silence
        stats = store.environment_stats(now - config.recent, now) if environments else {}
        return Observation(_tenants(store, findings), newest, fresh, discards, stats)

    return source
