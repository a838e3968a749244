"""Several processes, one store file: readers retry past the writer, crashes are survivable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.store.otlp import T0, jsonl, log_record, logs_request
from toolkit.errors import BadInput
from toolkit.store import Store, StoreLocked

ROOT = Path(__file__).resolve().parents[2]


def spawn(code: str) -> subprocess.Popen[str]:
    """A Python process running ``code`` with the project importable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def batch_files(directory: Path, batches: int, per_batch: int) -> list[Path]:
    paths = []
    for b in range(batches):
        records = [
            log_record(
                T0 + b * per_batch + i,
                "acme-prod",
                "job.created",
                pipeline__job__id=b * per_batch + i,
            )
            for i in range(per_batch)
        ]
        path = directory / f"{b:03d}.jsonl"
        path.write_text(jsonl(logs_request(records)))
        paths.append(path)
    return paths


def test_readers_and_a_writer_alternate_without_lock_errors(tmp_path):
    """A reader opening while a writer holds the file retries past the lock, never erring."""
    db = tmp_path / "shared.duckdb"
    Store.open(db).close()
    files = batch_files(tmp_path, 12, 20)
    writer = spawn(f"""
        import time
        from toolkit.store import Store
        for path in {[str(p) for p in files]!r}:
            with Store.open({str(db)!r}, timeout=30) as store:
                print("open", flush=True)
                time.sleep(0.1)
                store.load(path)
        print("done")
    """)
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "open"  # the writer holds the lock now
    reader = spawn(f"""
        import duckdb
        from toolkit.store import Store
        real, conflicts = duckdb.connect, []
        def counting(*args, **kwargs):
            try:
                return real(*args, **kwargs)
            except duckdb.IOException as exc:
                conflicts.append(str(exc))
                raise
        duckdb.connect = counting
        seen = []
        for _ in range(12):
            with Store.open({str(db)!r}, read_only=True, timeout=30) as store:
                seen.append(int(store.sql("SELECT count(*) AS n FROM logs").n[0]))
        assert seen == sorted(seen), seen
        assert all("lock" in c for c in conflicts), conflicts
        print(len(conflicts), seen[-1])
    """)
    out_w, err_w = writer.communicate(timeout=120)
    out_r, err_r = reader.communicate(timeout=120)
    assert (writer.returncode, err_w, out_w.split()[-1]) == (0, "", "done")
    assert (reader.returncode, err_r) == (0, "")
    conflicts, last_count = map(int, out_r.split())
    assert conflicts >= 1
    assert 0 <= last_count <= 240
    with Store.open(db, read_only=True) as store:
        assert len(store.logs()) == 240


def test_a_writer_killed_mid_load_leaves_an_openable_store(tmp_path):
    """SIGKILL during a load: the store opens and holds whole files, plus perhaps the records
    (not yet the ledger row) of the file being loaded, whose blocks commit one by one; loading
    everything again completes it and adds nothing twice."""
    db = tmp_path / "killed.duckdb"
    files = batch_files(tmp_path, 40, 500)
    writer = spawn(f"""
        import sys
        from toolkit.store import Store
        with Store.open({str(db)!r}) as store:
            for path in {[str(p) for p in files]!r}:
                store.load(path)
                print("loaded", flush=True)
    """)
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "loaded"  # first load committed
    time.sleep(0.15)  # somewhere inside a later load
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    with Store.open(db, timeout=10) as store:
        count = len(store.logs())
        assert count % 500 == 0 and 500 <= count < 20000
        assert len(store.sql("SELECT * FROM loaded_files")) in (count // 500, count // 500 - 1)
        assert sum(store.load(path).logs_loaded for path in files) == 20000 - count
        assert len(store.logs()) == 20000


def test_a_lock_held_too_long_is_a_one_line_store_locked(tmp_path):
    """When the writer does not let go within the timeout, the error names its PID."""
    db = tmp_path / "held.duckdb"
    Store.open(db).close()
    holder = spawn(f"""
        import time
        from toolkit.store import Store
        with Store.open({str(db)!r}):
            print("holding", flush=True)
            time.sleep(30)
    """)
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(StoreLocked, match=rf"locked by another process \(PID {holder.pid}\)"):
            Store.open(db, read_only=True, timeout=0.3)
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_a_file_that_is_not_duckdb_is_bad_input(tmp_path):
    """Pointing --db at some other file fails with one line naming it."""
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(BadInput, match=r"notes\.txt: cannot open the store"):
        Store.open(path)
