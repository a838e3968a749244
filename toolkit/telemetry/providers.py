"""Local OpenTelemetry providers wired to the engine observer: the package's setup API.

The providers are local, never the global ones: a library must not take over its host's
telemetry, and tests build as many as they like side by side.
"""

from __future__ import annotations

import atexit
import os
import random
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider, LogRecordLimits
from opentelemetry.sdk._logs.export import LogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

from toolkit import __version__
from toolkit.telemetry.errors import TelemetryConfigError
from toolkit.telemetry.exporters import JsonLinesLogExporter, JsonLinesSpanExporter
from toolkit.telemetry.observer import TelemetryObserver
from toolkit.telemetry.otlp_env import otlp_exporters_from_env, otlp_requested
from toolkit.telemetry.processors import (
    DEFAULT_MAX_QUEUE_SIZE,
    DEFAULT_SCHEDULE_DELAY_MILLIS,
    LosslessBatchLogRecordProcessor,
    LosslessBatchSpanProcessor,
)

__all__ = ["INSTRUMENTATION_SCOPE", "SeededIdGenerator", "Telemetry"]

INSTRUMENTATION_SCOPE = "toolkit.telemetry"
DEFAULT_SERVICE_NAME = "toolkit-engine"

# Explicit limits, so that OTEL_*_LIMIT variables cannot truncate the contract's attributes.
_SPAN_LIMITS = SpanLimits(
    max_attributes=128, max_events=128, max_links=128, max_span_attributes=128,
    max_event_attributes=128, max_link_attributes=128,
    max_attribute_length=SpanLimits.UNSET, max_span_attribute_length=SpanLimits.UNSET,
)
_LOG_LIMITS = LogRecordLimits(
    max_attributes=128, max_attribute_length=LogRecordLimits.UNSET,
    max_log_record_attributes=128, max_log_record_attribute_length=LogRecordLimits.UNSET,
)


