"""Where the DuckDB exporters' captured records go: a writer thread, or a writer process.

An SDK exporter is called with a few dozen records at a time, on the instrumented program's
threads. One DuckDB transaction per call would cost more than the program itself, so the
exporters only capture (``capture.py``) and submit; a sink gathers whatever has arrived
while it was busy and writes it in one transaction (``write_rows``): under load batches grow
to thousands of records, and a quiet producer's records are written at once.

* :class:`ThreadSink` writes into a :class:`Store` the caller holds open, from a thread.
  Encoding then shares the GIL with the program.
* :class:`ProcessSink` writes into a store path from a child process
  (``python -m toolkit.store_writer``): the program only captures and pickles, and
  the encoding and insert run on another core. The child owns the store (DuckDB lets one
  process write a file), ignores SIGINT and SIGTERM (the parent decides when telemetry
  ends, and must be able to flush on Ctrl-C), and ends at end of input: after ``close``, or
  when the parent dies, even by SIGKILL. Either way it commits what it received and
  refreshes the rollup.

Spans and log exporters of one store share one sink, so they share its transactions.
``flush`` returns once everything submitted before it is committed, and says whether every
write since the previous flush succeeded; failures are logged, never raised at the program.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import toolkit
from toolkit.store.api import Store
from toolkit.store.arrow import log_tables, span_tables
from toolkit.store.connect import DEFAULT_TIMEOUT
from toolkit.store.ingest import insert_logs, insert_spans
from toolkit.store.otlp_sql import promoted_from_json_sql
from toolkit.store_writer import frame, read_frame

__all__ = ["ProcessSink", "Sink", "ThreadSink", "serve", "write_rows"]

_log = logging.getLogger("toolkit.store.exporters")

#: Records per transaction at most; more waiting means another transaction right after.
MAX_BATCH_RECORDS = 50_000
#: How long a batch waits for more records before it is written.
LINGER_SECONDS = 0.5
#: Submissions waiting for the writer before ``submit`` blocks (back-pressure, not loss).
MAX_PENDING = 512

Item = tuple[str, Any] | None


class Sink(Protocol):
    """What an exporter hands its captured records to."""

    def submit(self, kind: str, rows: list[tuple[Any, ...]]) -> None:
        """Queue ``rows`` (``kind``: ``"spans"`` or ``"logs"``) for writing."""

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted is committed; whether all writes succeeded."""

    def close(self) -> bool:
        """Flush, stop writing and release the store; whether all writes succeeded."""


def write_rows(store: Store, spans: list[tuple[Any, ...]], logs: list[tuple[Any, ...]]) -> None:
    """Insert captured spans and log records in one transaction (duplicates skipped)."""
    span_table, events, links = span_tables(spans)
    log_table = log_tables(logs)
    if span_table is None and log_table is None:
        return
    with store.writing() as con:
        names = {"_x_spans": span_table, "_x_events": events, "_x_links": links,
                 "_x_logs": log_table}
        for name, table in names.items():
            if table is not None:
                con.register(name, table)
        try:
            if span_table is not None:
                insert_spans(con, promoted_from_json_sql("_x_spans"),
                             "_x_events" if events is not None else None,
                             "_x_links" if links is not None else None)
            if log_table is not None:
                insert_logs(con, promoted_from_json_sql("_x_logs"))
        finally:
            for name, table in names.items():
                if table is not None:
                    con.unregister(name)


def serve(
    store: Store,
    items: queue.Queue[Item],
    answer: Callable[[Any, bool], None],
    linger: float = LINGER_SECONDS,
) -> bool:
    """Write what arrives on ``items`` until ``None``; answer each flush ticket.

    What arrives within ``linger`` seconds of a batch's first record is written with it in
    one transaction (up to :data:`MAX_BATCH_RECORDS`; a flush ends the batch at once).
    DuckDB commits cost per transaction and the write-ahead log per row: transactions of
    tens of thousands of rows cost a third of those of a few thousand (measured).

    Returns:
        Whether every write since the last answered flush succeeded.
    """
    ok = True
    ended = False
    while not ended:
        spans: list[tuple[Any, ...]] = []
        logs: list[tuple[Any, ...]] = []
        tickets = []
        item = items.get()
        until = time.monotonic() + linger
        while True:
            if item is None:
                ended = True
                break
            kind, payload = item
            if kind == "flush":
                tickets.append(payload)
                break
            if kind == "error":  # records lost on the way (store_writer.read_frame)
                ok = False
                _log.error("DuckDB export lost records: %s", payload)
                payload = ()
            (spans if kind == "spans" else logs).extend(payload)
            if len(spans) + len(logs) >= MAX_BATCH_RECORDS:
                break
            try:
                item = items.get(timeout=max(0.0, until - time.monotonic()))
            except queue.Empty:
                break
        if spans or logs:
            try:
                write_rows(store, spans, logs)
            except Exception:
                ok = False
                _log.exception(
                    "DuckDB export of %d spans and %d log records failed", len(spans), len(logs)
                )
        for ticket in tickets:
            answer(ticket, ok)
            ok = True
    return ok


