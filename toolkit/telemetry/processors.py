"""The SDK's batch processors, made lossless by back-pressure.

The SDK's ``BatchSpanProcessor`` / ``BatchLogRecordProcessor`` drop records when their queue
is full, which is right for a web service and wrong here: the simulator emits tens of
thousands of records per second of wall time, far faster than a background thread drains a
queue, and a dropped ``job.deduplicated`` record is exactly the evidence the audit needs.

So every ``flush_every`` records (at most half the queue) the emitting thread itself exports
whatever is queued (``force_flush``). The queue then never holds more than ``flush_every``
records and never overflows; the background thread still exports on its schedule, which is
what a slow live engine relies on.

A small ``flush_every`` also keeps the simulation fast: a record exported within a few dozen
records of its creation dies young, before Python's cyclic garbage collector promotes it, and
full collections of the engine's large heap become rare (the full ``may7`` replay took 58 s
of CPU with ``flush_every=1024``, 43 s with 32). With ``flush_every`` below
``max_export_batch_size`` the background thread is never woken by the queue's size, so it
does not compete with the engine for the GIL.
"""

from __future__ import annotations

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk._logs import ReadWriteLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from toolkit.telemetry.errors import TelemetryConfigError

__all__ = ["LosslessBatchLogRecordProcessor", "LosslessBatchSpanProcessor"]

DEFAULT_MAX_QUEUE_SIZE = 2048
DEFAULT_MAX_EXPORT_BATCH_SIZE = 512
DEFAULT_SCHEDULE_DELAY_MILLIS = 1000.0
DEFAULT_FLUSH_EVERY = 32


def _check(
    max_queue_size: int, max_export_batch_size: int | None, schedule_delay_millis: float,
    flush_every: int | None,
) -> tuple[int, int]:
    """Validate the settings; returns (max_export_batch_size, flush_every) with defaults."""
    if max_queue_size < 2:
        raise TelemetryConfigError(f"max_queue_size must be >= 2, got {max_queue_size}")
    if max_export_batch_size is None:
        max_export_batch_size = min(DEFAULT_MAX_EXPORT_BATCH_SIZE, max_queue_size)
    if not 0 < max_export_batch_size <= max_queue_size:
        raise TelemetryConfigError(
            f"max_export_batch_size must be in 1..max_queue_size ({max_queue_size}), "
            f"got {max_export_batch_size}"
        )
    if schedule_delay_millis <= 0:
        raise TelemetryConfigError(
            f"schedule_delay_millis must be > 0, got {schedule_delay_millis}"
        )
    # At most half the queue: a margin for records emitted by another thread between checks.
    limit = max_queue_size // 2
    if flush_every is None:
        return max_export_batch_size, min(DEFAULT_FLUSH_EVERY, limit)
    if not 0 < flush_every <= limit:
        raise TelemetryConfigError(
            f"flush_every must be in 1..max_queue_size // 2 ({limit}), got {flush_every}"
        )
    return max_export_batch_size, flush_every


class _Lossless:
    """What both lossless processors share: validated settings, and the caller exporting
    everything queued every ``flush_every`` records. Mixed in before the SDK's processor."""

    def __init__(
        self,
        exporter: SpanExporter | LogRecordExporter,
        *,
        max_queue_size: int = DEFAULT_MAX_QUEUE_SIZE,
        max_export_batch_size: int | None = None,
        schedule_delay_millis: float = DEFAULT_SCHEDULE_DELAY_MILLIS,
        flush_every: int | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        max_export_batch_size, self._flush_every = _check(
            max_queue_size, max_export_batch_size, schedule_delay_millis, flush_every
        )
        super().__init__(  # type: ignore[call-arg]
            exporter, max_queue_size=max_queue_size, schedule_delay_millis=schedule_delay_millis,
            max_export_batch_size=max_export_batch_size, meter_provider=meter_provider,
        )
        self._since_flush = 0

    def _counted(self) -> None:
        self._since_flush += 1
        if self._since_flush >= self._flush_every:
            self._since_flush = 0
            self.force_flush()  # type: ignore[attr-defined]


class LosslessBatchSpanProcessor(_Lossless, BatchSpanProcessor):
    """A ``BatchSpanProcessor`` that exports in the caller's thread instead of dropping.

    Args:
        exporter: where batches go.
        max_queue_size: capacity of the SDK's queue (never reached: see ``flush_every``).
        max_export_batch_size: spans per ``export`` call by the background thread (default
            ``min(512, max_queue_size)``).
        schedule_delay_millis: how long the background thread waits between exports.
        flush_every: the caller exports everything queued after this many spans (default
            ``min(32, max_queue_size // 2)``; at most ``max_queue_size // 2``).
        meter_provider: receives the SDK's own processor metrics, when those are enabled.
    """

    def on_end(self, span: ReadableSpan) -> None:
        super().on_end(span)
        self._counted()


class LosslessBatchLogRecordProcessor(_Lossless, BatchLogRecordProcessor):
    """A ``BatchLogRecordProcessor`` that exports in the caller's thread instead of dropping.

    Arguments as for :class:`LosslessBatchSpanProcessor`.
    """

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        super().on_emit(log_record)
        self._counted()
