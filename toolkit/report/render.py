"""Markdown and self-contained HTML renderers for report blocks, with strict escaping."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from typing import Any

from toolkit.report.blocks import Block, Bullets, Figure, Heading, Paragraph, Table, Todo

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def md_escape(value: Any) -> str:
    """Escape text for Markdown: HTML-escape (Markdown passes raw HTML through), then
    backslash every character Markdown would interpret, and flatten newlines."""
    text = html.escape(_text(value), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def to_markdown(title: str, blocks: Sequence[Block]) -> str:
    out = [f"# {md_escape(title)}", ""]
    for block in blocks:
        if isinstance(block, Heading):
            out += ["#" * block.level + " " + md_escape(block.text), ""]
        elif isinstance(block, Paragraph):
            text = md_escape(block.text)
            out += [f"> **Draft:** {text}" if block.draft else text, ""]
        elif isinstance(block, Bullets):
            out += [f"- {md_escape(item)}" for item in block.items] + [""]
        elif isinstance(block, Table):
            if block.caption:
                out += [f"*{md_escape(block.caption)}*", ""]
            out.append("| " + " | ".join(md_escape(c) for c in block.columns) + " |")
            out.append("|" + "---|" * len(block.columns))
            out += ["| " + " | ".join(md_escape(v) for v in row) + " |" for row in block.rows]
            out.append("")
        elif isinstance(block, Figure):
            out += [f"![{md_escape(block.caption)}]({block.path})", ""]
        elif isinstance(block, Todo):
            out += [f"**TODO(human): {md_escape(block.title)}**", "",
                    f"> {md_escape(block.prompt)}", ""]
    return "\n".join(out).rstrip() + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.45}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3} caption{caption-side:top;text-align:left;font-style:italic}
.draft{border-left:4px solid #d9a400;background:#fff8e1;padding:.5rem .75rem}
.todo{border:2px dashed #b00;padding:.5rem .75rem;background:#fff3f3}
figure{margin:1rem 0} img{max-width:100%} figcaption{font-size:.85rem;color:#555}
code{font-family:ui-monospace,monospace}
@media print{body{max-width:none;margin:0} figure,table{page-break-inside:avoid}}
"""


def to_html(title: str, blocks: Sequence[Block]) -> str:
    """A single self-contained page: CSS inline, figures as data URIs, no script."""
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
           'img-src data:; style-src \'unsafe-inline\'">',
           f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{e(title)}</h1>"]
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{e(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            if block.draft:
                out.append(f'<p class="draft"><strong>Draft:</strong> {e(block.text)}</p>')
            else:
                out.append(f"<p>{e(block.text)}</p>")
        elif isinstance(block, Bullets):
            out.append("<ul>" + "".join(f"<li>{e(_text(i))}</li>" for i in block.items)
                       + "</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{e(_text(c))}</th>" for c in block.columns)
            body = "".join("<tr>" + "".join(f"<td>{e(_text(v))}</td>" for v in row) + "</tr>"
                           for row in block.rows)
            caption = f"<caption>{e(block.caption)}</caption>" if block.caption else ""
            out.append(f"<table>{caption}<thead><tr>{head}</tr></thead>"
                       f"<tbody>{body}</tbody></table>")
        elif isinstance(block, Figure):
            data = base64.b64encode(block.png).decode("ascii")
            out.append(f'<figure><img alt="{e(block.caption)}" src="data:image/png;base64,'
                       f'{data}"><figcaption>{e(block.caption)}</figcaption></figure>')
        elif isinstance(block, Todo):
            out.append(f'<div class="todo"><strong>TODO(human): {e(block.title)}</strong>'
                       f"<p>{e(block.prompt)}</p></div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
