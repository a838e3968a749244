"""The report's figures, each for the section it illustrates (matplotlib, imported on use)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import TYPE_CHECKING

import pandas as pd

from toolkit.report.blocks import Figure
from toolkit.report.data import ReportData

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

__all__ = ["CONTEXT", "draw"]

#: Rollup shown before the window, so the figures contrast the incident with normal days.
CONTEXT = timedelta(days=1)


def _png(fig: MplFigure) -> bytes:
    buf = io.BytesIO()
    # No Software/date metadata, so the same store gives byte-identical figures.
    fig.savefig(buf, format="png", dpi=96, metadata={"Software": None})
    return buf.getvalue()


def _freq(span: timedelta) -> str:
    return "10min" if span <= timedelta(hours=12) else "30min" if span <= timedelta(days=2) \
        else "1h"


def draw(data: ReportData) -> dict[str, list[Figure]]:
    """Figures by the key of the section they belong to (``key`` holds the first screen's);
    empty when the window has no rollup data."""
    from toolkit.report import plots

    if data.rollup.empty:
        return {}
    context = data.baseline[data.baseline.minute >= data.since - CONTEXT]
    shown = pd.concat([f for f in (context, data.rollup) if len(f)], ignore_index=True)
    freq = _freq(shown.minute.max() - shown.minute.min())
    marks = [(r.time.to_pydatetime(), f"deployment: {r.change}"
              + (f" ({r.environment})" if r.environment else ""))
             for r in data.deployments.itertuples()]
    out: dict[str, list[Figure]] = {}

    def add(section: str, name: str, caption: str, fig: MplFigure) -> None:
        out.setdefault(section, []).append(Figure(name, caption, _png(fig)))

    add("key", "dedup_heatmap.png", "Dedup ratio per environment over time (UTC): where and "
        "when deduplication departed from normal", plots.plot_dedup_heatmap(
            shown, freq=freq, marks=marks))
    spans = [(r.environment, r.start.to_pydatetime(), r.end.to_pydatetime())
             for r in data.events.itertuples()]
    hit = (list(data.wrongful.environment.value_counts(sort=True).index) if len(data.wrongful)
           else list(dict.fromkeys(data.events.environment)))
    add("detection", "dedup_ratio.png", "Dedup ratio of the environments hit, one panel each",
        plots.plot_dedup_small_multiples(shown, hit or None, freq=freq, marks=marks,
                                         spans=spans))
    if len(data.wrongful):
        add("impact", "wrongful_discards.png", "Wrongful discards over time, by environment",
            plots.plot_wrongful(data.wrongful, freq=freq, marks=marks))
        add("root_cause", "concurrency.png", "Dedup ratio against concurrency within the "
            "tenant, before and during the window", plots.plot_concurrency(
                {"before the window": data.baseline, "in the window": data.rollup}))
    add("figures", "flow.png", "Jobs offered, processed and deduplicated, all environments",
        plots.plot_flow(shown, freq=freq, marks=marks))
    return out
