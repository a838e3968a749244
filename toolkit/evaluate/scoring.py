"""Scoring detector events against exact labels: true and false positives, recall, latency,
and bootstrap confidence intervals for latency quantiles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from toolkit.detect import Event, RollupGrid
from toolkit.evaluate.labels import Labelled

__all__ = ["minute_of", "quantile_ci", "score"]


def minute_of(ts: float) -> pd.Timestamp:
    return pd.Timestamp(int(ts // 60) * 60, unit="s")


def _jobs_before(grid: RollupGrid, event: Event, minutes: int = 60) -> int:
    row = grid.row(event.environment)
    at = grid.index_of(event.detected)
    return int(grid["offered"][row, max(0, at - minutes + 1):at + 1].sum())


def score(
    events: Sequence[Event], labelled: Labelled, grid: RollupGrid, grace: int = 60,
) -> dict[str, Any]:
    """Precision, recall, false alarms and latency of one detector's events on one run."""
    first, last = labelled.first_wrongful, labelled.last_wrongful
    env_weeks = labelled.env_weeks
    true_pos: list[Event] = []
    false_pos: list[Event] = []
    for e in events:
        env = e.environment
        ok = env in first and minute_of(first[env]) <= e.detected <= \
            minute_of(last[env]) + pd.Timedelta(minutes=grace)
        (true_pos if ok else false_pos).append(e)
    found: dict[str, pd.Timestamp] = {}
    for e in true_pos:
        if e.environment not in found or e.detected < found[e.environment]:
            found[e.environment] = e.detected
    latency = {
        env: (at + pd.Timedelta(minutes=1) - pd.Timestamp(first[env], unit="s")).total_seconds()
        / 60.0
        for env, at in found.items()
    }
    big = [env for env, n in labelled.wrongful.items() if n >= 10]
    first_alert = None
    if found and labelled.first is not None:
        earliest = min(found.values()) + pd.Timedelta(minutes=1)
        first_alert = (earliest - pd.Timestamp(labelled.first, unit="s")).total_seconds() / 60
    return {
        "events": len(events),
        "pages": sum(e.severity == "page" for e in events),
        "true_positives": len(true_pos),
        "false_alarms": len(false_pos),
        "false_pages": sum(e.severity == "page" for e in false_pos),
        "precision": len(true_pos) / len(events) if events else math.nan,
        "affected": len(first),
        "flagged": len(found),
        "recall": len(found) / len(first) if first else math.nan,
        "recall_10": (sum(env in found for env in big) / len(big)) if big else math.nan,
        "false_alarms_per_env_week": len(false_pos) / env_weeks if env_weeks else math.nan,
        "false_pages_per_env_week": (sum(e.severity == "page" for e in false_pos) / env_weeks
                                     if env_weeks else math.nan),
        "latency_median_min": float(np.median(list(latency.values()))) if latency else math.nan,
        "latency_worst_min": max(latency.values()) if latency else math.nan,
        "first_alert_min": first_alert,
        "missed": sorted(set(first) - set(found)),
        "tiny_fires": sum(_jobs_before(grid, e) <= 3 for e in events),
    }




def quantile_ci(
    values: Sequence[float], q: float, *, confidence: float = 0.9, resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """The ``q`` quantile of ``values`` and its bootstrap confidence interval
    (``scipy.stats.bootstrap``, percentile method).

    ``inf`` stands for "never": a quantile that lands on it is ``inf``, so a 90th percentile
    of latencies is finite only if at least 90% of cases were found. With fewer than two
    values the interval is ``(nan, nan)``.
    """
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return math.nan, math.nan, math.nan
    point = float(np.quantile(data, q, method="inverted_cdf"))
    if data.size < 2 or np.all(data == data[0]):
        return point, (point if data.size >= 2 else math.nan), \
            (point if data.size >= 2 else math.nan)

    def statistic(sample: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.quantile(sample, q, axis=axis, method="inverted_cdf")

    # ``inf`` as a large finite stand-in (the bootstrap interpolates percentiles); a bound
    # beyond every finite value means "never".
    finite = data[np.isfinite(data)]
    top = float(finite.max()) if finite.size else 0.0
    stand_in = np.where(np.isinf(data), top * 10 + 1e6, data)
    res = stats.bootstrap((stand_in,), statistic, confidence_level=confidence,
                          n_resamples=resamples, method="percentile", vectorized=True,
                          random_state=np.random.default_rng(seed))
    low, high = (float(x) for x in (res.confidence_interval.low, res.confidence_interval.high))
    return point, (math.inf if low > top else low), (math.inf if high > top else high)
