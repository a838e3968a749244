"""The OpenTelemetry Collector's ``file`` exporter with ``rotation``, as it writes to disk.

The exporter (opentelemetry-collector-contrib ``exporter/fileexporter``) hands each request's
JSON, then ``"\\n"``, to a buffered writer over lumberjack (``gopkg.in/natefinch/lumberjack``).
lumberjack appends to ``path``; when the next write would pass ``max_megabytes`` it closes
the file, renames it to ``<name>-<UTC time 2006-01-02T15-04-05.000><ext>``, and opens a new
file at ``path`` (``O_CREATE|O_TRUNC``). With ``compress`` (lumberjack's option) a background
step then writes the backup gzipped to ``<backup>.gz`` and deletes the backup. This class
does the same on the file system, one step at a time, so tests can interleave loads
anywhere: in the middle of a line, between a rename and the new file, mid-compression.
"""

from __future__ import annotations

import gzip
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path


class CollectorFileExporter:
    """Appends lines to ``path`` and rotates it like the Collector's file exporter."""

    def __init__(self, path: Path, *, max_bytes: int = 1 << 20, compress: bool = False) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.compress = compress
        self.clock = datetime(2024, 5, 7, 12, 0, tzinfo=UTC)
        self.backups: list[Path] = []  # every backup name, in rotation order
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "ab")  # noqa: SIM115 - closed by rotate/close
        self._size = path.stat().st_size

    def write(self, data: bytes) -> None:
        """lumberjack's Write: rotate first if ``data`` would pass the size limit."""
        if self._size + len(data) > self.max_bytes and self._size:
            self.rotate()
        self._file.write(data)
        self._file.flush()
        self._size += len(data)

    def export(self, line: str, *, split_at: int | None = None) -> None:
        """One request: its JSON, then the newline (two writes, as the exporter does);
        ``split_at`` cuts the JSON into two writes as the buffered writer may."""
        data = line.encode("utf-8")
        if split_at is None:
            self.write(data)
        else:
            self.write(data[:split_at])
            self.write(data[split_at:])
        self.write(b"\n")

    def rotate(self) -> Path:
        """Close, rename to the timestamped backup, open a new file at ``path``."""
        self._file.close()
        self.clock += timedelta(seconds=1)
        stamp = self.clock.strftime("%Y-%m-%dT%H-%M-%S.") + f"{self.clock.microsecond // 1000:03d}"
        backup = self.path.with_name(f"{self.path.stem}-{stamp}{self.path.suffix}")
        os.rename(self.path, backup)
        self.backups.append(backup)
        self._file = open(self.path, "wb")  # noqa: SIM115 - O_CREATE|O_TRUNC
        self._size = 0
        return backup

    def compress_backup(self, backup: Path, *, stop_after: int | None = None) -> Path:
        """lumberjack's compressLogFile: gzip into ``backup.gz`` as a stream, then delete
        the backup. ``stop_after`` stops after that many bytes (the ``.gz`` partly written
        and flushed, the backup still there), as a load running during compression sees
        it; :meth:`finish_compression` completes it."""
        target = backup.with_name(backup.name + ".gz")
        src = open(backup, "rb")  # noqa: SIM115 - closed by finish_compression
        raw = open(target, "wb")  # noqa: SIM115
        out = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0)
        self._compressing = (backup, src, raw, out)
        if stop_after is None:
            self.finish_compression()
        else:
            out.write(src.read(stop_after))
            out.flush()
            raw.flush()
        return target

    def finish_compression(self) -> None:
        backup, src, raw, out = self._compressing
        shutil.copyfileobj(src, out)
        out.close()
        raw.close()
        src.close()
        os.remove(backup)

    def close(self) -> None:
        self._file.close()
