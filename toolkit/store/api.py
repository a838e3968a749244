"""``DuckDBStore``: the :class:`toolkit.store.Store` API over a DuckDB file.

A DuckDB store is a file (readable and writable), ``:memory:``, or an exported Parquet tree
(read-only, same API). Reads return pandas DataFrames in a deterministic order, so the same
data gives the same frame from either form.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from toolkit.errors import BadInput
from toolkit.otlp.decode import sql as otlp_sql
from toolkit.store import alert_sql, audit_sql, parquet
from toolkit.store.alerting import AlertRecord, CounterRow, IncidentRow, MemberRow, OutboxItem
from toolkit.store.base import Store, TimeLike, as_utc, items, limit_clause, optional_utc
from toolkit.store.connect import DEFAULT_TIMEOUT, connect, more_memory_on_oom
from toolkit.store.rollup import DIRTY_FROM, RollupRefresh, rebuild_rollup, refresh_rollup
from toolkit.store.schema import MigrationNeeded, ensure_schema, get_meta, set_meta

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from toolkit.store.load import LoadResult

__all__ = ["LOAD_MEMORY", "DuckDBStore", "Store", "TimeLike"]

#: DuckDB's memory cap while loading. A load's peak is about the open store plus this cap
#: (``toolkit load`` of the may7 sample: 291 MB); with 8 MiB blocks
#: (``toolkit.otlp.decode.lines.TARGET_BYTES``) a lower cap makes blocks spill or retry
#: uncapped, which costs more than it saves (measured in ``benchmarks/README.md``).
LOAD_MEMORY = "96MB"
#: The rollup refresh that ends a load runs under :data:`LOAD_MEMORY` first (enough for a
#: sample's worth of new data), then, if days of new job logs do not fit, under this (a
#: six-day, 14-tenant replay fits), and only then without a cap.
REFRESH_MEMORY = "128MB"


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
            self.add(f"{column} >= ?", as_utc(since, "since"))
        if until is not None:
            self.add(f"{column} < ?", as_utc(until, "until"))

    def among(self, column: str, values: str | Iterable[Any] | None) -> None:
        wanted = items(values)
        if wanted is None:
            return
        if not wanted:
            self.add("false")
            return
        self.add(f"{column} IN ({', '.join('?' for _ in wanted)})", *wanted)

    def sql(self) -> str:
        return f"WHERE {' AND '.join(self.clauses)}" if self.clauses else ""


#: A rollup minute in which something happened (not only a backlog carried through it).
_ACTIVE = "ingests + offered + processed + failed + retried > 0"


def _bounds(since: TimeLike | None, until: TimeLike | None
            ) -> tuple[datetime | None, datetime | None]:
    return optional_utc(since, "since"), optional_utc(until, "until")


class DuckDBStore(Store):
    """A toolkit store in DuckDB. Open with :meth:`Store.open`; use as a context manager.

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
    def _open(cls, path: str, *, read_only: bool, timeout: float = DEFAULT_TIMEOUT
              ) -> DuckDBStore:
        """Open (or create) the DuckDB file, ``:memory:`` or Parquet tree at ``path`` (see
        :meth:`Store.open`)."""
        name = path
        if parquet.is_tree(name):
            return cls(parquet.open_tree(name), name, read_only=True, parquet_tree=True)
        con = connect(name, read_only=read_only, timeout=timeout)
        try:
            ensure_schema(con, name, writable=not read_only)
        except MigrationNeeded:
            # An older store opened for reading: migrate it once, writable, then read.
            con.close()
            cls._open(name, read_only=False, timeout=timeout).close()
            return cls._open(name, read_only=True, timeout=timeout)
        except BaseException:
            con.close()
            raise
        return cls(con, name, read_only=read_only)

    def close(self) -> None:
        """Release the file (and its lock)."""
        with self._lock:
            self._con.close()

    def __repr__(self) -> str:
        mode = "parquet" if self._parquet_tree else "read-only" if self._read_only else "writable"
        return f"DuckDBStore({self._path!r}, {mode})"

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
        """The underlying DuckDB connection (DuckDB only: code meant for either backend
        uses the :class:`Store` methods)."""
        return self._con

    def meta(self, key: str) -> str | None:
        """The value of ``key`` in the ``meta`` table, or ``None``."""
        with self._lock:
            return None if self._parquet_tree else get_meta(self._con, key)

    def set_meta(self, key: str, value: str | None) -> None:
        """Set (or, with ``None``, delete) ``key`` in the ``meta`` table."""
        with self.writing() as con:
            set_meta(con, key, value)

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
        """Load OTLP JSON files or directories of them (see ``toolkit.store.load``).

        Each block of a file (a few MiB of text) is one transaction; loading a file again
        adds nothing. Bad lines and
        records are counted, named in the result and kept in the ``rejected`` table.

        Args:
            paths: Files (JSON lines, one pretty-printed request, ``.gz``) or directories.
            refresh: Bring the ``env_minute`` rollup up to date afterwards.

        Raises:
            BadInput: a path does not exist (then nothing is loaded).
        """
        from toolkit.store.load import LoadResult, expand_paths, load_file  # loads pyarrow

        files = expand_paths(paths)
        total = LoadResult()
        with self._lock, self.loading() as con:
            for file in files:
                total = total + load_file(con, file)
            if refresh:
                more_memory_on_oom(con, self.refresh_rollup, limits=(REFRESH_MEMORY, None))
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
        return self.sql(f"SELECT * FROM {table} {where.sql()} ORDER BY {order} "
                        f"{limit_clause(limit)}", where.params)

    def rollup(
        self,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        environments: str | Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """``env_minute`` rows with ``since <= minute < until`` (refreshed first when the
        store is writable and new logs arrived since the last refresh)."""
        self._fresh_rollup()
        where = _Filter()
        where.time("minute", since, until)
        where.among("environment", environments)
        return self._frame("env_minute", where, "minute, environment")

    def rollup_columns(self, since: TimeLike | None = None, until: TimeLike | None = None
                       ) -> dict[str, np.ndarray]:
        """:meth:`rollup` as numpy arrays, straight from DuckDB (no DataFrame on the way).
        A column with missing values comes as a masked array."""
        with self._lock:
            self._fresh_rollup()
            where = _Filter()
            where.time("minute", since, until)
            return self._con.execute(
                f"SELECT * FROM env_minute {where.sql()} ORDER BY minute, environment",
                where.params).fetchnumpy()

    def _fresh_rollup(self) -> None:
        """Refresh the rollup first when the store is writable and new logs arrived since
        the last refresh."""
        if not self._read_only:
            with self._lock:
                if get_meta(self._con, DIRTY_FROM) is not None:
                    self.refresh_rollup()

    def rollup_minutes(self, since: TimeLike, until: TimeLike) -> int:
        """How many distinct minutes in ``[since, until)`` have ``env_minute`` rows."""
        with self._lock:
            rows = self._con.execute(
                "SELECT count(DISTINCT minute) FROM env_minute WHERE minute >= ? AND minute < ?",
                [as_utc(since, "since"), as_utc(until, "until")],
            ).fetchall()
        return int(rows[0][0])

    def rollup_range(self) -> tuple[datetime, datetime] | None:
        """First minute of ``env_minute`` and the end of its last minute; ``None`` if empty."""
        with self._lock:
            [(lo, hi)] = self._con.execute("SELECT min(minute), max(minute) FROM env_minute"
                                           ).fetchall()
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

    # -- the detectors' hourly fit, kept as JSON (toolkit.detect.fitcache) ----------------

    def detector_fit(self, hour: TimeLike, detectors: str) -> str | None:
        """The JSON of the fit of ``detectors`` on the history ending at ``hour``, if kept."""
        with self._lock:
            rows = self._con.execute(
                "SELECT CAST(fitted AS VARCHAR) FROM detector_fits "
                "WHERE hour = ? AND detectors = ?", [as_utc(hour, "hour"), detectors]).fetchall()
        return rows[0][0] if rows else None

    def put_detector_fit(self, hour: TimeLike, detectors: str, fitted: str, *,
                         forget_before: TimeLike) -> None:
        """Keep a fit's JSON, and forget the fits of hours before ``forget_before``."""
        stamp = as_utc(hour, "hour")
        with self.writing() as con:
            con.execute("DELETE FROM detector_fits WHERE (hour = ? AND detectors = ?) "
                        "OR hour < ?", [stamp, detectors, as_utc(forget_before, "forget_before")])
            con.execute("INSERT INTO detector_fits (hour, detectors, fitted) VALUES (?, ?, ?)",
                        [stamp, detectors, fitted])

    # -- what the alert's watchdog and textfile read --------------------------------------

    def newest_activity(self, until: TimeLike) -> datetime | None:
        """Start of the newest minute at or before ``until`` in which anything happened
        (an ingest, a job offered, processed, failed or retried), or ``None``."""
        with self._lock:
            [(newest,)] = self._con.execute(
                f"SELECT max(minute) FROM env_minute WHERE minute <= ? AND {_ACTIVE}",
                [as_utc(until, "until")]).fetchall()
        return newest

    def environment_stats(
        self, since: TimeLike, until: TimeLike
    ) -> dict[str, tuple[str | None, float | None, datetime | None]]:
        """Per environment with rollup rows up to ``until``: its tenant, its dedup ratio over
        ``[since, until]`` (``None`` when nothing was offered) and its newest active minute."""
        with self._lock:
            rows = self._con.execute(f"""
                SELECT environment, any_value(tenant),
                       sum(deduplicated) FILTER (WHERE minute >= $since)
                         / nullif(sum(offered) FILTER (WHERE minute >= $since), 0),
                       max(minute) FILTER (WHERE {_ACTIVE})
                FROM env_minute WHERE minute <= $until GROUP BY environment ORDER BY environment
            """, {"since": as_utc(since, "since"), "until": as_utc(until, "until")}).fetchall()
        return {r[0]: (r[1], None if r[2] is None else float(r[2]), r[3]) for r in rows}

    def tenants_of(self, environments: Iterable[str]) -> dict[str, str | None]:
        """The tenant of each environment the rollup knows, by environment."""
        with self._lock:
            return dict(self._con.execute(
                "SELECT environment, any_value(tenant) FROM env_minute "
                "WHERE list_contains(?, environment) GROUP BY environment",
                [list(environments)]).fetchall())

    # -- the exact audit's queries (toolkit.detect.audit composes them into rules) -----------

    def has_job_logs(self) -> bool:
        """Whether any job log record is stored (the audit has nothing to judge otherwise)."""
        with self._lock:
            rows = self._con.execute(
                "SELECT count(*) FROM (SELECT 1 FROM logs WHERE job_id IS NOT NULL LIMIT 1)"
            ).fetchall()
        return bool(rows[0][0])

    def unjustified_drops(
        self, since: TimeLike | None = None, until: TimeLike | None = None
    ) -> pd.DataFrame:
        """``job.deduplicated`` records that no pending survivor with the identical key and a
        version not older justifies, with both jobs' keys and traces (one row each)."""
        with self._lock:
            return audit_sql.unjustified_drops(self._con, *_bounds(since, until))

    def unjustified_drop_records(
        self, since: TimeLike | None = None, until: TimeLike | None = None
    ) -> list[dict[str, Any]]:
        """:meth:`unjustified_drops` as plain records, read without pandas."""
        with self._lock:
            return audit_sql.unjustified_drop_records(self._con, *_bounds(since, until))

    def view_status(
        self, since: TimeLike | None = None, until: TimeLike | None = None, *,
        as_of_end: bool = False,
    ) -> pd.DataFrame:
        """Keys with a job in the window whose view is behind the latest version demanded,
        as of the window's end (or the data's end with ``as_of_end``)."""
        with self._lock:
            return audit_sql.view_status(self._con, *_bounds(since, until), as_of_end=as_of_end)

    def job_accounting(
        self, since: TimeLike | None = None, until: TimeLike | None = None
    ) -> pd.DataFrame:
        """Jobs that end more than once, or end without having been created."""
        with self._lock:
            return audit_sql.job_accounting(self._con, *_bounds(since, until))

    def environment_accounting(
        self, since: TimeLike | None = None, until: TimeLike | None = None
    ) -> pd.DataFrame:
        """Per environment: jobs created, processed, failed, deduplicated and in flight."""
        with self._lock:
            return audit_sql.environment_accounting(self._con, *_bounds(since, until))

    def rejected(self) -> pd.DataFrame:
        """Every line or record a load could not take, with the reason."""
        return self._frame("rejected", _Filter(), "file, line, item")

    # -- alert incidents (written by toolkit alert) ---------------------------------------

    def _has_table(self, name: str) -> bool:
        if self._parquet_tree:
            return False
        with self._lock:
            return bool(self._con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? "
                "AND database_name = current_database() AND schema_name = 'main'",
                [name]).fetchone()[0])

    def incidents(self, since: TimeLike | None = None, until: TimeLike | None = None
                  ) -> pd.DataFrame:
        """The alert's incidents that overlap ``[since, until)``, in the order they opened.

        Columns: ``incident`` (id), ``rule``, ``severity`` (highest reached), ``status``
        (firing|resolved), ``opened_at``, ``resolved_at``, ``environments`` (list of str, in
        the order they joined), ``notifications``, ``pages``, ``summary``. Times naive UTC.
        """
        import pandas as pd

        columns = ["incident", "rule", "severity", "status", "opened_at", "resolved_at",
                   "environments", "notifications", "pages", "summary"]
        if not self._has_table("alert_incidents"):
            return pd.DataFrame(columns=columns)
        where = _Filter()
        if until is not None:
            where.add("i.opened_at < ?", as_utc(until, "until"))
        if since is not None:
            where.add("(i.resolved_at IS NULL OR i.resolved_at >= ?)", as_utc(since, "since"))
        with self._lock:
            frame = self._con.execute(f"""
                WITH e AS (
                    SELECT incident, environment, min(first_seen_at) AS joined
                    FROM alert_members WHERE environment <> '' GROUP BY ALL),
                l AS (SELECT incident, list(environment ORDER BY joined, environment) AS envs
                      FROM e GROUP BY incident)
                SELECT i.incident, i.rule, i.severity, i.status, i.opened_at, i.resolved_at,
                       coalesce(l.envs, []::VARCHAR[]) AS environments, i.notifications,
                       i.pages, i.summary
                FROM alert_incidents i LEFT JOIN l USING (incident) {where.sql()}
                ORDER BY i.opened_at, i.incident""", where.params).df()
        frame["environments"] = [list(v) for v in frame["environments"]]
        return frame[columns]

    def alert_transitions(self, since: TimeLike | None = None, until: TimeLike | None = None
                          ) -> pd.DataFrame:
        """Every notified change of an incident in ``[since, until)``, in time order.

        Columns: ``occurred_at``, ``incident``, ``transition`` (opened|updated|escalated|
        reminded|resolved), ``severity``, ``environments`` (list of str: the incident's, as
        of the change), ``summary``. Times naive UTC.
        """
        import pandas as pd

        columns = ["occurred_at", "incident", "transition", "severity", "environments",
                   "summary"]
        if not self._has_table("alert_transitions"):
            return pd.DataFrame(columns=columns)
        where = _Filter()
        where.time("occurred_at", since, until)
        with self._lock:
            frame = self._con.execute(
                f"SELECT {', '.join(columns)} FROM alert_transitions {where.sql()} "
                "ORDER BY occurred_at, incident, rowid", where.params).df()
        frame["environments"] = [list(v) for v in frame["environments"]]
        return frame

    def deployments(
        self, since: TimeLike | None = None, until: TimeLike | None = None
    ) -> pd.DataFrame:
        """Component changes (``engine.deployment`` records) with ``since <= time < until``:
        columns ``time``, ``change``, ``environment`` (empty where it applied everywhere), in
        time order. A post-mortem asks first what changed shortly before the damage."""
        where = _Filter()
        where.add("event_name = 'engine.deployment'")
        where.time("time", since, until)
        return self.sql(
            "SELECT time, deployment_change AS change, coalesce(environment, '') AS environment "
            f"FROM logs {where.sql()} ORDER BY time, change, environment", where.params)

    def entity_counts(self, until: TimeLike | None = None) -> pd.DataFrame:
        """Distinct source entities ingested per environment and source before ``until``
        (columns ``environment``, ``source``, ``entities``): what redeploying a schema
        costs, since a deployment makes a job per entity."""
        where = _Filter()
        where.add("event_name IN ('entity.ingested', 'job.skipped_unchanged')")
        where.time("time", None, until)
        return self.sql(
            "SELECT environment, source, count(DISTINCT entity) AS entities "
            f"FROM logs {where.sql()} GROUP BY environment, source ORDER BY environment, source",
            where.params)

    def last_deployment(self, until: TimeLike) -> datetime | None:
        """Time of the newest ``engine.deployment`` record at or before ``until``."""
        with self._lock:
            return self._con.execute(
                "SELECT max(time) FROM logs WHERE event_name = 'engine.deployment' "
                "AND time <= ?", [as_utc(until, "until")]).fetchone()[0]

    # -- the alert's state (schema.sql's alert_* tables; toolkit.alert.state decides) --------

    def alert_last_run(self, before: TimeLike) -> datetime | None:
        """When the newest alert run before ``before`` ran, or ``None``."""
        with self._lock:
            return alert_sql.last_run(self._con, as_utc(before, "before"))

    def alert_open_incidents(self) -> tuple[list[IncidentRow], list[MemberRow]]:
        """The firing incidents (by id) and their members."""
        with self._lock:
            return alert_sql.open_incidents(self._con)

    def alert_watermarks(self) -> dict[str, datetime]:
        """Per rule, the newest evidence already accounted for by a resolved incident."""
        with self._lock:
            return alert_sql.watermarks(self._con)

    def alert_counters(self) -> list[CounterRow]:
        """The wrongful-discard counters, one per environment."""
        with self._lock:
            return alert_sql.counters(self._con)

    def record_alert_run(self, record: AlertRecord) -> None:
        """Keep one run's decisions in one transaction: all of it, or (killed half-way)
        nothing."""
        with self.writing() as con:
            alert_sql.record(con, record)

    def alert_outbox(self, destinations: Sequence[str]) -> list[OutboxItem]:
        """The payloads not yet delivered to any of ``destinations``, oldest first."""
        with self._lock:
            return alert_sql.outbox(self._con, destinations)

    def mark_delivered(self, delivered: Sequence[int], failed: dict[int, str],
                       at: datetime) -> None:
        """Record which outbox items were delivered and which failed, in one transaction."""
        with self.writing() as con:
            alert_sql.mark(con, delivered, failed, at)
