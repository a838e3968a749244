"""Per-environment pipeline metrics on an OpenTelemetry ``Meter``.

Counters are kept as plain integers and reported through *observable* (asynchronous)
instruments: the engine emits hundreds of thousands of events per second, and an ``add()``
through the SDK for each of them would cost more than the event itself. The values are the
same cumulative sums a synchronous counter would report. Durations are recorded one by one
in synchronous histograms, since a distribution cannot be summed up front.

Metric points carry the SDK's collection time (wall clock): OpenTelemetry instruments take no
timestamp. Per simulated minute figures come from the job log records, which carry the
engine's clock; these metrics are for live dashboards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Final

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from toolkit.telemetry import attributes as a

# Column of each counter in a per-environment row.
INGESTS: Final = 0
SKIPPED_UNCHANGED: Final = 1
CREATED: Final = 2
DEDUPLICATED: Final = 3
FOLLOW_UPS: Final = 4
PROCESSED: Final = 5
RETRIED: Final = 6
FAILED: Final = 7

_COUNTERS: Final = (
    (INGESTS, "pipeline.ingests", "{ingest}", "Ingests received, changed or not."),
    (SKIPPED_UNCHANGED, "pipeline.ingests.skipped_unchanged", "{ingest}",
     "Ingests whose content did not change: no job was created."),
    (CREATED, "pipeline.jobs.created", "{job}",
     "Jobs created and offered to the deduplicator."),
    (DEDUPLICATED, "pipeline.jobs.deduplicated", "{job}",
     "Jobs folded into a surviving job by the deduplicator."),
    (FOLLOW_UPS, "pipeline.jobs.follow_ups", "{job}",
     "Jobs queued as the follow-up of a running job for the same key."),
    (PROCESSED, "pipeline.jobs.processed", "{job}", "Successful processing attempts."),
    (RETRIED, "pipeline.jobs.retried", "{job}", "Failed attempts that will be retried."),
    (FAILED, "pipeline.jobs.failed", "{job}", "Jobs given up after their last failed attempt."),
)

# Seconds. Processing takes about a second; queue waits range from milliseconds to the hours
# of a bulk re-ingest backlog.
PROCESS_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0, 60.0,
)
WAIT_BUCKETS: Final = (
    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0,
    14400.0, 43200.0, 86400.0,
)


class PipelineMetrics:
    """The counters, queue-depth gauge and duration histograms of one engine.

    Args:
        meter: where the instruments are created (from a local ``MeterProvider``).
        depths: returns the current queue depth per environment, read at collection time.
    """

    def __init__(self, meter: Meter, depths: Callable[[], Mapping[str, int]]) -> None:
        self._rows: dict[str, list[int]] = {}
        self._labels: dict[str, dict[str, str]] = {}
        self._histogram_labels: dict[str, dict[str, str]] = {}
        self._depths = depths
        for column, name, unit, description in _COUNTERS:
            meter.create_observable_counter(
                name, callbacks=[self._observer_of(column)], unit=unit, description=description
            )
        meter.create_observable_gauge(
            "pipeline.queue.depth", callbacks=[self._observe_depths], unit="{job}",
            description="Jobs queued per environment at collection time.",
        )
        self._wait = meter.create_histogram(
            "pipeline.queue.wait.duration", unit="s",
            description="Time a job spent in the fair queue, from enqueue to dequeue.",
            explicit_bucket_boundaries_advisory=WAIT_BUCKETS,
        )
        self._process = meter.create_histogram(
            "messaging.process.duration", unit="s",
            description="Duration of one processing attempt, from dequeue to its end.",
            explicit_bucket_boundaries_advisory=PROCESS_BUCKETS,
        )

    def count(self, tenant: str, environment: str, column: int) -> None:
        """Add one to a counter column of an environment."""
        row = self._rows.get(environment)
        if row is None:
            row = self._add_environment(tenant, environment)
        row[column] += 1

    def queue_wait(self, environment: str, seconds: float) -> None:
        self._wait.record(seconds, self._labels[environment])

    def processing(self, environment: str, seconds: float) -> None:
        self._process.record(seconds, self._histogram_labels[environment])

    def ensure(self, tenant: str, environment: str) -> None:
        """Make sure an environment has its (pre-built) attribute sets before a histogram."""
        if environment not in self._rows:
            self._add_environment(tenant, environment)

    def totals(self, environment: str) -> dict[str, int]:
        """The counters of one environment by metric name (for tests and summaries)."""
        row = self._rows.get(environment, [0] * len(_COUNTERS))
        return {name: row[column] for column, name, _, _ in _COUNTERS}

    def _add_environment(self, tenant: str, environment: str) -> list[int]:
        row = self._rows[environment] = [0] * len(_COUNTERS)
        self._labels[environment] = {a.TENANT: tenant, a.ENVIRONMENT: environment}
        self._histogram_labels[environment] = {
            a.TENANT: tenant, a.ENVIRONMENT: environment,
            a.MESSAGING_SYSTEM: a.MESSAGING_SYSTEM_VALUE,
            a.MESSAGING_DESTINATION: environment,
            a.MESSAGING_OPERATION_NAME: "process",
        }
        return row

    def _observer_of(self, column: int) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            labels = self._labels
            # Copied first: the engine thread may add an environment during a collection.
            rows = list(self._rows.items())
            return [Observation(row[column], labels[env]) for env, row in rows]

        return observe

    def _observe_depths(self, options: CallbackOptions) -> Iterable[Observation]:
        labels = self._labels
        return [
            Observation(depth, labels[env])
            for env, depth in list(self._depths().items()) if env in labels
        ]
