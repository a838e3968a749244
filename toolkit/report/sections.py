"""Report sections: small functions from :class:`ReportData` to blocks, in a registry.

The order is a real post-mortem's (Google SRE book, PagerDuty, incident.io): summary, impact,
trigger, detection, response and recovery, root cause, timeline, action items, lessons
learned, then the appendices. Every section starts with what a person wrote in the
annotations file (``human``), then what the machine drafted from the store (marked as a
draft); what only people can write and nobody has yet is a ``TODO(human)`` naming the
annotation field that fills it. Everything is written about the system, never about people,
and nothing here knows about any particular incident.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from toolkit.report.blocks import Block, Paragraph, Table, Todo
from toolkit.report.data import ReportData
from toolkit.report.rootcause import draft_root_cause
from toolkit.report.timeline import curate

__all__ = ["APPENDICES", "SECTIONS", "Section", "duration", "when"]

Section = Callable[[ReportData], list[Block]]


def when(ts: datetime | None) -> str:
    return "n/a" if ts is None else ts.strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(delta: timedelta | None) -> str:
    """A span people read: ``4.5 min``, ``95 min``, ``31 h 29 min``."""
    if delta is None:
        return "n/a"
    seconds = delta.total_seconds()
    if seconds < 600:
        return f"{seconds / 60:.1f} min"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _after(ts: datetime | None, start: datetime | None) -> str:
    if ts is None:
        return "never"
    if start is None:
        return when(ts)
    if ts < start:
        return f"{when(ts)} ({duration(start - ts)} before the first wrongful discard)"
    return f"{when(ts)} ({duration(ts - start)} after the first wrongful discard)"


def _ratio(dedup: float, offered: float) -> str:
    return "n/a" if not offered else f"{100 * dedup / offered:.1f}%"


def _human(data: ReportData, field: str) -> list[Block]:
    text = data.annotations.text(field)
    return [Paragraph(text, human=True)] if text else []


def _end(data: ReportData) -> datetime | None:
    """When the damage stopped: the fix if one was deployed, else the last loss."""
    return data.fix or data.last_wrongful


def glance(data: ReportData) -> str:
    """The first screen's one paragraph: what broke, for whom, for how long."""
    if not data.found:
        return (f"Nothing was found between {when(data.since)} and {when(data.until)}: no "
                "wrongful discard, no stale view, no detector event.")
    start, end = data.first_wrongful, _end(data)
    if start is None:
        return (f"No job was proven lost between {when(data.since)} and {when(data.until)}; "
                f"the detectors raised {len(data.events)} events in "
                f"{data.events.environment.nunique()} environments (statistical, unproven).")
    return (f"{len(data.wrongful):,} jobs wrongly discarded in {len(data.affected)} "
            f"environments of {len(data.affected_tenants)} tenants "
            f"({', '.join(data.affected_tenants)}), from {when(start)} to {when(end)} "
            f"({duration(end - start) if end else 'n/a'}); {len(data.stale_views):,} views "
            "left stale are still to regenerate.")


def summary(data: ReportData) -> list[Block]:
    blocks = _human(data, "summary")
    if not data.found:
        return [*blocks, Paragraph(glance(data), draft=True)]
    text = glance(data) + (" No error was logged: the discards were recorded as ordinary "
                           "deduplications." if len(data.wrongful) else "")
    if data.first_alert:
        text += f" The toolkit alerted at {when(data.first_alert)}."
    return [*blocks, Paragraph(text, draft=True)]


def impact(data: ReportData) -> list[Block]:
    blocks = _human(data, "impact")
    if data.rollup.empty:
        return [*blocks, Paragraph("No rollup data in the window.")]
    tenant_of = data.tenant_of
    lost = data.wrongful.groupby("environment").size() if len(data.wrongful) else {}
    stale = data.stale_views.groupby("environment").size() if len(data.stale_views) else {}
    per_tenant: dict[str, list[int]] = {}
    for env in data.affected:
        row = per_tenant.setdefault(tenant_of.get(env, "?"), [0, 0, 0])
        row[0] += 1
        row[1] += int(lost.get(env, 0))
        row[2] += int(stale.get(env, 0))
    start, end = data.first_wrongful, _end(data)
    if start is not None:
        blocks.append(Paragraph(
            f"Customers of {len(per_tenant)} tenants missed view updates: "
            f"{len(data.stale_views):,} views in {len(data.affected)} environments were left "
            f"stale or missing from {when(start)} until regenerated (damage stopped by "
            f"{when(end)}, {duration(end - start) if end else 'n/a'} after it began). "
            f"{len(data.failed_views):,} further views failed visibly (given up after "
            "retries) and are not counted as silent losses.", draft=True))
    blocks.append(Table(("Tenant", "Environments affected", "Jobs wrongly discarded",
                         "Views to regenerate"),
                        sorted(((t, *v) for t, v in per_tenant.items()),
                               key=lambda r: (-r[2], r[0])), "Per tenant"))
    window = data.rollup.groupby("environment")[["offered", "deduplicated"]].sum()
    base = data.baseline.groupby("environment")[["offered", "deduplicated"]].sum() \
        if len(data.baseline) else None
    rows = []
    for env in data.affected:
        w = window.loc[env] if env in window.index else None
        b = base.loc[env] if base is not None and env in base.index else None
        rows.append((env, tenant_of.get(env, "?"), int(lost.get(env, 0)),
                     int(stale.get(env, 0)),
                     _ratio(w.deduplicated, w.offered) if w is not None else "n/a",
                     _ratio(b.deduplicated, b.offered) if b is not None else "n/a"))
    rows.sort(key=lambda r: (-r[2], r[0]))
    unaffected = len(set(window.index) - set(data.affected))
    blocks.append(Table(("Environment", "Tenant", "Jobs wrongly discarded",
                         "Views to regenerate", "Dedup ratio in the window",
                         "Dedup ratio before"), rows,
                        f"Per environment affected ({unaffected} other environments with "
                        "traffic in the window lost nothing)"))
    return blocks


