"""Write a drafted post-mortem: report.md, report.html, figures and remediation.csv."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from toolkit.report.blocks import Block, Heading
from toolkit.report.data import ReportData
from toolkit.report.figures import draw
from toolkit.report.render import to_html, to_markdown
from toolkit.report.sections import SECTIONS

REMEDIATION_COLUMNS = ["environment", "tenant", "source", "entity", "schema",
                       "latest_version", "rendered_version"]


@dataclass(frozen=True, slots=True)
class WrittenReport:
    directory: Path
    markdown: Path
    html: Path
    remediation: Path
    figures: list[Path]
    found: bool


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "report"


def title_of(data: ReportData) -> str:
    if data.title:
        return data.title
    if not data.found:
        return f"No incident found, {data.since:%Y-%m-%d %H:%M} to {data.until:%Y-%m-%d %H:%M} UTC"
    day = (data.first_wrongful or data.since).strftime("%Y-%m-%d")
    return f"Post-mortem (draft): wrongful job discards in {len(data.affected)} environments, {day}"


def write_report(data: ReportData, out: str | Path = "reports") -> WrittenReport:
    """Render every section; a window with nothing found gives a short report."""
    title = title_of(data)
    day = (data.first_wrongful or data.since).strftime("%Y-%m-%d")
    slug = "wrongful-discards" if data.found else "no-incident"
    if data.title:
        slug = _slug(data.title)
    directory = Path(out) / f"{day}-{slug}"
    directory.mkdir(parents=True, exist_ok=True)
    names = list(SECTIONS) if data.found else ["key_information", "summary", "human"]
    blocks: list[Block] = []
    for name in names:
        blocks += SECTIONS[name](data)
    figures = draw(data) if data.found else []
    if figures:
        blocks += [Heading("Figures"), *figures]
    for figure in figures:
        (directory / figure.path).write_bytes(figure.png)
    remediation = directory / "remediation.csv"
    views = data.stale_views.copy()
    if "tenant" not in views.columns:
        views["tenant"] = views.environment.str.rsplit("-", n=1).str[0]
    views["rendered_version"] = views["rendered_version"].astype("Int64")
    views[REMEDIATION_COLUMNS].sort_values(REMEDIATION_COLUMNS[:5]).to_csv(
        remediation, index=False, lineterminator="\n")
    markdown = directory / "report.md"
    markdown.write_text(to_markdown(title, blocks), encoding="utf-8")
    html = directory / "report.html"
    html.write_text(to_html(title, blocks), encoding="utf-8")
    return WrittenReport(directory, markdown, html, remediation,
                         [directory / f.path for f in figures], data.found)
