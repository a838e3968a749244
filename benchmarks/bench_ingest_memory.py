"""Memory of ingestion, as a cron host sees it: peak resident memory of ``toolkit load``.

1. ``toolkit load --spool`` while a writer appends a 100 MB file in the spool (the job log
   lines of the may7 sample, appended in chunks that cut lines anywhere): loads run one
   after another as the file grows, then one more loads whatever is left. Issue 11's
   target: every load under 500 MB.
2. The same 100 MB file loaded by a single ``toolkit load --spool`` that finds it all at
   once (the worst case for one run).
3. ``toolkit load sample_logs/may7`` into a new store. Issue 14's target: 300 MB. Then
   where it goes: resident memory (``VmRSS``) after importing numpy, pyarrow and DuckDB
   (what the load path needs), after opening the store, and its highest value over the
   blocks of the load, for blocks of 8 MiB (the default) and 4 MiB of text.
4. ``toolkit load --spool`` of a spool of poison (issue 11: seconds and a few hundred MB,
   never a MemoryError): a gzip bomb (1 GiB of spaces), a symlink to ``/dev/zero``, 20 MB
   of blank lines, a 70 MiB line, binary data.

Each figure is the child process's peak RSS (``wait4``'s ``ru_maxrss``), with its wall
time. Prints; asserts nothing.

    .venv/bin/python benchmarks/bench_ingest_memory.py [--megabytes 100]
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs" / "may7"


_STEPS = r'''
import re, sys


def rss():
    status = open("/proc/self/status").read()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024


target, db = int(sys.argv[1]), sys.argv[2]
steps = [("python", rss())]
import numpy
steps.append(("+ numpy", rss()))
import pyarrow
steps.append(("+ pyarrow", rss()))
import duckdb
steps.append(("+ duckdb", rss()))
import toolkit.otlp.decode.lines as lines
from toolkit.store import Store
from toolkit.store.load import reporting_progress

lines.LineReader.__init__.__kwdefaults__["target"] = target
high = [0]
with Store.open(db) as store:
    steps.append(("store open", rss()))
    with reporting_progress(lambda _: high.__setitem__(0, max(high[0], rss()))):
        store.load(sys.argv[3] if len(sys.argv) > 3 else "sample_logs/may7")
steps.append((f"load, {target >> 20} MiB blocks (highest)", high[0]))
print("  where it goes: " + ", ".join(f"{name} {mb} MB" for name, mb in steps))
'''


def run(*args: str) -> tuple[int, float, int]:
    """``toolkit ARGS`` as a child: (peak RSS in MB, seconds, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "toolkit.cli", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss // 1024, time.perf_counter() - start, proc.returncode


def text(megabytes: int) -> bytes:
    """``megabytes`` MB of real OTLP JSON lines: the may7 sample's job logs, repeated."""
    logs = gzip.decompress((SAMPLE / "logs.jsonl.gz").read_bytes())
    out = logs
    while len(out) < megabytes * 1_000_000:
        out += logs
    return out[: out.rindex(b"\n", 0, megabytes * 1_000_000) + 1]


def growing(directory: Path, data: bytes) -> None:
    """Append ``data`` to ``directory/otlp.jsonl`` in 1 MB writes, 20 a second."""
    with open(directory / "otlp.jsonl", "ab") as out:
        for i in range(0, len(data), 1_000_000):
            out.write(data[i : i + 1_000_000])
            out.flush()
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=100)
    megabytes = parser.parse_args().megabytes
    data = text(megabytes)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        spool, db = root / "spool", root / "grow.duckdb"
        spool.mkdir()
        writer = threading.Thread(target=growing, args=(spool, data))
        writer.start()
        runs = []
        while writer.is_alive():
            runs.append(run("load", "--spool", str(spool), "--db", str(db)))
        writer.join()
        runs.append(run("load", "--spool", str(spool), "--db", str(db)))
        peak = max(r[0] for r in runs)
        print(f"load --spool of a growing {len(data) / 1e6:.0f} MB file: {len(runs)} loads, "
              f"peak RSS {peak} MB (max of the loads), {sum(r[1] for r in runs):.1f} s in all, "
              f"exit codes {sorted({r[2] for r in runs})}")

        whole = root / "whole"
        whole.mkdir()
        (whole / "otlp.jsonl").write_bytes(data)
        rss, seconds, code = run("load", "--spool", str(whole), "--db", str(root / "w.duckdb"))
        print(f"load --spool of the {len(data) / 1e6:.0f} MB file at once: peak RSS {rss} MB, "
              f"{seconds:.1f} s, exit {code}")

        rss, seconds, code = run("load", str(SAMPLE), "--db", str(root / "may7.duckdb"))
        print(f"load sample_logs/may7 (7.5 MB gzip, 206 MB of JSON): peak RSS {rss} MB, "
              f"{seconds:.1f} s, exit {code}")
        for mib in (8, 4):
            subprocess.run([sys.executable, "-c", _STEPS, str(mib << 20),
                            str(root / f"steps-{mib}.duckdb")], check=True, cwd=ROOT)

        poison = root / "poison"
        poison.mkdir()
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        with open(poison / "bomb.jsonl.gz", "wb") as out:
            for _ in range(1024):
                out.write(compressor.compress(b" " * (1 << 20)))
            out.write(compressor.flush())
        os.symlink("/dev/zero", poison / "zero.jsonl")
        (poison / "blank.jsonl").write_bytes(b"\n" * 20_000_000)
        (poison / "long.jsonl").write_bytes(b"[" + b" " * (70 << 20) + b"\n")
        (poison / "binary.jsonl").write_bytes(bytes(range(256)) * 4096)
        rss, seconds, code = run("load", "--spool", str(poison), "--db", str(root / "p.duckdb"))
        print(f"load --spool of a spool of poison (gzip bomb of 1 GiB, /dev/zero, 20 MB of "
              f"blank lines, a 70 MiB line, binary): peak RSS {rss} MB, {seconds:.1f} s, "
              f"exit {code} (2: rejections)")


if __name__ == "__main__":
    main()
