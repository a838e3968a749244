"""The human half of a post-mortem: a YAML (or JSON) file the report is regenerated with.

People never edit the generated report: they write here, and ``toolkit report`` merges this
file with what the store says, so a rerun keeps every word (see README, "Post-mortems"). Every
field is optional; unknown fields are refused, so a typo cannot silently drop text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.errors import BadInput

__all__ = ["ACTION_TYPES", "TEXT_FIELDS", "ActionItem", "Annotations", "TimelineEntry",
           "load_annotations"]

#: Section texts a person may write, by annotation key.
TEXT_FIELDS = ("summary", "impact", "trigger", "detection", "response", "root_cause",
               "lessons")
#: Action item types (PagerDuty's and the SRE book's): fix now, stop a recurrence, see sooner.
ACTION_TYPES = ("mitigate", "prevent", "detect", "process")
_FIELDS = {"title", "slug", "status", "severity", "authors", "incident_lead", "timeline",
           "action_items", *TEXT_FIELDS}


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """A human timeline entry (incident declared, status page update, customer report)."""

    time: datetime
    text: str


@dataclass(frozen=True, slots=True)
class ActionItem:
    """One follow-up: what, of which type, how urgent, who owns it, where it is tracked."""

    action: str
    type: str = "prevent"
    priority: str = ""
    owner: str = ""
    ticket: str = ""


@dataclass(frozen=True)
class Annotations:
    """Everything a person adds to a drafted post-mortem; empty by default."""

    title: str | None = None
    slug: str | None = None
    status: str = "Draft"
    severity: str | None = None
    authors: tuple[str, ...] = ()
    incident_lead: str | None = None
    texts: dict[str, str] = field(default_factory=dict)
    timeline: tuple[TimelineEntry, ...] = ()
    action_items: tuple[ActionItem, ...] = ()

    def text(self, name: str) -> str | None:
        """The human text of section ``name`` (one of :data:`TEXT_FIELDS`), if written."""
        return self.texts.get(name)


def _parse(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read annotations ({exc.strerror})") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        import yaml

        return yaml.safe_load(text)
    except Exception as exc:  # the parser's own message names line and column
        message = " ".join(str(exc).split())
        raise BadInput(f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: "
                       f"{message}") from None


def _time(path: Path, where: str, value: Any) -> datetime:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        stamp = pd.NaT
    if stamp is pd.NaT:
        raise BadInput(f"{path}: {where}: bad time {value!r} (use ISO 8601, e.g. "
                       "2024-05-07T11:42:00+02:00)")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def _str(path: Path, where: str, value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise BadInput(f"{path}: {where} must be text, not {type(value).__name__}")
    return str(value).strip()


def load_annotations(path: str | Path) -> Annotations:
    """Read and check an annotations file (YAML, or JSON by its ``.json`` suffix).

    Raises:
        BadInput: unreadable, not YAML/JSON, an unknown field, or a bad entry; the message
            names the file and the entry at fault.
    """
    path = Path(path)
    doc = _parse(path)
    if doc is None:
        return Annotations()
    if not isinstance(doc, dict):
        raise BadInput(f"{path}: expected a mapping of fields (title, severity, summary, ...)")
    unknown = sorted(set(map(str, doc)) - _FIELDS)
    if unknown:
        known = ", ".join(sorted(_FIELDS))
        raise BadInput(f"{path}: unknown field {unknown[0]!r} (known: {known})")
    entries = []
    for i, entry in enumerate(doc.get("timeline") or [], start=1):
        if not isinstance(entry, dict) or "time" not in entry or "text" not in entry:
            raise BadInput(f"{path}: timeline entry {i} needs 'time' and 'text'")
        entries.append(TimelineEntry(_time(path, f"timeline entry {i}", entry["time"]),
                                     _str(path, f"timeline entry {i} text", entry["text"])))
    items = []
    for i, entry in enumerate(doc.get("action_items") or [], start=1):
        if not isinstance(entry, dict) or "action" not in entry:
            raise BadInput(f"{path}: action item {i} needs 'action'")
        extra = sorted(set(entry) - {"action", "type", "priority", "owner", "ticket"})
        if extra:
            raise BadInput(f"{path}: action item {i}: unknown field {extra[0]!r}")
        values = {k: _str(path, f"action item {i} {k}", v) for k, v in entry.items()
                  if v is not None}
        if values.get("type", "prevent") not in ACTION_TYPES:
            raise BadInput(f"{path}: action item {i}: type {values['type']!r} is not one of "
                           f"{', '.join(ACTION_TYPES)}")
        items.append(ActionItem(**values))
    authors = doc.get("authors") or []
    if isinstance(authors, str):
        authors = [authors]
    if not isinstance(authors, list):
        raise BadInput(f"{path}: authors must be a list of names")
    texts = {name: _str(path, name, doc[name]) for name in TEXT_FIELDS if doc.get(name)}

    def one(name: str) -> str | None:
        return _str(path, name, doc[name]) if doc.get(name) is not None else None

    return Annotations(
        title=one("title"), slug=one("slug"), status=one("status") or "Draft",
        severity=one("severity"), authors=tuple(_str(path, "authors", a) for a in authors),
        incident_lead=one("incident_lead"), texts=texts,
        timeline=tuple(sorted(entries, key=lambda e: (e.time, e.text))),
        action_items=tuple(items),
    )