class SeededIdGenerator(IdGenerator):
    """Trace and span ids from a seeded generator: a simulation run twice with the same seed
    gives the same ids, so everything drawn from its telemetry (a post-mortem's evidence
    table) is byte-identical. Never for production, where ids must be unpredictable."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def generate_span_id(self) -> int:
        with self._lock:
            return self._random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        with self._lock:
            return self._random.getrandbits(128) or 1


class Telemetry:
    """OpenTelemetry for one engine run: local providers, exporters, and the engine observer.

    Spans and log records go through the SDK's batch processors made lossless (the emitting
    thread exports every ``flush_every`` records, long before a queue could fill, so no
    record is ever dropped), or through the simple processors with ``batch=False``
    (synchronous: for tests).

    Example::

        with Telemetry.to_directory("telemetry/") as telemetry:
            run_scenario("may7", observer=telemetry.observer)
        # telemetry/traces.jsonl and telemetry/logs.jsonl are complete here

    Args:
        span_exporters: where spans go (each gets its own processor).
        log_exporters: where job log records go.
        metric_readers: collect the pipeline metrics; with none (and no OTLP metrics) the
            observer records no metrics at all, which saves the per-event histogram cost.
        service_name: resource ``service.name``.
        service_version: resource ``service.version``.
        service_instance_id: resource ``service.instance.id`` (default: a random UUID).
        resource_attributes: further resource attributes (they win over the three above).
        batch: lossless batch processors (default) or simple, synchronous ones.
        max_queue_size: capacity of each batch processor's queue (never reached).
        max_export_batch_size: records per export by the background threads (default
            ``min(512, max_queue_size)``).
        schedule_delay_millis: how often the background threads export.
        flush_every: the emitting thread exports what is queued after this many records
            (see :mod:`toolkit.telemetry.processors`; small is fast for a simulation). The
            OTLP exporters always use ``max_queue_size // 2``: a network request per few
            dozen records would cost more than the garbage collector it spares.
        otlp: attach the SDK's OTLP exporters. ``None`` (default): when an
            ``OTEL_EXPORTER_OTLP_*ENDPOINT`` variable is set, for the signals it names;
            ``True``: for every signal (endpoints default to the SDK's); ``False``: never.
        depth_of: queue depth of an environment, forwarded to :class:`TelemetryObserver`.
        id_seed: derive trace and span ids from this seed (:class:`SeededIdGenerator`), for
            simulations that must be reproducible; ``None`` (default): random ids.

    Raises:
        TelemetryConfigError: bad limits, an empty service name, or OTLP asked for without
            its exporter package installed.
    """

    def __init__(
        self,
        *,
        span_exporters: Sequence[SpanExporter] = (),
        log_exporters: Sequence[LogRecordExporter] = (),
        metric_readers: Sequence[MetricReader] = (),
        service_name: str = DEFAULT_SERVICE_NAME,
        service_version: str = __version__,
        service_instance_id: str | None = None,
        resource_attributes: Mapping[str, Any] | None = None,
        batch: bool = True,
        max_queue_size: int = DEFAULT_MAX_QUEUE_SIZE,
        max_export_batch_size: int | None = None,
        schedule_delay_millis: float = DEFAULT_SCHEDULE_DELAY_MILLIS,
        flush_every: int | None = None,
        otlp: bool | None = None,
        depth_of: Callable[[str], int] | None = None,
        id_seed: int | None = None,
    ) -> None:
        if not service_name or not service_name.strip():
            raise TelemetryConfigError("service_name must not be empty")
        # exporter -> flush_every for its processor
        spans: dict[SpanExporter, int | None] = dict.fromkeys(span_exporters, flush_every)
        logs: dict[LogRecordExporter, int | None] = dict.fromkeys(log_exporters, flush_every)
        readers = list(metric_readers)
        if otlp or (otlp is None and otlp_requested()):
            found = otlp_exporters_from_env(all_signals=bool(otlp))
            if found.spans is not None:
                spans[found.spans] = max_queue_size // 2
            if found.logs is not None:
                logs[found.logs] = max_queue_size // 2
            if found.metrics is not None:
                readers.append(PeriodicExportingMetricReader(found.metrics))
        self.span_exporters: tuple[SpanExporter, ...] = tuple(spans)
        self.log_exporters: tuple[LogRecordExporter, ...] = tuple(logs)

        self.resource = Resource.create({
            "service.name": service_name,
            "service.version": service_version,
            "service.instance.id": service_instance_id or str(uuid.uuid4()),
            **(resource_attributes or {}),
        })
        self.meter_provider = MeterProvider(
            metric_readers=readers, resource=self.resource, shutdown_on_exit=False
        )
        self.tracer_provider = TracerProvider(
            sampler=ALWAYS_ON, resource=self.resource, shutdown_on_exit=False,
            span_limits=_SPAN_LIMITS, meter_provider=self.meter_provider,
            id_generator=None if id_seed is None else SeededIdGenerator(id_seed),
        )
        self.logger_provider = LoggerProvider(
            resource=self.resource, shutdown_on_exit=False,
            meter_provider=self.meter_provider, log_record_limits=_LOG_LIMITS,
        )
        options: dict[str, Any] = {
            "max_queue_size": max_queue_size,
            "max_export_batch_size": max_export_batch_size,
            "schedule_delay_millis": schedule_delay_millis,
            "meter_provider": self.meter_provider,
        }
        for span_exporter, every in spans.items():
            self.tracer_provider.add_span_processor(
                LosslessBatchSpanProcessor(span_exporter, flush_every=every, **options)
                if batch else SimpleSpanProcessor(span_exporter)
            )
        for log_exporter, every in logs.items():
            self.logger_provider.add_log_record_processor(
                LosslessBatchLogRecordProcessor(log_exporter, flush_every=every, **options)
                if batch else SimpleLogRecordProcessor(log_exporter)
            )

        tracer = self.tracer_provider.get_tracer(INSTRUMENTATION_SCOPE, __version__)
        logger = self.logger_provider.get_logger(INSTRUMENTATION_SCOPE, __version__)
        meter = self.meter_provider.get_meter(INSTRUMENTATION_SCOPE, __version__)
        self.observer = TelemetryObserver(
            tracer, logger, meter if readers else None, depth_of=depth_of
        )
        self._shut = False
        # Complete the files even if the caller forgets shutdown(); weak, so that an
        # abandoned Telemetry can still be garbage-collected.
        this = weakref.ref(self)

        def shutdown_at_exit() -> None:
            telemetry = this()
            if telemetry is not None:
                telemetry.shutdown()

        self._at_exit = shutdown_at_exit
        atexit.register(shutdown_at_exit)

    @classmethod
    def to_directory(
        cls,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int | None = None,
        compress: bool = False,
        **options: Any,
    ) -> Telemetry:
        """Telemetry writing ``traces.jsonl`` and ``logs.jsonl`` (OTLP JSON lines, the
        Collector file exporter's format) into ``directory``, plus any ``span_exporters`` /
        ``log_exporters`` given in ``options``.

        With ``max_bytes`` the files rotate (``traces-000001.jsonl``, ...); with
        ``compress`` they are gzipped (``.jsonl.gz``).
        """
        root = Path(directory)
        spans = JsonLinesSpanExporter(root / "traces.jsonl", max_bytes=max_bytes,
                                      compress=compress)
        logs = JsonLinesLogExporter(root / "logs.jsonl", max_bytes=max_bytes,
                                    compress=compress)
        options["span_exporters"] = [spans, *options.get("span_exporters", ())]
        options["log_exporters"] = [logs, *options.get("log_exporters", ())]
        return cls(**options)

    @classmethod
    def to_spool(
        cls,
        directory: str | os.PathLike[str],
        *,
        rotate_seconds: float = 10.0,
        max_bytes: int = 16 << 20,
        **options: Any,
    ) -> Telemetry:
        """Telemetry for a long-running engine whose output a cron ``toolkit load --spool``
        folds into the store: OTLP JSON lines files in ``directory``, published (fsynced,
        renamed, marked) at least every ``rotate_seconds`` and every ``max_bytes``, named
        ``traces-<UTC start>-<pid>-000001.jsonl`` so that a restarted engine never reuses a
        name. Batches are exported every second by default, so the store lags the engine by
        about ``rotate_seconds`` and a SIGKILL loses at most the unpublished file.
        """
        root = Path(directory)
        stamp = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}"
        files: dict[str, Any] = {"max_seconds": rotate_seconds, "max_bytes": max_bytes,
                                 "spool": True}
        spans = JsonLinesSpanExporter(root / f"traces-{stamp}.jsonl", **files)
        logs = JsonLinesLogExporter(root / f"logs-{stamp}.jsonl", **files)
        options.setdefault("schedule_delay_millis", 1000)
        options["span_exporters"] = [spans, *options.get("span_exporters", ())]
        options["log_exporters"] = [logs, *options.get("log_exporters", ())]
        return cls(**options)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export everything emitted so far; True if every provider succeeded."""
        ok = self.tracer_provider.force_flush(timeout_millis)
        ok = self.logger_provider.force_flush(timeout_millis) and ok
        return self.meter_provider.force_flush(timeout_millis) and ok

    def shutdown(self, now: float | None = None) -> None:
        """Flush, complete the files and stop the background threads. Idempotent.

        Args:
            now: the engine's clock at shutdown. Attempts still in flight (a live runner
                stopped mid-attempt) have their ``process`` spans ended then, marked
                ``abandoned``; without ``now`` at their start, so no span is left unexported.
        """
        if self._shut:
            return
        self._shut = True
        atexit.unregister(self._at_exit)
        self.observer.close_pending()
        self.observer.abandon_running(0.0 if now is None else now)
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()
        self.meter_provider.shutdown()

    def __enter__(self) -> Telemetry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
