"""The Markdown says what the values say: hostile text parses back to itself, read by a real
Markdown parser, and ordinary text is not littered with backslashes."""

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.report.markdown import blocks, plain, tables
from toolkit.report.blocks import Paragraph, Report, Section, Table
from toolkit.report.render import md_cell, md_heading, md_line, md_text, render

HOSTILE = ["a|b", "x\r\ny", "<script>alert(1)</script>", "`code`", "*em* _em_ __b__",
           "# not a heading", "> not a quote", "- not a list", "1. not a list", "[l](http://x)",
           "&amp; &#65;", "back\\slash\\*", "~~strike~~", "<http://auto.link>", "---",
           "tab\there", "nul\x00bell\x07", "trailing #"]


def flat(value: str) -> str:
    """What a table cell must read: CR, LF and control characters as spaces, trimmed."""
    return "".join(" " if (c in "\r\n\t" or ord(c) < 32 or 127 <= ord(c) < 160
                           or c in "\u2028\u2029") else c for c in value).strip()


def _report(rows, paragraphs=()):
    blocks_ = [Paragraph(p) for p in paragraphs] + [Table(("id", "value"), rows)]
    return Report("T", [("Status", "Draft")], "glance", None,
                  [Section("s", "Section", blocks_)])


def test_hostile_cells_parse_to_the_expected_table():
    """Pipes, CR/LF, tags, backticks and every Markdown sign in cells: one row per value,
    two cells each, the text exactly the value (flattened)."""
    text = render(_report([(v, v) for v in HOSTILE]))["report.md"]
    body = next(t for t in tables(text) if t[0] == ["id", "value"])[1:]
    assert body == [[flat(v), flat(v)] for v in HOSTILE]
    assert "| \\<script>alert(1)\\</script> |" in text


def test_hostile_paragraph_lines_stay_paragraph_text():
    """A heading, quote, list or rule sign starting a line of a paragraph stays text."""
    lines = ["# one", "> two", "- three", "1. four", "---", "=====", "<b>six</b> | seven"]
    text = render(_report([], ["\n".join(lines)]))["report.md"]
    parsed = [b for b in blocks(text) if b[0] == "paragraph_open"]
    assert ("paragraph_open", "\n".join(lines)) in parsed


def test_ordinary_text_is_not_escaped():
    """Dates, ratios, parentheses, hyphens, snake_case names and >= read as written."""
    for value in ("Post-mortem (draft)", "2024-05-06", "1,747 of 1,747 (100%)", "ratio >= 2",
                  "wrongful_discards", "a - b", "job 85596: acme-prod / cms / node-00187",
                  "'env-blind-dedup on' at 09:12:00 UTC; 99.8%"):
        assert md_cell(value) == value and md_text(value) == value
    assert md_cell(">= 2") == ">= 2" and md_text(">= 2") == "\\>= 2"  # a quote at a line start


@settings(deadline=None)
@given(st.text(alphabet=st.sampled_from(string.printable + "\x00\x07\x1b\u2028é"),
               max_size=40))
def test_any_cell_reads_back_as_itself(value):
    """Whatever the value, the table has one body row whose cell is the flattened value."""
    text = render(_report([(value, "x")]))["report.md"]
    body = next(t for t in tables(text) if t[0] == ["id", "value"])[1:]
    assert body == [[flat(value), "x"]]


@settings(deadline=None)
@given(st.text(alphabet=st.sampled_from(string.printable.replace("\n", "").replace("\r", "")
                                        .replace("\x0b", "").replace("\x0c", "")), min_size=1,
               max_size=40).filter(lambda s: s.strip()))
def test_any_line_reads_back_as_itself(value):
    """A one-line paragraph or heading parses to its own text, never to other markup."""
    from tests.report.markdown import _PARSER

    for escaped, kind in ((md_line(value), "paragraph_open"),
                          ("## " + md_heading(value), "heading_open")):
        tokens = _PARSER.parse(escaped)
        assert tokens[0].type == kind, (value, escaped)
        assert plain(tokens[1]) == " ".join(value.replace("\t", " ").split(" ")).strip()
