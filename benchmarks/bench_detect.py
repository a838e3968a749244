"""Detector speed and memory on a month of a 50-environment fleet, and against plain pandas.

Builds a synthetic ``env_minute`` rollup: 30 days x 50 environments = 2.16M environment-minutes
with working-day traffic (Poisson jobs on a European day curve, heavier PROD than DEV),
clumpy legitimate deduplication, a few bulk re-ingests with backlog surges, and a 7 May-like
fault in a handful of environments on day 22. Then:

1. fits every detector on the first 14 days (printed, not a target);
2. runs every detector over all 30 days from the DataFrame (grid conversion included):
   wall time and peak memory (tracemalloc, which sees numpy's buffers; and the process's
   peak RSS);
3. does the tail test's core (10- and 60-minute rolling sums per environment, expected
   counts, excess screen, p-values, runs of flagged minutes) once with the detector and once
   in plain pandas (``groupby().rolling()``), in the same run, and prints the ratio;
4. an incremental run, as the cron alert does it every minute: the last ``lookback`` minutes
   of rows (the most any detector needs), detecting over the newest minute only.

Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_detect.py
"""

from __future__ import annotations

import math
import resource
import time
import tracemalloc

import numpy as np
import pandas as pd

from toolkit.detect import DedupTailTest, fit_detectors, run_detectors, to_grid
from toolkit.detect._stats import overdispersed_sf, runs, windowed

DAYS = 30
ENVS = 50
MINUTES = DAYS * 1440
START = np.datetime64("2024-04-01T00:00", "m")


