"""Folding a spool directory that producers are still writing: the Collector's file exporter
(append, rotate by rename, gzip the backup) and the toolkit's own published files."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.store.collector import CollectorFileExporter
from tests.store.otlp import T0, log_record, logs_request
from toolkit.store import Store, fold_spool
from toolkit.telemetry import RotatingJsonLinesFile


def line(t: int) -> str:
    """One logs request holding one record, distinct per ``t``."""
    return json.dumps(
        logs_request([log_record(T0 + t, "acme-prod", "job.created", pipeline__job__id=t)]),
        separators=(",", ":"),
    )


def stored(store: Store) -> list[int]:
    """The job ids stored, in order (each record once)."""
    return sorted(int(j) for j in store.sql("SELECT job_id FROM logs").job_id)


def snapshot(directory) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


def test_a_partial_last_line_waits_for_the_next_fold(store, tmp_path):
    """Only complete lines load; the rest of a line written later completes it."""
    spool = tmp_path / "spool"
    collector = CollectorFileExporter(spool / "otlp.jsonl")
    collector.export(line(1))
    collector.write(line(2)[:40].encode())
    first = fold_spool(store, spool)
    assert (first.logs_loaded, first.rejected) == (1, 0)
    collector.write(line(2)[40:].encode() + b"\n")
    second = fold_spool(store, spool)
    assert (second.logs_loaded, second.duplicates, second.rejected) == (1, 0, 0)
    assert stored(store) == [1, 2]
    assert fold_spool(store, spool).records == 0


def test_rotation_is_followed_and_nothing_is_read_twice(store, tmp_path):
    """A fold, a rename to a timestamped backup, a new file: every record loads once, no
    duplicates, and the Collector's files stay where it put them, unchanged."""
    spool = tmp_path / "spool"
    collector = CollectorFileExporter(spool / "otlp.jsonl", max_bytes=2000)
    for t in range(5):
        collector.export(line(t))
    fold_spool(store, spool)
    for t in range(5, 20):  # several rotations, one mid-line for the fold below
        collector.export(line(t))
    collector.write(line(20)[:10].encode())
    result = fold_spool(store, spool)
    assert len(collector.backups) >= 3
    assert (result.duplicates, result.rejected) == (0, 0)
    assert stored(store) == list(range(20))
    before = snapshot(spool)
    fold_spool(store, spool)
    assert snapshot(spool) == before  # nothing moved, deleted or written
    assert not (spool / "done").exists()


def test_a_gzip_backup_continues_from_its_original_cursor(store, tmp_path):
    """Backup read half, then compressed (the .gz skipped while the original is there),
    then the original deleted: the .gz is read on from the cursor, not again."""
    spool = tmp_path / "spool"
    collector = CollectorFileExporter(spool / "otlp.jsonl", compress=True)
    for t in range(3):
        collector.export(line(t))
    assert fold_spool(store, spool).logs_loaded == 3
    for t in range(3, 6):
        collector.export(line(t))
    backup = collector.rotate()
    collector.export(line(6))
    collector.compress_backup(backup, stop_after=100)
    during = fold_spool(store, spool)
    assert (during.duplicates, during.rejected) == (0, 0)
    collector.finish_compression()
    collector.export(line(7))
    after = fold_spool(store, spool)
    assert (after.duplicates, after.rejected) == (0, 0)
    assert stored(store) == list(range(8))
    assert fold_spool(store, spool).records == 0


def test_a_gzip_backup_of_a_file_never_seen_is_read_whole(store, tmp_path):
    """A compressed backup the toolkit never read loads from its start. Its last line,
    without newline, waits for the file that continues it; with none after a minute it
    is complete as it is."""
    spool = tmp_path / "spool"
    spool.mkdir()
    body = "\n".join(line(t) for t in range(4))  # no newline at the end
    backup = spool / "otlp-2024-05-07T12-00-00.000.jsonl.gz"
    backup.write_bytes(gzip.compress(body.encode()))
    assert fold_spool(store, spool).logs_loaded == 3
    os.utime(backup, (time.time() - 120, time.time() - 120))
    assert fold_spool(store, spool).logs_loaded == 1
    assert stored(store) == [0, 1, 2, 3]


def test_a_line_split_by_rotation_is_joined_again(store, tmp_path):
    """The exporter's buffered writer may hand lumberjack half a line just before a
    rotation: the backup ends mid-line and the new file starts with the rest."""
    spool = tmp_path / "spool"
    collector = CollectorFileExporter(spool / "otlp.jsonl", compress=True)
    collector.export(line(1))
    text = line(2)
    collector.write(text[:50].encode())
    backup = collector.rotate()
    assert fold_spool(store, spool).logs_loaded == 1  # the half line waits
    collector.write(text[50:].encode() + b"\n")
    collector.compress_backup(backup)
    collector.export(line(3))
    result = fold_spool(store, spool)
    assert (result.logs_loaded, result.rejected) == (2, 0)
    assert stored(store) == [1, 2, 3]


