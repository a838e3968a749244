"""The spool directory: how a long-running producer and short-lived loads share a store.

DuckDB gives a file to one writing process or to many readers, so a live engine must not
hold the store open for hours. Instead it writes OTLP JSON lines into a spool directory,
and a cron ``toolkit load --spool DIR`` (a few seconds a minute) folds them into the store:

1. The producer appends to ``DIR/.incoming/<name>.jsonl.part`` and, on rotation (size or
   age), fsyncs it and renames it to ``DIR/<name>.jsonl``. A rename within one file system
   is atomic, so a reader sees a whole file or none: never a half-written line.
2. :func:`fold_spool` loads every ready file in name order (names start with a UTC time
   stamp, so that is time order), each in its own transaction, then moves it to
   ``DIR/done/``. A crash between the commit and the move only means the file is loaded
   again next time, which adds nothing (loads are idempotent); ``loaded_files`` keeps the
   ledger of every load.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from toolkit.store.api import Store
from toolkit.store.otlp_json import LoadResult

__all__ = ["SpoolWriter", "fold_spool", "ready_files"]

INCOMING = ".incoming"
DONE = "done"
_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson", ".ndjson.gz")


class SpoolWriter:
    """Writes OTLP JSON lines into rotated spool files, each published by rename.

    Args:
        directory: The spool directory (created if missing).
        prefix: Start of every file name after the time stamp (e.g. ``traces``).
        max_bytes: Rotate once the current file holds this much.
        max_seconds: Rotate once the current file is this old (checked on write).
    """

    def __init__(
        self,
        directory: str | Path,
        prefix: str = "otlp",
        *,
        max_bytes: int = 16 << 20,
        max_seconds: float = 60.0,
    ) -> None:
        if max_bytes <= 0 or max_seconds <= 0:
            raise ValueError("max_bytes and max_seconds must be positive")
        self.directory = Path(directory)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        (self.directory / INCOMING).mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = None
        self._part: Path | None = None
        self._opened = 0.0
        self._size = 0
        self._count = 0

    def write(self, line: str) -> None:
        """Append one request (one line of JSON, without its newline)."""
        if self._file is None:
            self._open()
        assert self._file is not None
        self._file.write(line.rstrip("\n") + "\n")
        self._size += len(line) + 1
        if self._size >= self.max_bytes or time.monotonic() - self._opened >= self.max_seconds:
            self.rotate()

    def write_all(self, lines: Iterable[str]) -> None:
        """Append several requests."""
        for line in lines:
            self.write(line)

    def rotate(self) -> Path | None:
        """Publish the current file (fsync, then rename into the spool); its final path."""
        if self._file is None or self._part is None:
            return None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        final = self.directory / self._part.name.removesuffix(".part")
        os.replace(self._part, final)
        self._file, self._part = None, None
        return final

    def close(self) -> None:
        """Publish what was written."""
        self.rotate()

    def __enter__(self) -> SpoolWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _open(self) -> None:
        self._count += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{self.prefix}-{os.getpid()}-{self._count:06d}.jsonl.part"
        self._part = self.directory / INCOMING / name
        self._file = self._part.open("w", encoding="utf-8")
        self._opened = time.monotonic()
        self._size = 0


def ready_files(directory: str | Path) -> list[Path]:
    """Published spool files not loaded yet, in name (= time) order."""
    root = Path(directory)
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name.endswith(_SUFFIXES)
    )


def fold_spool(store: Store, directory: str | Path) -> LoadResult:
    """Load every ready spool file into ``store`` and move it to ``done/``.

    The rollup is refreshed once at the end, so a cron run costs in proportion to what
    arrived since the last one.
    """
    done = Path(directory) / DONE
    total = LoadResult()
    for path in ready_files(directory):
        total = total + store.load(path, refresh=False)
        done.mkdir(exist_ok=True)
        os.replace(path, _free_name(done, path.name))
    store.refresh_rollup()
    return total


def _free_name(directory: Path, name: str) -> Path:
    """``directory/name``, or ``name.1``, ``name.2``... if a producer reused the name."""
    target, n = directory / name, 0
    while target.exists():
        n += 1
        target = directory / f"{name}.{n}"
    return target
