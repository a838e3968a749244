"""The detectors and the alert's statistical rule over many random draws of the scenario family.

Protocol (also in docs/detectors.md):

1. *History.* The detectors are fitted once on ``history_days`` of normal traffic
   (``baseline`` with ``history_seed``, a seed no draw uses), as a platform's last week.
2. *Draws.* For each seed, :meth:`toolkit.workload.ScenarioFamily.draws` gives ``per_seed``
   scenarios (every fault class twice at a random time and scope, every legitimate stress
   once, one normal two-day run); each is simulated with its own seed and scored on its exact
   rollup (labels dropped).
3. *Per detector*, an event is a true positive if its environment lost a job and it was
   detected from that environment's first wrongful discard to ``grace`` minutes after its
   last. *The rule* is :func:`toolkit.detect.severity.statistical_severity` applied per
   environment to the events of the last 10 minutes, at every cron minute, as ``toolkit
   alert`` does (:mod:`toolkit.evaluate.replay`); it flags an environment when any detector
   has an event in the window, and pages when the rule says ``page``.
4. *Scores.* Recall over incidents (fault draws with a wrongful discard: some affected
   environment flagged) and over environments with at least 10 wrongful discards (all, and
   those whose fault began at night or on a weekend); latency from an environment's first
   wrongful discard to its first event and to its first page (median and 90th percentile over
   those environments, a missed one counting as never, with bootstrap confidence intervals);
   false pages and false tickets per environment-week on normal and on stress draws (one
   per environment-episode: events of one environment less than an hour apart are one).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from toolkit.detect import Event, available_detectors, fit_detectors, run_detectors, to_grid
from toolkit.errors import BadInput
from toolkit.evaluate.labels import Labelled, label
from toolkit.evaluate.replay import RECENT, FixedFit, FrameSource, page_minutes
from toolkit.evaluate.scoring import minute_of, quantile_ci
from toolkit.evaluate.text import table
from toolkit.workload import NORMAL, ScenarioFamily, is_off_hours, run_scenario

__all__ = [
    "ANY",
    "DEFAULT_SEEDS",
    "RULE",
    "TUNING_SEEDS",
    "Draw",
    "evaluate_family",
    "format_family",
    "score_draw",
    "summarise",
]

DEFAULT_SEEDS = tuple(range(41, 51))
"""Seeds the reported figures come from (looked at once, after every choice was made)."""
TUNING_SEEDS = (1, 2, 3, 4)
"""Seeds the detectors' parameters were chosen on (never used for the reported figures)."""
FIRST_REPORT_SEEDS = (11, 12, 13, 14, 15)
"""Seeds of a first report, whose one false page (a slow processor day) led to a change; not
reported since, so that the figures come from seeds no choice has seen (11-13 were used
again to check the page hints before a report)."""
EARLIER_REPORT_SEEDS = ((21, 22, 23, 24, 25), (31, 32, 33, 34, 35))
"""Seeds of the reports before the page hints were decided minute by minute (21-25), and of
a first look at them (31-35), whose false page on a slow processor day set the hints'
significance; not reported since."""
PER_SEED = 13
HISTORY_DAYS = 7
HISTORY_SEED = 1000
ANY = "any"
RULE = "rule"
ORACLE = (3, 4, 5)
"""The k-th wrongful discard of an environment: a lower bound on the latency of any test that
needs k lost jobs (reported as pseudo-detectors ``oracle-3`` to ``oracle-5``; a page hint
needs at least 4)."""
EPISODE_GAP = pd.Timedelta(minutes=60)
"""Events of one environment closer than this are one episode (one alert, as it stays firing)."""


@dataclass(frozen=True)
class Draw:
    """One scored draw: what it was, and its rows of scores."""

    name: str
    seed: int
    category: str
    kind: str
    off_hours: bool
    env_weeks: float
    wrongful: int
    environments: list[dict[str, Any]]
    false: dict[str, dict[str, int]]


def _category(labelled: Labelled) -> tuple[str, str, bool]:
    scenario = labelled.scenario
    if scenario is not None and scenario.faults:
        plan = scenario.faults[0]
        start = pd.Timestamp(plan.start).timestamp()
        return "fault", plan.name, is_off_hours(start)
    if scenario is not None and scenario.stress:
        return "stress", scenario.stress, False
    return NORMAL, NORMAL, False


