"""`toolkit alert` as cron runs it: the watchdog on a feed that stops and restarts, and
every error as one line with exit code 2 (1 means firing)."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.store.otlp import T0, jsonl, log_record, logs_request
from toolkit.store import Store

EXE = str(Path(sys.executable).with_name("toolkit"))
START = datetime.fromtimestamp(T0, UTC).replace(tzinfo=None)


def alert(db, minute, *extra):
    now = (START + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M")
    proc = subprocess.run([EXE, "alert", "--db", str(db), "--now", now, "--json", *extra],
                          capture_output=True, text=True, timeout=120)
    return proc, json.loads(proc.stdout) if proc.stdout else None


def feed(db, tmp_path, first_minute, last_minute):
    """Two environments creating a job every minute in ``[first_minute, last_minute]``."""
    path = tmp_path / f"feed-{first_minute}.jsonl"
    path.write_text(jsonl(logs_request([
        log_record(T0 + 60 * m + i, env, "job.created", pipeline__job__id=1000 * m + i)
        for m in range(first_minute, last_minute + 1)
        for i, env in enumerate(["acme-prod", "globex-prod"])])))
    with Store.open(db) as store:
        store.load(path)


def firing(out, rule):
    return [i for i in out["firing"] if i["rule"] == rule]


def test_a_stopped_feed_raises_telemetry_absent_which_resolves_when_data_flows(tmp_path):
    """Data until minute 29: quiet at 31; at 50 (21 minutes of silence) telemetry_absent opens
    as a ticket, printed, stored and exit 1; data again from minute 45: resolved at 56. With
    an hour of history the detectors are not armed, which is said too."""
    db = tmp_path / "s.duckdb"
    feed(db, tmp_path, 0, 29)
    proc, out = alert(db, 31)
    assert firing(out, "telemetry_absent") == []
    assert [i["severity"] for i in firing(out, "not_armed")] == ["ticket"]
    assert proc.returncode == 1
    proc, out = alert(db, 50)
    [absent] = firing(out, "telemetry_absent")
    assert (proc.returncode, absent["severity"]) == (1, "ticket")
    assert absent["summary"] == ("no telemetry arriving: no telemetry for 21 min (newest at "
                                 "2024-05-07 12:29 UTC; --max-silence 15 min)")
    assert [n["transition"] for n in out["notifications"]] == ["opened"]
    feed(db, tmp_path, 45, 55)
    proc, out = alert(db, 56)
    assert firing(out, "telemetry_absent") == []
    assert [(n["rule"], n["transition"]) for n in out["notifications"]] == [
        ("telemetry_absent", "resolved")]
    with Store.open(db, read_only=True) as store:
        incidents = store.incidents()
    assert incidents.set_index("rule").loc["telemetry_absent", "status"] == "resolved"


def test_max_silence_and_watchdog_severity_are_options(tmp_path):
    """--max-silence 30 tolerates the 21 minutes; --watchdog-severity page makes it a page."""
    db = tmp_path / "s.duckdb"
    feed(db, tmp_path, 0, 29)
    _, out = alert(db, 50, "--max-silence", "30", "--dry-run")
    assert firing(out, "telemetry_absent") == []
    _, out = alert(db, 50, "--watchdog-severity", "page", "--dry-run")
    assert [i["severity"] for i in firing(out, "telemetry_absent")] == ["page"]


@pytest.mark.parametrize(("args", "needle"), [
    (["--db", "/proc/toolkit.duckdb"], "cannot open the alert lock /proc/toolkit.duckdb"),
    (["--textfile", "/nonexistent-dir/toolkit.prom"],
     "--textfile /nonexistent-dir/toolkit.prom: no such directory /nonexistent-dir"),
    (["--webhook", "ftp://example"], "webhook URL must start with http"),
])
@pytest.mark.parametrize("as_json", [False, True])
def test_errors_are_one_line_with_exit_2(tmp_path, args, needle, as_json):
    """A lock file that cannot be created, a textfile in a missing directory, a bad webhook:
    one line on stderr, exit 2 (never 1), no traceback; with --json an error object."""
    cmd = [EXE, "alert", "--db", str(tmp_path / "s.duckdb"), *args]
    proc = subprocess.run([*cmd, "--json"] if as_json else cmd, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and needle in lines[0] and lines[0].startswith("toolkit alert: ")
    if as_json:
        assert needle in json.loads(proc.stdout)["error"]
    else:
        assert proc.stdout == ""


def test_control_characters_never_reach_the_terminal(tmp_path):
    """An ESC sequence in a value the command prints is shown escaped."""
    proc = subprocess.run([EXE, "alert", "--db", "/proc/\x1b[2Jx.duckdb"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "\x1b" not in proc.stderr
    assert "/proc/\\x1b[2Jx.duckdb" in proc.stderr


def test_generator_url_template_names_the_incident(tmp_path, receiver):
    """--generator-url with {incident}: each Alertmanager alert links to its incident."""
    db = tmp_path / "s.duckdb"
    feed(db, tmp_path, 0, 29)
    proc, _ = alert(db, 50, "--webhook", receiver.url, "--format", "alertmanager",
                    "--generator-url", "https://grafana.example/d/toolkit?var-incident={incident}")
    assert proc.returncode == 1, proc.stderr
    urls = {a["labels"]["alertname"]: a["generatorURL"] for a in receiver.bodies[0]}
    assert urls["telemetry_absent"] == (
        "https://grafana.example/d/toolkit?var-incident=telemetry_absent-20240507T1250")


def test_the_cron_path_reads_without_pandas_or_pyarrow(tmp_path):
    """A cron run without a spool decides from numpy arrays and records: importing pandas
    and pyarrow would be about half of a cold run's time. The run still audits (one drop
    folded into another environment's job pages) and runs the detectors."""
    db = tmp_path / "s.duckdb"
    feed(db, tmp_path, 0, 29)
    key = {"pipeline__source": "cms", "pipeline__entity": "home", "pipeline__schema": "page"}
    drop = tmp_path / "drop.jsonl"
    drop.write_text(jsonl(logs_request([log_record(
        T0 + 60 * 20 + 30, "acme-prod", "job.deduplicated", **key, pipeline__job__id=7,
        pipeline__job__version=2, pipeline__dedup__survivor__job__id=8,
        pipeline__dedup__survivor__tenant="globex",
        pipeline__dedup__survivor__environment="globex-prod",
        pipeline__dedup__survivor__source="cms", pipeline__dedup__survivor__entity="home",
        pipeline__dedup__survivor__schema="page", pipeline__dedup__survivor__state="pending",
        pipeline__dedup__survivor__version=2)])))
    with Store.open(db) as store:
        store.load(drop)
    now = (START + timedelta(minutes=31)).strftime("%Y-%m-%dT%H:%M")
    code = f"""
import json, sys
import toolkit.cli, toolkit.detect.window as window
ran = []
detect = window.detect
window.detect = lambda *a, **k: ran.append(1) or detect(*a, **k)
code = toolkit.cli.main(["alert", "--db", {str(db)!r}, "--now", {now!r}, "--json"])
print(json.dumps({{"exit": code, "detected": len(ran),
                  "loaded": sorted(m for m in ("pandas", "pyarrow") if m in sys.modules)}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    out, status = proc.stdout.strip().splitlines()[:-1], json.loads(proc.stdout.splitlines()[-1])
    assert status == {"exit": 1, "detected": 1, "loaded": []}
    [wrongful] = firing(json.loads("\n".join(out)), "wrongful_discards")
    assert (wrongful["environments"], wrongful["severity"]) == (["acme-prod"], "page")
