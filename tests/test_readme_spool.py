"""README, "Feeding it a real system": the Collector configuration and the crontab line, run
as written against a Collector-like writer."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from tests.store.collector import CollectorFileExporter
from tests.store.otlp import T0, log_record, logs_request
from toolkit.store import Store

README = Path(__file__).resolve().parents[1] / "README.md"
# The settings the file exporter accepts (opentelemetry-collector-contrib, exporter/fileexporter
# config.go): anything else and the Collector refuses to start.
EXPORTER_KEYS = {"path", "append", "rotation", "format", "encoding", "compression",
                 "flush_interval", "group_by", "create_directory", "directory_permissions"}
ROTATION_KEYS = {"max_megabytes", "max_days", "max_backups", "localtime"}


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Feeding it a real system")
    return text[start : text.index("\n## ", start + 1)]


def test_the_collector_recipe_loads_every_record_once(tmp_path):
    """The README's exporter settings, its rotation, its cron command: all records stored
    once, the Collector's files left alone."""
    blocks = re.findall(r"```(\w+)\n(.*?)```", section(), re.S)
    config = yaml.safe_load(next(body for kind, body in blocks if kind == "yaml"))
    exporter = config["exporters"]["file/toolkit"]
    assert set(exporter) <= EXPORTER_KEYS and set(exporter["rotation"]) <= ROTATION_KEYS
    assert config["service"]["pipelines"]["logs"]["exporters"] == ["file/toolkit"]
    cron = next(body for kind, body in blocks if kind == "crontab").strip()
    argv = shlex.split(cron)[5:]  # after the five schedule fields
    assert argv[0].endswith("/toolkit") and argv[1:3] == ["load", "--spool"]

    root = "/var/lib/toolkit"
    path = Path(exporter["path"].replace(root, str(tmp_path)))
    command = [sys.executable, "-m", "toolkit.cli",
               *(a.replace(root, str(tmp_path)) for a in argv[1:])]
    # Rotation as configured, at 1/256 of the size so that the test writes kilobytes.
    collector = CollectorFileExporter(path, max_bytes=exporter["rotation"]["max_megabytes"] << 12)
    n = 0
    for _ in range(3):
        for _ in range(120):
            collector.export(json.dumps(logs_request([log_record(
                T0 + n, "acme-prod", "job.created", pipeline__job__id=n)])))
            n += 1
        collector.write(b'{"resourceLogs":')  # a line the Collector is still writing
        proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        collector.write(json.dumps(logs_request([log_record(
            T0 + n, "acme-prod", "job.created", pipeline__job__id=n)]))[16:].encode() + b"\n")
        n += 1
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    assert len(collector.backups) >= 3
    with Store.open(command[command.index("--db") + 1], read_only=True) as store:
        ids = store.sql("SELECT job_id FROM logs ORDER BY job_id").job_id.tolist()
    assert ids == list(range(n))
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        [path.name, *(b.name for b in collector.backups)])
