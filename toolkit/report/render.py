"""Render a :class:`Report` with Jinja2 templates: HTML autoescaped, Markdown escaped by
position.

The Markdown escapes only what would change the meaning where it stands (``|`` in a table
cell, a leading ``#``, ``>`` or list marker, ``*`` and non-intraword ``_``, backticks, ``[``,
``<``, an ``&`` that would start an entity, a backslash before punctuation) and flattens CR/LF
and control characters in table cells and headings, so it reads as plain text and pastes
cleanly into an issue or a wiki. In a Markdown template every ``{{ value }}`` is escaped as
inline text unless a filter already escaped it for its position (``md_cell``, ``md_text``,
``md_heading``): a user's own template is safe by default too.

Users override any template by pointing ``template_dir`` at a directory holding a
``report.md.j2`` and/or ``report.html.j2`` (see README); the defaults are in ``templates/``.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import jinja2

from toolkit.errors import BadInput
from toolkit.report.blocks import Report

__all__ = ["TEMPLATES", "md_cell", "md_heading", "md_inline", "md_line", "md_quote", "md_text",
           "render"]

#: Output file name -> template name.
TEMPLATES = {"report.md": "report.md.j2", "report.html": "report.html.j2"}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_INLINE = re.compile(
    r"\\(?=[!-/:-@\[-`{-~])"           # a backslash that would escape what follows
    r"|[`*\[<~]"                       # code, emphasis, links, raw HTML, strikethrough
    r"|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])"  # emphasis underscores (intraword ones are text)
    r"|&(?=#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)"  # an entity reference
)
_LINE_START = re.compile(r"^(#|>|[-+*](?=\s|$)|[-=]+\s*$|\d+(?=[.)](\s|$)))")


class _Escaped(str):
    """Text already escaped for its Markdown position (not escaped again)."""

    __slots__ = ()


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def _flat(value: Any) -> str:
    """One line: CR, LF, tabs and other control characters become single spaces."""
    return _CONTROL.sub(" ", _plain(value)).strip()


def md_inline(value: Any) -> str:
    """Inline text (one line, no position rules)."""
    if isinstance(value, _Escaped):
        return value
    return _Escaped(_INLINE.sub(lambda m: "\\" + m.group(0), _flat(value)))


def _line(text: str) -> str:
    escaped = md_inline(text)
    match = _LINE_START.match(escaped)
    if match:
        if match.group(1)[0].isdigit():
            cut = match.end(1)
            escaped = escaped[:cut] + "\\" + escaped[cut:]
        else:
            escaped = "\\" + escaped
    return escaped


def md_line(value: Any) -> str:
    """One line of text escaped as if it started a line (list items, for instance)."""
    return _Escaped(_line(_flat(value)))


def md_heading(value: Any) -> str:
    """Heading text: inline, and a trailing ``#`` kept as text (not a closing sequence)."""
    text = md_inline(value)
    return _Escaped(text[:-1] + "\\#" if text.endswith("#") else text)


def md_cell(value: Any) -> str:
    """A table cell: inline, with ``|`` escaped; empty cells stay empty."""
    return _Escaped(md_inline(value).replace("|", "\\|"))


def md_text(value: Any) -> str:
    """A paragraph that may span lines: each line escaped inline and at its start, blank
    lines kept (they separate paragraphs)."""
    text = _plain(value).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_line(line.strip()) if line.strip() else "" for line in text.split("\n")]
    return _Escaped("\n".join(lines).strip("\n"))


def md_quote(paragraphs: list[Any], prefix: str = "") -> str:
    """Paragraphs as one block quote; ``prefix`` (template text, not escaped) leads it."""
    body = "\n>\n".join("\n".join(f"> {line}".rstrip() for line in md_text(p).split("\n"))
                         for p in paragraphs)
    return _Escaped("> " + prefix + body[2:] if body.startswith("> ") else body)


def _finalize(value: Any) -> Any:
    return value if isinstance(value, _Escaped) else md_inline(value)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _environment(template_dir: str | Path | None, markdown: bool) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        if not Path(template_dir).is_dir():
            raise BadInput(f"{template_dir}: --template-dir is not a directory")
        loaders.append(jinja2.FileSystemLoader(str(template_dir)))
    loaders.append(jinja2.PackageLoader("toolkit.report", "templates"))
    options: dict[str, Any] = {
        "loader": jinja2.ChoiceLoader(loaders), "undefined": jinja2.StrictUndefined,
        "trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": True,
    }
    if markdown:
        env = jinja2.Environment(autoescape=False, finalize=_finalize, **options)
        env.filters.update(md_cell=md_cell, md_text=md_text, md_heading=md_heading,
                           md_inline=md_inline, md_quote=md_quote, md_line=md_line)
    else:
        env = jinja2.Environment(autoescape=True, **options)
        env.filters.update(plain=_plain, b64=_b64)
    return env


def render(report: Report, template_dir: str | Path | None = None) -> dict[str, str]:
    """Every output file's text, by name (``report.md``, ``report.html``).

    Raises:
        BadInput: a template is missing, malformed or uses an unknown name; the message
            names the template and line.
    """
    out = {}
    for name, template in TEMPLATES.items():
        env = _environment(template_dir, markdown=name.endswith(".md"))
        try:
            text = env.get_template(template).render(report=report)
        except jinja2.TemplateSyntaxError as exc:
            raise BadInput(f"{exc.filename or template}:{exc.lineno}: {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise BadInput(f"{template}: {exc}") from None
        # Templates leave runs of blank lines where optional parts were skipped.
        out[name] = re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"
    return out
