"""A Collector's file exporter writing and rotating while ``toolkit load --spool`` runs in a
loop and is SIGKILLed at random points: every record is stored exactly once, and no file
the writer owns is moved, changed or deleted."""

from __future__ import annotations

import gzip
import json
import random
import signal
import subprocess
import sys
import threading
import time

from tests.store.collector import CollectorFileExporter
from tests.store.otlp import T0, log_record, logs_request, span, traces_request
from toolkit.store import Store

RECORDS = 1500


def request(n: int) -> str:
    """Request ``n``: a log record (job id ``n``), every fifth also a span (span id ``n``)."""
    logs = logs_request([log_record(T0 + n, "acme-prod", "job.created", pipeline__job__id=n,
                                    padding="x" * 300)])
    if n % 5:
        return json.dumps(logs)
    return json.dumps(logs | traces_request([span(n, n)]))


def write_all(collector: CollectorFileExporter, done: threading.Event) -> None:
    """Export every request, some in two writes (a partial line on disk for a while),
    rotating by size; every other backup is gzip-compressed, sometimes slowly."""
    rng = random.Random(11)
    compressed = 0
    for n in range(RECORDS):
        text = request(n)
        collector.export(text, split_at=rng.randrange(1, len(text)) if n % 3 == 0 else None)
        if len(collector.backups) > compressed:
            backup = collector.backups[compressed]
            compressed += 1
            if compressed % 2 == 0:
                collector.compress_backup(backup, stop_after=rng.randrange(1, 4000))
                time.sleep(0.05)
                collector.finish_compression()
        time.sleep(0.004)
    collector.close()
    done.set()


def load(spool, db) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    return subprocess.Popen([sys.executable, "-m", "toolkit.cli", "load", "--spool", str(spool),
                             "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_loads_killed_at_random_store_every_record_exactly_once(tmp_path):
    """Writer thread + a loop of loads, each SIGKILLed after a random delay (or finishing)."""
    spool, db = tmp_path / "spool", tmp_path / "store.duckdb"
    collector = CollectorFileExporter(spool / "otlp.jsonl", max_bytes=64 << 10, compress=True)
    done = threading.Event()
    writer = threading.Thread(target=write_all, args=(collector, done))
    writer.start()
    rng = random.Random(7)
    kills = finished = 0
    while not done.is_set():
        proc = load(spool, db)
        try:  # every fourth load may finish; the others are killed at a random moment
            proc.wait(timeout=None if (kills + finished) % 4 == 3 else rng.uniform(0.3, 2.5))
            finished += 1
            assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
    writer.join()
    final = load(spool, db)
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    assert kills >= 3 and finished >= 1, (kills, finished)

    with Store.open(db, read_only=True) as store:
        logs = store.sql("SELECT job_id, count(*) AS n FROM logs GROUP BY job_id")
        spans = store.sql("SELECT span_id, count(*) AS n FROM spans GROUP BY span_id")
        assert len(store.rejected()) == 0
    assert sorted(logs.job_id) == list(range(RECORDS)) and set(logs.n) == {1}
    assert len(spans) == RECORDS // 5 and set(spans.n) == {1}

    # The writer's files are all there, as it left them: the live file, plain backups, and
    # the compressed ones (whose originals it deleted itself). Nothing went to done/.
    expected = {"otlp.jsonl"} | {
        b.name + (".gz" if i % 2 else "") for i, b in enumerate(collector.backups)}
    assert {p.name for p in spool.iterdir()} == expected
    text = "".join(request(n) + "\n" for n in range(RECORDS))
    written = b"".join(
        gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
        for p in sorted(spool.iterdir(), key=lambda p: (p.name == "otlp.jsonl", p.name)))
    assert written.decode() == text
