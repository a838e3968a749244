"""Load OTLP JSON files (traces and logs) from any producer into the store: the loader's
transactions, counts and rejections.

Accepted: JSON lines with one ``ExportTraceServiceRequest`` / ``ExportLogsServiceRequest``
per line (what the OpenTelemetry Collector's file exporter writes), a single request object
pretty-printed over many lines, either of them gzip-compressed, and directories of such
files. Ids in hex of either case or base64, 64-bit integers as strings or numbers, unknown
fields ignored, optional fields absent. Lines holding only metrics or profiles are counted
as ignored.

Fast path: the text streams through ``toolkit.otlp.decode.lines`` (numpy finds line
boundaries, Arrow holds the bytes without copying, memory stays flat whatever the file) into
DuckDB, which parses and flattens (``toolkit.otlp.decode.sql``); the staged rows go into the
store's tables (``ingest.py``). Python only looks at a line again to explain why it failed. A bad
line or record is named (file, line, position), counted, kept in the ``rejected`` table, and
never stops the good records of the same load; a file that cannot be read as text at all
(a device, binary data, a gzip bomb) is one rejection at line 0.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from toolkit.errors import BadInput
from toolkit.otlp.decode import sql as otlp_sql
from toolkit.otlp.decode.explain import explain_document, explain_line
from toolkit.otlp.decode.lines import Lines, read_lines, split
from toolkit.otlp.decode.source import Unreadable, open_source
from toolkit.store.connect import more_memory_on_oom
from toolkit.store.ingest import insert_logs, insert_rejected, insert_spans
from toolkit.store.schema import HOT_ATTRIBUTES

__all__ = [
    "FILE_PATTERNS",
    "FileLoad",
    "LoadResult",
    "Rejection",
    "expand_paths",
    "load_block",
    "load_file",
    "load_lines",
    "reporting_progress",
]

#: File names a directory load picks up (recursively).
FILE_PATTERNS = ("*.json", "*.jsonl", "*.ndjson", "*.json.gz", "*.jsonl.gz", "*.ndjson.gz")

_RAW_LIMIT = 1 << 20  # rejected text is kept up to 1 MiB
_REPORTED = 100  # rejections listed in a LoadResult (all of them are in the table)


@dataclass(frozen=True)
class Rejection:
    """A line (``item`` empty) or a record inside a line that could not be loaded."""

    file: str
    line: int
    item: str
    error: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" + (f": {self.item}" if self.item else "")
        return f"{where}: {self.error}"


@dataclass(frozen=True)
class LoadResult:
    """What a load did. ``loaded + duplicates + rejected`` is every record it saw, where a
    line that could not be read at all counts as one rejected record."""

    files: int = 0
    lines: int = 0
    spans_loaded: int = 0
    logs_loaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    ignored_lines: int = 0
    rejections: tuple[Rejection, ...] = field(default=(), repr=False)

    @property
    def loaded(self) -> int:
        """Spans and log records inserted."""
        return self.spans_loaded + self.logs_loaded

    @property
    def records(self) -> int:
        """Every record seen: loaded, duplicate or rejected."""
        return self.loaded + self.duplicates + self.rejected

    def __add__(self, other: LoadResult) -> LoadResult:
        return LoadResult(
            self.files + other.files,
            self.lines + other.lines,
            self.spans_loaded + other.spans_loaded,
            self.logs_loaded + other.logs_loaded,
            self.duplicates + other.duplicates,
            self.rejected + other.rejected,
            self.ignored_lines + other.ignored_lines,
            (self.rejections + other.rejections)[:_REPORTED],
        )


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files to load: each file as given, each directory's OTLP JSON files (sorted).

    Raises:
        BadInput: a path does not exist (nothing is loaded then).
    """
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = {p for pattern in FILE_PATTERNS for p in path.rglob(pattern) if p.is_file()}
            out.extend(sorted(found))
        elif path.exists():
            out.append(path)
        else:
            raise BadInput(f"{path}: no such file or directory")
    return out


_progress: ContextVar[Callable[[int], None] | None] = ContextVar("load_progress", default=None)


