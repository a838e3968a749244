"""ClickHouse results as the DataFrames the DuckDB store returns, dtype for dtype.

The DuckDB :class:`toolkit.store.Store` hands out ``DuckDBPyConnection.df()`` frames, whose
dtypes follow DuckDB's own conversion (``datetime64[us]`` for timestamps, pandas strings,
``int64`` or ``Int64`` for integers depending on the data). Rather than re-implementing those
rules, a ClickHouse result is normalised to the Arrow types DuckDB would have produced
(naive microsecond timestamps, plain strings, signed integers) and converted by DuckDB
itself, so the same data gives the same frame from either backend.
"""

from __future__ import annotations

import threading

import duckdb
import pandas as pd
import pyarrow as pa

__all__ = ["Converter"]


def _normalise(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _normalise(column.cast(kind.value_type))
    if pa.types.is_timestamp(kind):
        return column.cast(pa.timestamp("us"))
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return column.cast(pa.string())
    if pa.types.is_large_string(kind):
        return column.cast(pa.string())
    if pa.types.is_unsigned_integer(kind):
        return column.cast(pa.int64())
    return column


class Converter:
    """A private in-memory DuckDB that turns Arrow results into the store's frames."""

    def __init__(self) -> None:
        self._con = duckdb.connect(":memory:")
        self._lock = threading.Lock()

    def frame(self, table: pa.Table, *, nullable_integers: bool = False) -> pd.DataFrame:
        """``table`` as DuckDB's ``.df()`` would give it; with ``nullable_integers`` every
        integer column is pandas ``Int64`` (what the audit queries return)."""
        table = pa.table({name: _normalise(table.column(name)) for name in table.column_names})
        with self._lock:
            self._con.register("_t_result", table)
            try:
                result = self._con.execute("SELECT * FROM _t_result")
                integers = [name for name, kind, *_ in result.description or ()
                            if str(kind) in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT")]
                frame = result.df()
            finally:
                self._con.unregister("_t_result")
        if nullable_integers and integers:
            frame = frame.astype({name: "Int64" for name in integers})
        return frame

    def close(self) -> None:
        self._con.close()
