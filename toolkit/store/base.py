"""``Store``: the one API notebooks, the CLI and the analyses use to reach the data, whatever
holds it.

Two backends implement it: :class:`toolkit.store.api.DuckDBStore` (a DuckDB file, ``:memory:``
or an exported Parquet tree) and :class:`toolkit.store.clickhouse.ClickHouseStore` (the
OpenTelemetry Collector's tables in a ClickHouse server, cluster or embedded ``chdb``).
:meth:`Store.open` picks the backend from the address, so ``--db`` and ``$TOOLKIT_DB`` take
any of them. Reads return pandas DataFrames with the same columns, dtypes and order from
either backend; what differs is documented in ``docs/scale.md``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from toolkit.errors import BadInput

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from toolkit.store.alerting import AlertRecord, CounterRow, IncidentRow, MemberRow, OutboxItem
    from toolkit.store.load import LoadResult
    from toolkit.store.rollup import RollupRefresh

__all__ = [
    "CLICKHOUSE_SCHEMES",
    "Store",
    "TimeLike",
    "as_utc",
    "is_clickhouse",
    "items",
    "limit_clause",
    "optional_utc",
]

#: Accepted wherever a time bound is (a ``pandas.Timestamp`` is a ``datetime``): naive
#: values are UTC, aware ones are converted.
TimeLike = datetime | str

#: Address prefixes of a ClickHouse store (everything else is a DuckDB file or Parquet tree).
CLICKHOUSE_SCHEMES = ("clickhouse://", "clickhouses://", "chdb:")

#: Seconds :meth:`Store.open` keeps retrying while another process holds a DuckDB file.
OPEN_TIMEOUT = 30.0


def is_clickhouse(target: str | Path) -> bool:
    """Whether ``target`` names a ClickHouse store (rather than a DuckDB file)."""
    return str(target).startswith(CLICKHOUSE_SCHEMES)


def as_utc(value: TimeLike, what: str) -> datetime:
    """``value`` as a naive UTC datetime.

    Raises:
        BadInput: ``value`` is not a time (the message names ``what`` it was for).
    """
    if type(value) is datetime:  # the common case, without pandas (the cron alert's path)
        return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    import pandas as pd  # text, numpy and pandas times

    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise BadInput(f"{what} {value!r} is not a time") from exc
    if stamp is pd.NaT:
        raise BadInput(f"{what} {value!r} is not a time")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(UTC).tz_localize(None)
    return stamp.to_pydatetime()


def optional_utc(value: TimeLike | None, what: str) -> datetime | None:
    """:func:`as_utc`, passing ``None`` (an open bound) through."""
    return None if value is None else as_utc(value, what)


def limit_clause(limit: int | None) -> str:
    """``LIMIT n`` (empty for no limit), in either backend's SQL."""
    if limit is None:
        return ""
    if limit < 0:
        raise BadInput(f"limit {limit} is negative")
    return f"LIMIT {int(limit)}"


def items(values: str | Iterable[Any] | None) -> list[Any] | None:
    """A filter's values as a list (one string or integer is one value; ``None``: no filter)."""
    if values is None:
        return None
    return [values] if isinstance(values, str | int) else list(values)


