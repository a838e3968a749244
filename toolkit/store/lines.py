"""Reading an OTLP JSON file into lines, fast: the part of a load that is not SQL.

The whole file is read (and gunzipped) into one ``bytes``; numpy finds the newlines; the
lines become an Arrow string array over that same buffer (no copy, no Python string per
line), cut into batches that DuckDB spreads over its threads.
"""

from __future__ import annotations

import gzip
import itertools
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

__all__ = ["CHUNK_BYTES", "chunks", "is_blank", "line_starts", "lines_table", "read"]

#: Lines are parsed a chunk at a time, which bounds the memory one parse step holds.
CHUNK_BYTES = 64 << 20
# Arrow batches become DuckDB vectors, and every core takes batches of its own. from_json
# has a fixed cost per call, so a batch of a few lines costs twice the CPU (measured); a
# vector of a few hundred MB thrashes the caches. 64 lines, at most 16 MiB, sits between.
_BATCH_ROWS = 64
_BATCH_BYTES = 16 << 20


def read(path: Path) -> tuple[bytes, str | None]:
    """The file's bytes, gunzipped when gzip; a truncated gzip keeps what was decoded."""
    data = path.read_bytes()
    if data[:2] != b"\x1f\x8b":
        return data, None
    try:
        return gzip.decompress(data), None
    except (OSError, EOFError, zlib.error) as exc:
        partial = zlib.decompressobj(wbits=31)
        try:
            text = partial.decompress(data)
        except zlib.error:
            text = b""
        return text, f"gzip stream is damaged ({exc}); kept the {len(text)} bytes before it"


def line_starts(data: bytes) -> np.ndarray:
    """Offsets where each line starts, plus the end: line i is data[s[i]:s[i+1]]."""
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    ends = [len(data)] if data and data[-1:] != b"\n" else []
    return np.concatenate(([0], newlines + 1, ends)).astype(np.int64)


def is_blank(text: bytes) -> bool:
    """Whether a line holds only whitespace (such lines are skipped, not rejected)."""
    return not text.strip(b" \t\r\n")


def lines_table(data: bytes, starts: np.ndarray, first: int, last: int) -> pa.Table:
    """Lines ``first..last-1`` (0-based) as an Arrow table ``(ln, text)``, zero-copy."""
    offsets = starts[first : last + 1] - starts[first]
    text = pa.LargeStringArray.from_buffers(
        last - first,
        pa.py_buffer(offsets),
        pa.py_buffer(data).slice(int(starts[first]), int(offsets[-1])),
    )
    numbers = pa.array(np.arange(first + 1, last + 1, dtype=np.int64))
    by_bytes = np.searchsorted(offsets, np.arange(0, offsets[-1], _BATCH_BYTES))
    by_rows = np.arange(0, last - first, _BATCH_ROWS)
    cuts = [int(c) for c in np.unique(np.concatenate((by_bytes, by_rows))) if 0 < c < last - first]
    bounds = [0, *cuts, last - first]
    batches = [
        pa.record_batch([numbers.slice(a, b - a), text.slice(a, b - a)], names=["ln", "text"])
        for a, b in itertools.pairwise(bounds)
        if b > a
    ]
    return pa.Table.from_batches(batches, schema=batches[0].schema)


def chunks(starts: np.ndarray) -> Iterator[tuple[int, int]]:
    """Line ranges of about ``CHUNK_BYTES`` each (at least one line)."""
    count = len(starts) - 1
    first = 0
    while first < count:
        last = int(np.searchsorted(starts, starts[first] + CHUNK_BYTES, side="right")) - 1
        last = min(max(last, first + 1), count)
        yield first, last
        first = last
