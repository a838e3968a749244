"""The curated timeline: the moments a reader needs, not a log dump.

First anomaly, first wrongful discard, incidents opened (first page), escalations,
deployments, human entries, the fix, the last wrongful discard, resolution. Alert churn
collapses: incidents of one rule whose lifetimes overlap are one episode, told in one line
with its counts ("3 notifications, 21 environments"), plus a line for each escalation to a
new severity and one for the resolution.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from toolkit.report.data import ReportData

__all__ = ["Entry", "curate", "episodes"]

#: ``(time, source, text)``
Entry = tuple[datetime, str, str]
_RANK = {"ticket": 0, "page": 1}


def episodes(incidents: pd.DataFrame, end: datetime) -> list[pd.DataFrame]:
    """Incidents grouped per rule into runs whose open intervals overlap (still firing:
    open until ``end``), in the order they opened."""
    out: list[pd.DataFrame] = []
    if incidents.empty:
        return out
    frame = incidents.assign(closes=incidents.resolved_at.fillna(pd.Timestamp(end)))
    for _, part in frame.sort_values(["opened_at", "incident"]).groupby("rule", sort=False):
        group: list[int] = []
        reach = None
        for i, row in part.iterrows():
            if reach is not None and row.opened_at > reach:
                out.append(part.loc[group])
                group, reach = [], None
            group.append(i)
            reach = row.closes if reach is None else max(reach, row.closes)
        out.append(part.loc[group])
    return sorted(out, key=lambda g: (g.opened_at.min(), g.rule.iloc[0]))


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _alert_lines(data: ReportData) -> list[Entry]:
    entries: list[Entry] = []
    moves = data.transitions
    for group in episodes(data.incidents, data.until):
        rule = group.rule.iloc[0]
        ids = group.incident.tolist()
        envs = sorted({e for envs in group.environments for e in envs})
        notes = int(group.notifications.sum())
        mine = moves[moves.incident.isin(ids)]
        first = mine[mine.transition == "opened"]
        opened_at = (first.occurred_at.min() if len(first) else group.opened_at.min())
        severity = (first.sort_values("occurred_at").severity.iloc[0] if len(first)
                    else group.severity.iloc[0])
        who = f"incident {ids[0]}" if len(ids) == 1 else f"{len(ids)} incidents"
        entries.append((opened_at.to_pydatetime(), "alert",
                        f"{rule} opened ({severity}), {who}: {_count(notes, 'notification')}, "
                        f"{_count(len(envs), 'environment')}, "
                        f"{_count(int(group.pages.sum()), 'page')}"))
        reached = _RANK.get(severity, 0)
        for row in mine[mine.transition == "escalated"].sort_values("occurred_at").itertuples():
            if _RANK.get(row.severity, 0) > reached:
                reached = _RANK.get(row.severity, 0)
                entries.append((row.occurred_at.to_pydatetime(), "alert",
                                f"{rule} escalated to {row.severity}"))
        if (group.status == "resolved").all():
            entries.append((group.resolved_at.max().to_pydatetime(), "alert",
                            f"{rule} resolved ({who})"))
    return entries


def curate(data: ReportData) -> list[Entry]:
    """The timeline's entries in time order (ties: machine before people, then text)."""
    entries: list[Entry] = []
    if len(data.events):
        first = data.events.iloc[data.events.start.argmin()]
        entries.append((first.start.to_pydatetime(), "detector",
                        f"first anomaly: {first.detector} on {first.environment} "
                        f"({first.severity})"))
    if len(data.wrongful):
        w = data.wrongful.sort_values(["time", "job_id"])
        head, tail = w.iloc[0], w.iloc[-1]
        entries.append((head.time.to_pydatetime(), "audit",
                        f"first wrongful discard: job {int(head.job_id)} in "
                        f"{head.environment} ({head.entity} / {head.schema})"))
        entries.append((tail.time.to_pydatetime(), "audit",
                        f"last wrongful discard: job {int(tail.job_id)} in {tail.environment}"))
    trigger = set(data.change_before.time)
    for r in data.deployments.itertuples():
        text = f"deployment: {r.change}" + (f" ({r.environment})" if r.environment else "")
        if r.time in trigger:
            text += "; the last change before the first wrongful discard"
        elif data.fix is not None and r.time.to_pydatetime() == data.fix:
            text += "; first deployment after the last wrongful discard (likely fix)"
        entries.append((r.time.to_pydatetime(), "deployment", text))
    entries += _alert_lines(data)
    entries += [(e.time, "people", e.text) for e in data.annotations.timeline]
    order = {"detector": 0, "audit": 1, "deployment": 2, "alert": 3, "people": 4}
    entries.sort(key=lambda e: (e[0], order[e[1]], e[2]))
    return entries
