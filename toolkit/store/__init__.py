"""The DuckDB store: schema, loaders, SDK exporters, read access, rollup, Parquet export.

Everything downstream (detectors, audit, alert, report, notebooks) reads telemetry through
:class:`Store`; everything upstream writes it with :meth:`Store.load` (OTLP JSON files from
any producer), the SDK exporters, or a spool directory folded in by short-lived loads.
Tables and columns are documented in ``docs/store.md``.
"""

from toolkit.store.api import Store, TimeLike
from toolkit.store.connect import StoreLocked
from toolkit.store.exporters import DuckDBLogRecordExporter, DuckDBSpanExporter
from toolkit.store.otlp_json import LoadResult, Rejection
from toolkit.store.rollup import RollupRefresh
from toolkit.store.schema import SCHEMA_VERSION
from toolkit.store.spool import SpoolWriter, fold_spool
from toolkit.store.values import decode_attributes, decode_value

__all__ = [
    "SCHEMA_VERSION",
    "DuckDBLogRecordExporter",
    "DuckDBSpanExporter",
    "LoadResult",
    "Rejection",
    "RollupRefresh",
    "SpoolWriter",
    "Store",
    "StoreLocked",
    "TimeLike",
    "decode_attributes",
    "decode_value",
    "fold_spool",
]
