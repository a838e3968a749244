"""A file lock so that overlapping cron runs take turns instead of double-notifying."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from toolkit.errors import ToolkitError


class LockTimeout(ToolkitError):
    """Another run held the lock for longer than we were willing to wait."""


@contextmanager
def exclusive(path: str, timeout: float) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing), waiting up to
    ``timeout`` seconds. The kernel releases it if the process dies, so a killed run never
    leaves a stale lock behind."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ToolkitError(f"cannot open the alert lock {path}: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"another toolkit alert run still holds {path} after {timeout:g}s"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
