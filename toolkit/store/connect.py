"""Opening a DuckDB file when other processes use it too.

DuckDB lets one process write a database file, or many processes read it, never both at
once: the second opener gets "Could not set lock on file". The toolkit's processes are all
short-lived (a cron ``alert``, a ``load`` of a spool file, a notebook query), so waiting a
little and trying again is the whole concurrency protocol: :func:`connect` retries with
exponential back-off and jitter until ``timeout``, then says who holds the lock.
"""

from __future__ import annotations

import contextlib
import random
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import duckdb

from toolkit.errors import BadInput, ToolkitError

__all__ = ["DEFAULT_TIMEOUT", "StoreLocked", "connect", "is_lock_error", "more_memory_on_oom"]

_T = TypeVar("_T")

#: Seconds an open waits for another process to let go of the file.
DEFAULT_TIMEOUT = 30.0


class StoreLocked(ToolkitError):
    """Another process kept the store's file locked for longer than the open waited."""


def is_lock_error(exc: BaseException) -> bool:
    """Whether ``exc`` is DuckDB refusing a file another process holds."""
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def connect(
    path: str | Path,
    *,
    read_only: bool,
    timeout: float = DEFAULT_TIMEOUT,
    first_delay: float = 0.005,
    max_delay: float = 0.25,
) -> duckdb.DuckDBPyConnection:
    """Open ``path`` with DuckDB, retrying while another process holds its lock.

    Args:
        path: The database file, or ``":memory:"``.
        read_only: Open for reading only (many readers may share the file).
        timeout: Give up after this many seconds of retrying.
        first_delay: First back-off; it doubles (with jitter) up to ``max_delay``.
        max_delay: Longest single wait between two attempts.

    Raises:
        StoreLocked: the lock was still held after ``timeout`` seconds.
        BadInput: ``read_only`` and there is no file at ``path``, or the file is not a
            DuckDB database DuckDB can open.
    """
    name = str(path)
    if read_only and name != ":memory:" and not Path(name).exists():
        raise BadInput(f"{name}: no such store")
    deadline = time.monotonic() + timeout
    delay = first_delay
    while True:
        try:
            return duckdb.connect(name, read_only=read_only)
        except duckdb.Error as exc:
            if not is_lock_error(exc):
                raise BadInput(f"{name}: cannot open the store: {exc}") from exc
            if time.monotonic() >= deadline:
                found = re.search(r"PID (\d+)", str(exc))
                holder = f"PID {found.group(1)}" if found else "unknown"
                raise StoreLocked(
                    f"{name}: locked by another process ({holder}) for more than {timeout:g} s"
                ) from exc
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())) * random.uniform(0.5, 1.0))
        delay = min(delay * 2, max_delay)


def more_memory_on_oom(con: duckdb.DuckDBPyConnection, work: Callable[[], _T], *,
                       limits: Sequence[str | None] = (None,),
                       before_retry: Callable[[], None] | None = None) -> _T:
    """``work()`` under the connection's memory limit; if DuckDB runs out of memory, again
    under each of ``limits`` in turn (``None``: DuckDB's default, most of the machine). A load
    caps DuckDB's memory to stay small on a cron host, and a piece of work too big for the cap
    (one request of tens of MB, a rollup refresh over days of new data) is better done with
    more memory than failed, this time and every time after. ``work`` must leave nothing
    behind when it fails (one transaction); ``before_retry`` undoes any state of the
    caller's that it changed. The connection's limit is restored afterwards."""
    try:
        return work()
    except duckdb.OutOfMemoryException:
        if not limits:
            raise
    [(saved,)] = con.execute("SELECT current_setting('memory_limit')").fetchall()

    def under(limit: str | None) -> _T:
        if before_retry is not None:
            before_retry()
        con.execute("RESET memory_limit" if limit is None else f"SET memory_limit = '{limit}'")
        return work()

    *smaller, largest = limits
    try:
        for limit in smaller:
            with contextlib.suppress(duckdb.OutOfMemoryException):
                return under(limit)
        return under(largest)
    finally:
        con.execute(f"SET memory_limit = '{saved}'")
