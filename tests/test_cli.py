"""The command line: documented verbs, exit codes, one-line errors."""

import json
import shutil
import subprocess
import sys

import pytest

from tests.report.conftest import recorded_store
from toolkit.cli import build_parser, main


def verbs():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "verb")
    return sub.choices


def test_every_verb_is_documented_with_an_example():
    """Each verb has help text and an 'example:' in its epilog, takes --json, takes --db
    exactly when it reads or writes a store, and every option has help."""
    for name, parser in verbs().items():
        assert parser.description, name
        assert "example: toolkit " + name in (parser.epilog or ""), name
        options = {o for a in parser._actions for o in a.option_strings}
        assert "--json" in options, name
        assert ("--db" in options) == (name != "evaluate"), name
        for action in parser._actions:
            assert action.help, (name, action.option_strings or action.dest)


def _toolkit(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", "toolkit.cli", *argv], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def test_bare_toolkit_and_version():
    """No verb: one line naming 'toolkit' once, exit 2; --version prints the version."""
    bare = _toolkit()
    assert bare.returncode == 2
    assert bare.stderr.strip().splitlines() == [
        "toolkit: error: the following arguments are required: VERB"]
    version = _toolkit("--version")
    assert version.returncode == 0 and version.stdout.startswith("toolkit ")


def test_errors_are_json_objects_with_json(tmp_path):
    """With --json a failure prints {"error": ...} on stdout and exits 2, usage errors too."""
    missing = _toolkit("audit", "--db", str(tmp_path / "none.duckdb"), "--json")
    assert missing.returncode == 2
    assert json.loads(missing.stdout) == {
        "error": f"{tmp_path / 'none.duckdb'}: no such store (simulate or load telemetry first)"}
    usage = _toolkit("simulate", "--days", "0", "--json")
    assert usage.returncode == 2
    assert json.loads(usage.stdout)["error"].endswith("'0' must be at least 1")


def test_a_failed_command_leaves_no_empty_store(tmp_path):
    """A load that cannot start does not leave a new, empty store file behind."""
    db = tmp_path / "new.duckdb"
    proc = _toolkit("load", str(tmp_path / "missing.jsonl"), "--db", str(db))
    assert proc.returncode == 2 and "missing.jsonl: no such file or directory" in proc.stderr
    assert not db.exists() and not (tmp_path / "new.duckdb.wal").exists()


def test_control_characters_from_telemetry_are_neutralised(capsys):
    """An ESC in a value printed for people is shown as an escape, never sent raw."""
    from toolkit.cli import _safe

    assert _safe("acme\x1b[2J-prod\r\u202e\n") == "acme\\x1b[2J-prod\\r\\u202e\n"


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


from tests.shared import SAMPLES  # noqa: E402


def test_load_names_bad_lines_keeps_good_records_and_exits_2(tmp_path):
    """A malformed file: the valid record loads, each bad line is named, exit code 2."""
    db = str(tmp_path / "s.duckdb")
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "load",
                           str(SAMPLES / "malformed.jsonl"), "--db", db, "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    summary = json.loads(proc.stdout)
    assert summary["loaded"] >= 1 and summary["rejected"] >= 1
    rejected = [line for line in proc.stderr.splitlines() if "rejected" in line]
    assert rejected and all("malformed.jsonl:" in line for line in rejected)
    again = subprocess.run([sys.executable, "-m", "toolkit.cli", "load",
                            str(SAMPLES / "malformed.jsonl"), "--db", db, "--json"],
                           capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout)["loaded"] == 0


def test_alert_under_cron_bare_environment_from_another_directory(tmp_path):
    """env -i, no HOME, another working directory: the alert pages on a may7 replay of one
    tenant (exit 1), then says nothing new on the next run (exit 1, no output)."""
    db = str(tmp_path / "store" / "s.duckdb")
    (tmp_path / "store").mkdir()
    # the report tests' one-tenant may7 recording, copied: the alert writes its state
    shutil.copy(recorded_store("env-blind-dedup"), db)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    exe = str(__import__("pathlib").Path(sys.executable).with_name("toolkit"))
    cmd = ["env", "-i", exe, "alert", "--db", db, "--now", "2024-05-06T12:00"]
    first = subprocess.run(cmd, cwd=elsewhere, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1, first.stderr
    assert "[FIRING] page wrongful_discards-20240506T1200: " in first.stdout
    assert "solo-prod" in first.stdout
    assert "Traceback" not in first.stderr
    second = subprocess.run([*cmd[:-1], "2024-05-06T12:01"], cwd=elsewhere,
                            capture_output=True, text=True, timeout=120)
    assert (second.returncode, second.stdout) == (1, "")
