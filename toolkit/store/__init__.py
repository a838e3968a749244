"""The DuckDB store: schema, the OTLP JSON loader, spool folding, read access, rollup, Parquet.

Everything downstream (detectors, audit, alert, report, notebooks) reads telemetry through
:class:`Store`; everything upstream reaches it as OTLP JSON files, loaded with
:meth:`Store.load` or folded in from a spool directory with :func:`fold_spool`. The store
imports no OpenTelemetry. Tables and columns are documented in ``docs/store.md``.
"""

from toolkit.otlp.decode.values import decode_attributes, decode_value
from toolkit.store.api import LOAD_MEMORY, Store, TimeLike
from toolkit.store.connect import StoreLocked
from toolkit.store.load import LoadResult, Rejection
from toolkit.store.rollup import RollupRefresh
from toolkit.store.schema import SCHEMA_VERSION
from toolkit.store.spool import fold_spool

__all__ = [
    "LOAD_MEMORY",
    "SCHEMA_VERSION",
    "LoadResult",
    "Rejection",
    "RollupRefresh",
    "Store",
    "StoreLocked",
    "TimeLike",
    "decode_attributes",
    "decode_value",
    "fold_spool",
]
