"""Load OTLP JSON files (traces and logs) from any producer into the store.

Accepted: JSON lines with one ``ExportTraceServiceRequest`` / ``ExportLogsServiceRequest``
per line (what the OpenTelemetry Collector's file exporter writes), a single request object
pretty-printed over many lines, either of them gzip-compressed, and directories of such
files. Ids in hex of either case or base64, 64-bit integers as strings or numbers, unknown
fields ignored, optional fields absent. Lines holding only metrics or profiles are counted
as ignored.

Fast path: Python finds line boundaries (numpy) and hands the bytes to DuckDB as an Arrow
table without copying; DuckDB parses and flattens (``otlp_sql``). Python only looks at a
line again to explain why it failed. A bad line or record is named (file, line, position),
counted, kept in the ``rejected`` table, and never stops the good records of the same load.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from toolkit.errors import BadInput
from toolkit.store import otlp_sql
from toolkit.store.ingest import insert_logs, insert_rejected, insert_spans
from toolkit.store.lines import chunks, is_blank, line_starts, lines_table, read

__all__ = ["FILE_PATTERNS", "LoadResult", "Rejection", "expand_paths", "load_file"]

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


# -- the per-file state: counts and rejections -------------------------------------------------


@dataclass
class _FileLoad:
    con: duckdb.DuckDBPyConnection
    file: str
    lines: int = 0
    spans_loaded: int = 0
    logs_loaded: int = 0
    duplicates: int = 0
    ignored_lines: int = 0
    rejections: list[tuple[int, str, str, str]] = field(default_factory=list)

    def reject(self, line: int, item: str, error: str, raw: str | bytes | None) -> None:
        if isinstance(raw, bytes):
            raw = raw[:_RAW_LIMIT].decode("utf-8", errors="replace")
        elif raw is not None:
            raw = raw[:_RAW_LIMIT]
        if isinstance(raw, str):
            raw = raw.rstrip("\r\n")
        self.rejections.append((line, item, error, raw))

    def result(self) -> LoadResult:
        shown = tuple(Rejection(self.file, ln, item, err) for ln, item, err, _ in self.rejections)
        return LoadResult(
            1,
            self.lines,
            self.spans_loaded,
            self.logs_loaded,
            self.duplicates,
            len(self.rejections),
            self.ignored_lines,
            shown[:_REPORTED],
        )

    def store_rejections(self) -> None:
        if not self.rejections:
            return
        table = pa.table(
            {
                "file": [self.file] * len(self.rejections),
                "line": [r[0] for r in self.rejections],
                "item": [r[1] for r in self.rejections],
                "error": [r[2] for r in self.rejections],
                "raw": [r[3] for r in self.rejections],
            }
        )
        self.con.register("_t_rejected", table)
        try:
            insert_rejected(self.con, "_t_rejected")
        finally:
            self.con.unregister("_t_rejected")


# -- lines that fail before DuckDB sees them ---------------------------------------------------


def _utf8_or_blank(state: _FileLoad, data: bytes, starts: np.ndarray) -> bytes:
    """``data`` with every line that is not UTF-8 rejected and blanked (same length)."""
    whole = pa.LargeStringArray.from_buffers(
        1, pa.py_buffer(np.array([0, len(data)], dtype=np.int64)), pa.py_buffer(data)
    )
    try:
        whole.validate(full=True)  # Arrow checks UTF-8 in C++, without a Python copy
        return data
    except pa.ArrowInvalid:
        pass  # some line is not UTF-8: find which, below
    fixed = bytearray(data)
    for i in range(len(starts) - 1):
        a, b = int(starts[i]), int(starts[i + 1])
        try:
            data[a:b].decode("utf-8")
        except UnicodeDecodeError as exc:
            state.reject(i + 1, "", f"not UTF-8 text (byte {exc.start + 1} of the line)", data[a:b])
            fixed[a:b] = b" " * (b - a - 1) + data[b - 1 : b]
    return bytes(fixed)


def _document(state: _FileLoad, data: bytes, starts: np.ndarray) -> tuple[int, bytes] | None:
    """A single pretty-printed request: ``(first line, whole text)``; else ``None``.

    A JSON-lines file has a whole object on its first line, so only a first line that
    does not end an object is a candidate. A document that does not parse is rejected as a
    whole, at the line the JSON parser stopped, instead of as hundreds of broken lines.
    """
    for i in range(len(starts) - 1):
        line = data[int(starts[i]) : int(starts[i + 1])]
        if is_blank(line):
            continue
        if line.rstrip().endswith(b"}"):
            return None
        rows = state.con.execute("SELECT json_valid(?)", [data.decode("utf-8")]).fetchall()
        if rows and rows[0][0]:
            return i + 1, data
        try:
            json.loads(data)  # only to say where it breaks
        except ValueError as exc:
            if line.strip() in (b"{", b"["):
                lineno = getattr(exc, "lineno", i + 1)
                state.reject(lineno, "", f"not valid JSON: {_reason(exc)}", data)
                return i + 1, b""
            return None
        return i + 1, data
    return None


def _reason(exc: ValueError) -> str:
    return getattr(exc, "msg", None) or str(exc)


def _explain(text: str) -> tuple[str | None, bool]:
    """Why a line DuckDB could not take is bad: ``(error, ignored)``."""
    text = text.rstrip("\r\n")
    try:
        value = json.loads(text)
    except ValueError as exc:
        column = getattr(exc, "colno", None)
        at = f" (column {column})" if column else ""
        return f"not valid JSON: {_reason(exc)}{at}", False
    if not isinstance(value, dict):
        return f"not a JSON object but {type(value).__name__}: an OTLP request is an object", False
    if "resourceMetrics" in value or "resourceProfiles" in value:
        return None, True
    if "resourceSpans" in value or "resourceLogs" in value:
        return "resourceSpans/resourceLogs is not a list of objects", False
    keys = ", ".join(sorted(value)[:5]) or "none"
    return (
        f"not an OTLP traces or logs request: no resourceSpans or resourceLogs (keys: {keys})"
    ), False


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


def _bad_lines(state: _FileLoad, lines: pa.Table) -> tuple[int, int]:
    """Name the lines that are not OTLP traces/logs; count the lines with spans and logs."""
    con = state.con
    bad = con.execute("""
        SELECT ln FROM _t_kinds
        WHERE keys IS NULL
           OR NOT (list_contains(keys, 'resourceSpans') OR list_contains(keys, 'resourceLogs'))
        ORDER BY ln
    """).fetchall()
    if bad:
        first = lines.column("ln")[0].as_py()
        texts = lines.column("text")
        for (ln,) in bad:
            text = texts[ln - first].as_py()
            error, ignored = _explain(text)
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


def _record_rejections(state: _FileLoad, staged: str, kind: str) -> int:
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


def _load_spans(state: _FileLoad, every_line: bool) -> None:
    con = state.con
    for statement in otlp_sql.stage_spans_sql("_t_lines", every_line):
        con.execute(statement)
    seen = _count(con, "SELECT count(*) FROM _t_spans")
    if not seen:
        return
    bad = _record_rejections(state, "_t_spans", "spans")
    good = "_t_spans"
    if bad:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _t_good_spans AS "
            "SELECT * FROM _t_spans WHERE error IS NULL"
        )
        good = "_t_good_spans"
    inserted = insert_spans(con, good, "_t_events", "_t_links")
    state.spans_loaded += inserted
    state.duplicates += seen - bad - inserted


def _load_logs(state: _FileLoad, every_line: bool) -> None:
    con = state.con
    for statement in otlp_sql.stage_logs_sql("_t_lines", every_line):
        con.execute(statement)
    seen = _count(con, "SELECT count(*) FROM _t_logs")
    if not seen:
        return
    bad = _record_rejections(state, "_t_logs", "logs")
    good = "_t_logs"
    if bad:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _t_good_logs AS SELECT * FROM _t_logs WHERE error IS NULL"
        )
        good = "_t_good_logs"
    inserted = insert_logs(con, good).inserted
    state.logs_loaded += inserted
    state.duplicates += seen - bad - inserted


def _load_lines(state: _FileLoad, lines: pa.Table) -> None:
    con = state.con
    con.register("_t_lines", lines)
    try:
        con.execute(otlp_sql.kinds_sql("_t_lines"))
        state.lines += _count(con, "SELECT count(*) FROM _t_kinds")
        span_lines, log_lines = _bad_lines(state, lines)
        if span_lines:
            _load_spans(state, every_line=span_lines == lines.num_rows)
        if log_lines:
            _load_logs(state, every_line=log_lines == lines.num_rows)
    finally:
        con.unregister("_t_lines")
        _drop_temp(con)


def load_file(con: duckdb.DuckDBPyConnection, path: Path) -> LoadResult:
    """Load one file in one transaction: all of its good records, or (on a crash) none.

    Args:
        con: Writable connection to the store, with ``otlp_sql.install_macros`` applied.
        path: An OTLP JSON (lines) file, optionally gzip-compressed.

    Returns:
        The counts for this file; its rejections are also in the ``rejected`` table.
    """
    name = str(path.resolve())
    state = _FileLoad(con, name)
    size = path.stat().st_size if path.exists() else 0
    try:
        data, damage = read(path)
    except OSError as exc:
        state.reject(0, "", f"cannot read the file: {exc.strerror or exc}", None)
        data, damage = b"", None
    con.execute("BEGIN TRANSACTION")
    try:
        if damage:
            state.reject(0, "", damage, None)
        starts = line_starts(data)
        data = _utf8_or_blank(state, data, starts)
        document = _document(state, data, starts)
        if document is not None:
            line, text = document
            if text:
                doc = pa.table(
                    {
                        "ln": pa.array([line], pa.int64()),
                        "text": pa.array([text.decode("utf-8")], pa.large_string()),
                    }
                )
                _load_lines(state, doc)
        else:
            for first, last in chunks(starts):
                _load_lines(state, lines_table(data, starts, first, last))
        state.store_rejections()
        result = state.result()
        con.execute(
            "INSERT INTO loaded_files VALUES (?, ?, now() AT TIME ZONE 'UTC', ?, ?, ?, ?, ?)",
            [
                name,
                size,
                result.lines,
                result.spans_loaded,
                result.logs_loaded,
                result.duplicates,
                result.rejected,
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result