def score_draw(
    labelled: Labelled,
    per: Mapping[str, list[Event]],
    rule_pages: Mapping[str, list[pd.Timestamp]],
    grace: int = 60,
) -> Draw:
    """Scores of one draw from each detector's events (``any`` included) and the rule's page
    minutes (cron times: the run at ``t`` saw data before ``t``)."""
    category, kind, off = _category(labelled)
    one = pd.Timedelta(minutes=1)
    first, last = labelled.first_wrongful, labelled.last_wrongful
    rows = []
    for env, count in sorted(labelled.wrongful.items()):
        lo, hi = minute_of(first[env]), minute_of(last[env]) + pd.Timedelta(minutes=grace)
        start = pd.Timestamp(first[env], unit="s")
        row: dict[str, Any] = {"environment": env, "wrongful": count, "detectors": {}}
        when = (labelled.times or {}).get(env, [])
        for k in ORACLE:
            # The physical limit: no count-based test sees k lost jobs before the k-th is lost.
            late = (when[k - 1] - first[env]) / 60 if len(when) >= k else None
            row["detectors"][f"oracle-{k}"] = {"event": late, "page": late}
        for det, events in per.items():
            hits = [e for e in events if e.environment == env and lo <= e.detected <= hi]
            seen = min((e.detected for e in hits), default=None)
            paged = min((e.detected for e in hits if e.severity == "page"), default=None)
            row["detectors"][det] = {
                "event": None if seen is None else (seen + one - start).total_seconds() / 60,
                "page": None if paged is None else (paged + one - start).total_seconds() / 60,
            }
        pages = [t for t in rule_pages.get(env, ()) if lo + one <= t <= hi + one]
        row["detectors"][RULE] = {
            "event": row["detectors"][ANY]["event"],
            "page": None if not pages else (min(pages) - start).total_seconds() / 60,
        }
        rows.append(row)
    false: dict[str, dict[str, int]] = {}
    clean = set(labelled.frame["environment"].unique()) - set(first)
    for det, events in per.items():
        wrong = [e for e in events if e.environment in clean]
        false[det] = {
            "pages": sum(1 for e in wrong if e.severity == "page"),
            "tickets": sum(1 for e in wrong if e.severity == "ticket"),
        }
    pages = tickets = 0
    for env in clean:
        paged = [(t, t) for t in rule_pages.get(env, ())]
        pages += len(_merged(paged))
        spans = [(e.detected + one, e.end + RECENT) for e in per[ANY] if e.environment == env]
        tickets += sum(1 for lo, hi in _merged(spans)
                       if not any(lo <= t <= hi + EPISODE_GAP for t, _ in paged))
    false[RULE] = {"pages": pages, "tickets": tickets}
    return Draw(labelled.name, labelled.seed, category, kind, off, labelled.env_weeks,
                sum(labelled.wrongful.values()), rows, false)


