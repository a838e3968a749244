"""``Store``: the one object notebooks, the CLI and the analyses use to reach the data.

A store is a DuckDB file (readable and writable) or an exported Parquet tree (read-only,
same API). Reads return pandas DataFrames in a deterministic order, so the same data gives
the same frame from either form.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import duckdb

from toolkit.errors import BadInput
from toolkit.store import otlp_sql, parquet
from toolkit.store.connect import DEFAULT_TIMEOUT, connect
from toolkit.store.otlp_json import LoadResult, expand_paths, load_file
from toolkit.store.rollup import DIRTY_FROM, RollupRefresh, rebuild_rollup, refresh_rollup
from toolkit.store.schema import MigrationNeeded, ensure_schema, get_meta

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LOAD_MEMORY", "Store", "TimeLike"]

#: DuckDB's memory cap while loading (``toolkit load`` stays under 300 MB in all).
LOAD_MEMORY = "128MB"

#: Accepted wherever a time bound is (a ``pandas.Timestamp`` is a ``datetime``): naive
#: values are UTC, aware ones are converted.
TimeLike = datetime | str


def _utc(value: TimeLike, what: str) -> datetime:
    import pandas as pd  # only reads need pandas; a load does not

    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise BadInput(f"{what} {value!r} is not a time") from exc
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(UTC).tz_localize(None)
    return stamp.to_pydatetime()


class _Filter:
    """WHERE clauses with their parameters, built from optional keyword filters."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def time(self, column: str, since: TimeLike | None, until: TimeLike | None) -> None:
        if since is not None:
            self.add(f"{column} >= ?", _utc(since, "since"))
        if until is not None:
            self.add(f"{column} < ?", _utc(until, "until"))

    def among(self, column: str, values: str | Iterable[Any] | None) -> None:
        if values is None:
            return
        items = [values] if isinstance(values, str | int) else list(values)
        if not items:
            self.add("false")
            return
        self.add(f"{column} IN ({', '.join('?' for _ in items)})", *items)

    def sql(self) -> str:
        return f"WHERE {' AND '.join(self.clauses)}" if self.clauses else ""


def _limit(limit: int | None) -> str:
    if limit is None:
        return ""
    if limit < 0:
        raise BadInput(f"limit {limit} is negative")
    return f"LIMIT {int(limit)}"


