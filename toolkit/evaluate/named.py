"""Quick mode: the detectors on the named scenarios, one seed, with exact ground truth.

Protocol (also in docs/detectors.md):

1. *History.* Every detector is fitted once on a separate, fault-free run:
   ``run_scenario("baseline", days=14, seed=seed)`` (two weeks of normal traffic, standing in
   for "the last two weeks" of a real platform).
2. *Normal days.* ``run_scenario("baseline", days=14, seed=seed + 1)``: another fortnight the
   detectors have not seen. Every event there is a false alarm.
3. *Faults.* ``may7``, ``lost-follow-up``, ``schema-blind-dedup`` and ``small-env`` with
   ``seed``, each scored on :func:`toolkit.evaluate.truth.rollup_frame` (the exact
   ``env_minute`` rollup; the ``wrongful_discards`` label column is dropped before detection).

Scoring, per detector and scenario. An environment is *affected* if it suffered at least one
wrongful discard. An event is a *true positive* if its environment is affected and it was
detected (``detected_at``) between the minute of that environment's first wrongful discard and
``grace`` minutes after its last; every other event is a false alarm (an event raised before
anything went wrong in its environment is a false alarm at the time it was raised).

* precision: true-positive events / events;
* recall: affected environments with a true-positive event / affected environments (also over
  environments with at least 10 wrongful discards, ``recall_10``: one lost job in a day is the
  audit's to find, not a statistic's);
* false alarms per environment-week: false-alarm events / (environments x days / 7); pages
  likewise (``page`` severity only);
* latency: minutes from an environment's first wrongful discard to the end of the minute its
  first true-positive event was detected at (data of a minute is complete only when it ends),
  median and worst over the affected environments found;
* first alert: the same, from the scenario's first wrongful discard to the earliest
  true-positive event of any environment;
* tiny fires: events raised on an environment that had at most 3 jobs in the hour before.

Simulations are cached per process: evaluating twice costs the detection only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from toolkit.detect import Event, available_detectors, fit_detectors, run_detectors, to_grid
from toolkit.errors import BadInput
from toolkit.evaluate.labels import simulate
from toolkit.evaluate.scoring import score
from toolkit.evaluate.text import table
from toolkit.timefmt import iso_utc
from toolkit.workload import get_scenario

DEFAULT_SCENARIOS = ("baseline", "may7", "lost-follow-up", "schema-blind-dedup", "small-env")
"""``baseline`` here means the normal-days run (a second seed of the baseline scenario)."""

FIT_DAYS = 14
NORMAL_DAYS = 14
ANY = "any"
"""Pseudo-detector name for the union of every detector's events."""