@contextlib.contextmanager
def reporting_progress(update: Callable[[int], None]) -> Iterator[None]:
    """Within the block, every file load calls ``update(n)`` as it gets ``n`` more bytes of
    the file (on disk: compressed bytes for gzip) into the store, for a progress bar; the
    whole size once a file is done."""
    token = _progress.set(update)
    try:
        yield
    finally:
        _progress.reset(token)


# -- the per-file state: counts and rejections -------------------------------------------------


@dataclass
class FileLoad:
    """What loading one file did so far: counts, and rejections not yet written.

    One file may be loaded in several transactions (a spool file, block by block): each
    one ends with :meth:`store_rejections`, so the rejections commit with the records.
    """

    con: duckdb.DuckDBPyConnection
    file: str
    lines: int = 0
    spans_loaded: int = 0
    logs_loaded: int = 0
    duplicates: int = 0
    ignored_lines: int = 0
    rejected: int = 0
    shown: list[Rejection] = field(default_factory=list)
    pending: list[tuple[int, str, str, str | None]] = field(default_factory=list)

    def reject(self, line: int, item: str, error: str, raw: str | bytes | None) -> None:
        """Count a rejection and keep it for :meth:`store_rejections`."""
        if isinstance(raw, bytes):
            raw = raw[:_RAW_LIMIT].decode("utf-8", errors="replace")
        elif raw is not None:
            raw = raw[:_RAW_LIMIT]
        if isinstance(raw, str):
            raw = raw.strip(" \t\r\n")
        self.rejected += 1
        self.pending.append((line, item, error, raw))
        if len(self.shown) < _REPORTED:
            self.shown.append(Rejection(self.file, line, item, error))

    def result(self) -> LoadResult:
        """The counts so far."""
        return LoadResult(
            1,
            self.lines,
            self.spans_loaded,
            self.logs_loaded,
            self.duplicates,
            self.rejected,
            self.ignored_lines,
            tuple(self.shown),
        )

    def store_rejections(self) -> None:
        """Write the rejections kept so far into ``rejected`` (in the caller's transaction)."""
        if not self.pending:
            return
        table = pa.table(
            {
                "file": [self.file] * len(self.pending),
                "line": [r[0] for r in self.pending],
                "item": [r[1] for r in self.pending],
                "error": [r[2] for r in self.pending],
                "raw": [r[3] for r in self.pending],
            }
        )
        self.con.register("_t_rejected", table)
        try:
            insert_rejected(self.con, "_t_rejected")
        finally:
            self.con.unregister("_t_rejected")
        self.pending.clear()

    def snapshot(self) -> tuple[Any, ...]:
        """The counts and pending rejections, to :meth:`restore` after a rolled-back try."""
        return (self.lines, self.spans_loaded, self.logs_loaded, self.duplicates,
                self.ignored_lines, self.rejected, len(self.shown), list(self.pending))

    def restore(self, saved: tuple[Any, ...]) -> None:
        """Back to a :meth:`snapshot`."""
        (self.lines, self.spans_loaded, self.logs_loaded, self.duplicates,
         self.ignored_lines, self.rejected, shown, pending) = saved
        del self.shown[shown:]
        self.pending[:] = pending

    def record_ledger(self, size: int) -> None:
        """One ``loaded_files`` row with the counts so far."""
        self.con.execute(
            "INSERT INTO loaded_files VALUES (?, ?, now() AT TIME ZONE 'UTC', ?, ?, ?, ?, ?)",
            [self.file, size, self.lines, self.spans_loaded, self.logs_loaded,
             self.duplicates, self.rejected],
        )


# -- DuckDB steps ------------------------------------------------------------------------------

_TEMP_TABLES = (
    "_t_kinds",
    "_t_spans",
    "_t_events",
    "_t_links",
    "_t_logs",
    "_t_good_spans",
    "_t_good_events",
    "_t_good_links",
    "_t_good_logs",
)