class Store:
    """A toolkit store. Open with :meth:`open`; use as a context manager to close it.

    Example:
        >>> with Store.open("toolkit.duckdb", read_only=True) as store:  # doctest: +SKIP
        ...     store.rollup(since="2024-05-07 10:00", environments=["acme-prod"])
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        path: str,
        *,
        read_only: bool,
        parquet_tree: bool = False,
    ) -> None:
        self._con = con
        self._path = path
        self._read_only = read_only
        self._parquet_tree = parquet_tree
        self._lock = threading.RLock()
        self._macros = False

    # -- opening and closing ------------------------------------------------------------

    @classmethod
    def open(
        cls, path: str | Path, *, read_only: bool = False, timeout: float = DEFAULT_TIMEOUT
    ) -> Store:
        """Open (or create) the store at ``path``.

        Args:
            path: A DuckDB file (created if missing and not ``read_only``), ``":memory:"``,
                or an exported Parquet tree (always read-only).
            read_only: Open for reading; many read-only processes may share a file.
            timeout: Seconds to keep retrying while another process holds the file.

        Raises:
            BadInput: not a toolkit store, or one of another schema version.
            StoreLocked: another process kept the file locked for ``timeout`` seconds.
        """
        name = str(path)
        if parquet.is_tree(name):
            return cls(parquet.open_tree(name), name, read_only=True, parquet_tree=True)
        con = connect(name, read_only=read_only, timeout=timeout)
        try:
            ensure_schema(con, name, writable=not read_only)
        except MigrationNeeded:
            # An older store opened for reading: migrate it once, writable, then read.
            con.close()
            cls.open(name, timeout=timeout).close()
            return cls.open(name, read_only=True, timeout=timeout)
        except BaseException:
            con.close()
            raise
        return cls(con, name, read_only=read_only)

    def close(self) -> None:
        """Release the file (and its lock)."""
        with self._lock:
            self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "parquet" if self._parquet_tree else "read-only" if self._read_only else "writable"
        return f"Store({self._path!r}, {mode})"

    @property
    def path(self) -> str:
        """Where the store lives."""
        return self._path

    @property
    def read_only(self) -> bool:
        """Whether writes are refused (always so for a Parquet tree)."""
        return self._read_only

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The underlying DuckDB connection, for what the API does not cover."""
        return self._con

    # -- writing ------------------------------------------------------------------------

    def _writable(self) -> duckdb.DuckDBPyConnection:
        if self._read_only:
            raise BadInput(f"{self._path}: the store is open read-only")
        if not self._macros:
            otlp_sql.install_macros(self._con)
            self._macros = True
        return self._con

    @contextmanager
    def writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection inside one write transaction (committed on success), held
        exclusively against the other threads of this process."""
        with self._lock:
            con = self._writable()
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def load(self, *paths: str | Path, refresh: bool = True) -> LoadResult:
        """Load OTLP JSON files or directories of them (see ``otlp_json``).

        Each block of a file (a few MiB of text) is one transaction; loading a file again
        adds nothing. Bad lines and
        records are counted, named in the result and kept in the ``rejected`` table.

        Args:
            paths: Files (JSON lines, one pretty-printed request, ``.gz``) or directories.
            refresh: Bring the ``env_minute`` rollup up to date afterwards.

        Raises:
            BadInput: a path does not exist (then nothing is loaded).
        """
        files = expand_paths(paths)
        total = LoadResult()
        with self._lock, self.loading() as con:
            for file in files:
                total = total + load_file(con, file)
            if refresh:
                self.refresh_rollup()
        return total

    @contextmanager
    def loading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The writable connection with DuckDB's memory capped at :data:`LOAD_MEMORY` for
        the while: a load works a few MiB of text at a time, and without the cap DuckDB
        keeps what it touched cached up to most of the machine's memory. (Not for a store
        in memory, whose data is that memory.)

        A load commits every block, so DuckDB's automatic checkpoint (every 16 MB of
        write-ahead log) would rewrite the tables every few blocks; it is put off until the
        load ends, then done once."""
        with self._lock:
            con = self._writable()
            if self._path == ":memory:":
                yield con
                return
            saved = con.execute("SELECT current_setting('memory_limit'), "
                                "current_setting('checkpoint_threshold')").fetchall()[0]
            con.execute(f"SET memory_limit = '{LOAD_MEMORY}'")
            con.execute("SET checkpoint_threshold = '1GB'")
            try:
                yield con
            finally:
                with contextlib.suppress(duckdb.Error):  # never hide the error being raised
                    con.execute(f"SET checkpoint_threshold = '{saved[1]}'")
                    con.execute("CHECKPOINT")
                    con.execute(f"SET memory_limit = '{saved[0]}'")

    def refresh_rollup(self) -> RollupRefresh:
        """Recompute the dirty minutes of ``env_minute`` (cheap when nothing is new)."""
        with self._lock:
            return refresh_rollup(self._writable())

    def rebuild_rollup(self) -> RollupRefresh:
        """Recompute all of ``env_minute`` from ``logs``."""
        with self._lock:
            return rebuild_rollup(self._writable())

    def export_parquet(self, directory: str | Path) -> dict[str, int]:
        """Write a hive-partitioned Parquet snapshot (by date and environment) that
        :meth:`open` reads back with this same API. Returns rows written per table."""
        with self._lock:
            return parquet.export_parquet(self._con, directory)

    # -- reading ------------------------------------------------------------------------

    def sql(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Any SQL over the store's tables, as a DataFrame."""
        with self._lock:
            return self._con.execute(query, params).df()

    def _frame(
        self, table: str, where: _Filter, order: str, limit: int | None = None
    ) -> pd.DataFrame:
        return self.sql(
            f"SELECT * FROM {table} {where.sql()} ORDER BY {order} {_limit(limit)}", where.params
        )

    def rollup(
        self,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        environments: str | Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """``env_minute`` rows with ``since <= minute < until`` (refreshed first when the
        store is writable and new logs arrived since the last refresh)."""
        if not self._read_only:
            with self._lock:
                if get_meta(self._con, DIRTY_FROM) is not None:
                    self.refresh_rollup()
        where = _Filter()
        where.time("minute", since, until)
        where.among("environment", environments)
        return self._frame("env_minute", where, "minute, environment")

    def rollup_minutes(self, since: TimeLike, until: TimeLike) -> int:
        """How many distinct minutes in ``[since, until)`` have ``env_minute`` rows."""
        with self._lock:
            rows = self._con.execute(
                "SELECT count(DISTINCT minute) FROM env_minute WHERE minute >= ? AND minute < ?",
                [_utc(since, "since"), _utc(until, "until")],
            ).fetchall()
        return int(rows[0][0])

    def rollup_range(self) -> tuple[datetime, datetime] | None:
        """First minute of ``env_minute`` and the end of its last minute; ``None`` if empty."""
        with self._lock:
            lo, hi = self._con.execute("SELECT min(minute), max(minute) FROM env_minute"
                                       ).fetchone()
        return None if lo is None else (lo, hi + timedelta(minutes=1))

    def logs(
        self,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        environments: str | Iterable[str] | None = None,
        events: str | Iterable[str] | None = None,
        trace_id: str | None = None,
        job_id: int | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Log records with ``since <= time < until``, optionally narrowed to environments,
        event names, one trace or one job; in time order."""
        where = _Filter()
        where.time("time", since, until)
        where.among("environment", environments)
        where.among("event_name", events)
        if trace_id is not None:
            where.add("trace_id = ?", trace_id.lower())
        if job_id is not None:
            where.add("job_id = ?", int(job_id))
        return self._frame("logs", where, "time, time_unix_nano, record_id", limit)

    def spans(
        self,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        environments: str | Iterable[str] | None = None,
        names: str | Iterable[str] | None = None,
        trace_id: str | None = None,
        job_id: int | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Spans with ``since <= start_time < until``, optionally narrowed; in start order."""
        where = _Filter()
        where.time("start_time", since, until)
        where.among("environment", environments)
        where.among("name", names)
        if trace_id is not None:
            where.add("trace_id = ?", trace_id.lower())
        if job_id is not None:
            where.add("job_id = ?", int(job_id))
        return self._frame(
            "spans", where, "start_time, start_time_unix_nano, trace_id, span_id", limit
        )

    def trace(self, trace_id: str) -> pd.DataFrame:
        """Every span of one trace, parents before children where their starts allow."""
        return self.spans(trace_id=trace_id)

    def span_events(self, trace_id: str) -> pd.DataFrame:
        """The events of one trace's spans."""
        where = _Filter()
        where.add("trace_id = ?", trace_id.lower())
        return self._frame("span_events", where, "span_id, event_index")

    def span_links(self, trace_id: str) -> pd.DataFrame:
        """The links of one trace's spans (to the producer spans they continue)."""
        where = _Filter()
        where.add("trace_id = ?", trace_id.lower())
        return self._frame("span_links", where, "span_id, link_index")

    def rejected(self) -> pd.DataFrame:
        """Every line or record a load could not take, with the reason."""
        return self._frame("rejected", _Filter(), "file, line, item")
