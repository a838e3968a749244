"""The same run through the DuckDB SDK exporters and through OTLP JSON lines + load gives
identical rows."""

import pandas as pd

from toolkit.store import DuckDBLogRecordExporter, DuckDBSpanExporter, Store
from toolkit.telemetry import Telemetry
from toolkit.workload import Topology, run_scenario

TENANTS = Topology(tuple(t for t in Topology().tenants if t.name in ("acme", "wayne")))
SPAN_COLS = ["trace_id", "span_id", "parent_span_id", "name", "kind", "start_time_unix_nano",
             "end_time_unix_nano", "status_code", "environment", "entity", "schema", "job_id",
             "decision", "survivor_job_id", "flags", "attributes"]
LOG_COLS = ["record_id", "time_unix_nano", "trace_id", "span_id", "event_name", "environment",
            "entity", "schema", "job_id", "version", "decision", "survivor_job_id",
            "survivor_environment", "survivor_state", "survivor_version", "attributes"]


def test_direct_export_and_file_then_load_give_identical_rows(tmp_path):
    """Counts and content of spans, links and logs match between the two paths."""
    direct = Store.open(tmp_path / "direct.duckdb")
    with Telemetry.to_directory(tmp_path / "otlp", service_instance_id="run-1",
                                span_exporters=[DuckDBSpanExporter(direct)],
                                log_exporters=[DuckDBLogRecordExporter(direct)]) as telemetry:
        run_scenario("may7", days=1, observer=telemetry.observer, topology=TENANTS)
    loaded = Store.open(tmp_path / "loaded.duckdb")
    result = loaded.load(tmp_path / "otlp")
    assert result.rejected == 0 and result.loaded > 1000
    for table, cols, key in (("spans", SPAN_COLS, ["trace_id", "span_id"]),
                             ("logs", LOG_COLS, ["record_id"])):
        a = direct.sql(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {', '.join(key)}")
        b = loaded.sql(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {', '.join(key)}")
        assert len(a) == len(b) > 0, table
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    links = "SELECT * EXCLUDE (attributes) FROM span_links ORDER BY ALL"
    pd.testing.assert_frame_equal(direct.sql(links), loaded.sql(links), check_dtype=False)
    direct.refresh_rollup()
    pd.testing.assert_frame_equal(direct.rollup(), loaded.rollup(), check_dtype=False)
    direct.close()
    loaded.close()
