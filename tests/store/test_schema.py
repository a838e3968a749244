"""The versioned schema: created once, checked on every open, refused when foreign."""

from __future__ import annotations

import duckdb
import pytest

from toolkit.errors import BadInput
from toolkit.store import SCHEMA_VERSION, Store
from toolkit.store.schema import TABLES, columns


def test_a_new_store_has_every_table_and_its_version(tmp_path):
    """Opening a missing file creates the schema and records the version in meta."""
    with Store.open(tmp_path / "s.duckdb") as store:
        tables = set(store.sql("SELECT table_name FROM duckdb_tables()").table_name)
        assert set(TABLES) <= tables
        assert store.sql("SELECT value FROM meta WHERE key = 'schema_version'").value[0] == (
            str(SCHEMA_VERSION)
        )
        assert columns(store.connection, "env_minute") == [
            "minute",
            "environment",
            "tenant",
            "ingests",
            "skipped_unchanged",
            "offered",
            "deduplicated",
            "follow_ups",
            "processed",
            "failed",
            "retried",
            "backlog",
            "active_envs",
        ]


def test_another_schema_version_is_refused_in_one_line(tmp_path):
    """A store written by another schema version is refused, naming both versions."""
    path = tmp_path / "old.duckdb"
    Store.open(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(BadInput) as caught:
        Store.open(path, read_only=True)
    assert str(caught.value) == (
        f"{path}: store schema version 0, this toolkit reads version {SCHEMA_VERSION}; "
        "load the telemetry into a new store"
    )


def test_a_foreign_duckdb_file_is_refused(tmp_path):
    """A DuckDB file with other tables is not mistaken for a store (nor altered)."""
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (x INTEGER)")
    con.close()
    with pytest.raises(BadInput, match="not a toolkit store"):
        Store.open(path)


def test_read_only_open_of_a_missing_store_is_bad_input(tmp_path):
    """Reading a store that does not exist says so instead of creating it."""
    with pytest.raises(BadInput, match="no such store"):
        Store.open(tmp_path / "missing.duckdb", read_only=True)