# -- in this process ---------------------------------------------------------------------------


class _Ticket:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False


def _answer(ticket: _Ticket, ok: bool) -> None:
    ticket.ok = ok
    ticket.done.set()


class ThreadSink:
    """Writes into an open writable :class:`Store` from a background thread."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._items: queue.Queue[Item] = queue.Queue(MAX_PENDING)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="toolkit-store-writer",
                                        daemon=True)
        self._final_ok = True
        self._thread.start()

    def _run(self) -> None:
        self._final_ok = serve(self._store, self._items, _answer)

    def submit(self, kind: str, rows: list[tuple[Any, ...]]) -> None:
        if self._closed:
            raise RuntimeError("the store writer is closed")
        if rows:
            self._items.put((kind, rows))

    def flush(self, timeout: float | None = None) -> bool:
        if self._closed:
            return self._final_ok
        ticket = _Ticket()
        self._items.put(("flush", ticket))
        return ticket.done.wait(timeout) and ticket.ok

    def close(self) -> bool:
        if self._closed:
            return self._final_ok
        ok = self.flush()
        self._closed = True
        self._items.put(None)
        self._thread.join()
        return ok and self._final_ok


# -- in a child process --------------------------------------------------------------------------

_F_SETPIPE_SZ = 1031  # Linux: a 1 MiB pipe absorbs bursts while the child is busy
_PIPE_BYTES = 1 << 20


class ProcessSink:
    """Writes into the store at ``path`` from a child process that owns it (opening it
    waits up to ``open_timeout`` seconds for another process to let go of the file).

    Frames are written to the child's pipe by the exporting thread itself: no sender
    thread to hand the GIL to for every batch. A full pipe blocks the exporter until the
    child catches up (back-pressure, never loss); once ``submit`` returns, the records are
    the child's, and survive this process being killed.
    """

    def __init__(self, path: str | Path, *, open_timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = Path(path)
        env = dict(os.environ)
        source = str(Path(toolkit.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
        self._child = subprocess.Popen(
            [sys.executable, "-m", "toolkit.store_writer", str(self.path), str(open_timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True, bufsize=0,
        )
        assert self._child.stdin is not None
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(self._child.stdin.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)
        self._pipe = self._child.stdin.fileno()
        self._write_lock = threading.Lock()
        self._tickets: dict[int, _Ticket] = {}
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._closed = False
        self._failed: str | None = None
        self._final_ok = True
        self._receiver = threading.Thread(target=self._receive, name="toolkit-store-receiver",
                                          daemon=True)
        self._receiver.start()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        with self._write_lock:
            try:
                while view:
                    view = view[os.write(self._pipe, view):]
            except OSError as exc:  # BrokenPipeError: the child is gone
                self._fail(f"the store writer process for {self.path} went away ({exc})")
                raise RuntimeError(self._failed) from exc

    def _receive(self) -> None:
        stdout = self._child.stdout
        assert stdout is not None
        while (message := read_frame(stdout)) is not None:
            kind = message[0]
            if kind == "failed":
                self._fail(message[1])
            elif kind == "flushed":
                with self._lock:
                    ticket = self._tickets.pop(message[1], None)
                if ticket is not None:
                    _answer(ticket, message[2])
            elif kind == "closed":
                self._final_ok = message[1]
        self._fail(self._failed or f"the store writer process for {self.path} ended")

    def _fail(self, reason: str) -> None:
        with self._lock:
            first = self._failed is None
            self._failed = reason
            tickets, self._tickets = list(self._tickets.values()), {}
        if first and not self._closed:
            _log.error("DuckDB export stopped: %s", reason)
        for ticket in tickets:
            _answer(ticket, False)

    def submit(self, kind: str, rows: list[tuple[Any, ...]]) -> None:
        if self._closed:
            raise RuntimeError("the store writer is closed")
        if self._failed is not None:
            raise RuntimeError(self._failed)
        if rows:
            self._write(frame((kind, rows)))

    def flush(self, timeout: float | None = None) -> bool:
        if self._closed:
            return self._final_ok
        ticket = _Ticket()
        with self._lock:
            if self._failed is not None:
                return False
            number = next(self._numbers)
            self._tickets[number] = ticket
        try:
            self._write(frame(("flush", number)))
        except RuntimeError:
            return False
        return ticket.done.wait(timeout) and ticket.ok

    def close(self) -> bool:
        if self._closed:
            return self._final_ok
        ok = self.flush()
        self._closed = True
        with self._write_lock, contextlib.suppress(OSError):
            self._child.stdin.close()  # type: ignore[union-attr]  # end of input: the child ends
        code = self._child.wait()
        self._receiver.join()
        return ok and self._final_ok and code == 0
