"""The scale path: the store as hive-partitioned Parquet, and back behind the same API.

``export_parquet`` writes a snapshot of every table: telemetry tables partitioned by
``date`` and ``environment`` (``spans/date=2024-05-07/environment=acme-prod/*.parquet``;
events and links follow their span), the small bookkeeping tables as single files, and
``_toolkit.json`` naming the schema version. ``open_tree`` opens such a tree, on a local
disk or (with DuckDB's ``httpfs`` extension) on object storage, as an in-memory DuckDB
database whose tables are views over ``read_parquet(..., hive_partitioning = true)`` in the
store's column order and types, so every read of the store API and every SQL query runs
unchanged, and filters on ``environment`` or time prune whole directories.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from toolkit.errors import BadInput
from toolkit.store.schema import SCHEMA_VERSION, TABLES, TELEMETRY_TABLES, ensure_schema

__all__ = ["MANIFEST", "export_parquet", "is_tree", "open_tree"]

#: The file at the root of a tree that says what it is.
MANIFEST = "_toolkit.json"

_PARTITIONED_SOURCE = {
    "spans": "SELECT *, CAST(start_time AS DATE) AS date FROM spans",
    "logs": "SELECT *, CAST(time AS DATE) AS date FROM logs",
    "env_minute": "SELECT *, CAST(minute AS DATE) AS date FROM env_minute",
    # Events and links live in their span's partition (they have no environment of their own).
    "span_events": """
        SELECT x.*, s.date, s.environment FROM span_events x LEFT JOIN (
            SELECT trace_id, span_id, any_value(CAST(start_time AS DATE)) AS date,
                   any_value(environment) AS environment
            FROM spans GROUP BY trace_id, span_id) s USING (trace_id, span_id)""",
    "span_links": """
        SELECT x.*, s.date, s.environment FROM span_links x LEFT JOIN (
            SELECT trace_id, span_id, any_value(CAST(start_time AS DATE)) AS date,
                   any_value(environment) AS environment
            FROM spans GROUP BY trace_id, span_id) s USING (trace_id, span_id)""",
}


def _quote(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def export_parquet(con: duckdb.DuckDBPyConnection, directory: str | Path) -> dict[str, int]:
    """Write every table of the store under ``directory`` (replacing an earlier export).

    Returns:
        Rows written per table.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for table in TABLES:
        count = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        written[table] = int(count)
        if table in TELEMETRY_TABLES:
            target = root / table
            con.execute(
                f"COPY ({_PARTITIONED_SOURCE[table]}) TO {_quote(str(target))} "
                "(FORMAT parquet, PARTITION_BY (date, environment), OVERWRITE true)"
            )
        else:
            con.execute(
                f"COPY {table} TO {_quote(str(root / f'{table}.parquet'))} (FORMAT parquet)"
            )
    (root / MANIFEST).write_text(
        json.dumps({"schema_version": SCHEMA_VERSION, "rows": written}, indent=2) + "\n",
        encoding="utf-8",
    )
    return written


def is_tree(path: str | Path) -> bool:
    """Whether ``path`` is an exported Parquet tree (a directory or URL with a manifest)."""
    text = str(path)
    return "://" in text or (Path(text).is_dir() and (Path(text) / MANIFEST).exists())


def _manifest(root: str) -> dict[str, object]:
    if "://" in root:
        return {"schema_version": SCHEMA_VERSION}
    try:
        manifest = json.loads((Path(root) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"{root}: not a toolkit Parquet tree ({MANIFEST}: {exc})") from exc
    if not isinstance(manifest, dict):
        raise BadInput(f"{root}/{MANIFEST}: not a JSON object")
    return manifest


def _has_files(con: duckdb.DuckDBPyConnection, pattern: str) -> bool:
    rows = con.execute(f"SELECT count(*) FROM glob({_quote(pattern)})").fetchall()
    return bool(rows[0][0])


def open_tree(root: str | Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose store tables read the Parquet tree at ``root``.

    Raises:
        BadInput: ``root`` is not a tree of this schema version.
    """
    base = str(root).rstrip("/")
    manifest = _manifest(base)
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise BadInput(
            f"{base}: Parquet tree of schema version {manifest.get('schema_version')}, "
            f"this toolkit reads version {SCHEMA_VERSION}"
        )
    con = duckdb.connect(":memory:")
    try:
        _create_views(con, base)
    except duckdb.Error as exc:
        con.close()
        raise BadInput(f"{base}: cannot read the Parquet tree: {exc}") from exc
    return con


def _create_views(con: duckdb.DuckDBPyConnection, base: str) -> None:
    ensure_schema(con, base, writable=True)
    for table in TABLES:
        cols = con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE table_name = ? AND schema_name = 'main' ORDER BY column_index",
            [table],
        ).fetchall()
        select = ", ".join(f'CAST("{name}" AS {kind}) AS "{name}"' for name, kind in cols)
        if table in TELEMETRY_TABLES:
            pattern = f"{base}/{table}/**/*.parquet"
            source = (
                f"read_parquet({_quote(pattern)}, hive_partitioning = true, "
                "hive_types = {'date': DATE, 'environment': VARCHAR}, union_by_name = true)"
            )
        else:
            pattern = f"{base}/{table}.parquet"
            source = f"read_parquet({_quote(pattern)})"
        if not _has_files(con, pattern):
            continue  # the empty table from the schema stands in
        con.execute(f"DROP TABLE {table}")
        con.execute(f"CREATE VIEW {table} AS SELECT {select} FROM {source}")
