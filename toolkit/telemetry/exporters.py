"""Span and log record exporters: OTLP JSON lines files, and counters that discard.

They are ordinary SDK exporters (``export(batch) -> result``, ``force_flush``, ``shutdown``)
fed by the SDK's processors. Telemetry never breaks its host: a failed export is logged and
reported as ``FAILURE`` to the processor, never raised into the engine.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from toolkit.otlp.encode import logs_line, spans_line
from toolkit.telemetry.files import RotatingJsonLinesFile

__all__ = [
    "CountingLogExporter",
    "CountingSpanExporter",
    "JsonLinesLogExporter",
    "JsonLinesSpanExporter",
]

_logger = logging.getLogger(__name__)


class _JsonLinesExporter:
    """What both JSON lines exporters share: encode a batch into one line, write it safely.

    Mixed in before the SDK's exporter base class, which differs for spans and logs.
    """

    _what = "records"
    _encode: Callable[[Sequence[Any]], bytes]

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int | None = None,
        max_seconds: float | None = None,
        compress: bool = False,
        compresslevel: int = 1,
        spool: bool = False,
    ) -> None:
        self.file = RotatingJsonLinesFile(
            path, max_bytes=max_bytes, max_seconds=max_seconds, compress=compress,
            compresslevel=compresslevel, spool=spool,
        )
        self._stopped = False
        self.exported = 0
        """Records written so far."""

    def _write(self, batch: Sequence[Any]) -> bool:
        if self._stopped:
            _logger.warning("%s exporter for %s is shut down; %d records not written",
                            self._what, self.file.path, len(batch))
            return False
        if not batch:
            return True
        try:
            self.file.write(self._encode(batch))
        except Exception:
            _logger.exception("could not write %d %s to %s", len(batch), self._what,
                              self.file.path)
            return False
        self.exported += len(batch)
        return True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Push what is written to the file system (the current file stays open)."""
        try:
            self.file.flush()
        except Exception:
            _logger.exception("could not flush %s", self.file.path)
            return False
        return True

    def shutdown(self) -> None:
        """Complete the current file (rename it into place); later exports fail."""
        self._stopped = True
        try:
            self.file.close()
        except Exception:
            _logger.exception("could not complete %s", self.file.path)


class JsonLinesSpanExporter(_JsonLinesExporter, SpanExporter):
    """Writes each batch of spans as one ``ExportTraceServiceRequest`` JSON line.

    The lines have the shape the OpenTelemetry Collector's ``file`` exporter writes, so
    ``toolkit load`` reads the reference engine's output and a production Collector's alike.
    Files are completed by rename (see :class:`~toolkit.telemetry.files.RotatingJsonLinesFile`
    for ``path``, ``max_bytes``, ``max_seconds``, ``compress``, ``compresslevel`` and
    ``spool``).
    """

    _what = "spans"
    _encode = staticmethod(spans_line)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS if self._write(spans) else SpanExportResult.FAILURE


class JsonLinesLogExporter(_JsonLinesExporter, LogRecordExporter):
    """Writes each batch of log records as one ``ExportLogsServiceRequest`` JSON line.

    Same file handling as :class:`JsonLinesSpanExporter`.
    """

    _what = "log records"
    _encode = staticmethod(logs_line)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        ok = self._write(batch)
        return LogRecordExportResult.SUCCESS if ok else LogRecordExportResult.FAILURE


class CountingSpanExporter(SpanExporter):
    """Counts spans and discards them: measures the cost of instrumentation alone, and
    proves in tests that no span was dropped on the way."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.batches = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            self.count += len(spans)
            self.batches += 1
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        """Nothing to release: records are counted, not kept."""


class CountingLogExporter(LogRecordExporter):
    """Counts log records and discards them (see :class:`CountingSpanExporter`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.batches = 0

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        with self._lock:
            self.count += len(batch)
            self.batches += 1
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        """Nothing to release: records are counted, not kept."""
