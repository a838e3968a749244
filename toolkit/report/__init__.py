"""``toolkit report``: a post-mortem drafted from telemetry and regenerated with people's
annotations, with exact figures and a root-cause hypothesis drawn from the evidence."""

from toolkit.report.annotations import ActionItem, Annotations, TimelineEntry, load_annotations
from toolkit.report.data import ReportData
from toolkit.report.gather import gather, incident_window
from toolkit.report.rootcause import RootCause, draft_root_cause
from toolkit.report.sections import APPENDICES, SECTIONS
from toolkit.report.writer import WrittenReport, build, write_report

__all__ = [
    "APPENDICES",
    "SECTIONS",
    "ActionItem",
    "Annotations",
    "ReportData",
    "RootCause",
    "TimelineEntry",
    "WrittenReport",
    "build",
    "draft_root_cause",
    "gather",
    "incident_window",
    "load_annotations",
    "write_report",
]
