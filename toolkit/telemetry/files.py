"""JSON lines files that a concurrent reader only ever sees complete: the one rotating writer.

Lines go to ``<name>.tmp``; the file is renamed to ``<name>`` (an atomic replace on POSIX and
Windows) only when it is complete: when it reached its size or age limit, or at
:meth:`close`. A loader globbing ``*.jsonl`` / ``*.jsonl.gz`` therefore never reads a
half-written file, and ``.tmp`` files left by a crash are recognisable as incomplete.

In a spool directory (``spool=True``: the live engine's, folded in by ``toolkit load
--spool``) each file is also fsynced before its rename, and announced by a marker
``.published/<name>`` holding its device and inode: the loader moves to ``done/`` only the
files so marked, never a file someone else (a Collector) writes in the same directory.
"""

from __future__ import annotations

import gzip
import os
import re
import threading
import time
from pathlib import Path
from typing import IO

from toolkit.telemetry.errors import TelemetryConfigError

__all__ = ["PUBLISHED", "RotatingJsonLinesFile"]

TMP_SUFFIX = ".tmp"
#: The spool directory's markers of published files (the loader's contract, docs/store.md).
PUBLISHED = ".published"


class RotatingJsonLinesFile:
    """Appends newline-terminated lines, rotating by size, optionally gzip-compressed.

    Args:
        path: the file to write, e.g. ``out/traces.jsonl``. Without ``max_bytes`` this is the
            one file written (an existing file is replaced at close). With ``max_bytes`` the
            files are numbered after it: ``out/traces-000001.jsonl``, ``-000002``, ...,
            continuing after the highest number already in the directory.
        max_bytes: start a new file once one holds at least this many (uncompressed) bytes;
            lines are never split, so a file ends at the first line boundary past the limit.
        max_seconds: also start a new file once one is this old (checked on each write), so
            a reader sees a slow stream's lines within about that long. Numbers the files
            like ``max_bytes``.
        compress: gzip each file (``.gz`` is appended to the name unless already there).
        compresslevel: gzip level; the default favours speed, since telemetry of a long
            simulation is written faster than level 6 can compress it.
        spool: the directory is a spool a loader folds while this writes: fsync each file
            before publishing it, and mark it in ``.published/`` (see the module).

    Thread-safe. Raises :class:`TelemetryConfigError` at construction if ``max_bytes`` or
    ``max_seconds`` is not positive or the directory cannot be created.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int | None = None,
        max_seconds: float | None = None,
        compress: bool = False,
        compresslevel: int = 1,
        spool: bool = False,
    ) -> None:
        if max_bytes is not None and max_bytes <= 0:
            raise TelemetryConfigError(f"max_bytes must be > 0, got {max_bytes}")
        if max_seconds is not None and not max_seconds > 0:
            raise TelemetryConfigError(f"max_seconds must be > 0, got {max_seconds}")
        if not 0 <= compresslevel <= 9:
            raise TelemetryConfigError(f"compresslevel must be 0-9, got {compresslevel}")
        target = Path(path)
        if compress and target.suffix != ".gz":
            target = target.with_name(target.name + ".gz")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if spool:
                (target.parent / PUBLISHED).mkdir(exist_ok=True)
        except OSError as error:
            raise TelemetryConfigError(
                f"cannot create the telemetry directory {target.parent}: {error}"
            ) from error
        self.path = target
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.spool = spool
        self.compress = compress
        self.compresslevel = compresslevel
        self.completed: list[Path] = []
        self._lock = threading.Lock()
        self._raw: IO[bytes] | None = None
        self._out: IO[bytes] | None = None
        self._current: Path | None = None
        self._written = 0
        self._opened = 0.0
        self._closed = False
        self._sequence = self._last_sequence() if self._numbered else 0

    def write(self, data: bytes) -> None:
        """Append whole lines (``data`` must end with a newline)."""
        with self._lock:
            if self._closed:
                raise ValueError(f"{self.path} is closed")
            if self._out is None:
                self._open()
            assert self._out is not None
            self._out.write(data)
            self._written += len(data)
            if (self.max_bytes is not None and self._written >= self.max_bytes) or (
                self.max_seconds is not None
                and time.monotonic() - self._opened >= self.max_seconds
            ):
                self._finish()

    def flush(self) -> None:
        """Push buffered bytes to the ``.tmp`` file (it stays incomplete until renamed)."""
        with self._lock:
            if self._out is not None:
                self._out.flush()
                if self._raw is not self._out:
                    assert self._raw is not None
                    self._raw.flush()

    def close(self) -> None:
        """Complete the current file (rename it into place). Idempotent."""
        with self._lock:
            if self._out is not None:
                self._finish()
            self._closed = True

    @property
    def current(self) -> Path | None:
        """The ``.tmp`` file being written, if any."""
        return self._current

    @property
    def _numbered(self) -> bool:
        return self.max_bytes is not None or self.max_seconds is not None

    def _name(self) -> Path:
        if not self._numbered:
            return self.path
        stem, suffixes = _split(self.path.name)
        return self.path.with_name(f"{stem}-{self._sequence:06d}{suffixes}")

    def _open(self) -> None:
        self._sequence += 1
        final = self._name()
        self._current = final.with_name(final.name + TMP_SUFFIX)
        self._raw = open(self._current, "wb")  # noqa: SIM115 - closed in _finish
        if self.compress:
            self._out = gzip.GzipFile(  # type: ignore[assignment]
                filename=final.name.removesuffix(".gz"), mode="wb", fileobj=self._raw,
                compresslevel=self.compresslevel, mtime=0,
            )
        else:
            self._out = self._raw
        self._written = 0
        self._opened = time.monotonic()

    def _finish(self) -> None:
        out, raw, current = self._out, self._raw, self._current
        self._out = self._raw = self._current = None
        assert out is not None and raw is not None and current is not None
        final = current.with_name(current.name.removesuffix(TMP_SUFFIX))
        try:
            if out is not raw:
                out.close()  # writes the gzip trailer; the file stays open
            raw.flush()
            if self.spool:
                os.fsync(raw.fileno())
                info = os.fstat(raw.fileno())
                marker = final.parent / PUBLISHED / final.name
                marker.write_text(f"{info.st_dev}:{info.st_ino}\n", encoding="utf-8")
            raw.close()
        finally:
            os.replace(current, final)
            self.completed.append(final)

    def _last_sequence(self) -> int:
        stem, suffixes = _split(self.path.name)
        pattern = re.compile(rf"{re.escape(stem)}-(\d+){re.escape(suffixes)}(?:\.tmp)?$")
        numbers = [
            int(match.group(1))
            for entry in self.path.parent.iterdir()
            if (match := pattern.match(entry.name))
        ]
        return max(numbers, default=0)


def _split(name: str) -> tuple[str, str]:
    """``traces.jsonl.gz`` -> (``traces``, ``.jsonl.gz``)."""
    stem, dot, rest = name.partition(".")
    return stem, dot + rest
