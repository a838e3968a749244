"""The versioned schema: created once, checked on every open, refused when foreign."""

from __future__ import annotations

import duckdb
import pandas as pd
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


def _version_1_store(path, source: Store) -> None:
    """A store as version 1 wrote it (its DDL, kept in tests/store/data), holding the
    telemetry of ``source`` and some alert state, with version 1's pickled fit cache."""
    from pathlib import Path

    ddl = (Path(__file__).parent / "data" / "schema_v1.sql").read_text()
    con = duckdb.connect(str(path))
    con.execute(ddl)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute(f"ATTACH '{source.path}' AS src (READ_ONLY)")
    for table in ("spans", "span_events", "span_links", "logs", "env_minute", "rejected"):
        con.execute(f"INSERT INTO {table} SELECT * FROM src.{table}")
    con.execute("INSERT INTO meta SELECT * FROM src.meta WHERE key LIKE 'rollup_%'")
    con.execute("""INSERT INTO alert_state VALUES ('wrongful_discards', 'acme-prod',
        'i1', 'firing', 'page', 's', '2024-05-07 12:00', '2024-05-07 12:01',
        '2024-05-07 12:05', '2024-05-07 12:01', NULL, '{}')""")
    con.execute("""INSERT INTO alert_state VALUES ('wrongful_discards', 'acme-dev',
        'i2', 'firing', 'page', 's2', '2024-05-07 12:02', '2024-05-07 12:03',
        '2024-05-07 12:05', '2024-05-07 12:03', NULL, '{}')""")
    con.execute("""INSERT INTO alert_history VALUES ('2024-05-07 12:01', 'wrongful_discards',
        'acme-prod', 'i1', 'fired', 'page', 's', '2024-05-07 12:00')""")
    con.execute("""INSERT INTO alert_outbox (created_at, destination, notification)
        VALUES ('2024-05-07 12:01', 'slack:http://127.0.0.1/x', '{"transition": "fired",
        "severity": "page", "rule": "wrongful_discards", "environment": "acme-prod",
        "summary": "<!channel> lost"}')""")
    con.execute("INSERT INTO alert_fits VALUES ('2024-05-07 12:00', 'tail', 'x'::BLOB)")
    con.close()


def test_a_version_1_store_is_migrated_in_place_and_reads_the_same(tmp_path):
    """Opening a schema-1 store migrates it (alert state kept, the pickle cache dropped) and
    every read gives what the same telemetry gives in a new store."""
    from tests.store.otlp import T0, jsonl, log_record, logs_request, span, traces_request

    records = [log_record(T0 + 7 * i, env, event, pipeline__job__id=i)
               for i in range(200)
               for env, event in [(("acme-prod", "acme-dev")[i % 2],
                                   ("job.created", "job.deduplicated", "job.processed")[i % 3])]]
    telemetry = tmp_path / "telemetry.jsonl"
    telemetry.write_text(jsonl(logs_request(records),
                               traces_request(span(1, i, start=T0 + i) for i in range(1, 40))))
    fresh = tmp_path / "fresh.duckdb"
    with Store.open(fresh) as store:
        store.load(telemetry)
    old = tmp_path / "old.duckdb"
    with Store.open(fresh, read_only=True) as source:
        _version_1_store(old, source)
    with Store.open(old, read_only=True) as migrated, Store.open(fresh, read_only=True) as new:
        assert migrated.sql("SELECT value FROM meta WHERE key = 'schema_version'").value[0] == (
            str(SCHEMA_VERSION))
        tables = set(migrated.sql("SELECT table_name FROM duckdb_tables()").table_name)
        assert set(TABLES) <= tables and "alert_fits" not in tables
        pd.testing.assert_frame_equal(migrated.rollup(), new.rollup())
        pd.testing.assert_frame_equal(migrated.logs(limit=500), new.logs(limit=500))
        pd.testing.assert_frame_equal(migrated.spans(limit=500), new.spans(limit=500))
        [incident] = migrated.incidents().to_dict("records")
        assert (incident["incident"], incident["rule"], incident["status"],
                incident["environments"], incident["pages"]) == (
            "wrongful_discards-20240507T1201", "wrongful_discards", "firing",
            ["acme-prod", "acme-dev"], 1)
        assert migrated.alert_transitions()[["incident", "transition"]].values.tolist() == [
            ["wrongful_discards-20240507T1201", "opened"]]
        assert migrated.sql("SELECT payload FROM alert_outbox").payload[0] == (
            '{"text":"[FIRING] page wrongful_discards acme-prod: &lt;!channel&gt; lost"}')