def test_truncation_and_copy_truncate_lose_nothing(store, tmp_path):
    """logrotate's copytruncate: a copy appears, the file is emptied and written again. The
    new text is read from its start; the copy only brings duplicates."""
    spool = tmp_path / "spool"
    collector = CollectorFileExporter(spool / "otlp.jsonl")
    for t in range(3):
        collector.export(line(t))
    fold_spool(store, spool)
    collector.export(line(3))
    shutil.copy(spool / "otlp.jsonl", spool / "otlp.jsonl.1")
    os.truncate(spool / "otlp.jsonl", 0)
    collector.close()
    collector = CollectorFileExporter(spool / "otlp.jsonl")
    collector.export(line(4))
    result = fold_spool(store, spool)
    assert (result.logs_loaded, result.duplicates, result.rejected) == (2, 3, 0)
    assert stored(store) == [0, 1, 2, 3, 4]


def test_a_rewritten_file_with_the_same_start_is_read_again(store, tmp_path):
    """Same inode, same first bytes, other text before the cursor: not the same file."""
    spool = tmp_path / "spool"
    spool.mkdir()
    path = spool / "otlp.jsonl"
    path.write_text(line(1) + "\n" + line(2) + "\n")
    fold_spool(store, spool)
    with open(path, "r+") as f:  # same inode, rewritten in place and longer
        f.write(line(1) + "\n" + line(3) + "\n" + line(4) + "\n")
    result = fold_spool(store, spool)
    assert (result.logs_loaded, result.duplicates) == (2, 1)
    assert stored(store) == [1, 2, 3, 4]


def test_own_published_files_move_to_done_and_others_stay(store, tmp_path):
    """The telemetry writer's spool files (marked in .published/) go to done/ once read;
    a file with the same name pattern but no marker, or a stale marker, stays."""
    spool = tmp_path / "spool"
    writer = RotatingJsonLinesFile(spool / "logs.jsonl", max_bytes=1, spool=True)
    for t in range(3):
        writer.write((line(t) + "\n").encode())
    writer.close()
    assert sorted(p.name for p in (spool / ".published").iterdir()) == [
        "logs-000001.jsonl", "logs-000002.jsonl", "logs-000003.jsonl"]
    (spool / "logs-000009.jsonl").write_text(line(9) + "\n")  # someone else's
    (spool / ".published" / "logs-000008.jsonl").write_text("1:2\n")
    (spool / "logs-000008.jsonl").write_text(line(8) + "\n")  # marker of another file
    result = fold_spool(store, spool)
    assert (result.files, result.logs_loaded) == (5, 5)
    assert sorted(p.name for p in (spool / "done").iterdir()) == [
        "logs-000001.jsonl", "logs-000002.jsonl", "logs-000003.jsonl"]
    assert sorted(p.name for p in spool.glob("*.jsonl")) == [
        "logs-000008.jsonl", "logs-000009.jsonl"]
    assert fold_spool(store, spool).records == 0


def test_a_file_being_written_by_the_telemetry_writer_is_invisible(store, tmp_path):
    """Until it is complete, the writer's file is a .tmp the fold skips."""
    spool = tmp_path / "spool"
    writer = RotatingJsonLinesFile(spool / "logs.jsonl", max_seconds=3600, spool=True)
    writer.write((line(1) + "\n").encode())
    writer.flush()
    assert fold_spool(store, spool).records == 0
    writer.close()
    assert fold_spool(store, spool).logs_loaded == 1


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_split_into_appended_chunks_loads_what_loading_whole_does(tmp_path_factory, data):
    """Appending a file in arbitrary chunks, with folds (and rotations) in between, stores
    exactly the rows one load of the whole text stores, and rejects the same lines."""
    directory = tmp_path_factory.mktemp("split")
    lines = [line(t) for t in range(6)] + ['{"resourceLogs": {}}', "not json", ""]
    order = data.draw(st.permutations(lines))
    text = ("\n".join(order) + "\n").encode()
    cuts = sorted(data.draw(st.lists(st.integers(1, len(text) - 1), max_size=4, unique=True)))
    rotate_at = data.draw(st.sets(st.sampled_from(cuts), max_size=2)) if cuts else set()
    (directory / "whole.jsonl").write_bytes(text)
    with Store.open(":memory:") as whole:
        expected = whole.load(directory / "whole.jsonl")
        rows = stored(whole)
    spool = directory / "spool"
    collector = CollectorFileExporter(spool / "otlp.jsonl", max_bytes=1 << 30)
    with Store.open(":memory:") as folded:
        total = fold_spool(folded, spool)
        for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True):
            collector.write(text[a:b])
            if b in rotate_at and text[b - 1 : b] == b"\n":
                collector.rotate()
            total = total + fold_spool(folded, spool)
        assert stored(folded) == rows
        assert (total.logs_loaded, total.duplicates, total.rejected) == (
            expected.logs_loaded, expected.duplicates, expected.rejected)