def _drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    for table in _TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _bad_lines(state: FileLoad) -> tuple[int, int]:
    """Name the lines that are not OTLP traces/logs; count the lines with spans and logs."""
    con = state.con
    bad = con.execute("""
        SELECT ln, l.text FROM _t_kinds k JOIN _t_lines l USING (ln)
        WHERE keys IS NULL
           OR NOT (list_contains(keys, 'resourceSpans') OR list_contains(keys, 'resourceLogs'))
        ORDER BY ln
    """).fetchall()
    if bad:
        for ln, text in bad:
            error, ignored = explain_line(text)
            if ignored:
                state.ignored_lines += 1
            else:
                state.reject(ln, "", error or "not OTLP JSON", text)
    has = con.execute("""
        SELECT count(*) FILTER (WHERE list_contains(keys, 'resourceSpans')),
               count(*) FILTER (WHERE list_contains(keys, 'resourceLogs'))
        FROM _t_kinds
    """).fetchall()
    return (int(has[0][0]), int(has[0][1])) if has else (0, 0)


def _record_rejections(state: FileLoad, staged: str, kind: str) -> int:
    """Move staged records with an ``error`` to the file's rejections; returns how many."""
    rows = state.con.execute(f"""
        SELECT t.ln, {otlp_sql.item_name(kind)}, t.error,
               json_extract(l.text, {otlp_sql.record_path(kind)})::VARCHAR
        FROM {staged} t JOIN _t_lines l USING (ln)
        WHERE t.error IS NOT NULL ORDER BY t.ln, t.ri, t.si, t.pi
    """).fetchall()
    for ln, item, error, text in rows:
        state.reject(ln, item, error, text)
    return len(rows)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]) if rows else 0


def _stage(state: FileLoad, kind: str, statements: list[str]) -> tuple[int, int, str] | None:
    """Stage one kind (``spans`` or ``logs``) from ``_t_lines`` and move its bad records to
    the rejections: ``(records seen, rejected, the table of the good ones)``, or ``None`` when
    the block holds none of that kind."""
    con = state.con
    for statement in statements:
        con.execute(statement)
    staged = f"_t_{kind}"
    seen = _count(con, f"SELECT count(*) FROM {staged}")
    if not seen:
        return None
    bad = _record_rejections(state, staged, kind)
    if not bad:
        return seen, 0, staged
    con.execute(f"CREATE OR REPLACE TEMP TABLE _t_good_{kind} AS "
                f"SELECT * FROM {staged} WHERE error IS NULL")
    return seen, bad, f"_t_good_{kind}"


def _load_spans(state: FileLoad, every_line: bool) -> None:
    staged = _stage(state, "spans",
                    otlp_sql.stage_spans_sql("_t_lines", every_line, HOT_ATTRIBUTES))
    if staged is None:
        return
    seen, bad, good = staged
    inserted = insert_spans(state.con, good, "_t_events", "_t_links")
    state.spans_loaded += inserted
    state.duplicates += seen - bad - inserted


def _load_logs(state: FileLoad, every_line: bool) -> None:
    staged = _stage(state, "logs",
                    otlp_sql.stage_logs_sql("_t_lines", every_line, HOT_ATTRIBUTES))
    if staged is None:
        return
    seen, bad, good = staged
    inserted = insert_logs(state.con, good).inserted
    state.logs_loaded += inserted
    state.duplicates += seen - bad - inserted


def _load_lines(state: FileLoad, lines: pa.Table) -> None:
    con = state.con
    con.register("_t_lines", lines)
    try:
        con.execute(otlp_sql.kinds_sql("_t_lines"))
        state.lines += _count(con, "SELECT count(*) FROM _t_kinds")
        span_lines, log_lines = _bad_lines(state)
        if span_lines:
            _load_spans(state, every_line=span_lines == lines.num_rows)
        if log_lines:
            _load_logs(state, every_line=log_lines == lines.num_rows)
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # the transaction is aborted: keep the cause
            con.unregister("_t_lines")
        raise
    con.unregister("_t_lines")
    _drop_temp(con)


