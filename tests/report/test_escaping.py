"""Telemetry is untrusted: entity ids with HTML in them render as text, in a real browser."""

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from toolkit.report import gather, write_report
from toolkit.report.blocks import Paragraph, Table
from toolkit.report.render import md_escape, to_html, to_markdown
from toolkit.store import Store
from toolkit.telemetry import Telemetry
from toolkit.workload import Topology, run_scenario
from toolkit.workload.topology import Source, Tenant

PAYLOAD = "<img src=x onerror=document.title='pwned'><script>document.title='pwned'</script>"


def test_markdown_escapes_html_and_markdown():
    """Angle brackets become entities and Markdown syntax is backslashed."""
    assert md_escape("<b>*x*</b> | [a](b)") == (
        "&lt;b&gt;\\*x\\*&lt;/b&gt; \\| \\[a\\]\\(b\\)")
    text = to_markdown("t", [Table(("entity",), [(PAYLOAD,)])])
    assert "<img" not in text and "<script" not in text


def test_html_escapes_every_value():
    """No tag from a value survives into the HTML."""
    html = to_html("t", [Paragraph(PAYLOAD), Table(("c",), [(PAYLOAD,)])])
    assert "<img src=x" not in html and "<script>" not in html
    assert "&lt;script&gt;" in html


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    """A replay whose entity ids carry HTML, with env-blind-dedup on, reported."""
    from toolkit.workload import scenarios

    tenant = Tenant("evil", "standard", ("DEV", "PROD"),
                    (Source("cms", PAYLOAD, 40, ("page",)),), 4.0)
    root = tmp_path_factory.mktemp("hostile")
    with Telemetry.to_directory(root / "otlp") as telemetry:
        run_scenario("may7", days=6, observer=telemetry.observer,
                     topology=Topology((tenant,)))
    assert scenarios.get_scenario("may7").faults
    with Store.open(root / "s.duckdb") as store:
        store.load(root / "otlp")
        data = gather(store, incident_auto=True)
    assert len(data.wrongful) > 0
    return write_report(data, root / "reports")


def test_hostile_entity_ids_are_text_in_markdown_and_html(hostile_report):
    """The payload appears escaped in both outputs, never as a tag."""
    md = hostile_report.markdown.read_text()
    html = hostile_report.html.read_text()
    assert "<img src=x" not in md and "<img src=x" not in html
    assert "&lt;img src=x onerror=" in html


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_hostile_report_runs_no_script_in_headless_chromium(hostile_report):
    """Loaded in headless Chromium, no script ran (the title is unchanged) and the payload is
    visible as text."""
    browser = _chromium()
    if browser is None:
        pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package")
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=2000",
             "--dump-dom", Path(hostile_report.html).as_uri()],
            capture_output=True, text=True, timeout=120)
    dom = proc.stdout
    assert "<body>" in dom or "<body" in dom, proc.stderr[-500:]
    assert "pwned" not in dom.split("</title>")[0]
    assert "&lt;img src=x onerror=document.title='pwned'&gt;" in dom
    assert "<img src=\"x\"" not in dom and "<script>document.title" not in dom
