"""Telemetry is untrusted: entity ids with HTML, pipes, CR/LF and backticks in them render as
text, in a Markdown parser and in a real browser."""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from toolkit.report import gather, write_report
from toolkit.store import Store
from toolkit.telemetry import Telemetry
from toolkit.workload import Topology, run_scenario
from toolkit.workload.topology import Source, Tenant

PAYLOAD = ("<img src=x onerror=document.title='pwned'><script>document.title='pwned'</script>"
           "|`x`\r\n# *y* _z_")
FLAT = PAYLOAD.replace("\r", " ").replace("\n", " ")


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    """A replay whose entity ids carry HTML, with env-blind-dedup on, reported."""
    from toolkit.workload import scenarios

    tenant = Tenant("evil", "standard", ("DEV", "PROD"),
                    (Source("cms", PAYLOAD, 40, ("page",)),), 4.0)
    root = tmp_path_factory.mktemp("hostile")
    with Telemetry.to_directory(root / "otlp", id_seed=7) as telemetry:
        run_scenario("may7", days=6, observer=telemetry.observer,
                     topology=Topology((tenant,)))
    assert scenarios.get_scenario("may7").faults
    with Store.open(root / "s.duckdb") as store:
        store.load(root / "otlp")
        data = gather(store, incident_auto=True)
    assert len(data.wrongful) > 0
    return write_report(data, root / "reports")


def test_hostile_entity_ids_are_text_in_markdown_and_html(hostile_report):
    """The payload appears escaped in both outputs (a backslash before each ``<`` in the
    Markdown, entities in the HTML), never as a tag."""
    md = hostile_report.markdown.read_text()
    html = hostile_report.html.read_text()
    assert "\\<img src=x" in md and "<img src=x" not in html
    assert "&lt;img src=x onerror=" in html


def test_hostile_entity_ids_parse_to_the_expected_evidence_cells(hostile_report):
    """The evidence table keeps its five cells per row; the discarded job's cell reads the
    entity id, flattened, as plain text."""
    from tests.report.markdown import tables

    text = hostile_report.markdown.read_text()
    evidence = next(t for t in tables(text) if t[0][:2] == ["Time", "Discarded job"])
    assert evidence[1:] and all(len(row) == 5 for row in evidence)
    for row in evidence[1:]:
        assert re.fullmatch(rf"job \d+: evil-(dev|prod) / cms / {re.escape(FLAT)}-\d{{5}} / "
                            r"page v\d+", row[1]), row[1]


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
