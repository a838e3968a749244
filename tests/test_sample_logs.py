"""sample_logs/: every file matches MANIFEST.json (checksum, size) and loads into a fresh
store with exactly the manifest's counts, nothing rejected, and nothing added the second time."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from toolkit.detect.audit import audit
from toolkit.store import Store

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
MANIFEST = json.loads((SAMPLES / "MANIFEST.json").read_text())
FILES = [f for sample in MANIFEST["samples"].values() for f in sample["files"]]
COUNTS = ("lines", "spans_loaded", "logs_loaded", "duplicates", "rejected", "ignored_lines")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _table_counts(store: Store) -> dict[str, int]:
    tables = ("spans", "span_events", "span_links", "logs", "env_minute", "rejected")
    return {t: store.sql(f"SELECT count(*) AS n FROM {t}").n[0] for t in tables}


def test_manifest_lists_exactly_the_files_on_disk():
    on_disk = sorted(p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*.gz"))
    assert on_disk == sorted(f["path"] for f in FILES)


def test_samples_stay_small():
    total = sum((SAMPLES / f["path"]).stat().st_size for f in FILES)
    assert total == MANIFEST["total_bytes"]
    assert total < 15_000_000


def test_manifest_names_its_generator():
    assert MANIFEST["command"] == ".venv/bin/python scripts/make_sample_logs.py"
    assert (SAMPLES.parent / MANIFEST["generator"]).is_file()
    for sample in MANIFEST["samples"].values():
        assert {"scenario", "seed", "days", "tenants"} <= set(sample)


@pytest.mark.parametrize("entry", FILES, ids=[f["path"] for f in FILES])
def test_file_matches_manifest_checksum_and_size(entry):
    path = SAMPLES / entry["path"]
    assert path.stat().st_size == entry["bytes"]
    assert _sha256(path) == entry["sha256"]


@pytest.mark.parametrize("name", sorted(MANIFEST["samples"]))
def test_sample_loads_with_exact_counts_and_idempotently(name, tmp_path):
    """Each file loads into a fresh store with the manifest's counts; the store then holds the
    manifest's totals and the audit's result; loading a file again adds nothing."""
    sample = MANIFEST["samples"][name]
    with Store.open(tmp_path / "sample.duckdb") as store:
        for entry in sample["files"]:
            result = store.load(SAMPLES / entry["path"])
            assert result.rejected == 0, result.rejections[:3]
            assert {c: getattr(result, c) for c in COUNTS} == {c: entry[c] for c in COUNTS}

        totals = store.sql("SELECT (SELECT count(*) FROM spans) AS spans, "
                           "(SELECT count(*) FROM logs) AS logs, "
                           "(SELECT count(*) FROM rejected) AS rejected, "
                           "(SELECT count(*) FROM env_minute) AS env_minute_rows, "
                           "(SELECT min(minute) FROM env_minute) AS first_minute, "
                           "(SELECT max(minute) FROM env_minute) AS last_minute").iloc[0]
        expected = sample["store"]
        assert {k: int(totals[k]) for k in ("spans", "logs", "rejected", "env_minute_rows")} == {
            k: expected[k] for k in ("spans", "logs", "rejected", "env_minute_rows")}
        assert totals.first_minute.isoformat() == expected["first_minute"]
        assert totals.last_minute.isoformat() == expected["last_minute"]

        found = audit(store).summary()
        assert found["wrongful_discards"] == sample["audit"]["wrongful_discards"]
        assert found["views_to_regenerate"] == sample["audit"]["views_to_regenerate"]
        assert (found["wrongful_discards_per_environment"]
                == sample["audit"]["wrongful_discards_per_environment"]
                == sample["ground_truth"]["wrongful_discards_per_environment"])

        # Loading again adds nothing: its smallest file (whichever it holds, idempotency does
        # not depend on the size; tests/store/test_samples.py reloads files of every kind).
        smallest = min(sample["files"], key=lambda entry: entry["bytes"])
        before = _table_counts(store)
        again = store.load(SAMPLES / smallest["path"])
        assert (again.spans_loaded, again.logs_loaded, again.rejected) == (0, 0, 0)
        assert again.duplicates == smallest["spans_loaded"] + smallest["logs_loaded"] > 0
        assert _table_counts(store) == before


def test_may7_sample_holds_the_incident_and_baseline_holds_none():
    """The may7 sample's tenants did suffer wrongful discards (in more than one tenant); the
    baseline sample has none."""
    may7 = MANIFEST["samples"]["may7"]
    lost = may7["ground_truth"]["wrongful_discards_per_environment"]
    assert sum(lost.values()) >= 20
    assert len({env.rsplit("-", 1)[0] for env in lost}) >= 2
    assert MANIFEST["samples"]["baseline"]["ground_truth"]["wrongful_discards"] == 0
