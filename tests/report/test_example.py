"""The committed example post-mortem (`toolkit demo`'s, of the full may7 replay)."""

import hashlib
from pathlib import Path

from tests.report.markdown import tables

EXAMPLE = Path(__file__).resolve().parents[2] / "reports" / "2024-05-06-wrongful-discards"


def test_the_example_is_exactly_what_was_generated():
    """Every file is listed in generated.sha256 with its hash (nobody edited the example by
    hand, so `make demo` rewrites it byte for byte), and nothing else is in the directory."""
    listed = {}
    for line in (EXAMPLE / "generated.sha256").read_text().splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    assert listed == {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                      for p in EXAMPLE.iterdir() if p.name != "generated.sha256"}


def test_the_may7_timeline_is_curated():
    """The may7 replay with its cron alert history: at most 30 timeline rows, the alert churn
    folded into a line per episode, the 7 May facts from the demo's annotations."""
    text = (EXAMPLE / "report.md").read_text()
    timeline = next(t for t in tables(text) if t[0] == ["Time (UTC)", "Source", "Event"])[1:]
    assert len(timeline) <= 30
    sources = [row[1] for row in timeline]
    assert {"detector", "audit", "deployment", "alert", "people"} <= set(sources)
    assert sum(1 for row in timeline if "resolved" in row[2]) <= sources.count("alert") // 2 + 1
    assert any(row[2].startswith("wrongful_discards opened (page)") for row in timeline)
