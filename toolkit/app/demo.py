"""``toolkit demo``: the whole story of 7 May 2024 in one command.

Replays the incident into the store, runs the alert command as cron would have, audits,
drafts the post-mortem, and prints what happened next to what happened in reality.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from toolkit.errors import BadInput
from toolkit.timefmt import iso_utc

DEMO_KEY = "demo.scenario"
# The real incident, in UTC (CEST - 2 h): customers' reports around noon CEST on 7 May and
# the incident declared at 13:42 CEST, after the change shipped on 6 May.
REAL_REPORTS = datetime(2024, 5, 7, 10, 0)
REAL_DECLARED = datetime(2024, 5, 7, 11, 42)
#: What the people of the real incident knew, passed to the report as its annotations.
ANNOTATIONS = Path(__file__).with_name("demo_annotations.yaml")


@dataclass
class DemoSummary:
    db: str
    report: str
    environments_affected: list[str]
    wrongful_discards: int
    views_to_regenerate: int
    fault_on: datetime
    fault_off: datetime
    first_wrongful: datetime | None
    first_page: datetime | None
    first_page_environment: str | None
    resolved: datetime | None
    alert_runs: int
    notifications: dict[str, int]
    incident_environments: list[str]
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = dict(vars(self))
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = iso_utc(value)
        return out

    def text(self) -> str:
        def t(ts: datetime | None) -> str:
            return "never" if ts is None else ts.strftime("%a %d %b %H:%M UTC")

        lines = [
            "",
            "7 May 2024, replayed",
            f"  fault env-blind-dedup switched on   {t(self.fault_on)}",
            f"  first wrongful discard              {t(self.first_wrongful)}",
        ]
        if self.first_page and self.first_wrongful:
            lag = (self.first_page - self.first_wrongful).total_seconds() / 60
            lines.append(f"  toolkit paged                       {t(self.first_page)} "
                         f"({lag:.0f} min after the first discard, {self.first_page_environment})")
        else:
            lines.append("  toolkit paged                       never")
        if self.first_wrongful:
            real = (REAL_REPORTS - self.first_wrongful).total_seconds() / 3600
            lines.append(f"  in reality: customers reported      {t(REAL_REPORTS)} "
                         f"(about {real:.0f} h after), incident declared {t(REAL_DECLARED)}")
        lines += [
            f"  fix deployed (fault off)            {t(self.fault_off)}",
            f"  alert resolved                      {t(self.resolved)}",
            f"  pager received                      {_n(self.notifications['page'], 'page')}, "
            f"{_n(self.notifications['update'], 'update')}, "
            f"{_n(self.notifications['resolved'], 'resolution')} "
            f"({len(self.incident_environments)} environments named)"
            + (f"; tickets: {self.notifications['ticket']}"
               if self.notifications.get("ticket") else ""),
            f"  wrongful discards proven by audit   {self.wrongful_discards} in "
            f"{len(self.environments_affected)} environments",
            f"  views to regenerate                 {self.views_to_regenerate}",
            f"  post-mortem draft                   {self.report}",
            f"  store                               {self.db} "
            f"({self.alert_runs} cron runs replayed; {self.seconds:.0f} s in all)",
        ]
        return "\n".join(lines)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _prepare(db: str) -> None:
    """Start from an empty store, but never delete one the demo did not make."""
    from toolkit.store import Store, is_clickhouse

    if is_clickhouse(db):
        raise BadInput(f"{db}: the demo starts from a DuckDB file of its own; give --db a "
                       "file path")
    if not os.path.exists(db):
        return
    with Store.open(db, read_only=True) as store:
        made_by_demo = store.meta(DEMO_KEY) is not None
        empty = store.logs(limit=1).empty
    if not (made_by_demo or empty):
        raise BadInput(f"{db} holds other telemetry; run the demo with --db another.duckdb")
    for suffix in ("", ".wal", ".alert.lock"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)


def run_demo(*, db: str, out: str = "reports", seed: int = 7, days: int | None = None,
             tenants: list[str] | None = None, progress: bool = True) -> DemoSummary:
    """Run the whole story; ``tenants`` (a subset of the topology) shortens it for tests."""
    from toolkit.alert.replay import replay, schedule
    from toolkit.app.progress import bar
    from toolkit.app.runs import record_scenario
    from toolkit.detect.audit import audit
    from toolkit.report import gather, write_report
    from toolkit.store import Store
    from toolkit.workload import get_scenario

    started = time.perf_counter()
    steps: dict[str, float] = {}

    def say(text: str) -> None:
        if progress:
            print(text, file=sys.stderr, flush=True)

    _prepare(db)
    scenario = get_scenario("may7")
    window = scenario.faults[0].window()
    fault_on = datetime.fromtimestamp(window.start, UTC).replace(tzinfo=None)
    fault_off = datetime.fromtimestamp(window.end, UTC).replace(tzinfo=None)
    say("1/4 replaying 2-7 May 2024 with full telemetry into the store ...")
    result = record_scenario("may7", db=db, seed=seed, days=days, tenants=tenants,
                             progress=progress)
    with Store.open(db) as store:
        store.set_meta(DEMO_KEY, f"may7 seed {seed}")
    steps["record"] = time.perf_counter() - started
    end = datetime.fromtimestamp(result.end, UTC).replace(tzinfo=None)

    say("2/4 running 'toolkit alert' as cron would have ...")
    t0 = time.perf_counter()
    # Every minute where minutes matter (the first page; the resolution, an hour of quiet
    # after the last discard once the fix is deployed), every 30 minutes elsewhere, until
    # well after the resolution.
    minutes = schedule(
        [(fault_on - timedelta(minutes=10), fault_on + timedelta(minutes=20)),
         (fault_off + timedelta(minutes=15), fault_off + timedelta(minutes=60))],
        fault_on - timedelta(hours=6), min(end, fault_off + timedelta(hours=5)),
        sparse=timedelta(minutes=30))
    first_page = first_env = resolved = None
    counts = {"page": 0, "update": 0, "resolved": 0, "ticket": 0}
    paged: dict[str, list[str]] = {}
    runs = 0
    minutes = [m for m in minutes if m <= end]
    with bar(len(minutes), "alert runs", unit="run") if progress else nullcontext() as shown:
        for run in replay(db, minutes):
            runs += 1
            if shown is not None:
                shown.update()
            for note in run.notifications:
                # As a pager receives them: the pages, and the updates and resolution of the
                # incidents it paged for; a ticket-level incident goes to the ticket queue.
                if note["severity"] != "page":
                    counts["ticket"] += 1
                    continue
                counts[note["level"]] += 1
                paged[note["incident"]] = note["environments"]
                if note["level"] == "page" and first_page is None:
                    first_page, first_env = run.now, note["environments"][0]
                if note["transition"] == "resolved" and resolved is None and run.now > fault_off:
                    resolved = run.now
    steps["alert"] = time.perf_counter() - t0

    say("3/4 auditing every deduplication decision ...")
    t0 = time.perf_counter()
    with Store.open(db, read_only=True) as store:
        found = audit(store)
    steps["audit"] = time.perf_counter() - t0

    say("4/4 drafting the post-mortem ...")
    t0 = time.perf_counter()
    with Store.open(db, read_only=True) as store:
        data = gather(store, incident_auto=True, annotations=ANNOTATIONS)
    written = write_report(data, out)
    steps["report"] = time.perf_counter() - t0
    first = found.wrongful_discards.time.min() if len(found.wrongful_discards) else None
    return DemoSummary(
        db=db, report=str(Path(written.html)),
        environments_affected=found.summary()["environments_affected"],
        wrongful_discards=len(found.wrongful_discards),
        views_to_regenerate=len(found.stale_views), fault_on=fault_on, fault_off=fault_off,
        first_wrongful=None if first is None else first.to_pydatetime(),
        first_page=first_page, first_page_environment=first_env, resolved=resolved,
        alert_runs=runs, notifications=counts,
        incident_environments=sorted({e for envs in paged.values() for e in envs}),
        seconds=time.perf_counter() - started, steps=steps,
    )
