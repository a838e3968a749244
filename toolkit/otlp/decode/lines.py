"""Reading the text of a telemetry file as lines, in bounded memory: the part of a load that
is not SQL.

The text is read in blocks of a few MiB; numpy finds the newlines; complete lines become an
Arrow string array over the block's own bytes (no copy, no Python string per line), cut into
small batches that DuckDB spreads over its threads. Memory stays flat whatever the file:

* blank lines never reach DuckDB: each run of them is folded into the next line as leading
  whitespace, which JSON ignores, so 20 MB of newlines costs one numpy pass;
* a line longer than :data:`MAX_LINE_BYTES` is skipped as it streams by (and named), never
  held, so a file of zeros or a decompressed bomb cannot exhaust memory;
* what is read is handed over every :data:`TARGET_BYTES` of text, each time with the
  position after its last complete line, from which a later read resumes.

A last line without a newline is incomplete while a producer may still append to the file;
it is read only when the caller says the text is final.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from toolkit.otlp.decode.source import Source, Unreadable, binary_reason

__all__ = [
    "MAX_LINE_BYTES",
    "TAIL_BYTES",
    "TARGET_BYTES",
    "BadLine",
    "LineReader",
    "Lines",
    "read_lines",
    "split",
]

#: Longest line (or pretty-printed document) read; longer ones are rejected unread.
MAX_LINE_BYTES = 64 << 20
#: Text handed to DuckDB at a time (one transaction each).
TARGET_BYTES = 8 << 20
#: Bytes of text before a position kept to check, later, that a file is the same text.
TAIL_BYTES = 1024
_BLOCK_BYTES = 4 << 20
# Arrow batches become DuckDB vectors, and every core takes batches of its own. from_json
# has a fixed cost per call, so a batch of a few lines costs twice the CPU (measured); a
# vector of a few hundred MB thrashes the caches. 64 lines, at most 16 MiB, sits between.
_BATCH_ROWS = 64
_BATCH_BYTES = 16 << 20
_SCHEMA = pa.schema([("ln", pa.int64()), ("text", pa.large_string())])


@dataclass(frozen=True)
class BadLine:
    """A line refused before DuckDB sees it (too long, not UTF-8)."""

    line: int
    error: str
    raw: bytes | None


@dataclass
class Lines:
    """Lines read up to a position a later read can resume from.

    Attributes:
        table: ``(ln, text)`` of the non-blank lines that are not bad, in small batches.
        offset: Text offset just after the last line consumed.
        lines: Lines consumed from the start of the text (blank and bad ones included).
        tail: Up to :data:`TAIL_BYTES` of the text just before ``offset``.
        bad: Lines refused unread.
        document: A whole pretty-printed request (instead of ``table``), from line
            ``document_line``; ``document_final`` says whether the text had ended.
    """

    table: pa.Table | None
    offset: int
    lines: int
    tail: bytes
    bad: list[BadLine] = field(default_factory=list)
    document: bytes | None = None
    document_line: int = 0
    document_final: bool = False


def _offsets(text: pa.LargeStringArray) -> np.ndarray:
    every = np.frombuffer(text.buffers()[1], dtype=np.int64)
    return every[text.offset : text.offset + len(text) + 1]


def _batches(numbers: np.ndarray, text: pa.LargeStringArray) -> list[pa.RecordBatch]:
    offsets = _offsets(text)
    offsets = offsets - offsets[0]
    by_bytes = np.searchsorted(offsets, np.arange(0, offsets[-1], _BATCH_BYTES))
    by_rows = np.arange(0, len(text), _BATCH_ROWS)
    cuts = [int(c) for c in np.unique(np.concatenate((by_bytes, by_rows))) if 0 < c < len(text)]
    lns = pa.array(numbers)
    return [
        pa.record_batch([lns.slice(a, b - a), text.slice(a, b - a)], schema=_SCHEMA)
        for a, b in itertools.pairwise([0, *cuts, len(text)])
        if b > a
    ]


def _utf8(text: pa.LargeStringArray, numbers: np.ndarray,
          bad: list[BadLine]) -> tuple[pa.LargeStringArray, np.ndarray]:
    """``text`` without its lines that are not UTF-8 (named in ``bad``)."""
    try:
        text.validate(full=True)  # Arrow checks UTF-8 in C++, without a Python copy
        return text, numbers
    except pa.ArrowInvalid:
        pass
    data = text.buffers()[2]
    offsets = _offsets(text)
    keep = np.ones(len(text), dtype=bool)
    for i in range(len(text)):
        raw = data[int(offsets[i]) : int(offsets[i + 1])].to_pybytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            keep[i] = False
            start = len(raw) - len(raw.lstrip(b" \t\r\n"))
            bad.append(BadLine(int(numbers[i]),
                               f"not UTF-8 text (byte {exc.start - start + 1} of the line)",
                               raw.strip(b" \t\r\n")))
    mask = pa.array(keep)
    return text.filter(mask), numbers[keep]


def _complete(buf: bytes, before: int, bad: list[BadLine]) -> tuple[list[pa.RecordBatch], int, int]:
    """The complete lines at the start of ``buf``: ``(batches, bytes used, lines used)``.

    ``before`` is the number of lines before ``buf``. Each non-blank line's string starts
    where the previous non-blank line ended, so a run of blank lines rides along as leading
    whitespace and the strings stay contiguous over ``buf`` (zero-copy).
    """
    arr = np.frombuffer(buf, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    if not len(newlines):
        return [], 0, 0
    used = int(newlines[-1]) + 1
    body = arr[:used]
    visible = (body != 10) & (body != 32) & (body != 13) & (body != 9)
    starts = np.concatenate(([0], newlines[:-1] + 1))
    kept = np.flatnonzero(np.logical_or.reduceat(visible, starts))
    del visible, starts
    if not len(kept):
        return [], used, len(newlines)
    offsets = np.concatenate(([0], newlines[kept] + 1)).astype(np.int64)
    text = pa.LargeStringArray.from_buffers(
        len(kept), pa.py_buffer(offsets), pa.py_buffer(buf).slice(0, used)
    )
    numbers = (kept + before + 1).astype(np.int64)
    text, numbers = _utf8(text, numbers, bad)
    return (_batches(numbers, text) if len(text) else []), used, len(newlines)


def split(text: bytes, before: int = 0) -> tuple[pa.Table | None, list[BadLine]]:
    """All the lines of ``text`` (a last line without newline included), as one table."""
    bad: list[BadLine] = []
    if text and not text.endswith(b"\n"):
        text += b"\n"
    batches, _, _ = _complete(text, before, bad)
    return (pa.Table.from_batches(batches, schema=_SCHEMA) if batches else None), bad


_VISIBLE = re.compile(rb"[^ \t\r\n]")


def _is_document(buf: bytes) -> bool | None:
    """Whether the text is one pretty-printed request: its first non-blank line opens a
    JSON object or array without closing an object. ``None``: no complete line yet."""
    found = _VISIBLE.search(buf)
    end = buf.find(b"\n", found.start()) if found else -1
    if found is None or end < 0:
        return None
    start = found.start()
    line = buf[start:end].rstrip(b" \t\r\n")
    return line[:1] in (b"{", b"[") and not line.endswith(b"}")


class LineReader:
    """Iterates a text stream as :class:`Lines`, from a position a previous read ended at.

    Args:
        stream: The text, positioned at ``offset``.
        offset: Text offset the stream starts at (0, or a cursor's).
        line: Lines before ``offset``.
        tail: Up to :data:`TAIL_BYTES` of text before ``offset``.
        final: The text will not grow, so a last line without newline is complete (or a
            function saying so at the end: a cut gzip stream's last bytes are no line).
        max_line: Longest line read (see :data:`MAX_LINE_BYTES`).
        target: Text per :class:`Lines` handed over (see :data:`TARGET_BYTES`).
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        offset: int = 0,
        line: int = 0,
        tail: bytes = b"",
        final: bool | Callable[[], bool],
        max_line: int = MAX_LINE_BYTES,
        target: int = TARGET_BYTES,
    ) -> None:
        self._stream = stream
        self._offset, self._line, self._tail = offset, line, tail
        self._final = final
        self._max_line, self._target = max_line, target

    def __iter__(self) -> Iterator[Lines]:
        pos, ln, tail = self._offset, self._line, self._tail
        pending = b""
        parts: list[bytes] = []  # chunks of a line still without its newline, not yet joined
        waiting = 0
        skipped, skip_tail = -1, b""  # >= 0 while passing over a line too long to hold
        batches: list[pa.RecordBatch] = []
        bad: list[BadLine] = []
        size = 0
        undecided = pos == 0
        while chunk := self._stream.read(_BLOCK_BYTES):
            if skipped >= 0:
                newline = chunk.find(b"\n")
                if newline < 0:
                    skipped += len(chunk)
                    skip_tail = (skip_tail + chunk[-TAIL_BYTES:])[-TAIL_BYTES:]
                    continue
                bad.append(self._too_long(ln + 1))
                pos += skipped + newline + 1
                ln += 1
                tail = (skip_tail + chunk[max(0, newline + 1 - TAIL_BYTES) : newline + 1])
                tail = tail[-TAIL_BYTES:]
                skipped, chunk = -1, chunk[newline + 1 :]
            if (pending or parts) and b"\n" not in chunk:  # joined once its newline comes
                parts.append(chunk)
                waiting += len(chunk)
                if len(pending) + waiting > self._max_line:
                    skipped = len(pending) + waiting
                    skip_tail = b"".join([pending, *parts])[-TAIL_BYTES:]
                    pending, parts, waiting = b"", [], 0
                continue
            buf = b"".join([pending, *parts, chunk]) if pending or parts else chunk
            parts, waiting = [], 0
            if undecided:
                document = _is_document(buf)
                if document:
                    yield self._document(buf, pos, ln)
                    return
                undecided = document is None
            got, used, count = _complete(buf, ln, bad)
            batches += got
            size += used
            if count:
                tail = (tail + buf[max(0, used - TAIL_BYTES) : used])[-TAIL_BYTES:]
                pos += used
                ln += count
            pending = buf[used:]
            if len(pending) > self._max_line:
                skipped, skip_tail, pending = len(pending), pending[-TAIL_BYTES:], b""
            if size >= self._target:
                yield Lines(self._table(batches), pos, ln, tail, bad)
                batches, bad, size = [], [], 0
        final = self._is_final()
        if final and skipped >= 0:
            bad.append(self._too_long(ln + 1))
            pos, ln, tail = pos + skipped, ln + 1, skip_tail
        elif final and (pending or parts):
            pending = b"".join([pending, *parts])
            table, last_bad = split(pending, ln)
            if table is not None:
                batches += table.to_batches()
            bad += last_bad
            pos, ln, tail = pos + len(pending), ln + 1, (tail + pending)[-TAIL_BYTES:]
        yield Lines(self._table(batches), pos, ln, tail, bad)

    def _is_final(self) -> bool:
        return self._final() if callable(self._final) else self._final

    def _too_long(self, line: int) -> BadLine:
        return BadLine(line, f"line longer than {self._max_line >> 20} MiB: not read", None)

    @staticmethod
    def _table(batches: list[pa.RecordBatch]) -> pa.Table | None:
        return pa.Table.from_batches(batches, schema=_SCHEMA) if batches else None

    def _document(self, buf: bytes, pos: int, ln: int) -> Lines:
        """The whole text as one request, read up to ``max_line`` bytes."""
        parts, size = [buf], len(buf)
        while size <= self._max_line and (chunk := self._stream.read(_BLOCK_BYTES)):
            parts.append(chunk)
            size += len(chunk)
        if size > self._max_line:  # pass over the rest without holding it
            newlines = sum(part.count(b"\n") for part in parts)
            last = parts[-1]
            while chunk := self._stream.read(_BLOCK_BYTES):
                size, newlines, last = size + len(chunk), newlines + chunk.count(b"\n"), chunk
            if self._is_final() and not last.endswith(b"\n"):
                newlines += 1
            error = (f"a pretty-printed JSON document larger than {self._max_line >> 20} MiB: "
                     "not read (write one request per line)")
            return Lines(None, pos + size, ln + newlines, last[-TAIL_BYTES:],
                         [BadLine(ln + 1, error, None)])
        text = b"".join(parts)
        first = ln + text[: len(text) - len(text.lstrip(b" \t\r\n"))].count(b"\n") + 1
        lines = text.count(b"\n") + (0 if text.endswith(b"\n") else 1)
        return Lines(None, pos + len(text), ln + lines, text[-TAIL_BYTES:], [],
                     document=text, document_line=first, document_final=self._is_final())


def read_lines(source: Source, *, offset: int = 0, line: int = 0, tail: bytes = b"",
               final: bool) -> LineReader:
    """The lines of ``source`` from ``offset`` (``final``: the file will not grow; a gzip
    stream is final only if it ends cleanly). A binary file is rejected as a whole
    (:class:`Unreadable`) when read from its start."""
    if offset == 0:
        reason = binary_reason(source.head)
        if reason:
            raise Unreadable(reason)
    stream = source.stream(offset)
    return LineReader(stream, offset=offset, line=line, tail=tail,
                      final=lambda: final and source.complete)
