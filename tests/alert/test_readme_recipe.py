"""The README's alerting recipe is the one that works: its crontab line, run under cron's bare
environment against a local Alertmanager stand-in, and its Alertmanager route matching the
labels the toolkit sends."""

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.store.otlp import T0, jsonl, log_record, logs_request
from toolkit.alert import PAGE, Finding, Webhook, run_alert
from toolkit.store import Store

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
SECTION = README[README.index("## Alerting from cron"):README.index("## Feeding it a real")]


def block(kind):
    [found] = re.findall(rf"```{kind}\n(.*?)```", SECTION, re.S)
    return found


def test_the_crontab_line_pages_alertmanager_and_writes_the_textfile(tmp_path, receiver):
    """The README's crontab command, paths moved into a scratch directory: exit 1 (firing),
    Alertmanager receives the incident, the textfile appears."""
    home = tmp_path / "toolkit"
    (home / "spool").mkdir(parents=True)
    (tmp_path / "textfile").mkdir()
    telemetry = tmp_path / "t.jsonl"
    telemetry.write_text(jsonl(logs_request(
        [log_record(T0 + 60 * m, env, "job.created", pipeline__job__id=10 * m + i)
         for m in range(30) for i, env in enumerate(["acme-prod", "globex-prod"])]
        + [log_record(T0 + 600, "acme-prod", "job.deduplicated", pipeline__job__id=1)])))
    with Store.open(home / "toolkit.duckdb") as store:
        store.load(telemetry)
    line = block("crontab").strip()
    schedule, command = line.split(None, 5)[:5], line.split(None, 5)[5]
    assert schedule == ["*"] * 5
    exe = str(Path(sys.executable).with_name("toolkit"))
    command = (command.replace("/var/lib/toolkit", str(home))
               .replace("/opt/toolkit/.venv/bin/toolkit", exe)
               .replace("http://localhost:9093/api/v2/alerts", receiver.url)
               .replace("/var/lib/node_exporter/textfile", str(tmp_path / "textfile")))
    proc = subprocess.run(["env", "-i", "sh", "-c", f"{command} --now 2024-05-07T12:30"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    [alerts] = receiver.bodies
    assert {a["labels"]["alertname"] for a in alerts} >= {"wrongful_discards"}
    wrongful = next(a for a in alerts if a["labels"]["alertname"] == "wrongful_discards")
    assert wrongful["labels"]["environment"] == "acme-prod"
    names = {f.name for f in text_string_to_metric_families(
        (tmp_path / "textfile" / "toolkit.prom").read_text())}
    assert {"toolkit_dedup_ratio", "toolkit_wrongful_discards", "toolkit_alert_firing"} <= names


def test_the_alertmanager_route_groups_by_incident_and_matches_our_labels(tmp_path, receiver):
    """The receiver configuration groups by the `incident` label and routes pages on labels
    the toolkit's alerts carry."""
    config = yaml.safe_load(block("yaml"))
    route = config["route"]
    assert route["group_by"] == ["incident"]
    [page_route] = route["routes"]
    matchers = dict(m.replace('"', "").split("=") for m in page_route["matchers"])
    assert matchers == {"service": "toolkit", "severity": "page"}
    assert {r["name"] for r in config["receivers"]} == {page_route["receiver"],
                                                        route["receiver"]}
    finding = Finding("wrongful_discards", "acme-prod", PAGE, "lost", datetime(2024, 5, 7),
                      evidence_at=datetime(2024, 5, 7))
    run_alert(lambda: Store.open(tmp_path / "s.duckdb"), lambda *_: [finding],
              now=datetime(2024, 5, 7, 0, 1), lock_path=str(tmp_path / "l"),
              webhooks=[Webhook(receiver.url, "alertmanager")])
    [[alert]] = receiver.bodies
    assert all(alert["labels"][k] == v for k, v in matchers.items())
    assert alert["labels"]["incident"] == "wrongful_discards-20240507T0001"
