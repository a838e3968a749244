"""The report's document model: sections are lists of blocks, rendered twice.

Sections never write Markdown or HTML themselves: they return blocks holding plain values,
and the two renderers escape everything. Entity ids and attribute values come from telemetry,
which is untrusted input (an entity may be called ``<script>``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True, slots=True)
class Paragraph:
    """Plain text. ``draft`` marks machine-drafted prose a person must review."""

    text: str
    draft: bool = False


@dataclass(frozen=True, slots=True)
class Bullets:
    items: Sequence[str]


@dataclass(frozen=True, slots=True)
class Table:
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Figure:
    """A PNG written beside the report (``path`` relative to it) and embedded in the HTML."""

    path: str
    caption: str
    png: bytes = field(repr=False, default=b"")


@dataclass(frozen=True, slots=True)
class Todo:
    """A block only a person can write: rendered as a ``TODO(human)`` placeholder."""

    title: str
    prompt: str


Block = Heading | Paragraph | Bullets | Table | Figure | Todo