def synthetic_rollup(seed: int = 1) -> pd.DataFrame:
    """30 days x 50 environments of plausible ``env_minute`` rows (vectorised)."""
    rng = np.random.default_rng(seed)
    minute = np.arange(MINUTES)
    hour = (minute % 1440) / 60.0
    weekday = ((minute // 1440) + 0) % 7 < 5  # 2024-04-01 was a Monday
    bump = np.clip(np.sin(np.pi * (hour - 6.0) / 11.0), 0.0, None) * ((hour > 6) & (hour < 17))
    curve = (0.03 + 0.97 * bump**1.5) * np.where(weekday, 1.0, 0.15)
    tenants = [f"t{i:02d}" for i in range(ENVS // 2)]
    envs = [f"{t}-{kind}" for t in tenants for kind in ("dev", "prod")]
    peak = rng.lognormal(mean=1.5, sigma=0.8, size=ENVS) * np.tile([0.6, 1.0], ENVS // 2)
    offered = rng.poisson(peak[:, None] * curve[None, :] * 3.0)
    # Legitimate dedup: rare, in clumps (an auto-save burst folds several jobs at once).
    clumps = rng.poisson(offered * 0.0008)
    dedup = np.minimum(offered, clumps * rng.integers(1, 5, size=offered.shape))
    backlog = np.zeros_like(offered)
    # Bulk re-ingests written twice: a burst of jobs, half of them coalesced, a draining queue.
    for _ in range(40):
        e, t = rng.integers(ENVS), rng.integers(0, MINUTES - 120)
        size = int(rng.integers(500, 4000))
        offered[e, t] += 2 * size
        dedup[e, t] += size
        drain = np.maximum(size - 200 * np.arange(60), 0)
        backlog[e, t:t + 60] = drain
    # A 7 May-like fault in six PROD environments on day 22, 09:12-17:00.
    lo, hi = 21 * 1440 + 9 * 60 + 12, 21 * 1440 + 17 * 60
    for e in range(1, 12, 2):
        dedup[e, lo:hi] += rng.binomial(offered[e, lo:hi] - dedup[e, lo:hi], 0.08)
    processed = offered - dedup - np.diff(backlog, axis=1, prepend=0)
    processed = np.maximum(processed, 0)
    active = ((offered > 0) | (backlog > 0)).sum(axis=0)
    frame = pd.DataFrame({
        "minute": np.tile(START + minute, ENVS).astype("datetime64[us]"),
        "environment": np.repeat(envs, MINUTES),
        "tenant": np.repeat([e.rsplit("-", 1)[0] for e in envs], MINUTES),
        "ingests": (offered // 3).ravel(),
        "skipped_unchanged": np.zeros(ENVS * MINUTES, dtype=np.int64),
        "offered": offered.ravel(),
        "deduplicated": dedup.ravel(),
        "follow_ups": np.zeros(ENVS * MINUTES, dtype=np.int64),
        "processed": processed.ravel(),
        "failed": np.zeros(ENVS * MINUTES, dtype=np.int64),
        "retried": np.zeros(ENVS * MINUTES, dtype=np.int64),
        "backlog": backlog.ravel(),
        "active_envs": np.tile(active, ENVS).astype(np.int32),
    })
    return frame


def pandas_tail_core(frame: pd.DataFrame, rate: pd.Series, phi: pd.Series) -> int:
    """The tail test's core in plain pandas: rolling sums per group, screen, p-values, runs."""
    df = frame[["minute", "environment", "offered", "deduplicated"]].sort_values(
        ["environment", "minute"])
    grouped = df.groupby("environment", sort=False)
    out = {}
    for width in (10, 60):
        rolled = grouped[["offered", "deduplicated"]].rolling(width, min_periods=1).sum()
        out[width] = rolled.reset_index(level=0, drop=True).loc[df.index]
    p0 = df["environment"].map(rate).to_numpy()
    ph = df["environment"].map(phi).to_numpy()
    n_l, d_l = out[60]["offered"].to_numpy(), out[60]["deduplicated"].to_numpy()
    screen = (d_l - n_l * p0 >= 5) & (n_l >= 5)
    worst = np.zeros(len(df))
    for width in (10, 60):
        n, d = out[width]["offered"].to_numpy(), out[width]["deduplicated"].to_numpy()
        p = np.ones(len(df))
        m = screen & (d > n * p0)
        p[m] = overdispersed_sf(d[m], n[m], p0[m], ph[m])
        worst = np.maximum(worst, p)
    df["fire"] = screen & (worst < 1e-6)
    starts = df["fire"] & ~df.groupby("environment", sort=False)["fire"].shift(
        1, fill_value=False)
    return int(starts.sum())


def timed(label: str, fn, *args, **kwargs):
    """Best of two timed calls (tracing off), then one traced call for peak memory: tracemalloc
    slows numpy's allocations, so time and memory are measured apart."""
    seconds = math.inf
    for _ in range(2):
        t0 = time.perf_counter()
        value = fn(*args, **kwargs)
        seconds = min(seconds, time.perf_counter() - t0)
    tracemalloc.start()
    fn(*args, **kwargs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<60} {seconds:7.3f} s   peak {peak / 2**20:6.0f} MiB (tracemalloc)")
    return value, seconds


def main() -> None:
    t0 = time.perf_counter()
    frame = synthetic_rollup()
    print(f"synthetic rollup: {len(frame):,} rows ({DAYS} days x {ENVS} environments), "
          f"built in {time.perf_counter() - t0:.1f} s, "
          f"{frame.memory_usage(deep=True).sum() / 2**20:.0f} MiB")
    history = frame[frame["minute"] < START + np.timedelta64(14 * 1440, "m")]
    detectors, _ = timed("fit all detectors on 14 days", fit_detectors, history)

    events, all_s = timed("detect, all detectors, 30 days (from the DataFrame)",
                          run_detectors, detectors, frame)
    by = pd.Series([e.detector for e in events]).value_counts().to_dict()
    print(f"  events: {len(events)} {by}")
    for det in detectors:
        timed(f"  {det.name} alone (grid prebuilt)", det.detect, to_grid(frame, det.requires))

    tail = next(d for d in detectors if isinstance(d, DedupTailTest))
    rate = pd.Series(tail.baseline_.env_rates_for(to_grid(history, tail.requires)),
                     index=sorted(frame["environment"].unique()))
    phi = pd.Series(tail.baseline_.phi_for(to_grid(history, tail.requires))[:, 0],
                    index=rate.index)

    def ours_core() -> int:
        grid = to_grid(frame, ("offered", "deduplicated"))
        p0 = rate.to_numpy()[:, None]
        ph = phi.to_numpy()[:, None]
        short = windowed(grid["deduplicated"], grid["offered"], p0, ph, 10)
        long = windowed(grid["deduplicated"], grid["offered"], p0, ph, 60)
        screen = (long.excess >= 5) & (long.jobs >= 5)
        worst = np.maximum(short.sf(screen), long.sf(screen))
        return len(runs(screen & (worst < 1e-6))[0])

    n_ours, ours_s = timed("tail core, numpy on the dense grid", ours_core)
    n_pd, pandas_s = timed("tail core, plain pandas groupby().rolling()", pandas_tail_core,
                           frame, rate, phi)
    print(f"  same runs found: {n_ours} vs {n_pd}; pandas / numpy = {pandas_s / ours_s:.1f}x")

    lookback = max(d.lookback for d in detectors)
    newest = frame["minute"].max()
    recent = frame[frame["minute"] > newest - pd.Timedelta(minutes=lookback)]
    _, inc_s = timed(f"incremental: last {lookback} min ({len(recent):,} rows), newest minute",
                     run_detectors, detectors, recent, since=newest)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS {rss:.0f} MiB")
    print(f"targets: all detectors < 3 s: {all_s:.2f} s; >= 10x pandas: "
          f"{pandas_s / ours_s:.1f}x; incremental < 0.5 s: {inc_s:.3f} s")


if __name__ == "__main__":
    main()
