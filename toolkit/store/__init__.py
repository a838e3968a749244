"""The store: schema, the OTLP JSON loader, spool folding, read access, rollup, Parquet.

Everything downstream (detectors, audit, alert, report, notebooks) reads telemetry through
:class:`Store`; everything upstream reaches it as OTLP JSON files, loaded with
:meth:`Store.load` or folded in from a spool directory with :func:`fold_spool`. Two backends
implement :class:`Store`: :class:`DuckDBStore` (the default, one file) and
``toolkit.store.clickhouse.ClickHouseStore`` (the Collector's ClickHouse tables, imported only
when an address asks for it). The store imports no OpenTelemetry. Tables and columns are
documented in ``docs/store.md`` and ``docs/scale.md``.
"""

from toolkit.otlp.decode.values import decode_attributes, decode_value
from toolkit.store.alerting import (
    AlertRecord,
    CounterRow,
    IncidentRow,
    MemberRow,
    OutboxItem,
    TransitionRow,
)
from toolkit.store.api import LOAD_MEMORY, DuckDBStore
from toolkit.store.base import Store, TimeLike, is_clickhouse
from toolkit.store.connect import StoreLocked
from toolkit.store.rollup import RollupRefresh
from toolkit.store.schema import SCHEMA_VERSION

__all__ = [
    "LOAD_MEMORY",
    "SCHEMA_VERSION",
    "AlertRecord",
    "CounterRow",
    "DuckDBStore",
    "IncidentRow",
    "LoadResult",
    "MemberRow",
    "OutboxItem",
    "Rejection",
    "RollupRefresh",
    "Store",
    "StoreLocked",
    "TimeLike",
    "TransitionRow",
    "decode_attributes",
    "decode_value",
    "fold_spool",
    "is_clickhouse",
]


def __getattr__(name: str) -> object:
    """The loading side and ``ClickHouseStore`` on first use only (PEP 562): they load
    pyarrow, which a read (the cron alert without a spool) never needs, and the ClickHouse
    drivers are optional extras, which a DuckDB user never needs."""
    if name in ("LoadResult", "Rejection"):
        from toolkit.store import load

        return getattr(load, name)
    if name == "fold_spool":
        from toolkit.store.spool import fold_spool

        return fold_spool
    if name == "ClickHouseStore":
        from toolkit.store.clickhouse.store import ClickHouseStore

        return ClickHouseStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
