"""Report sections: small functions from :class:`ReportData` to blocks, in a registry.

Modelled on the Google SRE, PagerDuty and GitLab post-mortem templates. Machine-drafted
prose is marked as draft; what only people can write is a ``TODO(human)`` block. Everything
is written about the system, never about people.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from toolkit.report.blocks import Block, Heading, Paragraph, Table, Todo
from toolkit.report.data import ReportData

Section = Callable[[ReportData], list[Block]]

REAL_DETECTION = ("about a day: the change shipped on 6 May, customers reported around "
                  "12:00 CEST on 7 May")
"""What the 7 May 2024 post-mortem reports as its time to detect."""


def _t(ts: datetime | None) -> str:
    return "n/a" if ts is None else ts.strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(delta: timedelta | None) -> str:
    if delta is None:
        return "n/a"
    seconds = delta.total_seconds()
    if seconds < 600:
        return f"{seconds / 60:.1f} min"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _int(value: object) -> str:
    return "?" if value is None or value != value else str(int(value))  # NaN != NaN


def _ratio(dedup: float, offered: float) -> str:
    return "n/a" if not offered else f"{100 * dedup / offered:.1f}%"


def _mitigated_at(data: ReportData) -> datetime | None:
    """When the last component change inside the incident was deployed, else the last loss."""
    last = data.last_wrongful
    after = [t for t, _ in data.deployments if data.first_wrongful and t >= data.first_wrongful]
    return after[0] if after else last


def key_information(data: ReportData) -> list[Block]:
    start, end = data.first_wrongful, _mitigated_at(data)
    environments = sorted(set(data.rollup.environment)) if len(data.rollup) else []
    affected = data.affected
    detect = (data.first_alert - start) if data.first_alert and start else None
    rows = [
        ("Status", "Draft"),
        ("Window examined", f"{_t(data.since)} to {_t(data.until)}"),
        ("Impact start (first wrongful discard)", _t(start)),
        ("Impact end (mitigation)", _t(end)),
        ("Duration", _duration(end - start if start and end else None)),
        ("Environments affected", f"{len(affected)}: {', '.join(affected) or 'none'}"),
        ("Environments not affected",
         f"{len(set(environments) - set(affected))} of {len(environments)}"),
        ("Jobs wrongly discarded", len(data.wrongful)),
        ("Views left stale or missing", len(data.stale_views)),
        ("Views failed for good (visible failures)", len(data.failed_views)),
        ("Time to detect (first wrongful discard to first alert)", _duration(detect)),
        ("Time to detect on 7 May 2024, for comparison", REAL_DETECTION),
        ("Time to mitigate (first wrongful discard to fix)",
         _duration(end - start if start and end else None)),
        ("Figures from", "the audit (exact, from job logs)" if data.exact
         else "the detectors (statistical estimates)"),
    ]
    return [Heading("Key information"), Table(("Item", "Value"), rows)]


def summary(data: ReportData) -> list[Block]:
    if not data.found:
        return [Heading("Summary"), Paragraph(
            f"Nothing was found between {_t(data.since)} and {_t(data.until)}: no wrongful "
            "discard, no stale view, no detector event.", draft=True)]
    tenants = sorted({e.rsplit("-", 1)[0] for e in data.affected})
    text = (
        f"Between {_t(data.first_wrongful)} and {_t(_mitigated_at(data))} the deduplicator "
        f"discarded {len(data.wrongful)} processing jobs that no surviving job with the same key "
        f"justified, in {len(data.affected)} environments of {len(tenants)} tenants. "
        f"{len(data.stale_views)} views were left stale or missing. No error was logged: the "
        "discards were recorded as ordinary deduplications."
    )
    if data.first_alert:
        text += f" The toolkit alerted at {_t(data.first_alert)}."
    return [Heading("Summary"), Paragraph(text, draft=True)]


def timeline(data: ReportData) -> list[Block]:
    entries: list[tuple[datetime, str, str]] = []
    for t, change in data.deployments:
        entries.append((t, "deployment", f"component change deployed: {change}"))
    if len(data.events):
        first = data.events.sort_values("start").iloc[0]
        entries.append((first.start.to_pydatetime(), "detector",
                        f"first anomaly ({first.detector}): {first.explanation}"))
    if data.first_wrongful:
        w = data.wrongful.sort_values("time").iloc[0]
        entries.append((data.first_wrongful, "audit",
                        f"first wrongful discard: job {int(w.job_id)} in {w.environment} "
                        f"({w.entity} / {w.schema})"))
        entries.append((data.last_wrongful, "audit", "last wrongful discard"))
    if len(data.alerts):
        # One row per minute, transition and rule: a fleet-wide incident fires many at once.
        grouped = data.alerts.groupby(["occurred_at", "transition", "severity", "rule"],
                                      sort=True).environment.apply(sorted)
        for (at, transition, severity, rule), envs in grouped.items():
            entries.append((at.to_pydatetime(), "alert",
                            f"alert {transition} ({severity}) {rule}: {', '.join(envs)}"))
    for note in data.annotations:
        entries.append((note.time, "annotation", note.text))
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    rows = [(_t(t), kind, text) for t, kind, text in entries]
    return [Heading("Timeline (UTC)"), Table(("Time", "Source", "Event"), rows)]


def impact(data: ReportData) -> list[Block]:
    if data.rollup.empty:
        return [Heading("Impact"), Paragraph("No rollup data in the window.")]
    window = data.rollup.groupby(["environment", "tenant"], as_index=False)[
        ["offered", "deduplicated", "processed"]].sum()
    base = (data.baseline.groupby("environment")[["offered", "deduplicated"]].sum()
            if len(data.baseline) else None)
    lost = data.wrongful.groupby("environment").size() if len(data.wrongful) else {}
    stale = data.stale_views.groupby("environment").size() if len(data.stale_views) else {}
    rows = []
    for r in window.sort_values("environment").itertuples():
        b = base.loc[r.environment] if base is not None and r.environment in base.index else None
        rows.append((r.environment, r.tenant, int(r.offered), int(r.deduplicated),
                     _ratio(r.deduplicated, r.offered),
                     _ratio(b.deduplicated, b.offered) if b is not None else "n/a",
                     int(lost.get(r.environment, 0)), int(stale.get(r.environment, 0))))
    rows.sort(key=lambda r: (-r[6], r[0]))
    per_tenant: dict[str, list[int]] = {}
    for row in rows:
        t = per_tenant.setdefault(row[1], [0, 0, 0])
        t[0] += 1 if row[6] else 0
        t[1] += row[6]
        t[2] += row[7]
    tenant_rows = sorted(((k, *v) for k, v in per_tenant.items()), key=lambda r: (-r[2], r[0]))
    return [
        Heading("Impact"),
        Table(("Environment", "Tenant", "Jobs offered", "Deduplicated", "Dedup ratio",
               "Baseline ratio", "Wrongly discarded", "Views to regenerate"), rows,
              "Per environment, over the window examined"),
        Table(("Tenant", "Environments affected", "Wrongly discarded", "Views to regenerate"),
              tenant_rows, "Per tenant"),
    ]


def detection(data: ReportData) -> list[Block]:
    blocks: list[Block] = [Heading("Detection")]
    if len(data.events):
        firsts = (data.events.sort_values("start")
                  .groupby(["detector", "environment"], as_index=False).first()
                  .sort_values(["start", "detector", "environment"]).head(25))
        blocks.append(Table(
            ("First event", "Detector", "Environment", "Explanation"),
            [(_t(r.start.to_pydatetime()), r.detector, r.environment, r.explanation)
             for r in firsts.itertuples()],
            "First event of each detector on each environment (at most 25)"))
    else:
        blocks.append(Paragraph("No detector event in the window."))
    if len(data.rollup):
        hourly = data.rollup.assign(hour=data.rollup.minute.dt.floor("h")).groupby(
            ["environment", "hour"])[["offered", "deduplicated"]].sum()
        hourly = hourly[hourly.offered >= 20]
        if len(hourly):
            ratio = (hourly.deduplicated / hourly.offered).groupby("environment").max()
            top = ratio.sort_values(ascending=False).head(5)
            blocks.append(Paragraph(
                "On the dedup monitoring graph a person would have seen the hourly dedup "
                "ratio peak at " + "; ".join(f"{env} {100 * v:.0f}%" for env, v in top.items())
                + " (hours with at least 20 jobs).", draft=True))
    return blocks


def evidence(data: ReportData) -> list[Block]:
    if data.wrongful.empty:
        return [Heading("Evidence"), Paragraph("The audit found no wrongful discard.")]
    sample = data.wrongful.sort_values(["time", "job_id"]).groupby("environment").head(1)
    sample = sample.sort_values(["time", "job_id"]).head(8)
    rows = []
    for r in sample.itertuples():
        differs = [k for k in ("tenant", "environment", "source", "entity", "schema")
                   if getattr(r, k) != getattr(r, f"survivor_{k}")]
        rows.append((
            _t(r.time.to_pydatetime()),
            f"job {int(r.job_id)}: {r.environment} / {r.source} / {r.entity} / {r.schema} "
            f"v{int(r.version)}",
            f"job {_int(r.survivor_job_id)}: {r.survivor_environment} / {r.survivor_source} / "
            f"{r.survivor_entity} / {r.survivor_schema} v{_int(r.survivor_version)} "
            f"({r.survivor_state})",
            ", ".join(differs) or r.detail,
            f"{r.trace_id} / {r.survivor_trace_id}",
        ))
    return [
        Heading("Evidence"),
        Paragraph("Each row is a discarded job beside the job it was folded into. A justified "
                  "drop has the identical key, a pending survivor and a version not older; "
                  "these differ in the key components shown."),
        Table(("Time", "Discarded job", "Survivor", "Differs in", "Trace ids (job / survivor)"),
              rows, "First wrongful discard in each affected environment (at most 8)"),
    ]


def remediation(data: ReportData) -> list[Block]:
    blocks: list[Block] = [Heading("Remediation")]
    if data.stale_views.empty:
        return [*blocks, Paragraph("No view needs regenerating.")]
    views = data.stale_views
    per_env = views.groupby(["environment", "source", "schema"], as_index=False).size()
    counts = data.entity_counts.set_index(["environment", "source"])["entities"] \
        if len(data.entity_counts) else None
    rows = []
    for r in per_env.sort_values(["environment", "source", "schema"]).itertuples():
        cost = (int(counts.loc[(r.environment, r.source)])
                if counts is not None and (r.environment, r.source) in counts.index else "n/a")
        rows.append((r.environment, r.source, r.schema, int(r.size), cost))
    blocks += [
        Paragraph(
            f"{len(views)} views must be regenerated; the exact list is in remediation.csv "
            "(environment, source, entity, schema, latest version, rendered version). "
            "Re-ingesting the affected source entities does nothing where their content is "
            "unchanged: the ingest is skipped as unchanged and creates no job."),
        Table(("Environment", "Source", "Schema", "Views to regenerate",
               "Jobs if the schema is redeployed"), rows,
              f"The smallest set of schema deployments that regenerates every view: "
              f"{len(rows)} deployments (one per environment, source and schema affected)"),
    ]
    return blocks


def action_items(data: ReportData) -> list[Block]:
    items = [
        ("Regenerate the views listed in remediation.csv", "", ""),
        ("Keep the multi-environment deduplication test in the release checks", "", ""),
        ("Page on audit violations (wrongful discards), not only on error logs", "", ""),
    ]
    return [Heading("Action items"), Table(("Action", "Owner", "Ticket"), items)]


def human(data: ReportData) -> list[Block]:
    blocks: list[Block] = []
    for title, prompt in (
        ("Root cause", "Why did the change make the deduplicator treat jobs of different "
         "environments as duplicates? Describe the mechanism, not the people."),
        ("Lessons learned", "What went well, what went wrong, where we got lucky."),
    ):
        blocks.append(Heading(title))
        text = data.human_sections.get(title)
        blocks.append(Paragraph(text) if text else Todo(title, prompt))
    for title, text in data.human_sections.items():
        if title not in ("Root cause", "Lessons learned"):
            blocks += [Heading(title), Paragraph(text)]
    return blocks


SECTIONS: dict[str, Section] = {
    "key_information": key_information,
    "summary": summary,
    "timeline": timeline,
    "impact": impact,
    "detection": detection,
    "evidence": evidence,
    "remediation": remediation,
    "action_items": action_items,
    "human": human,
}
