"""The spool directory: whole files published by rename, folded in by short loads."""

from __future__ import annotations

import json

from tests.store.otlp import T0, log_record, logs_request
from toolkit.store import SpoolWriter, fold_spool
from toolkit.store.spool import ready_files


def line(t: int) -> str:
    return json.dumps(
        logs_request([log_record(T0 + t, "acme-prod", "job.created", pipeline__job__id=t)])
    )


def test_only_published_files_are_visible(tmp_path):
    """A file being written stays in .incoming until rotated, then appears whole."""
    spool = tmp_path / "spool"
    writer = SpoolWriter(spool, "logs")
    writer.write(line(1))
    assert ready_files(spool) == []
    published = writer.rotate()
    assert ready_files(spool) == [published]
    assert published.read_text().count("\n") == 1
    assert list((spool / ".incoming").iterdir()) == []


def test_rotation_by_size(tmp_path):
    """Crossing max_bytes publishes the file; the next write starts a new one."""
    with SpoolWriter(tmp_path, "logs", max_bytes=1) as writer:
        writer.write_all(line(t) for t in range(3))
    assert len(ready_files(tmp_path)) == 3


def test_fold_loads_then_moves_files_to_done(store, tmp_path):
    """Every ready file is loaded once and moved; a second fold has nothing to do."""
    spool = tmp_path / "spool"
    with SpoolWriter(spool, "logs", max_bytes=1) as writer:
        writer.write_all(line(t) for t in range(4))
    first = fold_spool(store, spool)
    assert (first.files, first.logs_loaded) == (4, 4)
    assert ready_files(spool) == [] and len(list((spool / "done").iterdir())) == 4
    assert fold_spool(store, spool).files == 0
    assert store.rollup().offered.sum() == 4


def test_a_crash_before_the_move_only_reloads_the_file(store, tmp_path):
    """Loaded but not moved (crash between commit and rename): folding again adds nothing."""
    with SpoolWriter(tmp_path, "logs") as writer:
        writer.write(line(1))
    [path] = ready_files(tmp_path)
    store.load(path)  # the commit happened, the move did not
    again = fold_spool(store, tmp_path)
    assert (again.logs_loaded, again.duplicates) == (0, 1)
    assert len(store.logs()) == 1


def test_a_reused_file_name_does_not_overwrite_done(store, tmp_path):
    """A producer restarting its numbering keeps both files in done/."""
    for t in (1, 2):
        (tmp_path / "logs-000001.jsonl").write_text(line(t) + "\n")
        fold_spool(store, tmp_path)
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == [
        "logs-000001.jsonl",
        "logs-000001.jsonl.1",
    ]
    assert len(store.logs()) == 2
