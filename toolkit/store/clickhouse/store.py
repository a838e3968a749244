"""``ClickHouseStore``: the :class:`toolkit.store.Store` API over the Collector's ClickHouse
tables.

The methods return the DataFrame shapes (columns, dtypes, order) of the DuckDB store, so the
detectors, the exact audit, the alert and the report run unchanged on either. The rollup and
the audit are computed inside ClickHouse; only their results cross the wire. The alert's
state lives in ``toolkit_alert_*`` tables (see ``alerts`` for how a run is kept without
transactions).

What differs, because the exporter's rows keep less than the DuckDB store: attribute columns
(``attributes``, ``resource_attributes``) are JSON objects of *strings* (the exporter's
``Map(String, String)``), ``body`` is the body as text, ``record_id`` is a hash of the
exporter's row, and what the exporter drops (observed time, span flags, dropped counts,
scope attributes of spans) is ``NULL``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from toolkit.errors import BadInput
from toolkit.store.alerting import AlertRecord, CounterRow, IncidentRow, MemberRow, OutboxItem
from toolkit.store.base import Store, TimeLike, as_utc, items, limit_clause, optional_utc
from toolkit.store.clickhouse import alerts, audit, loader, rollup
from toolkit.store.clickhouse.connection import Connection, connect
from toolkit.store.clickhouse.frames import Converter
from toolkit.store.clickhouse.schema import ensure_schema, get_meta, set_meta
from toolkit.store.clickhouse.sql import (
    in_list,
    literal,
    logs_relation,
    quote,
    span_events_relation,
    span_links_relation,
    spans_relation,
)
from toolkit.store.load import LoadResult, expand_paths
from toolkit.store.rollup import RollupRefresh

if TYPE_CHECKING:
    from toolkit.store.api import DuckDBStore

__all__ = ["ClickHouseStore"]

#: A rollup minute in which anything happened (as ``toolkit.store.api``).
_ACTIVE = "ingests + offered + processed + failed + retried > 0"


class ClickHouseStore(Store):
    """A toolkit store in ClickHouse. Open with :meth:`Store.open`; use as a context manager.

    Example:
        >>> with ClickHouseStore.open("chdb:/var/lib/toolkit-ch") as store:  # doctest: +SKIP
        ...     store.rollup(since="2024-05-07 10:00", environments=["acme-prod"])
    """

    def __init__(self, con: Connection, *, read_only: bool) -> None:
        self._con = con
        self._read_only = read_only
        self._tables = ensure_schema(con, writable=not read_only)
        self._frames = Converter()
        self._lock = threading.RLock()

    # -- opening and closing ------------------------------------------------------------

    @classmethod
    def _open(cls, path: str, *, read_only: bool, timeout: float) -> ClickHouseStore:
        """Open the Collector's tables at ``path``: ``clickhouse://user:pass@host:port/db``
        (a server or cluster) or ``chdb:PATH[?database=NAME]`` (embedded ClickHouse).
        ``timeout`` is unused: a server connection gives up after
        ``connection.CONNECT_TIMEOUT`` seconds.

        Raises:
            BadInput: a malformed address, an unreachable server, no ``otel_logs`` or
                ``otel_traces`` table, or toolkit tables of another schema version.
        """
        del timeout
        con = connect(path)
        try:
            return cls(con, read_only=read_only)
        except BaseException:
            con.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._con.close()
            self._frames.close()

    def __repr__(self) -> str:
        return f"ClickHouseStore({self.path!r}, {'read-only' if self._read_only else 'writable'})"

    @property
    def path(self) -> str:
        """Where the store lives (the address, without its password)."""
        return self._con.target.label

    @property
    def read_only(self) -> bool:
        """Whether writes are refused."""
        return self._read_only

    # -- writing ------------------------------------------------------------------------

    def _writable(self) -> Connection:
        if self._read_only:
            raise BadInput(f"{self.path}: the store is open read-only")
        return self._con

    def load(self, *paths: str | Path, refresh: bool = True) -> LoadResult:
        """Load OTLP JSON files or directories into ``otel_logs`` and ``otel_traces`` in the
        Collector's row shape (see ``loader``); loading a file again adds nothing.

        Raises:
            BadInput: a path does not exist (then nothing is loaded).
        """
        files = expand_paths(paths)
        total = LoadResult()
        with self._lock:
            con = self._writable()
            for file in files:
                total = total + loader.load_file(con, self._tables, file)
            if refresh:
                self.refresh_rollup()
        return total

    def copy_from(self, store: DuckDBStore, *, refresh: bool = True) -> LoadResult:
        """Copy a DuckDB store's spans and log records into the Collector's tables in the
        exporter's row shape, a day at a time (moving a store to ClickHouse); records
        already there are counted as duplicates."""
        with self._lock:
            result = loader.copy_store(self._writable(), self._tables, store)
            if refresh:
                self.refresh_rollup()
        return result

    def refresh_rollup(self) -> RollupRefresh:
        """Recompute the minutes of the rollup that changed (cheap when nothing did)."""
        with self._lock:
            return rollup.refresh_rollup(self._writable(), self._tables)

    def rebuild_rollup(self) -> RollupRefresh:
        """Recompute the whole rollup from ``otel_logs``."""
        with self._lock:
            return rollup.rebuild_rollup(self._writable(), self._tables)

    # -- reading ------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """The value of ``key`` in ``toolkit_meta``, or ``None``."""
        with self._lock:
            return get_meta(self._con, self._tables, key)

    def set_meta(self, key: str, value: str | None) -> None:
        """Set (or, with ``None``, delete) ``key`` in ``toolkit_meta``."""
        with self._lock:
            set_meta(self._writable(), self._tables, key, value)

    def sql(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None
            ) -> pd.DataFrame:
        """Any ClickHouse SQL, as a DataFrame; ``params`` (a dict) fill ClickHouse's own
        ``{name:Type}`` placeholders."""
        if params is not None and not isinstance(params, dict):
            raise BadInput("ClickHouse query parameters are named: pass a dict for the "
                           "query's {name:Type} placeholders")
        return self._frame(query, params=params)

    def _frame(self, query: str, *, nullable_integers: bool = False,
               params: dict[str, Any] | None = None) -> pd.DataFrame:
        with self._lock:
            table = self._con.arrow(query, params)
        return self._frames.frame(table, nullable_integers=nullable_integers)

    def _scalar(self, query: str) -> object:
        with self._lock:
            table = self._con.arrow(query)
        return table.column(0)[0].as_py() if table.num_rows else None

    def _fresh(self) -> None:
        """Bring the rollup and the typed job log records up to date with ``otel_logs`` when
        the store is writable (a read-only store reads what the last refresh wrote)."""
        if not self._read_only:
            self.refresh_rollup()

    def rollup(self, since: TimeLike | None = None, until: TimeLike | None = None,
               environments: str | Iterable[str] | None = None) -> pd.DataFrame:
        """``env_minute`` rows with ``since <= minute < until`` (refreshed first when the
        store is writable and ``otel_logs`` changed)."""
        self._fresh()
        where = []
        if since is not None:
            where.append(f"minute >= {literal(as_utc(since, 'since'))}")
        if until is not None:
            where.append(f"minute < {literal(as_utc(until, 'until'))}")
        envs = items(environments)
        if envs is not None:
            where.append(f"environment IN {in_list(envs)}")
        return self._frame(f"""
            SELECT toDateTime64(minute, 6, 'UTC') AS minute, environment, tenant, ingests,
                   skipped_unchanged, offered, deduplicated, follow_ups, processed, failed,
                   retried, backlog, active_envs
            FROM {self._tables.table('env_minute')}
            {'WHERE ' + ' AND '.join(where) if where else ''}
            ORDER BY minute, environment""")

    def rollup_minutes(self, since: TimeLike, until: TimeLike) -> int:
        """How many distinct minutes in ``[since, until)`` have rollup rows."""
        return int(self._scalar(f"""
            SELECT uniqExact(minute) FROM {self._tables.table('env_minute')}
            WHERE minute >= {literal(as_utc(since, 'since'))}
              AND minute < {literal(as_utc(until, 'until'))}""") or 0)

    def rollup_range(self) -> tuple[datetime, datetime] | None:
        """First minute of the rollup and the end of its last minute; ``None`` if empty."""
        with self._lock:
            table = self._con.arrow(
                f"SELECT count() AS n, toDateTime64(min(minute), 0, 'UTC') AS lo, "
                f"toDateTime64(max(minute), 0, 'UTC') AS hi "
                f"FROM {self._tables.table('env_minute')}")
        if not table.column("n")[0].as_py():
            return None
        lo, hi = (table.column(c)[0].as_py().replace(tzinfo=None) for c in ("lo", "hi"))
        return lo, hi + timedelta(minutes=1)

    def newest_activity(self, until: TimeLike) -> datetime | None:
        """Start of the newest minute at or before ``until`` in which anything happened
        (an ingest, a job offered, processed, failed or retried), or ``None``."""
        newest = self._scalar(f"""
            SELECT toDateTime64(maxOrNull(minute), 0, 'UTC')
            FROM {self._tables.table('env_minute')}
            WHERE minute <= {literal(as_utc(until, 'until'))} AND {_ACTIVE}""")
        return newest.replace(tzinfo=None) if isinstance(newest, datetime) else None

    def environment_stats(self, since: TimeLike, until: TimeLike
                          ) -> dict[str, tuple[str | None, float | None, datetime | None]]:
        """Per environment with rollup rows up to ``until``: its tenant, its dedup ratio over
        ``[since, until]`` (``None`` when nothing was offered) and its newest active minute."""
        start = literal(as_utc(since, "since"))
        with self._lock:
            table = self._con.arrow(f"""
                SELECT environment, any(tenant) AS tenant,
                       sumIf(deduplicated, minute >= {start})
                         / nullIf(sumIf(offered, minute >= {start}), 0) AS ratio,
                       toDateTime64(maxIfOrNull(minute, {_ACTIVE}), 0, 'UTC') AS newest
                FROM {self._tables.table('env_minute')}
                WHERE minute <= {literal(as_utc(until, 'until'))}
                GROUP BY environment ORDER BY environment""")
        return {env: (tenant, None if ratio is None else float(ratio),
                      None if newest is None else newest.replace(tzinfo=None))
                for env, tenant, ratio, newest in zip(*(table.column(c).to_pylist() for c in (
                    "environment", "tenant", "ratio", "newest")), strict=True)}

    def tenants_of(self, environments: Iterable[str]) -> dict[str, str | None]:
        """The tenant of each environment the rollup knows, by environment."""
        with self._lock:
            table = self._con.arrow(f"""
                SELECT environment, any(tenant) AS tenant
                FROM {self._tables.table('env_minute')}
                WHERE environment IN {in_list(environments)} GROUP BY environment""")
        return dict(zip(table.column("environment").to_pylist(),
                        table.column("tenant").to_pylist(), strict=True))

    def _narrowed(self, relation: str, order: str, limit: int | None, **filters: object
                  ) -> pd.DataFrame:
        where = []
        for column, values in filters.items():
            wanted = items(values)  # type: ignore[arg-type]
            if wanted is not None:
                where.append(f"{column} IN {in_list(wanted)}")
        return self._frame(f"SELECT * FROM {relation} "
                           f"{'WHERE ' + ' AND '.join(where) if where else ''} "
                           f"ORDER BY {order} {limit_clause(limit)}")

    def logs(self, since: TimeLike | None = None, until: TimeLike | None = None,
             environments: str | Iterable[str] | None = None,
             events: str | Iterable[str] | None = None, trace_id: str | None = None,
             job_id: int | None = None, limit: int | None = None) -> pd.DataFrame:
        """Log records with ``since <= time < until``, optionally narrowed to environments,
        event names, one trace or one job; in time order."""
        raw = [] if trace_id is None else [f"TraceId = {quote(trace_id.lower())}"]
        relation = logs_relation(self._tables, optional_utc(since, "since"),
                                 optional_utc(until, "until"), raw)
        return self._narrowed(relation, "time, time_unix_nano, record_id", limit,
                              environment=environments, event_name=events,
                              job_id=None if job_id is None else int(job_id))

    def spans(self, since: TimeLike | None = None, until: TimeLike | None = None,
              environments: str | Iterable[str] | None = None,
              names: str | Iterable[str] | None = None, trace_id: str | None = None,
              job_id: int | None = None, limit: int | None = None) -> pd.DataFrame:
        """Spans with ``since <= start_time < until``, optionally narrowed; in start order."""
        raw = [] if trace_id is None else [f"TraceId = {quote(trace_id.lower())}"]
        relation = spans_relation(self._tables, optional_utc(since, "since"),
                                  optional_utc(until, "until"), raw)
        return self._narrowed(relation, "start_time, start_time_unix_nano, trace_id, span_id",
                              limit, environment=environments, name=names,
                              job_id=None if job_id is None else int(job_id))

    def span_events(self, trace_id: str) -> pd.DataFrame:
        """The events of one trace's spans."""
        return self._narrowed(span_events_relation(self._tables, trace_id),
                              "span_id, event_index", None)

    def span_links(self, trace_id: str) -> pd.DataFrame:
        """The links of one trace's spans."""
        return self._narrowed(span_links_relation(self._tables, trace_id),
                              "span_id, link_index", None)

    # -- the exact audit's queries ------------------------------------------------------

    def has_job_logs(self) -> bool:
        """Whether any job log record is stored."""
        return bool(self._scalar(
            f"SELECT count() FROM (SELECT 1 FROM {self._tables.logs} "
            f"WHERE toInt64OrNull(LogAttributes['pipeline.job.id']) IS NOT NULL LIMIT 1)"))

    def unjustified_drops(self, since: TimeLike | None = None, until: TimeLike | None = None
                          ) -> pd.DataFrame:
        """``job.deduplicated`` records no pending survivor with the identical key and a
        version not older justifies, with both jobs' keys and traces."""
        self._fresh()
        return self._frame(audit.unjustified_drops(
            self._tables, optional_utc(since, "since"), optional_utc(until, "until")),
            nullable_integers=True)

    def view_status(self, since: TimeLike | None = None, until: TimeLike | None = None, *,
                    as_of_end: bool = False) -> pd.DataFrame:
        """Keys with a job in the window whose view is behind the latest version demanded."""
        self._fresh()
        return self._frame(audit.view_status(
            self._tables, optional_utc(since, "since"), optional_utc(until, "until"),
            as_of_end=as_of_end), nullable_integers=True)

    def job_accounting(self, since: TimeLike | None = None, until: TimeLike | None = None
                       ) -> pd.DataFrame:
        """Jobs that end more than once, or end without having been created."""
        self._fresh()
        return self._frame(audit.job_accounting(
            self._tables, optional_utc(since, "since"), optional_utc(until, "until")),
            nullable_integers=True)

    def environment_accounting(self, since: TimeLike | None = None,
                               until: TimeLike | None = None) -> pd.DataFrame:
        """Per environment: jobs created, processed, failed, deduplicated and in flight."""
        self._fresh()
        return self._frame(audit.environment_accounting(
            self._tables, optional_utc(since, "since"), optional_utc(until, "until")),
            nullable_integers=True)

    def rejected(self) -> pd.DataFrame:
        """Every line or record a load could not take, with the reason."""
        return self._frame(f"SELECT file, line, item, error, raw, rejected_at "
                           f"FROM {self._tables.table('rejected')} ORDER BY file, line, item")

    # -- what the detectors' fit cache, the alert and the report read -------------------------

    def detector_fit(self, hour: TimeLike, detectors: str) -> str | None:
        """The JSON of the fit of ``detectors`` on the history ending at ``hour``, if kept."""
        with self._lock:
            return alerts.detector_fit(self._con, self._tables, as_utc(hour, "hour"), detectors)

    def put_detector_fit(self, hour: TimeLike, detectors: str, fitted: str, *,
                         forget_before: TimeLike) -> None:
        """Keep a fit's JSON, and forget the fits of hours before ``forget_before``."""
        with self._lock:
            alerts.put_detector_fit(self._writable(), self._tables, as_utc(hour, "hour"),
                                    detectors, fitted, as_utc(forget_before, "forget_before"))

    def _deployment_records(self, since: TimeLike | None, until: TimeLike | None, *,
                            inclusive: bool = False) -> str:
        """``engine.deployment`` records in the window (``until`` included with
        ``inclusive``), with their time, change and environment."""
        event = "event_name = 'engine.deployment'"
        relation = logs_relation(self._tables, optional_utc(since, "since"),
                                 None if inclusive else optional_utc(until, "until"),
                                 columns=["time", "event_name", "deployment_change",
                                          "environment"])
        bound = f" AND time <= {literal(as_utc(until, 'until'))}" if inclusive else ""
        return f"SELECT * FROM {relation} WHERE {event}{bound}"

    def last_deployment(self, until: TimeLike) -> datetime | None:
        """Time of the newest ``engine.deployment`` record at or before ``until``."""
        newest = self._scalar(f"SELECT maxOrNull(time) FROM "
                              f"({self._deployment_records(None, until, inclusive=True)})")
        return newest.replace(tzinfo=None) if isinstance(newest, datetime) else None

    def deployments(self, since: TimeLike | None = None, until: TimeLike | None = None
                    ) -> pd.DataFrame:
        """Component changes (``engine.deployment`` records) with ``since <= time < until``:
        columns ``time``, ``change``, ``environment`` (empty where it applied everywhere)."""
        return self._frame(
            "SELECT time, deployment_change AS change, coalesce(environment, '') AS environment "
            f"FROM ({self._deployment_records(since, until)}) "
            "ORDER BY time, change, environment")

    def entity_counts(self, until: TimeLike | None = None) -> pd.DataFrame:
        """Distinct source entities ingested per environment and source before ``until``
        (columns ``environment``, ``source``, ``entities``)."""
        relation = logs_relation(self._tables, None, optional_utc(until, "until"),
                                 columns=["event_name", "environment", "source", "entity"])
        return self._frame(
            "SELECT environment, source, toInt64(uniqExact(entity)) AS entities "
            f"FROM {relation} "
            "WHERE event_name IN ('entity.ingested', 'job.skipped_unchanged') "
            "GROUP BY environment, source ORDER BY environment, source")

    def _lists(self, frame: pd.DataFrame, column: str) -> pd.DataFrame:
        frame[column] = [list(v) for v in frame[column]]
        return frame

    def incidents(self, since: TimeLike | None = None, until: TimeLike | None = None
                  ) -> pd.DataFrame:
        """The alert's incidents that overlap ``[since, until)``, in the order they opened
        (the columns of :meth:`toolkit.store.Store.incidents`)."""
        return self._lists(self._frame(alerts.incidents(
            self._tables, optional_utc(since, "since"), optional_utc(until, "until"))),
            "environments")

    def alert_transitions(self, since: TimeLike | None = None, until: TimeLike | None = None
                          ) -> pd.DataFrame:
        """Every notified change of an incident in ``[since, until)``, in time order."""
        return self._lists(self._frame(alerts.transitions(
            self._tables, optional_utc(since, "since"), optional_utc(until, "until"))),
            "environments")

    # -- the alert's state (toolkit_alert_*; see alerts for how a run is kept) --------------

    def alert_last_run(self, before: TimeLike) -> datetime | None:
        """When the newest complete alert run before ``before`` ran, or ``None``."""
        with self._lock:
            return alerts.last_run(self._con, self._tables, as_utc(before, "before"))

    def alert_open_incidents(self) -> tuple[list[IncidentRow], list[MemberRow]]:
        """The firing incidents (by id) and their members, as of the last complete run."""
        with self._lock:
            return alerts.open_incidents(self._con, self._tables)

    def alert_watermarks(self) -> dict[str, datetime]:
        """Per rule, the newest evidence already accounted for by a resolved incident."""
        with self._lock:
            return alerts.watermarks(self._con, self._tables)

    def alert_counters(self) -> list[CounterRow]:
        """The wrongful-discard counters, one per environment."""
        with self._lock:
            return alerts.counters(self._con, self._tables)

    def record_alert_run(self, record: AlertRecord) -> None:
        """Keep one run's decisions: its rows first, its run row last, which makes them
        count (a run killed half-way leaves rows nobody reads)."""
        with self._lock:
            alerts.record(self._writable(), self._tables, record)

    def alert_outbox(self, destinations: Sequence[str]) -> list[OutboxItem]:
        """The payloads not yet delivered to any of ``destinations``, oldest first."""
        with self._lock:
            return alerts.outbox(self._con, self._tables, destinations)

    def mark_delivered(self, delivered: Sequence[int], failed: dict[int, str],
                       at: datetime) -> None:
        """Record which outbox items were delivered and which failed, in one statement."""
        with self._lock:
            alerts.mark(self._writable(), self._tables, delivered, failed, at)
