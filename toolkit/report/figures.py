"""The report's figures (matplotlib, imported only when a report is drawn)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from toolkit.report.blocks import Figure
from toolkit.report.data import ReportData

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _png(fig) -> bytes:
    buf = io.BytesIO()
    # No Software/date metadata, so the same store gives byte-identical figures.
    fig.savefig(buf, format="png", dpi=96, metadata={"Software": None}, bbox_inches="tight")
    return buf.getvalue()


def _markers(ax: Axes, data: ReportData) -> None:
    start, end = data.first_wrongful, data.last_wrongful
    if start and end:
        ax.axvspan(start, end, color="#d62728", alpha=0.08, label="wrongful discards")
    for t, change in data.deployments:
        ax.axvline(t, color="#555", linestyle=":", linewidth=1)
        ax.annotate(change, (t, 1), xycoords=("data", "axes fraction"), fontsize=7,
                    rotation=90, va="top", ha="right", color="#555")
    if data.first_alert:
        ax.axvline(data.first_alert, color="#d62728", linewidth=1.2, label="first alert")


def draw(data: ReportData) -> list[Figure]:
    """All figures; empty when the window has no rollup data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if data.rollup.empty:
        return []
    plt.rcParams.update({"font.size": 9, "figure.figsize": (9, 3.6), "svg.hashsalt": "toolkit"})
    figures = []
    rollup = data.rollup.assign(bin=data.rollup.minute.dt.floor("10min"))
    affected = data.affected or sorted(
        rollup.groupby("environment").deduplicated.sum().nlargest(4).index)
    top = (data.wrongful.groupby("environment").size().nlargest(6).index.tolist()
           if len(data.wrongful) else affected[:6])

    fig, ax = plt.subplots()
    per = rollup[rollup.environment.isin(top)].groupby(["bin", "environment"])[
        ["offered", "deduplicated"]].sum().reset_index()
    for env in top:
        series = per[per.environment == env]
        ratio = series.deduplicated / series.offered.where(series.offered > 0)
        ax.plot(series.bin, ratio, linewidth=1, label=env)
    _markers(ax, data)
    ax.set_ylabel("dedup ratio (10 min)")
    ax.set_ylim(0, 1.05)
    ax.set_title("Dedup ratio per environment")
    ax.legend(fontsize=7, ncol=3, loc="upper left")
    figures.append(Figure("dedup_ratio.png", "Dedup ratio per environment (10-minute bins), "
                          "wrongful-discard window shaded, deployments and first alert marked",
                          _png(fig)))
    plt.close(fig)

    fig, ax = plt.subplots()
    total = rollup.groupby("bin")[["offered", "deduplicated", "processed"]].sum()
    ax.plot(total.index, total.offered, label="offered", linewidth=1)
    ax.plot(total.index, total.offered - total.deduplicated, label="offered - deduplicated",
            linewidth=1)
    ax.plot(total.index, total.processed, label="processed", linewidth=1)
    _markers(ax, data)
    ax.set_ylabel("jobs per 10 min")
    ax.set_title("Offered versus processed jobs, all environments")
    ax.legend(fontsize=7, loc="upper left")
    figures.append(Figure("offered_processed.png", "Jobs offered, kept and processed",
                          _png(fig)))
    plt.close(fig)

    if len(data.wrongful):
        fig, ax = plt.subplots()
        w = data.wrongful.assign(bin=data.wrongful.time.dt.floor("10min"))
        counts = w.groupby(["bin", "environment"]).size().unstack(fill_value=0)
        for env in [e for e in top if e in counts.columns]:
            ax.plot(counts.index, counts[env], linewidth=1, label=env, marker=".", markersize=3)
        _markers(ax, data)
        ax.set_ylabel("wrongful discards per 10 min")
        ax.set_title("Wrongful discards by environment (audit)")
        ax.legend(fontsize=7, ncol=3, loc="upper left")
        figures.append(Figure("wrongful_discards.png", "Wrongful discards per 10 minutes, by "
                              "environment", _png(fig)))
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label, frame in (("baseline", data.baseline), ("window", data.rollup)):
        if frame.empty:
            continue
        by = frame.groupby("active_envs")[["offered", "deduplicated"]].sum()
        by = by[by.offered >= 50]
        ax.plot(by.index, by.deduplicated / by.offered, marker="o", linewidth=1, label=label)
    ax.set_xlabel("environments with jobs queued in the minute")
    ax.set_ylabel("dedup ratio")
    ax.set_title("Dedup ratio against concurrency (the 7 May signature)")
    ax.legend(fontsize=7)
    figures.append(Figure("ratio_vs_active_envs.png", "Dedup ratio by number of active "
                          "environments, baseline versus the window", _png(fig)))
    plt.close(fig)
    return figures
