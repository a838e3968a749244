"""Prometheus textfile-collector output (node_exporter), written with ``prometheus_client``.

Per environment: the dedup ratio of the recent window, the wrongful discards counted so far,
the newest data's time; per rule: whether an incident of it is firing; and when the run
finished, so a dashboard can tell a stale file from a quiet system.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from toolkit.alert.findings import ABSENT, ANOMALY, NOT_ARMED, PAGE, TICKET, WRONGFUL
from toolkit.errors import ToolkitError

__all__ = ["EnvironmentMetrics", "write_textfile"]

RULES = (WRONGFUL, ANOMALY, ABSENT, NOT_ARMED)


@dataclass(frozen=True, slots=True)
class EnvironmentMetrics:
    environment: str
    tenant: str | None
    dedup_ratio: float | None  # None: nothing offered in the window
    wrongful_discards_total: int
    newest_data_at: datetime | None


def _seconds(ts: datetime) -> float:
    return ts.replace(tzinfo=UTC).timestamp()


class _Snapshot:
    """A collector that yields one run's values (nothing is kept between runs)."""

    def __init__(self, environments: Iterable[EnvironmentMetrics], firing: dict[str, str | None],
                 run_at: datetime) -> None:
        self.environments = sorted(environments, key=lambda e: e.environment)
        self.firing, self.run_at = firing, run_at

    def collect(self) -> Iterator[Metric]:
        labels = ["environment", "tenant"]
        ratio = GaugeMetricFamily("toolkit_dedup_ratio",
                                  "Deduplicated / offered jobs in the alert's recent window.",
                                  labels=labels)
        lost = CounterMetricFamily("toolkit_wrongful_discards",
                                   "Jobs the audit proved wrongly discarded, counted by toolkit "
                                   "alert.", labels=labels)
        newest = GaugeMetricFamily("toolkit_newest_data_timestamp_seconds",
                                   "Start of the newest minute with telemetry.", labels=labels)
        for e in self.environments:
            values = [e.environment, e.tenant or ""]
            if e.dedup_ratio is not None:
                ratio.add_metric(values, e.dedup_ratio)
            lost.add_metric(values, e.wrongful_discards_total)
            if e.newest_data_at is not None:
                newest.add_metric(values, _seconds(e.newest_data_at))
        # One series per rule and severity, always written (1 for the severity an incident of
        # the rule fires at, else 0): a series never changes labels when its incident
        # resolves or escalates, so rate() and alerting rules see one continuous series.
        firing = GaugeMetricFamily("toolkit_alert_firing",
                                   "1 while an incident of the rule fires at the severity, "
                                   "else 0.", labels=["rule", "severity"])
        for rule in sorted(set(RULES) | set(self.firing)):
            for severity in (PAGE, TICKET):
                firing.add_metric([rule, severity], 1 if self.firing.get(rule) == severity else 0)
        last = GaugeMetricFamily("toolkit_alert_last_run_timestamp_seconds",
                                 "When toolkit alert last ran (its --now).")
        last.add_metric([], _seconds(self.run_at))
        yield from (ratio, lost, newest, firing, last)


def write_textfile(path: str | Path, environments: Iterable[EnvironmentMetrics],
                   firing: dict[str, str | None], run_at: datetime) -> None:
    """Write the metrics atomically (``write_to_textfile`` renames a temporary file), readable
    by node_exporter whatever the umask (mode 0644). ``firing`` maps a rule to the severity of
    its firing incident."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(environments, firing, run_at))
    try:
        write_to_textfile(str(path), registry)
        os.chmod(path, 0o644)
    except OSError as exc:
        raise ToolkitError(f"cannot write the textfile {path}: {exc.strerror}") from None
