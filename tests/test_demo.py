"""``toolkit demo`` end to end, on a shortened replay (one tenant, globex: three environments
that share entity ids, enough for the environment-blind deduplication to strike)."""

import json
import subprocess
import sys


def test_demo_runs_end_to_end_and_summarises(tmp_path):
    """The demo records, alerts as cron, audits and reports; its summary tells the story."""
    db, out = tmp_path / "demo.duckdb", tmp_path / "reports"
    cmd = [sys.executable, "-m", "toolkit.cli", "demo", "--db", str(db), "--out", str(out),
           "--tenants", "globex", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["wrongful_discards"] > 0 and summary["environments_affected"]
    assert summary["first_wrongful"] >= "2024-05-06T09:12:00Z"
    assert summary["first_page"] is not None and summary["resolved"] > "2024-05-07T16:41:00Z"
    counts = summary["notifications"]
    assert 1 <= counts["page"] <= 3 and counts["resolved"] == 1
    assert set(summary["environments_affected"]) <= set(summary["incident_environments"])
    assert summary["report"].endswith("report.html")
    assert (out / "2024-05-06-wrongful-discards" / "remediation.csv").exists()
    other = tmp_path / "other.duckdb"
    subprocess.run([sys.executable, "-m", "toolkit.cli", "simulate", "--scenario", "baseline",
                    "--days", "1", "--tenants", "wayne", "--db", str(other)],
                   capture_output=True, text=True, timeout=300, check=True)
    refused = subprocess.run([*cmd[:5], str(other), *cmd[6:]], capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode == 2
    assert "holds other telemetry" in json.loads(refused.stdout)["error"]