def trigger(data: ReportData) -> list[Block]:
    blocks = _human(data, "trigger")
    changes = data.change_before
    if len(changes):
        listed = "; ".join(f"'{r.change}'" + (f" in {r.environment}" if r.environment else "")
                           + f" at {when(r.time.to_pydatetime())}"
                           for r in changes.itertuples())
        blocks.append(Paragraph(f"The last change deployed before the first wrongful discard "
                                f"(all those within the hour before it): {listed}.",
                                draft=True))
    elif data.found:
        blocks.append(Paragraph("No deployment record in the day before the first wrongful "
                                "discard (or the first anomaly).", draft=True))
    if not blocks:
        blocks.append(Todo("Trigger", "What set the incident off? (annotation 'trigger')"))
    return blocks


def detection(data: ReportData) -> list[Block]:
    blocks = _human(data, "detection")
    start = data.first_wrongful
    rows = [
        ("First wrongful discard (audit, exact)", when(start)),
        ("First detector event (statistical)", _after(data.first_anomaly, start)),
        ("First alert (incident opened)", _after(data.first_alert, start)),
        ("First page", _after(data.first_page, start)),
    ]
    blocks.append(Table(("What noticed", "When"), rows,
                        "Time to detect, against the first wrongful discard"))
    if not data.detectors_armed:
        blocks.append(Paragraph("The detectors had less than a day of history before the "
                                "window: their silence means little.", draft=True))
    if len(data.events):
        per = data.events.groupby("detector").agg(
            events=("environment", "size"), environments=("environment", "nunique"),
            first=("start", "min"), pages=("severity", lambda s: int((s == "page").sum())))
        blocks.append(Table(
            ("Detector", "Events", "Environments", "Of them pages", "First event"),
            [(name, int(r.events), int(r.environments), int(r.pages),
              when(r.first.to_pydatetime())) for name, r in per.sort_values("first").iterrows()],
            "Detector events in the window (the same as toolkit detect gives for this window)"))
    else:
        blocks.append(Paragraph("No detector event in the window."))
    return blocks


def response(data: ReportData) -> list[Block]:
    blocks = _human(data, "response")
    rows = []
    if data.fix:
        rows.append(("First deployment after the last wrongful discard (likely fix)",
                     when(data.fix)))
    rows.append(("Last wrongful discard", when(data.last_wrongful)))
    resolved = data.incidents.resolved_at.dropna() if len(data.incidents) else []
    if len(resolved):
        rows.append(("Last incident resolved", when(resolved.max().to_pydatetime())))
    firing = data.incidents[data.incidents.status == "firing"] if len(data.incidents) else []
    if len(firing):
        rows.append(("Incidents still firing", str(len(firing))))
    rows.append(("Views to regenerate (remediation.csv)", f"{len(data.stale_views):,}"))
    blocks.append(Table(("Step", "Value"), rows, "Recovery, from the store"))
    if not data.annotations.text("response"):
        blocks.append(Todo("Response and recovery", "Who did what to stop the damage and "
                           "restore the views? (annotation 'response')"))
    return blocks


def root_cause(data: ReportData) -> list[Block]:
    blocks = _human(data, "root_cause")
    cause = draft_root_cause(data)
    label = ("Hypothesis drafted from the evidence, for a person to confirm: "
             if cause.found else "Drafted from the evidence: ")
    sentences = cause.sentences()
    blocks.append(Paragraph(label + sentences[0] + "\n\n" + "\n\n".join(sentences[1:]),
                            draft=True))
    return blocks


def timeline(data: ReportData) -> list[Block]:
    rows = [(when(t), source, text) for t, source, text in curate(data)]
    return [Table(("Time (UTC)", "Source", "Event"), rows)]