class Store(ABC):
    """A toolkit store. Open with :meth:`open`; use as a context manager to close it.

    Example:
        >>> with Store.open("toolkit.duckdb", read_only=True) as store:  # doctest: +SKIP
        ...     store.rollup(since="2024-05-07 10:00", environments=["acme-prod"])
    """

    # -- opening and closing ------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False,
             timeout: float = OPEN_TIMEOUT) -> Self:
        """Open the store at ``path``, whichever backend holds it.

        Args:
            path: A DuckDB file (created if missing and not ``read_only``), ``":memory:"``,
                an exported Parquet tree (always read-only),
                ``clickhouse://user:pass@host:port/database`` (``clickhouses://`` for TLS) or
                ``chdb:PATH`` (embedded ClickHouse): see ``docs/scale.md``.
            read_only: Open for reading; many read-only processes may share a DuckDB file.
            timeout: Seconds to keep retrying while another process holds a DuckDB file.

        Raises:
            BadInput: not a toolkit store, one of another schema version, a malformed
                address, an unreachable server, or missing tables.
            StoreLocked: another process kept the DuckDB file locked for ``timeout`` seconds.
        """
        name = str(path)
        backend: type[Store]
        if is_clickhouse(name):  # its drivers are optional extras: imported only when asked
            from toolkit.store import ClickHouseStore

            backend = ClickHouseStore
        else:
            from toolkit.store import DuckDBStore

            backend = DuckDBStore
        if not issubclass(backend, cls):
            raise BadInput(f"{name}: {cls.__name__} does not open this kind of address")
        return backend._open(name, read_only=read_only, timeout=timeout)  # type: ignore[return-value]

    @classmethod
    @abstractmethod
    def _open(cls, path: str, *, read_only: bool, timeout: float) -> Store:
        """Open ``path``, already known to be this backend's address."""

    @abstractmethod
    def close(self) -> None:
        """Release the store (a DuckDB file's lock, a server connection)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    @abstractmethod
    def path(self) -> str:
        """Where the store lives (a ClickHouse address without its password)."""

    @property
    @abstractmethod
    def read_only(self) -> bool:
        """Whether writes are refused."""

    # -- writing ------------------------------------------------------------------------

    @abstractmethod
    def load(self, *paths: str | Path, refresh: bool = True) -> LoadResult:
        """Load OTLP JSON files or directories of them; loading a file again adds nothing.
        Bad lines and records are counted, named in the result and kept (:meth:`rejected`).

        Args:
            paths: Files (JSON lines, one pretty-printed request, ``.gz``) or directories.
            refresh: Bring the ``env_minute`` rollup up to date afterwards.

        Raises:
            BadInput: a path does not exist (then nothing is loaded).
        """

    @abstractmethod
    def refresh_rollup(self) -> RollupRefresh:
        """Recompute the minutes of ``env_minute`` that changed (cheap when nothing did)."""

    @abstractmethod
    def rebuild_rollup(self) -> RollupRefresh:
        """Recompute all of ``env_minute`` from the log records."""

    @abstractmethod
    def meta(self, key: str) -> str | None:
        """The value of ``key`` in the store's key/value bookkeeping, or ``None``."""

    @abstractmethod
    def set_meta(self, key: str, value: str | None) -> None:
        """Set (or, with ``None``, delete) ``key`` in the store's bookkeeping."""

    # -- reading ------------------------------------------------------------------------

    @abstractmethod
    def sql(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None
            ) -> pd.DataFrame:
        """Any SQL over the store's tables, as a DataFrame, in the backend's own dialect and
        parameter style (DuckDB: ``?`` or ``$name``; ClickHouse: ``{name:Type}`` with a
        dict)."""

    @abstractmethod
    def rollup(self, since: TimeLike | None = None, until: TimeLike | None = None,
               environments: str | Iterable[str] | None = None) -> pd.DataFrame:
        """``env_minute`` rows with ``since <= minute < until`` (refreshed first when the
        store is writable and new logs arrived since the last refresh)."""

    def rollup_columns(self, since: TimeLike | None = None, until: TimeLike | None = None
                       ) -> dict[str, np.ndarray]:
        """:meth:`rollup` as one numpy array per column (times as naive UTC
        ``datetime64``), the form the detectors lay out: a backend that can, reads it without
        building a DataFrame, which keeps pandas off the cron alert's path."""
        frame = self.rollup(since, until)
        columns = {}
        for name in frame.columns:
            column = frame[name]
            if getattr(column.dtype, "tz", None) is not None:
                column = column.dt.tz_convert("UTC").dt.tz_localize(None)
            columns[str(name)] = column.to_numpy()
        return columns

    @abstractmethod
    def rollup_minutes(self, since: TimeLike, until: TimeLike) -> int:
        """How many distinct minutes in ``[since, until)`` have ``env_minute`` rows."""

    @abstractmethod
    def rollup_range(self) -> tuple[datetime, datetime] | None:
        """First minute of ``env_minute`` and the end of its last minute; ``None`` if empty."""

    @abstractmethod
    def logs(self, since: TimeLike | None = None, until: TimeLike | None = None,
             environments: str | Iterable[str] | None = None,
             events: str | Iterable[str] | None = None, trace_id: str | None = None,
             job_id: int | None = None, limit: int | None = None) -> pd.DataFrame:
        """Log records with ``since <= time < until``, optionally narrowed to environments,
        event names, one trace or one job; in time order."""

    @abstractmethod
    def spans(self, since: TimeLike | None = None, until: TimeLike | None = None,
              environments: str | Iterable[str] | None = None,
              names: str | Iterable[str] | None = None, trace_id: str | None = None,
              job_id: int | None = None, limit: int | None = None) -> pd.DataFrame:
        """Spans with ``since <= start_time < until``, optionally narrowed; in start order."""

    def trace(self, trace_id: str) -> pd.DataFrame:
        """Every span of one trace, parents before children where their starts allow."""
        return self.spans(trace_id=trace_id)

    @abstractmethod
    def span_events(self, trace_id: str) -> pd.DataFrame:
        """The events of one trace's spans."""

    @abstractmethod
    def span_links(self, trace_id: str) -> pd.DataFrame:
        """The links of one trace's spans (to the producer spans they continue)."""

    @abstractmethod
    def rejected(self) -> pd.DataFrame:
        """Every line or record a load could not take, with the reason."""

    # -- what the detectors, the alert's watchdog and the textfile read ---------------------

    @abstractmethod
    def detector_fit(self, hour: TimeLike, detectors: str) -> str | None:
        """The JSON of the fit of ``detectors`` on the history ending at ``hour``, if kept."""

    @abstractmethod
    def put_detector_fit(self, hour: TimeLike, detectors: str, fitted: str, *,
                         forget_before: TimeLike) -> None:
        """Keep a fit's JSON, and forget the fits of hours before ``forget_before``."""

    @abstractmethod
    def newest_activity(self, until: TimeLike) -> datetime | None:
        """Start of the newest minute at or before ``until`` in which anything happened
        (an ingest, a job offered, processed, failed or retried), or ``None``."""

    @abstractmethod
    def environment_stats(self, since: TimeLike, until: TimeLike
                          ) -> dict[str, tuple[str | None, float | None, datetime | None]]:
        """Per environment with rollup rows up to ``until``: its tenant, its dedup ratio over
        ``[since, until]`` (``None`` when nothing was offered) and its newest active minute."""

    @abstractmethod
    def tenants_of(self, environments: Iterable[str]) -> dict[str, str | None]:
        """The tenant of each environment the rollup knows, by environment."""

    @abstractmethod
    def last_deployment(self, until: TimeLike) -> datetime | None:
        """Time of the newest ``engine.deployment`` record at or before ``until``."""

    # -- the exact audit's queries (toolkit.detect.audit composes them into rules) -----------

    @abstractmethod
    def has_job_logs(self) -> bool:
        """Whether any job log record is stored (the audit has nothing to judge otherwise)."""

    @abstractmethod
    def unjustified_drops(self, since: TimeLike | None = None, until: TimeLike | None = None
                          ) -> pd.DataFrame:
        """``job.deduplicated`` records that no pending survivor with the identical key and a
        version not older justifies, with both jobs' keys and traces (one row each)."""

    def unjustified_drop_records(self, since: TimeLike | None = None,
                                 until: TimeLike | None = None) -> list[dict[str, Any]]:
        """:meth:`unjustified_drops` as plain records (missing values ``None``, times naive
        UTC ``datetime``), in the same order: what the cron alert needs, without pandas."""
        frame = self.unjustified_drops(since, until)
        records = []
        for row in frame.astype(object).where(frame.notna(), None).to_dict("records"):
            records.append({k: as_utc(v, k) if k == "time" else v for k, v in row.items()})
        return records

    @abstractmethod
    def view_status(self, since: TimeLike | None = None, until: TimeLike | None = None, *,
                    as_of_end: bool = False) -> pd.DataFrame:
        """Keys with a job in the window whose view is behind the latest version demanded,
        as of the window's end (or the data's end with ``as_of_end``)."""

    @abstractmethod
    def job_accounting(self, since: TimeLike | None = None, until: TimeLike | None = None
                       ) -> pd.DataFrame:
        """Jobs that end more than once, or end without having been created."""

    @abstractmethod
    def environment_accounting(self, since: TimeLike | None = None,
                               until: TimeLike | None = None) -> pd.DataFrame:
        """Per environment: jobs created, processed, failed, deduplicated and in flight."""

    # -- what the report reads ------------------------------------------------------------

    @abstractmethod
    def incidents(self, since: TimeLike | None = None, until: TimeLike | None = None
                  ) -> pd.DataFrame:
        """The alert's incidents that overlap ``[since, until)``, in the order they opened.

        Columns: ``incident`` (id), ``rule``, ``severity`` (highest reached), ``status``
        (firing|resolved), ``opened_at``, ``resolved_at``, ``environments`` (list of str, in
        the order they joined), ``notifications``, ``pages``, ``summary``. Times naive UTC.
        """

    @abstractmethod
    def alert_transitions(self, since: TimeLike | None = None, until: TimeLike | None = None
                          ) -> pd.DataFrame:
        """Every notified change of an incident in ``[since, until)``, in time order.

        Columns: ``occurred_at``, ``incident``, ``transition`` (opened|updated|escalated|
        reminded|resolved), ``severity``, ``environments`` (list of str: the incident's, as
        of the change), ``summary``. Times naive UTC.
        """

    @abstractmethod
    def deployments(self, since: TimeLike | None = None, until: TimeLike | None = None
                    ) -> pd.DataFrame:
        """Component changes (``engine.deployment`` records) with ``since <= time < until``:
        columns ``time``, ``change``, ``environment`` (empty where it applied everywhere), in
        time order."""

    @abstractmethod
    def entity_counts(self, until: TimeLike | None = None) -> pd.DataFrame:
        """Distinct source entities ingested per environment and source before ``until``
        (columns ``environment``, ``source``, ``entities``)."""

    # -- the alert's state (toolkit.alert.state turns incidents into these rows) -------------

    @abstractmethod
    def alert_last_run(self, before: TimeLike) -> datetime | None:
        """When the newest alert run before ``before`` ran, or ``None``."""

    @abstractmethod
    def alert_open_incidents(self) -> tuple[list[IncidentRow], list[MemberRow]]:
        """The firing incidents (by id) and their members."""

    @abstractmethod
    def alert_watermarks(self) -> dict[str, datetime]:
        """Per rule, the newest evidence already accounted for by a resolved incident."""

    @abstractmethod
    def alert_counters(self) -> list[CounterRow]:
        """The wrongful-discard counters, one per environment."""

    @abstractmethod
    def record_alert_run(self, record: AlertRecord) -> None:
        """Keep everything one alert run decided, all or nothing: a run killed half-way
        leaves the state of the run before (see each backend for how)."""

    @abstractmethod
    def alert_outbox(self, destinations: Sequence[str]) -> list[OutboxItem]:
        """The payloads not yet delivered to any of ``destinations``, oldest first."""

    @abstractmethod
    def mark_delivered(self, delivered: Sequence[int], failed: dict[int, str],
                       at: datetime) -> None:
        """Record which outbox items were delivered and which failed (and why), in one go.
        Delivered Alertmanager snapshots older than a day are history nobody needs."""
