"""The README's commands, run as written: "The command line" in order in a scratch directory,
and the Python snippet that plugs one's own deduplicator into the engine. (The Collector and
cron recipes have their own tests: tests/test_readme_spool.py, tests/alert/test_readme_recipe.py;
the post-mortem commands: tests/report/test_edits.py.)"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
TOOLKIT = str(Path(sys.executable).with_name("toolkit"))


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else len(README)]


def _commands() -> list[list[str]]:
    [block] = re.findall(r"```sh\n(.*?)```", _section("The command line"), re.S)
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def test_the_command_line_section_runs_as_written(tmp_path):
    """Each command exits as documented (alert: 1, something is firing on the sample) and
    leaves what it says: stores, ground truth, the audit's proof, a report, a score table."""
    (tmp_path / "sample_logs").symlink_to(REPO / "sample_logs")
    manifest = json.loads((REPO / "sample_logs" / "MANIFEST.json").read_text())
    outputs = {}
    for argv in _commands():
        assert argv[0] == "toolkit", argv
        proc = subprocess.run([TOOLKIT, *argv[1:]], cwd=tmp_path, capture_output=True,
                              text=True, timeout=600)
        expected = 1 if argv[1] == "alert" else 0
        assert proc.returncode == expected, (argv, proc.stderr)
        outputs[argv[1]] = proc.stdout
    assert (tmp_path / "may7.duckdb").is_file() and (tmp_path / "truth.json").is_file()
    proof = json.loads(outputs["audit"])
    assert proof["wrongful_discards"] == manifest["samples"]["may7"]["audit"]["wrongful_discards"]
    assert "would send: " in outputs["alert"]
    assert list((tmp_path / "reports").glob("*/report.md"))
    assert "3 draws of the scenario family per seed, seeds 21" in outputs["evaluate"]


def test_the_own_deduplicator_snippet_runs():
    """The snippet, with the reference deduplicator standing in for one's own: no wrongful
    discard, so its assertion holds."""
    [snippet] = re.findall(r"```python\n(.*?)```",
                           _section("Running the engine with your own queue or deduplicator"),
                           re.S)
    from toolkit.engine import CoalescingDeduplicator

    exec(compile(snippet, "README.md", "exec"), {"MyDeduplicator": CoalescingDeduplicator})
