"""Folding a spool directory into the store: files another process may still be writing.

A long-running producer cannot hold the store (DuckDB gives a file to one writing process),
so it writes OTLP JSON lines into a directory and a cron ``toolkit load --spool DIR`` (or
``toolkit alert --spool DIR``) folds what arrived into the store. The producer may be the
OpenTelemetry Collector's ``file`` exporter, which appends to ``DIR/otlp.jsonl`` and, with
``rotation``, renames it to ``otlp-<time>.jsonl`` (optionally gzip-compressed afterwards) and
starts a new file; or the toolkit's own live engine, which publishes whole files by rename.

:func:`fold_spool` never loses or doubles a record, whatever it is given and wherever it is
killed:

* every file is read from where the last fold stopped: its cursor (``ingest_cursors``)
  holds the end of the last *complete* line loaded, and is committed in the same
  transaction as that line's records. A partial last line waits for the next fold;
* a file is known by device and inode, checked against its first bytes and the bytes
  before the cursor, so a renamed (rotated) file keeps its cursor, and a truncated,
  rewritten or replaced one is read again from its start (records already stored are
  recognised as duplicates: loads are idempotent);
* ``X.gz`` is skipped while ``X`` is still there (lumberjack, like logrotate, compresses
  into it and then deletes ``X``); once ``X`` is gone, a gzip file whose text is the text a
  cursor was read from (same first bytes, same bytes before the cursor) is read on from
  that cursor, and the cursor moves to it;
* a file that is no telemetry at all (a device, binary data, a gzip bomb) is rejected once
  and skipped afterwards; a bad line is rejected once, kept aside, and read past;
* files are never moved or deleted, except the toolkit's own published files once fully
  read (a marker ``DIR/.published/<name>`` holding their device and inode says so), which
  go to ``DIR/done/``.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from toolkit.errors import BadInput
from toolkit.otlp.decode.lines import MAX_LINE_BYTES, TAIL_BYTES, Lines, read_lines, split
from toolkit.otlp.decode.source import Source, Unreadable, open_source
from toolkit.store.load import FileLoad, LoadResult, _progress, load_block

if TYPE_CHECKING:
    from toolkit.store.api import Store

__all__ = ["DONE", "PUBLISHED", "fold_spool", "is_backup_name"]

#: Where the toolkit's own files go once read.
DONE = "done"
#: Markers of the files the toolkit's own writer published (``toolkit.telemetry.files``).
PUBLISHED = ".published"
_SKIPPED_SUFFIXES = (".tmp", ".part")
# lumberjack (the Collector file exporter's rotation): name-2006-01-02T15-04-05.000.ext[.gz]
_BACKUP = re.compile(
    r"(?P<stem>.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}(?P<ext>\.[^.]*)?(?:\.gz)?"
)
# A backup's unfinished last line waits this long for the file that continues it.
_ORPHAN_SECONDS = 60.0
_FORGET_AFTER_SECONDS = 7 * 86400


def is_backup_name(name: str) -> bool:
    """Whether ``name`` is a rotated backup of the Collector's file exporter (lumberjack's
    ``<name>-<UTC time>.<ext>``, optionally ``.gz``): a file no one appends to any more."""
    return _BACKUP.fullmatch(name) is not None


@dataclass
class _Cursor:
    device: int
    inode: int
    head: bytes
    tail: bytes
    size: int
    offset: int
    lines: int
    state: str


_COLUMNS = "device, inode, head, tail, size_bytes, offset_bytes, lines, state"


def _cursor(row: tuple | None) -> _Cursor | None:
    if row is None:
        return None
    device, inode, head, tail, size, offset, lines, state = row
    return _Cursor(int(device), int(inode), bytes(head), bytes(tail), size, offset, lines, state)


def _same_start(a: bytes, b: bytes) -> bool:
    n = min(len(a), len(b))
    return n > 0 and a[:n] == b[:n]


def _text_before(source: Source, offset: int, count: int) -> bytes:
    """``count`` bytes of the text ending at ``offset`` (fewer if the text is shorter)."""
    start = max(0, offset - count)
    return source.stream(start).read(offset - start)


def _matches(source: Source, cursor: _Cursor) -> bool:
    """Whether ``source`` is the text ``cursor`` was read from (maybe grown since)."""
    if cursor.offset == 0:
        return _same_start(source.head, cursor.head) or not cursor.head
    if len(source.head) < len(cursor.head) or not source.head.startswith(cursor.head):
        return False
    if not source.compressed and source.size < cursor.offset:
        return False  # truncated: new text under the old name and inode
    return _text_before(source, cursor.offset, len(cursor.tail)) == cursor.tail


def _find(con: duckdb.DuckDBPyConnection, source: Source, directory: str) -> _Cursor | None:
    """The cursor of ``source``: by device and inode; for gzip, by text (a compressed copy
    of a file read before, whose cursor then moves to the gzip file)."""
    row = con.execute(
        f"SELECT {_COLUMNS} FROM ingest_cursors WHERE device = ? AND inode = ?",
        [source.device, source.inode],
    ).fetchone()
    cursor = _cursor(row)
    if cursor is not None:
        return cursor if _matches(source, cursor) else None
    if not source.compressed or not source.head:
        return None
    # Checking a candidate decompresses up to its cursor, so only a few are tried: the file
    # the name says was compressed, then the furthest read. Missing the cursor only means
    # reading the file from its start, and its records again as duplicates.
    original = str(source.path.absolute()).removesuffix(".gz")
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM ingest_cursors WHERE starts_with(path, ?) "
        "AND state <> 'rejected' AND offset_bytes > 0 ORDER BY path = ? DESC, "
        "offset_bytes DESC LIMIT 3",
        [directory, original],
    ).fetchall()
    for candidate in map(_cursor, rows):
        assert candidate is not None
        if _same_start(source.head, candidate.head) and _matches(source, candidate):
            return candidate
    return None


def _save(con: duckdb.DuckDBPyConnection, source: Source, name: str, *, offset: int,
          lines: int, tail: bytes, state: str, moved_from: _Cursor | None = None) -> None:
    if moved_from is not None and (moved_from.device, moved_from.inode) != (
            source.device, source.inode):
        con.execute("DELETE FROM ingest_cursors WHERE device = ? AND inode = ?",
                    [moved_from.device, moved_from.inode])
    con.execute(
        "INSERT OR REPLACE INTO ingest_cursors VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, now() AT TIME ZONE 'UTC')",
        [source.device, source.inode, source.head, tail, name, source.size, offset, lines,
         state],
    )


class _Fold:
    """One fold of one directory: its files, their cursors, the counts."""

    def __init__(self, con: duckdb.DuckDBPyConnection, root: Path) -> None:
        self.con = con
        self.root = root
        self.directory = str(root.absolute()) + os.sep
        self.total = LoadResult()
        self.finished: list[tuple[Path, Source]] = []
        self.sources: dict[Path, Source | Unreadable] = {}
        self.successors: dict[Path, Path] = {}

    def run(self) -> None:
        try:
            listed = list(self.root.iterdir())
        except OSError as exc:
            raise BadInput(f"{self.root}: cannot read the spool directory: "
                           f"{exc.strerror or exc}") from None
        entries = sorted(
            p for p in listed
            if not p.name.startswith(".") and p.name != DONE
            and not p.name.endswith(_SKIPPED_SUFFIXES)
        )
        sources: list[tuple[Path, Source | Unreadable]] = []
        for path in entries:
            try:
                sources.append((path, open_source(path)))
            except Unreadable as exc:
                sources.append((path, exc))
        names = {path.name for path in entries}
        self.sources = dict(sources)
        self.successors = _successors(entries)
        try:
            for path, source in sources:
                if isinstance(source, Unreadable):
                    self._reject_once(path, str(source))
                elif path.name.endswith(".gz") and path.name.removesuffix(".gz") in names:
                    continue  # being compressed: its original is read instead
                else:
                    self._fold(path, source)
        finally:
            for _, source in sources:
                if isinstance(source, Source):
                    source.close()

    def _reject_once(self, path: Path, error: str) -> None:
        """A whole file that is no telemetry: rejected at line 0, counted the first time."""
        name = str(path.absolute())
        seen = self.con.execute(
            "SELECT count(*) FROM rejected WHERE file = ? AND line = 0 AND item = ''", [name]
        ).fetchall()
        if seen[0][0]:
            return
        state = FileLoad(self.con, name)
        self.con.execute("BEGIN TRANSACTION")
        try:
            state.reject(0, "", error, None)
            state.store_rejections()
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.total = self.total + state.result()

    def _sealed(self, path: Path, source: Source) -> bool:
        """Whether no one appends to the file any more (then its last line, even without a
        newline, is complete): a Collector backup, or a file the toolkit published."""
        return is_backup_name(path.name) or self._ours(path, source)

    def _ours(self, path: Path, source: Source) -> bool:
        try:
            marker = (self.root / PUBLISHED / path.name).read_text(encoding="utf-8")
        except OSError:
            return False
        return marker.strip() == f"{source.device}:{source.inode}"

    def _fold(self, path: Path, source: Source) -> None:
        cursor = _find(self.con, source, self.directory)
        name = str(path.absolute())
        if cursor is not None and cursor.state == "rejected":
            return
        if cursor is not None and cursor.state == "finished":
            self.finished.append((path, source))
            return
        backup = is_backup_name(path.name)
        if (cursor is not None and cursor.size == source.size and not backup
                and (source.compressed or cursor.offset == source.size)):
            return  # nothing appended since the last fold
        offset, line, tail = (cursor.offset, cursor.lines, cursor.tail) if cursor else (0, 0, b"")
        sealed = self._sealed(path, source) or source.compressed
        state = FileLoad(self.con, name)
        moved_from = cursor
        report = _progress.get()  # a progress bar's update(bytes), see reporting_progress
        try:
            # A backup's unfinished last line continues at the start of the next file.
            reader = read_lines(source, offset=offset, line=line, tail=tail,
                                final=sealed and not backup)
            for lines in reader:
                def advance(lines: Lines = lines, moved: _Cursor | None = moved_from) -> None:
                    _save(self.con, source, name, offset=lines.offset, lines=lines.lines,
                          tail=lines.tail, state="reading", moved_from=moved)

                if not load_block(state, lines, final=lines.document_final, also=advance):
                    break
                if report is not None:
                    report(lines.offset - offset)
                offset, line, tail = lines.offset, lines.lines, lines.tail
                moved_from = None
            else:
                if sealed and source.complete:
                    rest = source.stream(offset).read(MAX_LINE_BYTES + 1) if backup else b""
                    if not rest:
                        self._finish(source, name, offset, line, tail, moved_from)
                        self.finished.append((path, source))
                    elif self._stitch(path, source, state, rest, offset, line, tail,
                                      moved_from):
                        self.finished.append((path, source))
        except Unreadable as exc:
            self._reject_file(source, name, state, str(exc), offset, line, tail, moved_from)
        if state.lines or state.rejected:
            self.total = self.total + state.result()

    def _finish(self, source: Source, name: str, offset: int, line: int, tail: bytes,
                moved_from: _Cursor | None) -> None:
        self.con.execute("BEGIN TRANSACTION")
        _save(self.con, source, name, offset=offset, lines=line, tail=tail, state="finished",
              moved_from=moved_from)
        self.con.execute("COMMIT")

    def _stitch(self, path: Path, source: Source, state: FileLoad, rest: bytes, offset: int,
                line: int, tail: bytes, moved_from: _Cursor | None) -> bool:
        """Load a backup's unfinished last line ``rest`` joined to the first line of the
        next file: the exporter's buffered writer can hand lumberjack half a line just
        before a rotation, and the other half goes to the new file. Commits the two
        cursors with the line (the backup's finished). Returns ``False`` (nothing done)
        while the next file has no complete first line yet."""
        successor = self.successors.get(path)
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            age = _ORPHAN_SECONDS
        if successor is None and age < _ORPHAN_SECONDS:
            return False  # the exporter is between the rename and its new file
        head = b""
        follower = self.sources.get(successor) if successor else None
        if isinstance(follower, Source) and len(rest) <= MAX_LINE_BYTES:
            cursor = _find(self.con, follower, self.directory)
            if cursor is None or cursor.offset == 0:
                head = follower.stream(0).readline(MAX_LINE_BYTES + 1)
                if not head.endswith(b"\n"):
                    return False  # its first line is still being written
        joined = rest + head
        if head and not _valid(self.con, joined) and _valid(self.con, head):
            joined, head = rest, b""  # not a continuation: the backup's line stays alone
        table, bad = split(joined, line)

        def cursors() -> None:
            _save(self.con, source, str(path.absolute()), offset=offset + len(rest),
                  lines=line + 1, tail=(tail + rest)[-TAIL_BYTES:], state="finished",
                  moved_from=moved_from)
            if head:
                assert isinstance(follower, Source) and successor is not None
                _save(self.con, follower, str(successor.absolute()), offset=len(head),
                      lines=1, tail=head[-TAIL_BYTES:], state="reading")

        load_block(state, Lines(table, offset + len(rest), line + 1, b"", bad), also=cursors)
        return True

    def _reject_file(self, source: Source, name: str, state: FileLoad, error: str,
                     offset: int, line: int, tail: bytes, moved_from: _Cursor | None) -> None:
        """Binary data or a bomb: one rejection, and a cursor that skips the file from now."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            state.reject(0, "", error, None)
            state.store_rejections()
            _save(self.con, source, name, offset=offset, lines=line, tail=tail,
                  state="rejected", moved_from=moved_from)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def move_ours(self) -> None:
        """The toolkit's own fully read files go to ``done/`` (their cursors go with them:
        a rename keeps the inode)."""
        for path, source in self.finished:
            if not self._ours(path, source):
                continue
            done = self.root / DONE
            try:
                done.mkdir(exist_ok=True)
                os.replace(path, _free_name(done, path.name))
                (self.root / PUBLISHED / path.name).unlink(missing_ok=True)
            except OSError:
                continue  # left in place: its cursor says it is read, so it costs a stat


    def forget_gone(self) -> None:
        """Drop the cursors of files gone for a week (a compressed copy appears within
        seconds of its original's rotation, so nothing needs them any longer)."""
        cutoff = time.time() - _FORGET_AFTER_SECONDS
        rows = self.con.execute(
            "SELECT device, inode, path, epoch(updated_at) FROM ingest_cursors "
            "WHERE starts_with(path, ?)", [self.directory]
        ).fetchall()
        gone = [(d, i) for d, i, p, at in rows if at < cutoff and not os.path.exists(p)]
        for device, inode in gone:
            self.con.execute("DELETE FROM ingest_cursors WHERE device = ? AND inode = ?",
                             [device, inode])


def _valid(con: duckdb.DuckDBPyConnection, text: bytes) -> bool:
    rows = con.execute("SELECT json_valid(?)", [text.decode("utf-8", "replace")]).fetchall()
    return bool(rows and rows[0][0])


def _successors(entries: list[Path]) -> dict[Path, Path]:
    """Each Collector backup's next file: the next backup of the same file by time, or the
    file itself (``otlp-<time>.jsonl[.gz]`` -> ... -> ``otlp.jsonl``)."""
    families: dict[tuple[str, str], list[Path]] = {}
    names = {path.name for path in entries}
    for path in entries:
        match = _BACKUP.fullmatch(path.name)
        if match and path.name.removesuffix(".gz") not in names - {path.name}:
            families.setdefault((match["stem"], match["ext"] or ""), []).append(path)
    out: dict[Path, Path] = {}
    for (stem, ext), backups in families.items():
        chain = sorted(backups, key=lambda p: p.name.removesuffix(".gz"))
        live = backups[0].with_name(stem + ext)
        if live in entries:
            chain.append(live)
        out.update(itertools.pairwise(chain))
    return out


def fold_spool(store: Store, directory: str | Path) -> LoadResult:
    """Load what arrived in the spool ``directory`` since the last fold (see the module).

    Each block of a file is one transaction with that file's cursor; the rollup is
    refreshed once at the end, so a cron run costs in proportion to what arrived. A
    directory that does not exist (yet) holds nothing.

    Raises:
        BadInput: the directory cannot be read.
    """
    root = Path(directory)
    if not root.is_dir():
        return LoadResult()
    with store.loading() as con:
        fold = _Fold(con, root)
        fold.run()
        fold.move_ours()
        fold.forget_gone()
    store.refresh_rollup()
    return fold.total


def _free_name(directory: Path, name: str) -> Path:
    """``directory/name``, or ``name.1``, ``name.2``... if a producer reused the name."""
    target, n = directory / name, 0
    while target.exists():
        n += 1
        target = directory / f"{name}.{n}"
    return target
