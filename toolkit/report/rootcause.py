"""A root-cause hypothesis drafted from evidence, for a person to confirm or reject.

Three questions, each answered from the store alone:

* **what** differs between every discarded job and the survivor it was folded into (the key
  components, counted over every violation, and the survivor's state);
* **when** the violations happen: only while two or more environments of the tenant had jobs
  queued, against how often that holds in normal minutes;
* **which change** coincides: deployment records in the hour before the first violation
  (else the last one before it, with how long before).

The answers are matched against the fault classes a deduplicator has (see
:data:`PATTERNS`), each with the check that would have caught it. When no class fits
nearly every violation the draft says "no pattern found" rather than guess.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from toolkit.report.data import TRIGGER_HOUR, ReportData

__all__ = ["PATTERNS", "Pattern", "RootCause", "draft_root_cause", "tenant_concurrency"]

KEY = ("tenant", "environment", "source", "entity", "schema")
#: Share of violations a pattern must explain to be named.
DOMINANT = 0.95


@dataclass(frozen=True, slots=True)
class Pattern:
    """A fault class: how it shows in the evidence, its mechanism, and the missing check."""

    name: str
    mechanism: str
    check: str


PATTERNS: dict[str, Pattern] = {
    "environment": Pattern(
        "env-blind-dedup",
        "the deduplication key stopped distinguishing environments: a job was folded into a "
        "pending job of another environment of the same tenant, whose view it is not",
        "a multi-environment test: two environments of one tenant with jobs queued at once "
        "for the same entity and schema, and every job processed in its own environment "
        "(for example the change run under toolkit simulate, then toolkit audit)"),
    "schema": Pattern(
        "schema-blind-dedup",
        "the deduplication key stopped distinguishing schemas: a job for one schema was folded "
        "into a pending job for another schema of the same entity",
        "a test that queues two schemas of one entity at once and expects both views rendered"),
    "source": Pattern(
        "source-blind-dedup",
        "the deduplication key stopped distinguishing sources",
        "a test that queues the same entity id from two sources and expects both processed"),
    "entity": Pattern(
        "entity-blind-dedup",
        "the deduplication key stopped distinguishing entities",
        "a test that queues two entities of one schema and expects both views rendered"),
    "tenant": Pattern(
        "tenant-blind-dedup",
        "the deduplication key stopped distinguishing tenants",
        "a test with two tenants sharing entity ids, each expecting its own views"),
    "running": Pattern(
        "lost-follow-up",
        "a job triggered while a job with the same key was running was folded into the running "
        "job instead of being kept as its pending follow-up, so the running job's older content "
        "won",
        "a test that triggers an entity again while its job is running and expects the newer "
        "version rendered"),
    "older": Pattern(
        "older-survivor",
        "a job was folded into a pending job with an older version, so the newer content was "
        "never rendered",
        "a test that ingests two versions back to back and expects the newer one rendered"),
}


@dataclass
class RootCause:
    """The drafted hypothesis and the counts behind it."""

    violations: int
    differences: list[tuple[str, int]] = field(default_factory=list)
    pattern: Pattern | None = None
    explained: int = 0
    concurrent: tuple[int, int] | None = None
    normal: tuple[int, int] | None = None
    changes: pd.DataFrame | None = None
    untouched: list[str] = field(default_factory=list)
    first: datetime | None = None

    @property
    def found(self) -> bool:
        return self.pattern is not None

    def sentences(self) -> list[str]:
        """The hypothesis as plain sentences, evidence first."""
        n = self.violations
        if not n:
            return ["No pattern found: the audit proved no wrongful discard in the window, so "
                    "there is no violation to explain."]
        out = []
        parts = "; ".join(f"{count:,} of {n:,} {what}" for what, count in self.differences)
        if self.untouched:
            parts += "; none differs in " + _either(self.untouched)
        out.append(f"What: compared with the job it was folded into, {parts}.")
        if self.concurrent is not None:
            k, m = self.concurrent
            when = (f"When: {k:,} of {m:,} violations ({_pct(k, m)}) happened while two or "
                    "more environments of their tenant had jobs queued")
            if self.normal is not None and self.normal[1]:
                a, b = self.normal
                when += (f", against {_pct(a, b)} of normal minutes ({a:,} of {b:,} minutes "
                         "with work, before the window)")
            out.append(when + ".")
        changes = self.changes
        if changes is not None and len(changes):
            listed = "; ".join(f"'{r.change}' at {r.time:%Y-%m-%d %H:%M:%S} UTC"
                               for r in changes.itertuples())
            lag = self.first - changes.time.iloc[-1].to_pydatetime() if self.first else None
            close = lag is not None and lag <= TRIGGER_HOUR
            out.append(f"Which change: {listed}, "
                       + ("in the hour before the first violation." if close else
                          f"the last deployment before the first violation ({_minutes(lag)} "
                          "earlier; none in the hour before it)."))
        else:
            out.append("Which change: no deployment record in the day before the first "
                       "violation.")
        if self.pattern is None:
            out.append("No pattern found: no single difference explains at least "
                       f"{DOMINANT:.0%} of the violations; read the evidence appendix.")
        else:
            p = self.pattern
            out.append(f"Hypothesis ({self.explained:,} of {n:,} violations fit): this matches "
                       f"the fault class {p.name}: {p.mechanism}.")
            out.append(f"The check that would have caught it: {p.check}.")
        return out


def _minutes(delta: timedelta | None) -> str:
    return "?" if delta is None else f"{delta.total_seconds() / 60:.0f} min"


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _pct(part: int, whole: int) -> str:
    """A percentage that never rounds a difference away (99.8%, not 100%)."""
    if not whole:
        return "n/a"
    share = 100 * part / whole
    text = f"{share:.0f}%"
    return f"{share:.1f}%" if text in ("0%", "100%") and part not in (0, whole) else text


def tenant_concurrency(rollup: pd.DataFrame) -> pd.DataFrame:
    """Per minute and tenant, how many of its environments had work (jobs offered or queued).

    Columns ``minute``, ``tenant``, ``busy``; only minutes where the tenant had any work.
    """
    if rollup.empty:
        return pd.DataFrame(columns=["minute", "tenant", "busy"])
    work = rollup[(rollup.offered > 0) | (rollup.backlog > 0)]
    return work.groupby(["minute", "tenant"], as_index=False).size().rename(
        columns={"size": "busy"})


def _differences(wrongful: pd.DataFrame) -> list[tuple[str, ...]]:
    """Per violation that names a survivor, the key components it differs in."""
    out = []
    for row in wrongful[[*KEY, *(f"survivor_{k}" for k in KEY)]].itertuples(index=False):
        values = row._asdict()
        out.append(tuple(k for k in KEY if values[k] != values[f"survivor_{k}"]))
    return out


def _describe(combo: tuple[str, ...]) -> str:
    if not combo:
        return "have the identical key"
    if len(combo) == 1:
        return f"differ only in {combo[0]}"
    return "differ in " + ", ".join(combo[:-1]) + " and " + combo[-1]


def draft_root_cause(data: ReportData) -> RootCause:
    """Draft the hypothesis for the window's wrongful discards."""
    w = data.wrongful
    cause = RootCause(len(w), changes=data.change_before, first=data.first_wrongful)
    if w.empty:
        return cause
    named = w[w.survivor_job_id.notna()]
    differs = _differences(named)
    combos = Counter(differs)
    cause.differences = [(_describe(c), k) for c, k in sorted(
        combos.items(), key=lambda item: (-item[1], item[0]))]
    cause.untouched = [k for k in KEY if not any(k in c for c in combos)] if combos else []
    if len(named) < len(w):
        cause.differences.append(("name no survivor", len(w) - len(named)))
    same = named.loc[pd.Series([not d for d in differs], index=named.index, dtype=bool)]
    running = int((same.survivor_state == "running").sum())
    older = int(((same.survivor_state == "pending")
                 & (same.survivor_version < same.version)).sum())
    if len(same):
        cause.differences.append(("had a running survivor (same key)", running))
    enough = DOMINANT * len(w)
    top = combos.most_common(1)
    if top and len(top[0][0]) == 1 and top[0][1] >= enough:
        cause.pattern, cause.explained = PATTERNS[top[0][0][0]], top[0][1]
    elif running >= enough:
        cause.pattern, cause.explained = PATTERNS["running"], running
    elif older >= enough:
        cause.pattern, cause.explained = PATTERNS["older"], older

    busy = tenant_concurrency(data.rollup).set_index(["minute", "tenant"]).busy
    minutes = list(zip(w.time.dt.floor("min"), w.tenant, strict=True))
    during = [int(busy.get(m, 0)) for m in minutes]
    cause.concurrent = (sum(b >= 2 for b in during), len(during))
    normal = tenant_concurrency(data.baseline)
    if len(normal):
        tenants = set(w.tenant)
        normal = normal[normal.tenant.isin(tenants)]
        cause.normal = (int((normal.busy >= 2).sum()), len(normal))
    return cause
