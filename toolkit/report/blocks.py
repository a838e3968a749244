"""The report's document model: sections holding blocks of plain values, rendered by templates.

Sections never write Markdown or HTML themselves: they return blocks holding plain values,
and the templates escape everything on the way out. Entity ids and attribute values come from
telemetry, which is untrusted input (an entity may be called ``<script>``), and annotations
are plain text too. Each block has a ``kind`` a template dispatches on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["Block", "Bullets", "Figure", "Heading", "Paragraph", "Report", "Section", "Table",
           "Todo"]


@dataclass(frozen=True, slots=True)
class Heading:
    """A sub-heading inside a section (sections carry their own titles)."""

    kind: ClassVar[str] = "heading"
    text: str
    level: int = 3


@dataclass(frozen=True, slots=True)
class Paragraph:
    """Plain text; blank lines separate paragraphs. ``draft`` marks machine-drafted prose a
    person must review; ``human`` marks text that came from the annotations file."""

    kind: ClassVar[str] = "paragraph"
    text: str
    draft: bool = False
    human: bool = False

    @property
    def paragraphs(self) -> list[str]:
        parts = self.text.replace("\r\n", "\n").replace("\r", "\n").split("\n\n")
        return [p.strip("\n") for p in parts if p.strip()]


@dataclass(frozen=True, slots=True)
class Bullets:
    kind: ClassVar[str] = "bullets"
    items: Sequence[str]


@dataclass(frozen=True, slots=True)
class Table:
    kind: ClassVar[str] = "table"
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Figure:
    """A PNG written beside the report (``path`` relative to it) and embedded in the HTML."""

    kind: ClassVar[str] = "figure"
    path: str
    caption: str
    png: bytes = field(repr=False, default=b"")


@dataclass(frozen=True, slots=True)
class Todo:
    """What only a person can write: a ``TODO(human)`` placeholder naming the annotation
    field that fills it."""

    kind: ClassVar[str] = "todo"
    title: str
    prompt: str


Block = Heading | Paragraph | Bullets | Table | Figure | Todo


@dataclass(frozen=True, slots=True)
class Section:
    """One titled part of the report; ``appendix`` sections come after the narrative."""

    key: str
    title: str
    blocks: Sequence[Block]
    appendix: bool = False


@dataclass(frozen=True, slots=True)
class Report:
    """What the templates render: a title, the first screen, and the sections in order.

    ``header`` is (label, value) rows shown first (status, severity, authors, lead);
    ``glance`` is the one-paragraph impact and ``key_figure`` the figure beside it.
    """

    title: str
    header: Sequence[tuple[str, str]]
    glance: str
    key_figure: Figure | None
    sections: Sequence[Section]

    @property
    def figures(self) -> list[Figure]:
        out = [self.key_figure] if self.key_figure else []
        return out + [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]
