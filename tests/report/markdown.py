"""Read a report's Markdown back with a real parser (markdown-it-py, CommonMark + tables)."""

from markdown_it import MarkdownIt

_PARSER = MarkdownIt("commonmark").enable("table")


def plain(inline) -> str:
    """The text of an inline token; fails on anything but text and line breaks (an emphasis,
    a code span, a link or raw HTML means an escape was missed)."""
    out = []
    for child in inline.children or []:
        if child.type == "text":
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append("\n")
        else:
            raise AssertionError(f"markup {child.type} in {inline.content!r}")
    return "".join(out)


def tables(text: str) -> list[list[list[str]]]:
    """Every table as rows of cell texts (the header row first)."""
    found: list[list[list[str]]] = []
    row: list[str] | None = None
    for token in _PARSER.parse(text):
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append(plain(token))
        elif token.type == "tr_close":
            found[-1].append(row)
            row = None
    return found


def blocks(text: str) -> list[tuple[str, str]]:
    """Top-level blocks as ``(type, text)``: ``heading_open`` / ``paragraph_open`` / ... with
    the plain text of their inline content (tables and quotes by their open token)."""
    out = []
    tokens = _PARSER.parse(text)
    for i, token in enumerate(tokens):
        if token.level == 0 and token.nesting == 1:
            inline = tokens[i + 1] if tokens[i + 1].type == "inline" else None
            out.append((token.type, plain(inline) if inline else ""))
    return out
