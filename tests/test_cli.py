"""The command line: documented verbs, exit codes, one-line errors."""

import json
import subprocess
import sys

import pytest

from toolkit.cli import build_parser, main


def verbs():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "verb")
    return sub.choices


def test_every_verb_is_documented_with_an_example():
    """Each verb has help text and an 'example:' in its epilog, and takes --db and --json."""
    for name, parser in verbs().items():
        assert parser.description, name
        assert "example: toolkit " + name in (parser.epilog or ""), name
        options = {o for a in parser._actions for o in a.option_strings}
        assert {"--db", "--json"} <= options, name


@pytest.mark.parametrize(
    ("argv", "needle"),
    [(["simulate", "--scenario", "nope"], "unknown scenario 'nope'"),
     (["simulate", "--days", "-2"], "'-2' is negative"),
     (["simulate", "--seed", "x"], "'x' is not a whole number"),
     (["simulate", "--days", "0"], "'0' must be at least 1")],
)
def test_bad_input_is_one_line_on_stderr_with_exit_code_2(argv, needle):
    """Bad values give exit 2 and exactly one line naming the value, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", *argv],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_simulate_json_summary(capsys):
    """--json prints the per-environment summary as JSON."""
    assert main(["simulate", "--scenario", "baseline", "--days", "1", "--json", "--no-store"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["scenario"] == "baseline"
    envs = {row["environment"]: row for row in data["environments"]}
    assert "acme-prod" in envs and envs["acme-prod"]["wrongful_discards"] == 0
