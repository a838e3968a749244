"""The command line: documented verbs, exit codes, one-line errors."""

import argparse
import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import shared_directory
from tests.report.conftest import recorded_store
from toolkit.cli import DESCRIPTION, build_parser, main


def verbs():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "verb")
    return sub.choices


def test_every_verb_is_documented_with_an_example():
    """Each verb has help text and an 'example:' in its epilog, takes --json, takes --db
    exactly when it reads or writes a store, and every option has help (shown, not
    suppressed); ``toolkit --help`` says what the product is, not how the module is built."""
    top = build_parser()
    assert top.description == DESCRIPTION and "silently dropped" in DESCRIPTION
    assert "parses, calls the library" not in top.format_help()
    for name, parser in verbs().items():
        assert parser.description, name
        assert "example: toolkit " + name in (parser.epilog or ""), name
        options = {o for a in parser._actions for o in a.option_strings}
        assert "--json" in options, name
        assert ("--db" in options) == (name != "evaluate"), name
        for action in parser._actions:
            assert action.help and action.help != argparse.SUPPRESS, (
                name, action.option_strings or action.dest)


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
    """An ESC, CR, newline or tab in a value printed for people is shown as an escape, never
    sent raw: telemetry can neither drive the terminal nor start a line of its own."""
    from toolkit.cli import _safe

    assert (_safe("acme\x1b[2J-prod\r\u202e\n\t end")
            == "acme\\x1b[2J-prod\\r\\u202e\\n\\t end")


def test_a_newline_in_telemetry_cannot_forge_a_line(tmp_path, capsys):
    """A rejected line whose JSON key holds newlines is reported on one line, the forged text
    escaped; the summary is still its own line."""
    path = tmp_path / "forged.jsonl"
    path.write_text('{"\\n[FAKE] all good\\n": 1}\n')
    assert main(["load", str(path), "--db", str(tmp_path / "s.duckdb")]) == 2
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"toolkit load: rejected {path}:1: not an OTLP traces or logs request: no resourceSpans "
        "or resourceLogs (keys: \\n[FAKE] all good\\n)"]
    assert out.splitlines() == [
        "1 files: 0 loaded (0 spans, 0 log records), 0 skipped as duplicates, 1 rejected"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["simulate", "--speed", "2"], "--speed has no effect without --live"),
     (["simulate", "--spool", "d", "--rotate-seconds", "1"],
      "--spool and --rotate-seconds have no effect without --live"),
     (["simulate", "--no-store", "--db", "{tmp}/s.duckdb"], "--db has no effect with --no-store"),
     (["simulate", "--no-store", "--otlp-dir", "{tmp}", "--gzip"],
      "--otlp-dir and --gzip have no effect with --no-store"),
     (["simulate", "--gzip"], "--gzip has no effect without --otlp-dir"),
     (["simulate", "--live", "--days", "1", "--tenants", "acme"],
      "--days and --tenants have no effect with --live"),
     (["audit", "--db", "{tmp}/s.duckdb", "--since", "2024-05-07", "--until", "2024-05-07"],
      "--until 2024-05-07T00:00 is not after --since 2024-05-07T00:00"),
     (["audit", "--db", "{tmp}/s.duckdb", "--since", "2024-05-07", "--until", "2024-05-06"],
      "--until 2024-05-06T00:00 is not after --since 2024-05-07T00:00")],
)
def test_options_act_where_given_or_are_refused(tmp_path, capsys, argv, message):
    """An option that would be silently ignored is one error line naming it, exit 2, and
    nothing is created."""
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    assert capsys.readouterr().err.splitlines() == [f"toolkit {argv[0]}: error: {message}"]
    assert not (tmp_path / "s.duckdb").exists()


SAMPLES_DIR = Path(__file__).resolve().parent.parent / "sample_logs"


def _may7_logs(path):
    from toolkit.store import Store

    with Store.open(path / "may7.duckdb") as store:
        store.load(SAMPLES_DIR / "may7" / "logs.jsonl.gz")


@pytest.fixture(scope="module")
def may7_sample():
    """sample_logs/may7's job logs (what the audit reads), loaded once per test run."""
    return str(shared_directory("sample-may7-logs", _may7_logs) / "may7.duckdb")


def test_audit_text_on_the_may7_sample(may7_sample, capsys):
    """The issue's ``toolkit audit --limit 100`` (it once crashed on violations without a
    time): the summary, then one violation per line, rows without a time shown as '-'."""
    assert main(["audit", "--db", may7_sample, "--limit", "100"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert err == ""
    assert lines[0] == ("68 wrongful discards in 5 environments; 28 views to regenerate; "
                        "96 violations in all")
    assert len(lines) == 1 + 96
    assert sum(line.startswith("- latest_not_processed ") for line in lines) > 0
    assert all(line.split()[1] in ("unjustified_drop", "latest_not_processed",
                                   "accounting_mismatch", "lost_follow_up")
               for line in lines[1:]), lines[1:]
    assert main(["audit", "--db", may7_sample, "--limit", "3"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "... 93 more (use --json or --limit)"


def test_audit_window_env_and_json_limit_on_the_may7_sample(may7_sample, capsys):
    """--since/--until and --env narrow the text audit as the library does; an environment
    the store never saw is a note, not an error; --limit caps the JSON's violations too."""
    from toolkit.detect.audit import Window, audit
    from toolkit.store import Store

    since, until = "2024-05-06T09:00", "2024-05-06T12:00"
    with Store.open(may7_sample, read_only=True) as store:
        expected = audit(store, Window(datetime(2024, 5, 6, 9), datetime(2024, 5, 6, 12)))
    assert main(["audit", "--db", may7_sample, "--since", since, "--until", until]) == 0
    lines = capsys.readouterr().out.splitlines()
    summary = expected.summary()
    assert lines[0].startswith(f"{summary['wrongful_discards']} wrongful discards in ")
    assert 0 < summary["wrongful_discards"] < 68
    assert len(lines) == 1 + min(20, summary["violations"]) + (summary["violations"] > 20)

    assert main(["audit", "--db", may7_sample, "--env", "globex-prod", "--limit", "100"]) == 0
    out, err = capsys.readouterr()
    rows = out.splitlines()
    assert rows[0].startswith("53 wrongful discards in 1 environments;") and err == ""
    assert all(row.split()[2] == "globex-prod" for row in rows[1:])

    assert main(["audit", "--db", may7_sample, "--env", "globex-prodd"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("0 wrongful discards in 0 environments;")
    assert err.splitlines() == ["toolkit audit: note: the store has no environment 'globex-prodd'"]
    assert main(["detect", "--db", may7_sample, "--env", "globex-prodd"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "toolkit detect: note: the store has no environment 'globex-prodd'"]

    assert main(["audit", "--db", may7_sample, "--json", "--limit", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["violations"]) == 2


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
