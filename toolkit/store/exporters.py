"""OpenTelemetry SDK exporters that write straight into a store.

Ordinary ``SpanExporter`` / ``LogRecordExporter`` subclasses: put them behind the SDK's
``BatchSpanProcessor`` / ``BatchLogRecordProcessor`` (or the simple processors in tests).
Each ``export`` converts the batch to Arrow (``arrow.py``) and inserts it in one
transaction through the same idempotent write path as ``toolkit load``. Telemetry never
breaks the host: a failed export is logged and reported as ``FAILURE``, never raised.

The process that runs them holds the store's write lock for as long as they are open; see
docs/store.md ("Concurrency") for the spool directory that lets other processes read
meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from toolkit.store.api import Store
from toolkit.store.arrow import log_tables, span_tables
from toolkit.store.ingest import insert_logs, insert_spans

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


def _store(target: Store | str | Path) -> tuple[Store, bool]:
    """The store to write to, and whether the exporter opened (and so must close) it."""
    if isinstance(target, Store):
        if target.read_only:
            raise ValueError(f"{target.path}: the store is open read-only; exporters write")
        return target, False
    return Store.open(target), True


class DuckDBSpanExporter(SpanExporter):
    """Writes finished spans (with their events and links) into a store.

    Args:
        store: An open writable :class:`Store`, or the path of one to open (the exporter
            then closes it on ``shutdown``).

    Raises:
        ValueError: ``store`` is open read-only (bad configuration fails at construction).
    """

    def __init__(self, store: Store | str | Path) -> None:
        self._store, self._owned = _store(store)
        self._closed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Insert the batch in one transaction; duplicates of stored spans are skipped."""
        if self._closed:
            return SpanExportResult.FAILURE
        try:
            spans_table, events, links = span_tables(spans)
            if spans_table is None:
                return SpanExportResult.SUCCESS
            with self._store.writing() as con:
                names = {"_x_spans": spans_table, "_x_events": events, "_x_links": links}
                for name, table in names.items():
                    if table is not None:
                        con.register(name, table)
                try:
                    insert_spans(
                        con,
                        "_x_spans",
                        "_x_events" if events is not None else None,
                        "_x_links" if links is not None else None,
                    )
                finally:
                    for name, table in names.items():
                        if table is not None:
                            con.unregister(name)
        except Exception:
            _log.exception("DuckDB span export of %d spans failed", len(spans))
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Stop exporting; close the store if this exporter opened it."""
        self._closed = True
        if self._owned:
            self._store.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here: every export is committed before it returns."""
        return True


class DuckDBLogRecordExporter(_LogExporterBase):  # type: ignore[misc,valid-type]
    """Writes log records (the job logs of docs/contracts.md) into a store.

    Each batch marks the ``env_minute`` rollup dirty in the same transaction; call
    :meth:`Store.refresh_rollup` (or read :meth:`Store.rollup` on a writable store) to
    bring it up to date.

    Args:
        store: An open writable :class:`Store`, or the path of one to open.

    Raises:
        ValueError: ``store`` is open read-only.
    """

    def __init__(self, store: Store | str | Path) -> None:
        self._store, self._owned = _store(store)
        self._closed = False

    def export(self, batch: Sequence[Any]) -> Any:
        """Insert the batch in one transaction; records already stored are skipped."""
        if self._closed:
            return _LogResult.FAILURE
        try:
            table = log_tables(batch)
            if table is None:
                return _LogResult.SUCCESS
            with self._store.writing() as con:
                con.register("_x_logs", table)
                try:
                    insert_logs(con, "_x_logs")
                finally:
                    con.unregister("_x_logs")
        except Exception:
            _log.exception("DuckDB log export of %d records failed", len(batch))
            return _LogResult.FAILURE
        return _LogResult.SUCCESS

    def shutdown(self) -> None:
        """Stop exporting; close the store if this exporter opened it."""
        self._closed = True
        if self._owned:
            self._store.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here: every export is committed before it returns."""
        return True