def _load_document(state: FileLoad, lines: Lines, final: bool) -> bool:
    """A pretty-printed request: loaded whole; a broken one rejected once, where the JSON
    parser stopped (instead of as hundreds of broken lines). Returns ``False`` when it does
    not parse yet and more text may come."""
    text = lines.document or b""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not final:
            return False
        state.reject(lines.document_line, "", f"not UTF-8 text (byte {exc.start + 1})", text)
        return True
    rows = state.con.execute("SELECT json_valid(?)", [decoded]).fetchall()
    if rows and rows[0][0]:
        table = pa.table({"ln": pa.array([lines.document_line], pa.int64()),
                          "text": pa.array([decoded], pa.large_string())})
        _load_lines(state, table)
        return True
    if not final:
        return False
    error, line = explain_document(text, lines.document_line)
    first = text.lstrip(b" \t\r\n").split(b"\n", 1)[0].strip()
    if first in (b"{", b"["):
        state.reject(line, "", error, text)
        return True
    table, bad = split(text, lines.document_line - 1 - text[: len(text) - len(
        text.lstrip(b" \t\r\n"))].count(b"\n"))
    for b in bad:
        state.reject(b.line, "", b.error, b.raw)
    if table is not None:
        _load_lines(state, table)
    return True


def load_lines(state: FileLoad, lines: Lines, *, final: bool = True) -> bool:
    """Load what one :class:`~toolkit.otlp.decode.lines.Lines` holds, in the caller's transaction,
    and write its rejections.

    Returns:
        ``False`` when nothing was done because a pretty-printed document is not complete
        yet (``final`` false: a producer may still be writing it).
    """
    if lines.document is not None and not _load_document(state, lines, final):
        return False
    for bad in lines.bad:
        state.reject(bad.line, "", bad.error, bad.raw)
    if lines.table is not None:
        _load_lines(state, lines.table)
    state.store_rejections()
    return True


def load_block(state: FileLoad, lines: Lines, *, final: bool = True,
               also: Callable[[], None] | None = None) -> bool:
    """:func:`load_lines` in a transaction of its own, with ``also`` (a cursor's update) in
    the same transaction; returns what :func:`load_lines` does.

    A block too big for the load's memory cap (one request of tens of MB, whose parse takes
    several times its size) is loaded again under DuckDB's default limit, rather than
    failing this load and every later one on the same block.
    """
    before = state.snapshot()
    return more_memory_on_oom(state.con, lambda: _in_transaction(state, lines, final, also),
                              before_retry=lambda: state.restore(before))


def _in_transaction(state: FileLoad, lines: Lines, final: bool,
                    also: Callable[[], None] | None) -> bool:
    con = state.con
    con.execute("BEGIN TRANSACTION")
    try:
        done = load_lines(state, lines, final=final)
        if done and also is not None:
            also()
        con.execute("COMMIT" if done else "ROLLBACK")
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # a failed COMMIT leaves no transaction
            con.execute("ROLLBACK")
        raise
    return done


def load_file(con: duckdb.DuckDBPyConnection, path: Path) -> LoadResult:
    """Load one file, a block of text (``toolkit.otlp.decode.lines.TARGET_BYTES``) per transaction.

    Memory stays flat whatever its size: the text streams through, and each block's rows
    are committed before the next is read (DuckDB holds a transaction's rows in memory). A
    crash leaves whole blocks; loading the file again completes it and adds nothing twice.

    Args:
        con: Writable connection to the store, with ``otlp_sql.install_macros`` applied.
        path: An OTLP JSON (lines) file, optionally gzip-compressed.

    Returns:
        The counts for this file; its rejections are also in the ``rejected`` table.
    """
    name = str(path.resolve())
    state = FileLoad(con, name)
    size = 0
    try:
        source = open_source(path)
    except Unreadable as exc:
        state.reject(0, "", str(exc), None)
    else:
        size = source.size
        report = _progress.get()
        done = 0
        try:
            for lines in read_lines(source, final=True):
                load_block(state, lines)
                if report is not None:
                    report(source.position - done)
                    done = source.position
            if source.damage:
                state.reject(0, "", f"{source.damage}: kept the lines before it", None)
        except Unreadable as exc:
            state.reject(0, "", str(exc), None)
        finally:
            source.close()
        if report is not None:
            report(size - done)
    con.execute("BEGIN TRANSACTION")
    try:
        state.store_rejections()
        state.record_ledger(size)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return state.result()
