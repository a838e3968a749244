"""Plots of the ``env_minute`` rollup that people read: for post-mortems and notebooks alike.

Every function takes store frames and returns a matplotlib ``Figure`` built without pyplot
(no backend to pick, nothing left in a global registry): call ``fig.savefig`` or display it
in a notebook. Time axes are UTC with dates; bins without jobs are gaps, never lines drawn
across them; marks (deployments, for instance) go in a legend below the plot, where long
labels fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.errors import BadInput

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Mark", "binned_dedup_ratio", "plot_concurrency", "plot_dedup_heatmap",
           "plot_dedup_small_multiples", "plot_flow", "plot_wrongful"]

#: A labelled moment drawn as a vertical line: ``(time, label)``.
Mark = tuple[datetime, str]
_MARK_STYLES = ("--", ":", "-.", (0, (5, 1, 1, 1)))


def binned_dedup_ratio(rollup: pd.DataFrame, freq: str = "1h") -> pd.DataFrame:
    """Dedup ratio (0-1) per ``freq`` bin (rows, every bin from first to last) and
    environment (columns); NaN where the environment was offered no job."""
    if rollup.empty:
        raise BadInput("no rollup rows to plot")
    binned = rollup.assign(bin=rollup.minute.dt.floor(freq)).groupby(
        ["bin", "environment"])[["offered", "deduplicated"]].sum()
    offered = binned.offered.unstack("environment")
    dedup = binned.deduplicated.unstack("environment")
    full = pd.date_range(offered.index.min(), offered.index.max(), freq=freq, name="bin")
    offered, dedup = offered.reindex(full), dedup.reindex(full)
    return (dedup / offered.where(offered > 0)).sort_index(axis=1)


def _time_axis(ax: Axes, times: pd.Index, note: str = "") -> None:
    """Dates at day ticks, hours between, and the dates spanned in the axis label (so a
    range inside one day still says which day, and every axis says which year)."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False,
                                                             formats=["%Y", "%b", "%a %d %b",
                                                                      "%H:%M", "%H:%M",
                                                                      "%S.%f"]))
    first, last = pd.Timestamp(times.min()), pd.Timestamp(times.max())
    span = (f"{first:%a %d %b %Y}" if first.date() == last.date()
            else f"{first:%a %d %b} to {last:%a %d %b %Y}")
    ax.set_xlabel(f"time (UTC), {span}" + (f"; {note}" if note else ""))


def _marks(fig: Figure, axes: Sequence[Axes], marks: Sequence[Mark]) -> None:
    """Vertical lines on every panel, labelled once in a legend under the figure."""
    from matplotlib.lines import Line2D

    handles = []
    for i, (when, label) in enumerate(marks):
        style = _MARK_STYLES[i % len(_MARK_STYLES)]
        for ax in axes:
            ax.axvline(when, color="tab:red", linestyle=style, linewidth=1.2)
        handles.append(Line2D([], [], color="tab:red", linestyle=style,
                              label=f"{when:%a %d %b %H:%M} UTC  {label}"))
    if handles:
        fig.legend(handles=handles, loc="outside lower left", fontsize=8, frameon=False,
                   ncol=1 if len(handles) < 3 else 2)


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def plot_dedup_heatmap(
    rollup: pd.DataFrame, *, freq: str = "1h", marks: Sequence[Mark] = (),
    clip: float | None = None,
) -> Figure:
    """Dedup ratio per environment (rows) and ``freq`` bin (UTC columns); blank: no jobs.

    Args:
        rollup: ``env_minute`` rows.
        freq: bin width (pandas offset alias).
        marks: moments drawn as vertical lines and labelled below.
        clip: top of the colour scale in percent (default: the 99th percentile, so one
            surge does not wash out the rest).
    """
    ratio = 100 * binned_dedup_ratio(rollup, freq)
    values = ratio.T.to_numpy(dtype=float)
    top = clip or (float(np.nanpercentile(values, 99)) if np.isfinite(values).any() else 1.0)
    fig = _figure(10, 1.6 + 0.17 * len(ratio.columns) + 0.3 * len(marks))
    ax = fig.subplots()
    step = pd.Timedelta(freq)
    edges = pd.DatetimeIndex([*ratio.index, ratio.index[-1] + step])
    mesh = ax.pcolormesh(edges, np.arange(len(ratio.columns) + 1),
                         np.ma.masked_invalid(values), cmap="viridis", vmin=0,
                         vmax=max(top, 1e-9), shading="flat")
    ax.set_yticks(np.arange(len(ratio.columns)) + 0.5, ratio.columns,
                  fontsize=8 if len(ratio.columns) <= 24 else 7)
    ax.invert_yaxis()
    _time_axis(ax, ratio.index)
    ax.set_title(f"Dedup ratio per environment, per {_words(freq)} (blank: no jobs)",
                 loc="left", fontsize=10)
    fig.colorbar(mesh, ax=ax, label=f"dedup % (scale top {top:.1f}%)", pad=0.01)
    _marks(fig, [ax], marks)
    return fig


