"""Steps that bring an older store up to the current schema version, in place.

Each step takes a store of version ``n`` to ``n + 1`` inside the caller's transaction, so a
migration that fails leaves the store as it was. Steps never touch telemetry rows: they add
tables, move bookkeeping, and drop what the toolkit no longer trusts.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

__all__ = ["migrate"]


def _v1_to_v2(con: duckdb.DuckDBPyConnection, ddl: str) -> None:
    """Version 2 versions the alert tables (version 1's ``toolkit alert`` created them on first
    use, in the same shape, so existing ones are kept), adds the spool cursors and a JSON
    detector-fit cache, and drops version 1's pickled fit cache: loading a pickle from a file
    other processes write can run arbitrary code."""
    con.execute("DROP TABLE IF EXISTS alert_fits")
    con.execute(ddl)


_STEPS: dict[int, Callable[[duckdb.DuckDBPyConnection, str], None]] = {1: _v1_to_v2}


def migrate(con: duckdb.DuckDBPyConnection, found: int, target: int, ddl: str) -> None:
    """Run every step from version ``found`` to ``target``; ``ddl`` is the whole schema of
    ``target`` (``CREATE ... IF NOT EXISTS`` throughout), which steps use to add tables."""
    for version in range(found, target):
        _STEPS[version](con, ddl)
