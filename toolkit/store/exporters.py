"""OpenTelemetry SDK exporters that write into a store.

Ordinary ``SpanExporter`` / ``LogRecordExporter`` subclasses: put them behind the SDK's
batch processors (or the simple processors in tests). ``export`` only captures the batch as
plain tuples (``capture.py``) and hands it to a sink (``sinks.py``) that encodes it to Arrow
and inserts it, with whatever else has arrived meanwhile, in one transaction through the
same idempotent write path as ``toolkit load``.

* Given a **path**, the exporters write from a child process that owns the store: the
  instrumented program pays for the capture and a pickle, nothing more. The store must not
  be open in another process meanwhile (DuckDB lets one process write a file); the child
  refreshes the ``env_minute`` rollup when it ends.
* Given an open writable :class:`Store`, they write from a thread of this process, and the
  caller refreshes the rollup (:meth:`Store.refresh_rollup`).

Spans and log exporters of the same store share one writer. ``export`` returns once the
batch is queued; ``force_flush`` (and ``shutdown``) return once it is committed. Telemetry
never breaks the host: a failed write is logged and reported by ``force_flush``, never
raised.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from toolkit.store.api import Store
from toolkit.store.capture import capture_logs, capture_spans
from toolkit.store.sinks import ProcessSink, Sink, ThreadSink

try:  # the SDK renamed the log exporter interface in 1.39
    from opentelemetry.sdk._logs.export import LogRecordExporter as _LogExporterBase
    from opentelemetry.sdk._logs.export import LogRecordExportResult as _LogResult
except ImportError:  # pragma: no cover - older SDKs
    from opentelemetry.sdk._logs.export import (  # type: ignore[attr-defined,no-redef]
        LogExporter as _LogExporterBase,
    )
    from opentelemetry.sdk._logs.export import (  # type: ignore[attr-defined,no-redef]
        LogExportResult as _LogResult,
    )

__all__ = ["DuckDBLogRecordExporter", "DuckDBSpanExporter"]

_log = logging.getLogger(__name__)

# One writer per store, shared by its span and log exporters: key -> [sink, users].
_SHARED: dict[Any, list[Any]] = {}
_SHARED_LOCK = threading.Lock()


def _key(target: Store | str | Path) -> Any:
    return id(target) if isinstance(target, Store) else str(Path(target).resolve())


def _acquire(target: Store | str | Path) -> Sink:
    if isinstance(target, Store) and target.read_only:
        raise ValueError(f"{target.path}: the store is open read-only; exporters write")
    with _SHARED_LOCK:
        entry = _SHARED.get(_key(target))
        if entry is None:
            sink = ThreadSink(target) if isinstance(target, Store) else ProcessSink(target)
            entry = _SHARED[_key(target)] = [sink, 0]
        entry[1] += 1
        return entry[0]  # type: ignore[no-any-return]


def _release(target: Store | str | Path, sink: Sink) -> bool:
    with _SHARED_LOCK:
        entry = _SHARED.get(_key(target))
        last = entry is not None and entry[0] is sink and entry[1] == 1
        if entry is not None and entry[0] is sink:
            entry[1] -= 1
            if last:
                del _SHARED[_key(target)]
    return sink.close() if last else sink.flush()


class _StoreExporter:
    """What both exporters do: capture, submit, flush, release."""

    def __init__(self, store: Store | str | Path, capture: Callable[[Sequence[Any]], list[Any]],
                 kind: str) -> None:
        self._target = store
        self._sink = _acquire(store)
        self._capture = capture
        self._kind = kind
        self._closed = False

    def _submit(self, batch: Sequence[Any]) -> bool:
        if self._closed:
            return False
        try:
            self._sink.submit(self._kind, self._capture(batch))
        except Exception:
            _log.exception("DuckDB export of %d %s failed", len(batch), self._kind)
            return False
        return True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Wait until everything exported so far is committed; whether it all was."""
        if self._closed:
            return False
        return self._sink.flush(timeout_millis / 1000)

    def shutdown(self) -> None:
        """Commit what was exported and stop; the last exporter of a store releases it."""
        if self._closed:
            return
        self._closed = True
        if not _release(self._target, self._sink):
            _log.error("DuckDB export into %s lost records: see the errors above",
                       getattr(self._target, "path", self._target))


class DuckDBSpanExporter(_StoreExporter, SpanExporter):
    """Writes finished spans (with their events and links) into a store.

    Args:
        store: The path of a store (written from a child process), or an open writable
            :class:`Store` (written from a thread).

    Raises:
        ValueError: ``store`` is open read-only (bad configuration fails at construction).
    """

    def __init__(self, store: Store | str | Path) -> None:
        super().__init__(store, capture_spans, "spans")

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Queue the batch for the store; duplicates of stored spans will be skipped."""
        return SpanExportResult.SUCCESS if self._submit(spans) else SpanExportResult.FAILURE


class DuckDBLogRecordExporter(_StoreExporter, _LogExporterBase):  # type: ignore[misc,valid-type]
    """Writes log records (the job logs of docs/contracts.md) into a store.

    Args:
        store: The path of a store, or an open writable :class:`Store`.

    Raises:
        ValueError: ``store`` is open read-only.
    """

    def __init__(self, store: Store | str | Path) -> None:
        super().__init__(store, capture_logs, "logs")

    def export(self, batch: Sequence[Any]) -> Any:
        """Queue the batch for the store; records already stored will be skipped."""
        return _LogResult.SUCCESS if self._submit(batch) else _LogResult.FAILURE
