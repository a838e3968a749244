"""Builders of tiny, hand-made ``env_minute`` rollups for the detector tests.

Every series is described per environment as a few arrays (or constants) over minutes; what is
not given is derived the way the contract defines it: ``processed = offered - deduplicated``,
no failures, an empty backlog, and ``active_envs`` = environments with jobs that minute.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest

START = pd.Timestamp("2024-05-06 00:00")
COLUMNS = ("offered", "deduplicated", "processed", "failed", "backlog")


def minute(i: int) -> pd.Timestamp:
    """The i-th minute after :data:`START`."""
    return START + pd.Timedelta(minutes=i)


def rollup(
    envs: Mapping[str, Mapping[str, object]], minutes: int, start: pd.Timestamp = START,
) -> pd.DataFrame:
    """An ``env_minute`` frame: ``envs[env][column]`` is an array of ``minutes`` values or a
    constant; the tenant is the environment id without its last ``-kind`` part."""
    frames = []
    per_env = {}
    for env, spec in envs.items():
        cols = {}
        for name in COLUMNS:
            if name in spec:
                cols[name] = np.broadcast_to(np.asarray(spec[name], dtype=np.int64),
                                             (minutes,)).copy()
        cols.setdefault("offered", np.zeros(minutes, dtype=np.int64))
        cols.setdefault("deduplicated", np.zeros(minutes, dtype=np.int64))
        cols.setdefault("processed", cols["offered"] - cols["deduplicated"])
        cols.setdefault("failed", np.zeros(minutes, dtype=np.int64))
        cols.setdefault("backlog", np.zeros(minutes, dtype=np.int64))
        per_env[env] = cols
    active = sum(((c["offered"] > 0) | (c["backlog"] > 0)).astype(np.int64)
                 for c in per_env.values())
    for env, cols in per_env.items():
        frame = pd.DataFrame({
            "minute": pd.date_range(start, periods=minutes, freq="min"),
            "environment": env,
            "tenant": env.rsplit("-", 1)[0],
            "ingests": cols["offered"] // 2,
            "skipped_unchanged": 0,
            **{k: cols[k] for k in ("offered", "deduplicated")},
            "follow_ups": 0,
            **{k: cols[k] for k in ("processed", "failed")},
            "retried": 0,
            "backlog": cols["backlog"],
            "active_envs": active.astype(np.int32),
        })
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def sparse(minutes: int, every: int, count: int = 1, offset: int = 0) -> np.ndarray:
    """``count`` at every ``every``-th minute from ``offset``, zeros elsewhere."""
    out = np.zeros(minutes, dtype=np.int64)
    out[offset::every] = count
    return out


def burst(minutes: int, first: int, last: int, count: int) -> np.ndarray:
    """``count`` in minutes ``first..last`` (inclusive), zeros elsewhere."""
    out = np.zeros(minutes, dtype=np.int64)
    out[first:last + 1] = count
    return out


HISTORY_MINUTES = 4000


@pytest.fixture(scope="session")
def history() -> pd.DataFrame:
    """Quiet history: six environments of three tenants, 10 jobs a minute each, one
    deduplication every 500 minutes (ratio 0.02%), DEV environments active on even minutes
    only (so PROD has solo and overlapping minutes)."""
    m = HISTORY_MINUTES
    even = np.tile([10, 0], m // 2)
    envs: dict[str, dict[str, object]] = {}
    for i, tenant in enumerate(("acme", "globex", "initech")):
        envs[f"{tenant}-prod"] = {"offered": 10, "deduplicated": sparse(m, 500, offset=7 * i)}
        envs[f"{tenant}-dev"] = {"offered": even,
                                 "deduplicated": sparse(m, 500, offset=100 + 8 * i)}
    return rollup(envs, m, start=START - pd.Timedelta(minutes=m))