def action_items(data: ReportData) -> list[Block]:
    rows = [(a.action, a.type, a.priority, a.owner, a.ticket)
            for a in data.annotations.action_items]
    suggested = []
    if len(data.stale_views):
        suggested.append((f"Regenerate the {len(data.stale_views):,} views listed in "
                          "remediation.csv", "mitigate"))
    cause = draft_root_cause(data)
    if cause.pattern is not None:
        suggested.append((f"Add the check that would have caught it: {cause.pattern.check}",
                          "prevent"))
    if len(data.wrongful) and data.first_page is None:
        suggested.append(("Page on wrongful discards (toolkit alert from cron)", "detect"))
    taken = {r[0] for r in rows}
    rows += [(f"{action} (suggested)", kind, "", "", "") for action, kind in suggested
             if action not in taken]
    return [Table(("Action", "Type", "Priority", "Owner", "Ticket"), rows,
                  "Items from the annotations file, then the machine's suggestions")]


def lessons(data: ReportData) -> list[Block]:
    return _human(data, "lessons") or [Todo(
        "Lessons learned", "What went well, what went wrong, where we got lucky? "
        "(annotation 'lessons')")]


def evidence(data: ReportData) -> list[Block]:
    if data.wrongful.empty:
        return [Paragraph("The audit found no wrongful discard.")]
    sample = data.wrongful.sort_values(["time", "job_id"]).groupby("environment").head(1)
    sample = sample.sort_values(["time", "job_id"]).head(8)
    keys = ("tenant", "environment", "source", "entity", "schema")
    rows = []
    for r in sample.itertuples():
        differs = [k for k in keys if getattr(r, k) != getattr(r, f"survivor_{k}")]
        rows.append((
            when(r.time.to_pydatetime()),
            f"job {_int(r.job_id)}: {r.environment} / {r.source} / {r.entity} / {r.schema} "
            f"v{_int(r.version)}",
            f"job {_int(r.survivor_job_id)}: {r.survivor_environment} / {r.survivor_source} / "
            f"{r.survivor_entity} / {r.survivor_schema} v{_int(r.survivor_version)} "
            f"({r.survivor_state})",
            ", ".join(differs) or r.detail,
            f"{r.trace_id} / {r.survivor_trace_id}",
        ))
    return [
        Paragraph("Each row is a discarded job beside the job it was folded into. A justified "
                  "drop has the identical key, a pending survivor and a version not older."),
        Table(("Time", "Discarded job", "Survivor", "Differs in", "Trace ids (job / survivor)"),
              rows, "First wrongful discard in each affected environment (at most 8); "
              "toolkit audit --json lists them all"),
    ]


def remediation(data: ReportData) -> list[Block]:
    if data.stale_views.empty:
        return [Paragraph("No view needs regenerating.")]
    views = data.stale_views
    per = views.groupby(["environment", "source", "schema"], as_index=False).size()
    counts = data.entity_counts.set_index(["environment", "source"])["entities"] \
        if len(data.entity_counts) else None
    rows = []
    for r in per.sort_values(["environment", "source", "schema"]).itertuples():
        cost = (int(counts.loc[(r.environment, r.source)])
                if counts is not None and (r.environment, r.source) in counts.index else "n/a")
        rows.append((r.environment, r.source, r.schema, int(r.size), cost))
    return [
        Paragraph(
            f"{len(views):,} views must be regenerated; the exact list is in remediation.csv "
            "(environment, tenant, source, entity, schema, latest version, rendered version). "
            "Re-ingesting an entity whose content is unchanged does nothing: the ingest is "
            "skipped as unchanged and creates no job. Redeploying the schema does."),
        Table(("Environment", "Source", "Schema", "Views to regenerate",
               "Jobs if the schema is redeployed"), rows,
              f"The smallest set of schema deployments that regenerates every view: "
              f"{len(rows)} (one per environment, source and schema affected)"),
    ]


def _int(value: object) -> str:
    return "?" if value is None or value != value else str(int(value))  # NaN != NaN


#: Narrative sections in order: key -> (title, function).
SECTIONS: dict[str, tuple[str, Section]] = {
    "summary": ("Summary", summary),
    "impact": ("Impact", impact),
    "trigger": ("Trigger", trigger),
    "detection": ("Detection", detection),
    "response": ("Response and recovery", response),
    "root_cause": ("Root cause", root_cause),
    "timeline": ("Timeline", timeline),
    "action_items": ("Action items", action_items),
    "lessons": ("Lessons learned", lessons),
}
#: Appendices, after the narrative.
APPENDICES: dict[str, tuple[str, Section]] = {
    "evidence": ("Appendix: evidence", evidence),
    "remediation": ("Appendix: remediation", remediation),
    "figures": ("Appendix: figures", lambda data: []),
}
