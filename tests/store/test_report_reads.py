"""The read methods the post-mortem needs: deployments and entities per source."""

from datetime import UTC, datetime

from tests.store.otlp import T0, jsonl, log_record, logs_request
from toolkit.store import Store


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC).replace(tzinfo=None)


def test_deployments_and_entity_counts(tmp_path):
    """Deployments come back in time order within the bounds; entities are counted once per
    environment and source, changed or unchanged ingests alike, before ``until``."""
    records = [
        log_record(T0 + 5, None, "engine.deployment", pipeline__deployment__change="b on"),
        log_record(T0 + 1, None, "engine.deployment", pipeline__deployment__change="a on"),
        log_record(T0 + 9, "x-prod", "engine.deployment", pipeline__deployment__change="b off"),
        log_record(T0 + 2, "x-prod", "entity.ingested", pipeline__source="cms",
                   pipeline__entity="e1"),
        log_record(T0 + 3, "x-prod", "job.skipped_unchanged", pipeline__source="cms",
                   pipeline__entity="e1"),
        log_record(T0 + 4, "x-prod", "entity.ingested", pipeline__source="cms",
                   pipeline__entity="e2"),
        log_record(T0 + 4, "x-dev", "entity.ingested", pipeline__source="pim",
                   pipeline__entity="e1"),
        log_record(T0 + 20, "x-dev", "entity.ingested", pipeline__source="pim",
                   pipeline__entity="e9"),
    ]
    path = tmp_path / "logs.jsonl"
    path.write_text(jsonl(logs_request(records)))
    with Store.open(tmp_path / "s.duckdb") as store:
        store.load(path)
        got = store.deployments()
        assert list(got.change) == ["a on", "b on", "b off"]
        assert list(got.environment) == ["", "", "x-prod"]
        assert list(store.deployments(since=_at(2), until=_at(9)).change) == ["b on"]
        counts = store.entity_counts(until=_at(10))
        assert [tuple(r) for r in counts.itertuples(index=False)] == [
            ("x-dev", "pim", 1), ("x-prod", "cms", 2)]