def evaluate(
    scenarios: Iterable[str] = DEFAULT_SCENARIOS,
    seed: int = 7,
    days_override: int | None = None,
    detectors: Iterable[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    grace: int = 60,
    step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit the detectors on a fault-free fortnight and score them on labelled scenarios.

    Args:
        scenarios: names among ``baseline`` (normal days), ``may7``, ``lost-follow-up``,
            ``schema-blind-dedup``, ``small-env``.
        seed: simulation seed (normal days use ``seed + 1``).
        days_override: simulate every run (history included) for this many days instead of
            its default, e.g. for a quick test. A fault that starts later is then absent.
        detectors: registry names (default: all), scored one by one and as their union
            (``any``).
        params: per-detector constructor parameters.
        grace: minutes after an environment's last wrongful discard an event still counts.
        step: called with what was just done after the fit and after each scenario (one more
            call than there are scenarios), for a progress bar.

    Returns:
        A JSON-ready dict: ``protocol``, ``seed``, ``scenarios`` (per scenario: facts and
        ``detectors`` -> metrics), ``targets`` (the may7 and normal-days targets, met or not).
    """
    scenarios = list(scenarios)
    for name in scenarios:
        get_scenario(name)
    if days_override is not None and days_override < 1:
        raise BadInput(f"days_override must be >= 1, got {days_override}")
    names = list(detectors) if detectors is not None else available_detectors()
    history = simulate("baseline", seed, days_override or FIT_DAYS)
    fitted = fit_detectors(history.frame, names, params)
    if step is not None:
        step("fitted")
    out: dict[str, Any] = {
        "protocol": (
            f"fit on baseline seed {seed} ({days_override or FIT_DAYS} days); normal days: "
            f"baseline seed {seed + 1}; faults: seed {seed}; true positive = event on an "
            f"affected environment detected from its first wrongful discard to {grace} min "
            f"after its last"
        ),
        "seed": seed,
        "detectors": names,
        "scenarios": {},
    }
    for name in scenarios:
        if name == "baseline":
            labelled = simulate("baseline", seed + 1, days_override or NORMAL_DAYS)
        else:
            labelled = simulate(name, seed, days_override)
        grid = to_grid(labelled.frame, sorted({c for d in fitted for c in d.requires}))
        per: dict[str, list[Event]] = {d.name: run_detectors([d], grid) for d in fitted}
        per[ANY] = [e for d in fitted for e in per[d.name]]
        out["scenarios"][name] = {
            "seed": labelled.seed,
            "days": labelled.days,
            "environments": labelled.environments,
            "wrongful_discards": sum(labelled.wrongful.values()),
            "first_wrongful": iso_utc(labelled.first),
            "detectors": {det: score(evs, labelled, grid, grace) for det, evs in per.items()},
        }
        if step is not None:
            step(name)
    out["targets"] = _targets(out["scenarios"])
    return out


def _targets(scenarios: Mapping[str, Any]) -> dict[str, Any]:
    """The brief's targets, each ``{"value": ..., "met": bool}`` (absent scenarios: skipped)."""
    targets: dict[str, Any] = {}
    may7 = scenarios.get("may7")
    if may7 and may7["wrongful_discards"]:
        union = may7["detectors"][ANY]
        targets["may7_every_affected_environment_flagged"] = {
            "value": f"{union['flagged']} of {union['affected']}",
            "met": union["flagged"] == union["affected"],
            "missed": union["missed"],
        }
        first = union["first_alert_min"]
        targets["may7_first_alert_within_5_min"] = {
            "value": None if first is None else round(first, 2),
            "met": first is not None and first <= 5.0,
        }
    normal = scenarios.get("baseline")
    if normal:
        pages = normal["detectors"][ANY]["pages"]
        targets["normal_days_zero_pages"] = {"value": pages, "met": pages == 0}
    tiny = sum(s["detectors"][ANY]["tiny_fires"] for s in scenarios.values())
    targets["no_event_on_3_jobs"] = {"value": tiny, "met": tiny == 0}
    return targets


def evaluation_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """One row per (scenario, detector) with the metrics as columns."""
    rows = []
    for scenario, facts in result["scenarios"].items():
        for det, metrics in facts["detectors"].items():
            rows.append({"scenario": scenario, "detector": det,
                         **{k: v for k, v in metrics.items() if k != "missed"}})
    return pd.DataFrame(rows)


_COLUMNS = (
    ("scenario", "scenario", "{}"),
    ("events", "events", "{}"),
    ("pages", "pages", "{}"),
    ("precision", "precision", "{:.2f}"),
    ("recall", "recall", "{}"),
    ("recall_10", "recall>=10", "{:.2f}"),
    ("false_alarms_per_env_week", "FA/env-wk", "{:.3f}"),
    ("false_pages_per_env_week", "FP-page/env-wk", "{:.3f}"),
    ("latency_median_min", "lat-med", "{:.1f}"),
    ("latency_worst_min", "lat-worst", "{:.1f}"),
    ("first_alert_min", "first", "{:.1f}"),
)


def _cell(key: str, fmt: str, row: Mapping[str, Any]) -> str:
    if key == "recall":
        return "-" if not row["affected"] else f"{row['flagged']}/{row['affected']}"
    value = row[key]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)


def format_evaluation(result: Mapping[str, Any]) -> str:
    """A fixed-width table per detector (rows: scenarios), then the targets."""
    lines = [f"protocol: {result['protocol']}"]
    detectors = [*result["detectors"], ANY]
    for det in detectors:
        rows = []
        for scenario, facts in result["scenarios"].items():
            metrics = facts["detectors"][det]
            rows.append([_cell(k, f, {"scenario": scenario, **metrics}) for k, _, f in _COLUMNS])
        lines.append("")
        lines.append(f"detector {det}")
        lines += table([h for _, h, _ in _COLUMNS], rows)
    lines.append("")
    lines.append("targets")
    for name, target in result["targets"].items():
        mark = "met" if target["met"] else "NOT met"
        extra = f" (missed: {', '.join(target['missed'])})" if target.get("missed") else ""
        lines.append(f"  {name}: {target['value']} -> {mark}{extra}")
    return "\n".join(lines)