def _merged(spans: Iterable[tuple[pd.Timestamp, pd.Timestamp]]
            ) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Spans of one environment merged when less than :data:`EPISODE_GAP` apart: episodes."""
    out: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    for lo, hi in sorted(spans):
        if out and lo - out[-1][1] <= EPISODE_GAP:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _progress(total: int, enabled: bool | None) -> Callable[[str], None]:
    """A one-line progress display on stderr, only when stderr is a terminal."""
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return lambda _: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="draw", file=sys.stderr, leave=False)

    def step(text: str) -> None:
        bar.set_postfix_str(text[:40])
        bar.update(1)
        if bar.n >= total:
            bar.close()

    return step


def evaluate_family(
    seeds: Sequence[int] = DEFAULT_SEEDS,
    per_seed: int = PER_SEED,
    *,
    family: ScenarioFamily | None = None,
    detectors: Iterable[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    history_days: int = HISTORY_DAYS,
    history_seed: int = HISTORY_SEED,
    grace: int = 60,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Fit on history, score ``per_seed`` random draws of the family for each seed.

    Returns:
        A JSON-ready dict: ``protocol``, ``seeds``, ``draws`` (per draw: what it was, its
        per-environment latencies and false alarms) and ``summary`` (per detector and
        ``rule``: see :func:`summarise`).
    """
    if not seeds:
        raise BadInput("at least one seed is needed")
    if per_seed < 1:
        raise BadInput(f"draws per seed must be >= 1, got {per_seed}")
    family = family or ScenarioFamily()
    names = list(detectors) if detectors is not None else available_detectors()
    history = run_scenario("baseline", seed=history_seed, days=history_days)
    fitted = fit_detectors(label(history).frame, names, params)
    fit = FixedFit(fitted)
    plan = [(seed, index, scenario) for seed in seeds
            for index, scenario in enumerate(family.draws(per_seed, seed))]
    step = _progress(len(plan), progress)
    draws = []
    for seed, index, scenario in plan:
        labelled = label(run_scenario(scenario, seed=seed * 1000 + index))
        draws.append(_score_one(labelled, fitted, fit, grace))
        step(scenario.name)
    result = {
        "protocol": (
            f"fit on baseline seed {history_seed} ({history_days} days); {per_seed} draws of "
            f"the scenario family per seed, seeds {', '.join(map(str, seeds))}; true positive "
            f"= detected from an environment's first wrongful discard to {grace} min after "
            f"its last; rule = statistical_severity per environment on the last 10 min of "
            f"events at every cron minute"
        ),
        "seeds": list(seeds),
        "detectors": names,
        "draws": [_draw_dict(d) for d in draws],
    }
    result["summary"] = summarise(draws, [*names, ANY, RULE, *(f"oracle-{k}" for k in ORACLE)])
    return result


def _score_one(labelled: Labelled, fitted: list, fit: FixedFit, grace: int) -> Draw:
    grid = to_grid(labelled.frame, sorted({c for d in fitted for c in d.requires}))
    per = {d.name: run_detectors([d], grid) for d in fitted}
    per[ANY] = sorted((e for d in fitted for e in per[d.name]), key=lambda e: e.detected)
    source = FrameSource(labelled.frame)
    affected = sorted(labelled.wrongful) if labelled.wrongful else None
    pages = page_minutes(source, fit, per[ANY], stop_when_paged=affected)
    return score_draw(labelled, per, pages, grace)


def _draw_dict(draw: Draw) -> dict[str, Any]:
    return {
        "name": draw.name, "seed": draw.seed, "category": draw.category, "kind": draw.kind,
        "off_hours": draw.off_hours, "env_weeks": round(draw.env_weeks, 3),
        "wrongful": draw.wrongful, "environments": draw.environments, "false": draw.false,
    }


def _latencies(rows: list[tuple[dict[str, Any], bool]], det: str, what: str) -> list[float]:
    out = []
    for row, _ in rows:
        value = row["detectors"][det][what]
        out.append(math.inf if value is None else value)
    return out


def _stat(values: list[float]) -> dict[str, float | None]:
    def clean(x: float) -> float | None:
        return None if math.isnan(x) else x

    med = quantile_ci(values, 0.5)
    p90 = quantile_ci(values, 0.9)
    return {"median": clean(med[0]), "median_ci": [clean(med[1]), clean(med[2])],
            "p90": clean(p90[0]), "p90_ci": [clean(p90[1]), clean(p90[2])]}


