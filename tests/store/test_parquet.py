"""The scale path: Parquet export by date and environment, read back with the same API."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.store.otlp import T0, jsonl, log_record, logs_request, span, traces_request
from toolkit.errors import BadInput
from toolkit.store import SCHEMA_VERSION, Store

DAY = 86_400


@pytest.fixture
def filled(store, write):
    """Two days, two environments, spans with events and links, logs and a rollup."""
    records = [
        log_record(T0 + day * DAY + t, env, event, pipeline__job__id=t)
        for day in (0, 1)
        for env in ("acme-prod", "acme-dev")
        for t, event in ((1, "job.created"), (2, "job.enqueued"), (70, "job.dequeued"))
    ]
    spans = [
        span(
            1,
            1,
            start=T0,
            attributes=[{"key": "pipeline.environment", "value": {"stringValue": "acme-prod"}}],
            events=[{"timeUnixNano": str(T0 * 10**9), "name": "e"}],
            links=[{"traceId": f"{2:032x}", "spanId": f"{2:016x}"}],
        ),
        span(2, 2, start=T0 + DAY),
        span(3, 3, start=0) | {"startTimeUnixNano": "0"},
    ]
    store.load(write("f.jsonl", jsonl(logs_request(records), traces_request(spans))))
    return store


def test_export_partitions_by_date_and_environment(filled, tmp_path):
    """Directories are hive partitions; spans without a start or environment still export."""
    written = filled.export_parquet(tmp_path / "tree")
    assert written["logs"] == 12 and written["spans"] == 3 and written["span_events"] == 1
    partitions = sorted(
        str(p.parent.relative_to(tmp_path / "tree" / "logs"))
        for p in (tmp_path / "tree" / "logs").rglob("*.parquet")
    )
    assert partitions == [
        "date=2024-05-07/environment=acme-dev",
        "date=2024-05-07/environment=acme-prod",
        "date=2024-05-08/environment=acme-dev",
        "date=2024-05-08/environment=acme-prod",
    ]
    manifest = json.loads((tmp_path / "tree" / "_toolkit.json").read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION


def test_the_tree_reads_back_identical_frames(filled, tmp_path):
    """Every read of the API gives the same DataFrame from the file and from the tree."""
    filled.export_parquet(tmp_path / "tree")
    trace = filled.spans().trace_id[0]
    with Store.open(tmp_path / "tree") as tree:
        assert tree.read_only
        for read in (
            lambda s: s.spans(),
            lambda s: s.logs(),
            lambda s: s.rollup(),
            lambda s: s.trace(trace),
            lambda s: s.span_events(trace),
            lambda s: s.span_links(trace),
            lambda s: s.rejected(),
            lambda s: s.logs(environments=["acme-dev"], since="2024-05-08"),
        ):
            pd.testing.assert_frame_equal(read(tree), read(filled))
        assert tree.sql("SELECT count(*) AS n FROM env_minute").n[0] == len(filled.rollup())


def test_a_tree_is_read_only(filled, tmp_path, write):
    """Loading into a Parquet tree is refused with a one-line message."""
    filled.export_parquet(tmp_path / "tree")
    with Store.open(tmp_path / "tree") as tree, pytest.raises(BadInput, match="read-only"):
        tree.load(write("x.jsonl", ""))


def test_a_tree_of_another_schema_version_is_refused(filled, tmp_path):
    """The manifest's schema version is checked like a store file's."""
    filled.export_parquet(tmp_path / "tree")
    (tmp_path / "tree" / "_toolkit.json").write_text('{"schema_version": 99}')
    expected = f"schema version 99, this toolkit reads version {SCHEMA_VERSION}"
    with pytest.raises(BadInput, match=expected):
        Store.open(tmp_path / "tree")
