"""Dedup ratio plots with detected events shaded, for notebooks and post-mortem reports.

matplotlib is imported inside the function, never at module import: the cron alert path
imports :mod:`toolkit.detect` and must stay light.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.detect._grid import to_grid
from toolkit.detect._stats import window_sum
from toolkit.detect.events import Event
from toolkit.errors import BadInput

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_COLOURS = {"page": "tab:red", "ticket": "tab:orange"}


def plot_dedup_ratio(
    frame: pd.DataFrame,
    environments: Sequence[str] | None = None,
    events: Iterable[Event] = (),
    *,
    window: int = 60,
    since: object = None,
    until: object = None,
    max_panels: int = 8,
) -> Figure:
    """Plot each environment's dedup ratio over a trailing window, shading event spans.

    Args:
        frame: ``env_minute`` rows (``minute``, ``environment``, ``offered``, ``deduplicated``).
        environments: which to draw, one panel each (default: those with events, else the
            ones with the most deduplications), at most ``max_panels``.
        events: detector events; spans are shaded red (``page``) or orange (``ticket``).
        window: minutes of the trailing window the ratio is computed over.
        since, until: time range to draw (default: the whole frame).
        max_panels: most panels drawn.

    Returns:
        The matplotlib Figure (not shown; call ``fig.savefig`` or display it in a notebook).
    """
    # A bare Figure (no pyplot): no backend to choose, nothing kept alive in a global registry.
    from matplotlib.figure import Figure

    grid = to_grid(frame, ("offered", "deduplicated"), who="plot_dedup_ratio")
    events = list(events)
    if environments is None:
        flagged = list(dict.fromkeys(e.environment for e in events))
        if flagged:
            environments = flagged
        else:
            totals = grid["deduplicated"].sum(axis=1)
            environments = [grid.environments[i] for i in np.argsort(-totals, kind="stable")]
    environments = list(environments)[:max_panels]
    if not environments:
        raise BadInput("plot_dedup_ratio: no environment to draw")
    times = grid.times()
    lo = 0 if since is None else max(0, grid.index_of(since))
    hi = grid.minutes if until is None else min(grid.minutes, grid.index_of(until) + 1)
    if hi <= lo:
        raise BadInput("plot_dedup_ratio: the time range holds no minute of the frame")
    offered = window_sum(grid["offered"], window)
    dedup = window_sum(grid["deduplicated"], window)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(offered > 0, dedup / offered, np.nan)

    fig = Figure(figsize=(11, 1.9 * len(environments) + 0.6))
    axes = fig.subplots(len(environments), 1, sharex=True, squeeze=False)
    for ax, env in zip(axes[:, 0], environments, strict=True):
        row = grid.row(env)
        ax.plot(times[lo:hi], 100.0 * ratio[row, lo:hi], lw=0.9, color="tab:blue")
        for e in events:
            if e.environment != env:
                continue
            ax.axvspan(e.start, e.end + pd.Timedelta(minutes=1),
                       color=_COLOURS.get(e.severity, "grey"), alpha=0.25, lw=0)
        ax.set_ylabel("dedup %")
        ax.set_title(env, loc="left", fontsize=9)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel(f"minute (UTC); ratio over a trailing {window}-minute window")
    fig.tight_layout()
    return fig

