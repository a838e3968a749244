"""``toolkit report``: an auto-drafted post-mortem from telemetry, with exact figures."""

from toolkit.report.data import Annotation, ReportData
from toolkit.report.gather import gather, incident_window, load_annotations
from toolkit.report.sections import SECTIONS
from toolkit.report.writer import WrittenReport, write_report

__all__ = [
    "SECTIONS",
    "Annotation",
    "ReportData",
    "WrittenReport",
    "gather",
    "incident_window",
    "load_annotations",
    "write_report",
]
