"""A run's ground truth as the rollup the store would hold: detectors scored without telemetry.

This lives with the evaluation, not the engine: the engine stays free of pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from toolkit.engine.truth import Fate

if TYPE_CHECKING:
    from toolkit.engine.truth import GroundTruth

__all__ = ["rollup_frame"]


def rollup_frame(truth: GroundTruth, tenants: dict[str, str] | None = None) -> pd.DataFrame:
    """The exact per-environment per-minute rollup (columns of ``env_minute`` in
    docs/contracts.md) plus ``wrongful_discards``: what the store's rollup holds when
    telemetry is complete. Used to score detectors quickly on long scenarios."""
    rows = list(truth.minutes())
    cols = {
        "ingests": Fate.INGESTS, "skipped_unchanged": Fate.SKIPPED_UNCHANGED,
        "offered": Fate.CREATED, "deduplicated": Fate.DEDUPLICATED,
        "follow_ups": Fate.FOLLOW_UPS, "processed": Fate.PROCESSED,
        "failed": Fate.FAILED_FOR_GOOD, "retried": Fate.RETRIES,
        "backlog": Fate.QUEUED_END, "wrongful_discards": Fate.WRONGFUL_DISCARDS,
    }
    frame = pd.DataFrame({
        "minute": pd.to_datetime(
            [truth.start + 60 * m for _, m, _ in rows], unit="s"
        ).astype("datetime64[us]"),
        "environment": [env for env, _, _ in rows],
    })
    frame["tenant"] = frame["environment"].map(
        tenants if tenants is not None else (lambda e: e.rsplit("-", 1)[0])
    )
    for name, fate in cols.items():
        frame[name] = pd.array([row[fate] for _, _, row in rows], dtype="int64")
    queued = pd.Series([row[Fate.QUEUED_MAX] > 0 for _, _, row in rows])
    frame["active_envs"] = (
        queued.groupby(frame["minute"]).transform("sum").astype("int32").to_numpy()
    )
    return frame.sort_values(["minute", "environment"], ignore_index=True)

