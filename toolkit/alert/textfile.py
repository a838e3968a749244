"""Prometheus textfile-collector output for node_exporter, written atomically."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from toolkit.alert.state import AlertRecord


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def write_textfile(path: str | Path, records: list[AlertRecord], run_at: datetime) -> None:
    """Write ``toolkit_alert_firing`` per alert and the last run's time, via temp+rename so
    node_exporter never reads half a file."""
    path = Path(path)
    lines = [
        "# HELP toolkit_alert_firing 1 while the alert fires, 0 once resolved.",
        "# TYPE toolkit_alert_firing gauge",
    ]
    for r in sorted(records, key=lambda r: r.identity):
        labels = (f'rule="{_label(r.rule)}",environment="{_label(r.environment)}",'
                  f'severity="{_label(r.severity)}"')
        lines.append(f"toolkit_alert_firing{{{labels}}} {1 if r.status == 'firing' else 0}")
    lines += [
        "# HELP toolkit_alert_last_run_timestamp_seconds When toolkit alert last finished.",
        "# TYPE toolkit_alert_last_run_timestamp_seconds gauge",
        f"toolkit_alert_last_run_timestamp_seconds {run_at.replace(tzinfo=UTC).timestamp():.0f}",
    ]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