def summarise(draws: Sequence[Draw], detectors: Sequence[str]) -> dict[str, Any]:
    """Per detector (and ``rule``): recall, latency quantiles with confidence intervals, and
    false pages / tickets per environment-week on normal and on stress draws.

    ``inf`` latencies (never) are reported as the string ``"never"`` in JSON-ready output.
    """
    faults = [d for d in draws if d.category == "fault"]
    incidents = [d for d in faults if d.wrongful]
    big = [(row, d.off_hours) for d in faults for row in d.environments if row["wrongful"] >= 10]
    weeks = {c: sum(d.env_weeks for d in draws if d.category == c) for c in ("normal", "stress")}
    out: dict[str, Any] = {
        "draws": {c: sum(d.category == c for d in draws) for c in ("fault", "stress", NORMAL)},
        "incidents": len(incidents),
        "environments_10": len(big),
        "environments_10_off_hours": sum(off for _, off in big),
        "env_weeks": {c: round(w, 2) for c, w in weeks.items()},
        "detectors": {},
    }
    for det in detectors:
        found = sum(any(r["detectors"][det]["event"] is not None for r in d.environments)
                    for d in incidents)
        flagged = [r["detectors"][det]["event"] is not None for r, _ in big]
        off = [f for f, (_, o) in zip(flagged, big, strict=True) if o]
        entry: dict[str, Any] = {
            "recall_incidents": found / len(incidents) if incidents else None,
            "recall_10": sum(flagged) / len(flagged) if flagged else None,
            "recall_10_off_hours": sum(off) / len(off) if off else None,
            "paged_10": (sum(r["detectors"][det]["page"] is not None for r, _ in big) / len(big)
                         if big else None),
            "event_latency": _stat(_latencies(big, det, "event")),
            "page_latency": _stat(_latencies(big, det, "page")),
        }
        for category in ("normal", "stress"):
            pages = sum(d.false[det]["pages"] for d in draws if d.category == category
                        and det in d.false)
            tickets = sum(d.false[det]["tickets"] for d in draws if d.category == category
                          and det in d.false)
            w = weeks[category]
            entry[f"false_pages_{category}"] = pages
            entry[f"false_tickets_{category}"] = tickets
            oracle = det.startswith("oracle-")
            entry[f"false_pages_per_env_week_{category}"] = pages / w if w and not oracle \
                else None
            entry[f"false_tickets_per_env_week_{category}"] = tickets / w if w and not oracle \
                else None
        out["detectors"][det] = entry
    return _json_ready(out)


def _json_ready(value: Any) -> Any:
    if isinstance(value, float) and math.isinf(value):
        return "never"
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


def _fmt(value: Any, spec: str = "{:.1f}") -> str:
    if value is None:
        return "-"
    if value == "never":
        return "never"
    return spec.format(value)


def format_family(result: Mapping[str, Any]) -> str:
    """The summary as a fixed-width table (rows: detectors and the alert's rule)."""
    summary = result["summary"]
    lines = [f"protocol: {result['protocol']}",
             f"draws: {summary['draws']['fault']} faults ({summary['incidents']} with a wrongful "
             f"discard; {summary['environments_10']} environments with >= 10, "
             f"{summary['environments_10_off_hours']} of them at night or on a weekend), "
             f"{summary['draws']['stress']} stress ({summary['env_weeks']['stress']} env-weeks), "
             f"{summary['draws']['normal']} normal ({summary['env_weeks']['normal']} env-weeks)",
             ""]
    heads = ["detector", "rec-inc", "rec>=10", "rec-off", "paged>=10", "event med [90% CI]",
             "event p90", "page med [90% CI]", "page p90 [90% CI]", "FP/ew norm", "FT/ew norm",
             "FP/ew stress", "FT/ew stress"]
    rows = []
    for det, m in summary["detectors"].items():
        ev, pg = m["event_latency"], m["page_latency"]
        rows.append([
            det, _fmt(m["recall_incidents"], "{:.2f}"), _fmt(m["recall_10"], "{:.2f}"),
            _fmt(m["recall_10_off_hours"], "{:.2f}"), _fmt(m["paged_10"], "{:.2f}"),
            f"{_fmt(ev['median'])} [{_fmt(ev['median_ci'][0])}, {_fmt(ev['median_ci'][1])}]",
            _fmt(ev["p90"]),
            f"{_fmt(pg['median'])} [{_fmt(pg['median_ci'][0])}, {_fmt(pg['median_ci'][1])}]",
            f"{_fmt(pg['p90'])} [{_fmt(pg['p90_ci'][0])}, {_fmt(pg['p90_ci'][1])}]",
            _fmt(m["false_pages_per_env_week_normal"], "{:.3f}"),
            _fmt(m["false_tickets_per_env_week_normal"], "{:.3f}"),
            _fmt(m["false_pages_per_env_week_stress"], "{:.3f}"),
            _fmt(m["false_tickets_per_env_week_stress"], "{:.3f}"),
        ])
    lines += table(heads, rows)
    lines.append("")
    lines.append("latencies in minutes from an environment's first wrongful discard (>= 10 "
                 "lost), a missed one counting as never; FP/FT: false pages / tickets per "
                 "environment-week")
    return "\n".join(lines)
