"""Opening a telemetry file for reading, safely: what it is, and a bounded stream of its text.

A load must survive whatever lands in its path: a symlink to ``/dev/zero``, a FIFO, a
binary file, a gzip bomb, a gzip file another process is still writing. So a file is opened
only if it is a regular file (a device or a pipe would never end), gzip is decompressed as a
stream whose expansion is watched, and the first bytes of the text (its *head*) are kept to
recognise the file later under another name or compressed (the store's spool folding).
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "BOMB_RATIO",
    "HEAD_BYTES",
    "Source",
    "Unreadable",
    "binary_reason",
    "open_source",
]

#: How many leading bytes of the (decompressed) text identify a file.
HEAD_BYTES = 1024
#: A gzip file that expands more than this many times, past ``_BOMB_FLOOR``, is refused.
#: OTLP JSON compresses 10 to 40 times; a run of zeros, a thousand times.
BOMB_RATIO = 100
_BOMB_FLOOR = 64 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


class Unreadable(Exception):
    """The file as a whole cannot be read as telemetry; the message says why."""


class _GuardedGzip(io.RawIOBase):
    """A gzip stream that stops, with :class:`Unreadable`, once it expands too much, and
    that remembers whether it ended cleanly (a file still being compressed has no end)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._gzip = gzip.GzipFile(fileobj=raw, mode="rb")
        self.produced = 0
        self.complete = False
        self.damage: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.complete or self.damage:
            return 0
        try:
            data = self._gzip.read1(len(buffer))
        except EOFError:  # the stream stops before its end: still being written, or cut
            self.damage = "the gzip stream ends early"
            return 0
        except (OSError, zlib.error) as exc:
            self.damage = f"the gzip stream is damaged ({exc})"
            return 0
        if not data:
            self.complete = True
            return 0
        self.produced += len(data)
        consumed = max(self._raw.tell(), 1)
        if self.produced > _BOMB_FLOOR and self.produced > BOMB_RATIO * consumed:
            raise Unreadable(
                f"gzip data expands more than {BOMB_RATIO} times ({consumed} compressed bytes "
                f"gave {self.produced} and counting): a gzip bomb, not telemetry"
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._gzip.close()
        self._raw.close()
        super().close()


@dataclass
class Source:
    """An open telemetry file: its identity on disk and a stream of its text from byte 0.

    Attributes:
        path: As given.
        device: ``st_dev`` of the file (after following symlinks).
        inode: ``st_ino``.
        size: Bytes on disk (compressed size for gzip).
        compressed: Whether the text is gzip-decompressed.
        head: The first :data:`HEAD_BYTES` of the text (fewer if the text is shorter).
    """

    path: Path
    device: int
    inode: int
    size: int
    compressed: bool
    head: bytes
    _raw: BinaryIO
    _gzip: _GuardedGzip | None = None

    def stream(self, offset: int = 0) -> BinaryIO:
        """The text from ``offset`` (a gzip stream is decompressed up to it)."""
        if self._gzip is not None:
            self._gzip.close()
        self._raw.seek(0)
        if not self.compressed:
            self._raw.seek(offset)
            return self._raw
        raw = os.fdopen(os.dup(self._raw.fileno()), "rb")
        raw.seek(0)  # the descriptor's position is shared, and self._raw read ahead
        self._gzip = _GuardedGzip(raw)
        reader = io.BufferedReader(self._gzip, buffer_size=1 << 20)
        _skip(reader, offset)
        return reader

    @property
    def position(self) -> int:
        """Bytes of the file on disk read so far (compressed bytes for gzip): a load's
        progress."""
        if self._raw.closed:
            return self.size
        return min(self.size, os.lseek(self._raw.fileno(), 0, os.SEEK_CUR))

    @property
    def complete(self) -> bool:
        """Whether the text read so far reached a clean end (always so for plain files)."""
        return self._gzip is None or self._gzip.complete

    @property
    def damage(self) -> str | None:
        """Why a gzip stream stopped before its end, if it did."""
        return None if self._gzip is None else self._gzip.damage

    def close(self) -> None:
        """Release the file."""
        if self._gzip is not None:
            self._gzip.close()
        self._raw.close()


def _skip(reader: BinaryIO, count: int) -> None:
    while count > 0:
        got = len(reader.read(min(count, 1 << 20)))
        if not got:
            return
        count -= got


def _describe(mode: int) -> str | None:
    for test, name in _KINDS:
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def open_source(path: str | Path) -> Source:
    """Open ``path`` for reading as telemetry.

    Raises:
        Unreadable: it is not a regular file, cannot be opened, or is binary data.
    """
    path = Path(path)
    try:
        before = os.stat(path)
    except OSError as exc:
        raise Unreadable(f"cannot read the file: {exc.strerror or exc}") from None
    kind = _describe(before.st_mode)
    if kind is not None:
        raise Unreadable(f"{kind}, not a regular file: nothing to load")
    try:
        raw = open(path, "rb")  # noqa: SIM115 - owned by the Source, closed by its close()
    except OSError as exc:
        raise Unreadable(f"cannot read the file: {exc.strerror or exc}") from None
    info = os.fstat(raw.fileno())
    if _describe(info.st_mode) is not None:  # replaced between stat and open
        raw.close()
        raise Unreadable("not a regular file: nothing to load")
    compressed = raw.read(2) == _GZIP_MAGIC
    source = Source(path, info.st_dev, info.st_ino, info.st_size, compressed, b"", raw)
    try:
        source.head = source.stream(0).read(HEAD_BYTES)
    except Unreadable:
        source.close()
        raise
    return source


def binary_reason(text: bytes) -> str | None:
    """Why the start of a file is binary data rather than JSON text, or ``None``: JSON text
    never holds a NUL byte (the rule ``git`` and ``grep`` apply to a file's first bytes)."""
    nul = text.find(b"\x00", 0, 8192)
    return None if nul < 0 else f"binary data, not JSON text (a NUL byte at byte {nul + 1})"