def plot_dedup_small_multiples(
    rollup: pd.DataFrame, environments: Sequence[str] | None = None, *, freq: str = "1h",
    marks: Sequence[Mark] = (), spans: Sequence[tuple[str, datetime, datetime]] = (),
    max_panels: int = 8,
) -> Figure:
    """One panel per environment: its dedup ratio per ``freq`` bin, gaps where it had no jobs.

    Args:
        rollup: ``env_minute`` rows.
        environments: which to draw (default: the highest peak ratios), at most
            ``max_panels``.
        freq: bin width.
        marks: moments drawn as vertical lines and labelled below.
        spans: ``(environment, start, end)`` shaded on that environment's panel (detector
            events, for instance).
    """
    ratio = 100 * binned_dedup_ratio(rollup, freq)
    if environments is None:
        environments = list(ratio.max().sort_values(ascending=False, kind="stable").index)
    environments = [e for e in environments if e in ratio.columns][:max_panels]
    if not environments:
        raise BadInput("plot_dedup_small_multiples: no environment to draw")
    fig = _figure(10, 0.5 + 1.25 * len(environments) + 0.3 * len(marks))
    axes = fig.subplots(len(environments), 1, sharex=True, squeeze=False)[:, 0]
    for ax, env in zip(axes, environments, strict=True):
        ax.plot(ratio.index, ratio[env], linewidth=1, color="tab:blue", marker=".",
                markersize=2)
        for name, start, end in spans:
            if name == env:
                ax.axvspan(start, end, color="tab:orange", alpha=0.18, linewidth=0)
        ax.set_ylim(0, max(5.0, float(np.nanmax(ratio[env].to_numpy(dtype=float),
                                                 initial=0)) * 1.1))
        ax.set_ylabel("dedup %", fontsize=8)
        ax.set_title(env, loc="left", fontsize=9)
        ax.grid(alpha=0.3)
    _time_axis(axes[-1], ratio.index, f"dedup ratio per {_words(freq)}"
               + ("; shaded: detector events" if spans else ""))
    _marks(fig, axes, marks)
    return fig


def plot_concurrency(
    periods: dict[str, pd.DataFrame], *, min_jobs: int = 50,
) -> Figure:
    """Dedup ratio against how many environments of the same tenant had work that minute,
    one line per period (for instance ``{"before": baseline, "during": window}``)."""
    from toolkit.report.rootcause import tenant_concurrency

    fig = _figure(7, 3.4)
    ax = fig.subplots()
    most = 1
    for (label, frame), colour in zip(periods.items(), ("tab:blue", "tab:red", "tab:green"),
                                      strict=False):
        if frame.empty:
            continue
        busy = tenant_concurrency(frame)
        joined = frame.merge(busy, on=["minute", "tenant"])
        by = joined.groupby("busy")[["offered", "deduplicated"]].sum()
        by = by[by.offered >= min_jobs]
        if by.empty:
            continue
        most = max(most, int(by.index.max()))
        ax.plot(by.index, 100 * by.deduplicated / by.offered, marker="o", linewidth=1,
                color=colour, label=label)
    ax.set_xticks(range(1, most + 1))
    ax.set_xlabel("environments of the same tenant with work in the minute")
    ax.set_ylabel("dedup %")
    ax.set_title(f"Dedup ratio by concurrency within the tenant (points of {min_jobs}+ jobs)",
                 loc="left", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_wrongful(
    wrongful: pd.DataFrame, *, freq: str = "1h", marks: Sequence[Mark] = (), top: int = 6,
) -> Figure:
    """Wrongful discards per ``freq`` bin, stacked by environment (the ``top`` most hit,
    the rest together)."""
    if wrongful.empty:
        raise BadInput("plot_wrongful: no wrongful discard to plot")
    counts = wrongful.assign(bin=wrongful.time.dt.floor(freq)).groupby(
        ["bin", "environment"]).size().unstack(fill_value=0)
    full = pd.date_range(counts.index.min(), counts.index.max(), freq=freq)
    counts = counts.reindex(full, fill_value=0)
    order = counts.sum().sort_values(ascending=False, kind="stable").index
    shown = counts[order[:top]]
    if len(order) > top:
        shown = shown.assign(**{f"{len(order) - top} others": counts[order[top:]].sum(axis=1)})
    fig = _figure(10, 3.2 + 0.3 * len(marks))
    ax = fig.subplots()
    width = pd.Timedelta(freq) * 0.9
    bottom = np.zeros(len(shown))
    for column in shown.columns:
        ax.bar(shown.index, shown[column], width=width, bottom=bottom, align="edge",
               label=column, linewidth=0)
        bottom += shown[column].to_numpy()
    _time_axis(ax, shown.index)
    ax.set_ylabel(f"per {_words(freq)}")
    ax.set_title("Wrongful discards proven by the audit, by environment", loc="left",
                 fontsize=10)
    ax.legend(fontsize=8, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.grid(alpha=0.3, axis="y")
    _marks(fig, [ax], marks)
    return fig


def plot_flow(rollup: pd.DataFrame, *, freq: str = "1h", marks: Sequence[Mark] = ()) -> Figure:
    """All environments together: jobs offered and processed (top), deduplicated (bottom),
    per ``freq`` bin; two panels so that no line hides another."""
    binned = rollup.assign(bin=rollup.minute.dt.floor(freq)).groupby("bin")[
        ["offered", "deduplicated", "processed"]].sum()
    full = pd.date_range(binned.index.min(), binned.index.max(), freq=freq)
    binned = binned.reindex(full)
    fig = _figure(10, 4.4 + 0.3 * len(marks))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    top.plot(binned.index, binned.offered, color="tab:blue", linewidth=1.2, label="offered")
    top.plot(binned.index, binned.processed, color="tab:green", linewidth=1, linestyle="--",
             label="processed")
    top.set_ylabel(f"jobs per {_words(freq)}")
    top.set_title("Jobs offered, processed and deduplicated, all environments", loc="left",
                  fontsize=10)
    top.legend(fontsize=8, loc="upper left")
    bottom.plot(binned.index, binned.deduplicated, color="tab:orange", linewidth=1,
                label="deduplicated")
    bottom.set_ylabel("deduplicated")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    _time_axis(bottom, binned.index)
    _marks(fig, [top, bottom], marks)
    return fig


def _words(freq: str) -> str:
    delta = pd.Timedelta(freq)
    minutes = int(delta.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return "hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"
