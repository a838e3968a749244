"""Write a drafted post-mortem: report.md, report.html, figures, remediation.csv.

Human text lives in the annotations file, never in the generated files: a rerun rebuilds
the report from store + annotations, byte for byte the same for the same inputs. The
hashes of what was written go to ``generated.sha256`` (``sha256sum -c`` reads it); a file
changed since, an edit someone made in the report itself, is never overwritten without
``force``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import BadInput
from toolkit.report.annotations import TEXT_FIELDS
from toolkit.report.blocks import Block, Paragraph, Report, Section
from toolkit.report.data import ReportData
from toolkit.report.figures import draw
from toolkit.report.render import render
from toolkit.report.sections import APPENDICES, SECTIONS, glance, summary

__all__ = ["CHECKSUMS", "REMEDIATION_COLUMNS", "WrittenReport", "build", "write_report"]

REMEDIATION_COLUMNS = ["environment", "tenant", "source", "entity", "schema",
                       "latest_version", "rendered_version"]
_SEVERITY_RANK = {"ticket": 0, "page": 1}
#: Hashes of the files a run wrote, to tell a person's edit from the last run's output.
CHECKSUMS = "generated.sha256"


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
    if data.annotations.title:
        return data.annotations.title
    if not data.found:
        return f"No incident found, {data.since:%Y-%m-%d %H:%M} to {data.until:%Y-%m-%d %H:%M} UTC"
    day = (data.first_wrongful or data.first_anomaly or data.since).strftime("%Y-%m-%d")
    if len(data.wrongful):
        n = len(data.affected)
        return (f"Post-mortem (draft): wrongful job discards in {n} "
                f"environment{'' if n == 1 else 's'}, {day}")
    return f"Post-mortem (draft): anomalous deduplication, {day}"


def directory_of(data: ReportData, out: str | Path) -> Path:
    """``<out>/<day>-<slug>``: the annotations' ``slug``, else what was found."""
    day = (data.first_wrongful or data.first_anomaly or data.since).strftime("%Y-%m-%d")
    slug = data.annotations.slug or (
        "wrongful-discards" if len(data.wrongful) else
        "anomalous-deduplication" if data.found else "no-incident")
    return Path(out) / f"{day}-{_slug(slug)}"


def build(data: ReportData) -> Report:
    """The document: first screen, then every section with its figures beside it."""
    notes = data.annotations
    severity = notes.severity or "not set"
    if not notes.severity and len(data.incidents):
        highest = max(data.incidents.severity, key=lambda s: _SEVERITY_RANK.get(s, -1))
        severity = f"not set (highest alert: {highest})"
    header = [("Status", notes.status), ("Severity", severity),
              ("Authors", ", ".join(notes.authors) or "not set"),
              ("Incident lead", notes.incident_lead or "not set"),
              ("Window", f"{data.since:%Y-%m-%d %H:%M} to {data.until:%Y-%m-%d %H:%M} UTC")]
    if not data.found:
        return Report(title_of(data), header, glance(data), None, _human_only(data))
    figures = draw(data)
    sections = []
    for appendix, registry in ((False, SECTIONS), (True, APPENDICES)):
        for key, (title, make) in registry.items():
            blocks: list[Block] = [*make(data), *figures.get(key, [])]
            if blocks:
                sections.append(Section(key, title, blocks, appendix))
    key = figures.get("key", [None])[0]
    return Report(title_of(data), header, glance(data), key, sections)


def _human_only(data: ReportData) -> list[Section]:
    """A window where the store shows nothing: the summary, and whatever people wrote (their
    text is never dropped because the machine found nothing)."""
    notes = data.annotations
    sections = [Section("summary", "Summary", summary(data))]
    for key, (title, make) in SECTIONS.items():
        wrote = (notes.text(key) if key in TEXT_FIELDS else
                 notes.timeline if key == "timeline" else
                 notes.action_items if key == "action_items" else None)
        if key != "summary" and wrote:
            blocks = ([Paragraph(notes.text(key) or "", human=True)] if key in TEXT_FIELDS
                      else make(data))
            sections.append(Section(key, title, blocks))
    return sections


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_unedited(directory: Path, names: list[str]) -> None:
    record = directory / CHECKSUMS
    known: dict[str, str] = {}
    if record.exists():
        for line in record.read_text(encoding="utf-8").splitlines():
            digest, _, name = line.partition("  ")
            known[name] = digest
    for name in names:
        path = directory / name
        if path.exists() and known.get(name) != _digest(path.read_bytes()):
            raise BadInput(f"{path} was edited since it was generated: put your text in the "
                           "annotations file (see README), or pass --force to overwrite it")


def write_report(
    data: ReportData, out: str | Path = "reports", *, template_dir: str | Path | None = None,
    force: bool = False,
) -> WrittenReport:
    """Render and write the report; a window with nothing found gives a short report.

    Raises:
        BadInput: a file in the report's directory was edited since it was generated (and
            ``force`` is false), or a template is bad. Nothing is written then.
    """
    report = build(data)
    texts = render(report, template_dir)
    directory = directory_of(data, out)
    files: dict[str, bytes] = {name: text.encode("utf-8") for name, text in texts.items()}
    for figure in report.figures:
        files[figure.path] = figure.png
    views = data.stale_views.copy()
    views["rendered_version"] = views["rendered_version"].astype("Int64")
    files["remediation.csv"] = views[REMEDIATION_COLUMNS].sort_values(
        REMEDIATION_COLUMNS[:5]).to_csv(index=False, lineterminator="\n").encode("utf-8")
    if not force:
        _check_unedited(directory, [*files, *_stale_figures(directory, files)])
    directory.mkdir(parents=True, exist_ok=True)
    for name in _stale_figures(directory, files):
        (directory / name).unlink()
    for name, payload in files.items():
        (directory / name).write_bytes(payload)
    (directory / CHECKSUMS).write_text(
        "".join(f"{_digest(payload)}  {name}\n" for name, payload in sorted(files.items())),
        encoding="utf-8")
    return WrittenReport(directory, directory / "report.md", directory / "report.html",
                         directory / "remediation.csv",
                         [directory / f.path for f in report.figures], data.found)


def _stale_figures(directory: Path, files: dict[str, bytes]) -> list[str]:
    """Figures a previous run wrote that this one does not: removed, so that what is in the
    directory is exactly what the report shows."""
    record = directory / CHECKSUMS
    if not record.exists():
        return []
    names = [line.partition("  ")[2] for line in record.read_text(encoding="utf-8").splitlines()]
    return [n for n in names if n.endswith(".png") and n not in files
            and (directory / n).exists()]
