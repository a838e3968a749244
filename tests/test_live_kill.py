"""A live engine killed with SIGKILL mid-run; loads and readers working beside it."""

import os
import signal
import subprocess
import sys
import time

from toolkit.store import Store


def toolkit(*args, **kw):
    return subprocess.run([sys.executable, "-m", "toolkit.cli", *args], capture_output=True,
                          text=True, timeout=120, **kw)


def test_sigkilled_live_engine_leaves_a_store_that_opens(tmp_path):
    """Live engine at 300x writes a spool; cron-like loads fold it in while a reader reads
    (no lock error ever reaches them); after SIGKILL only the unpublished file is lost."""
    db, spool = str(tmp_path / "s.duckdb"), tmp_path / "spool"
    live = subprocess.Popen(
        [sys.executable, "-m", "toolkit.cli", "simulate", "--live", "--speed", "300",
         "--rotate-seconds", "1", "--spool", str(spool), "--db", db],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        loads = reads = 0
        while time.monotonic() < deadline and loads < 4:
            time.sleep(1.5)
            if not any(p.suffix == ".jsonl" for p in spool.glob("*.jsonl")):
                continue
            proc = toolkit("load", "--spool", str(spool), "--db", db)
            assert proc.returncode == 0, proc.stderr
            loads += 1
            with Store.open(db, read_only=True, timeout=30) as store:
                reads += int(store.sql("SELECT count(*) AS n FROM logs").n[0] > 0)
        assert loads >= 2 and reads >= 1
    finally:
        os.killpg(live.pid, signal.SIGKILL)
        live.wait(10)
    proc = toolkit("load", "--spool", str(spool), "--db", db, "--json")
    assert proc.returncode == 0, proc.stderr
    with Store.open(db, read_only=True) as store:
        logs = store.sql("SELECT count(*) AS n FROM logs").n[0]
        spans = store.sql("SELECT count(*) AS n FROM spans").n[0]
        assert store.sql("SELECT count(*) AS n FROM rejected").n[0] == 0
    assert logs > 0 and spans > 0
    published = list(spool.glob("*.jsonl"))
    assert published == []  # all folded into the store (moved to done/)
    assert list((spool / "done").glob("*.jsonl"))
