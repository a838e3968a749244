"""A cold ``toolkit alert`` run with nothing new to say, on a store holding 30 days of 50
environments: median wall time over several runs of the real command. Asserts nothing.

The store is synthesised in DuckDB (building it from telemetry would take far longer than
the measurement): 2.16 million ``env_minute`` rows with realistic binomial counts, and job log
records (created + justified deduplications) for every minute, about 20 million rows, stored
in time order as loads store them (each load appends a file of telemetry as it arrived), so
DuckDB's zone maps confine the audit's window to its own row groups. ``--scrambled-logs``
stores them in no time order instead, as after a backfill of many old files: every run then
scans the time of all 20 million records (the worst case).

    .venv/bin/python benchmarks/bench_alert.py [--runs 5] [--scrambled-logs]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from toolkit.store import Store

DAYS, ENVS = 30, 50
START = "2024-04-01 00:00:00"


def build(db: str, *, scrambled: bool = False) -> None:
    seconds = DAYS * 86400
    # 20 million records over the 30 days, 7.7 a second; scrambled: 13 s apart, wrapping.
    offset = f"i * 13 % {seconds}" if scrambled else f"i * {seconds} // 20000000"
    with Store.open(db) as store:
        con = store.connection
        con.execute(f"""
            INSERT INTO env_minute
            SELECT TIMESTAMP '{START}' + INTERVAL (m) MINUTE AS minute,
                   'env' || lpad(e::VARCHAR, 2, '0') || '-prod' AS environment,
                   'tenant' || lpad(e::VARCHAR, 2, '0') AS tenant,
                   o AS ingests, 0 AS skipped_unchanged, o AS offered,
                   (o * 0.04)::BIGINT AS deduplicated, 0 AS follow_ups,
                   o - (o * 0.04)::BIGINT AS processed, 0 AS failed, 0 AS retried,
                   0 AS backlog, 8 AS active_envs
            FROM (SELECT m, e, (5 + 20 * (0.5 + 0.5 * sin(m / 229.0)) * (1 + hash(m * 97 + e) % 3))
                             ::BIGINT AS o
                  FROM range({DAYS * 1440}) t(m), range({ENVS}) u(e))
        """)
        con.execute(f"""
            INSERT INTO logs (record_id, time, time_unix_nano, event_name, tenant, environment,
                              source, entity, schema, job_id, version, decision,
                              survivor_job_id, survivor_tenant, survivor_environment,
                              survivor_source, survivor_entity, survivor_schema,
                              survivor_state, survivor_version, trace_id)
            SELECT md5(i::VARCHAR), ts, epoch_ns(ts), ev, t, env, 'cms', ent, 'page', i, 2,
                   'deduplicated', i - 1, t, env, 'cms', ent, 'page', 'pending', 3,
                   md5((i * 7)::VARCHAR)
            FROM (SELECT i,
                         TIMESTAMP '{START}' + INTERVAL ({offset}) SECOND AS ts,
                         CASE WHEN i % 5 = 0 THEN 'job.deduplicated' ELSE 'job.created' END AS ev,
                         'tenant' || lpad((i % {ENVS})::VARCHAR, 2, '0') AS t,
                         'env' || lpad((i % {ENVS})::VARCHAR, 2, '0') || '-prod' AS env,
                         'node-' || (i % 5000)::VARCHAR AS ent
                  FROM range(20000000) r(i))
        """)
        con.execute("CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scrambled-logs", action="store_true",
                        help="store the job log records in no time order (the worst case)")
    args = parser.parse_args()
    runs = args.runs
    exe = os.path.join(os.path.dirname(sys.executable), "toolkit")
    with tempfile.TemporaryDirectory() as scratch:
        db = os.path.join(scratch, "s.duckdb")
        t = time.perf_counter()
        build(db, scrambled=args.scrambled_logs)
        print(f"built {DAYS} days x {ENVS} environments in {time.perf_counter() - t:.0f} s, "
              f"{os.path.getsize(db) / 2**20:.0f} MiB")
        now = "2024-05-01T00:00"
        subprocess.run([exe, "alert", "--db", db, "--now", now], capture_output=True)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            proc = subprocess.run([exe, "alert", "--db", db, "--now", now],
                                  capture_output=True, text=True)
            times.append(time.perf_counter() - t)
            if proc.returncode == 2:
                raise SystemExit(proc.stderr)
    layout = "in no time order" if args.scrambled_logs else "in time order"
    print(f"cold 'toolkit alert' with nothing new, job logs {layout}: median "
          f"{statistics.median(times):.2f} s over {runs} runs (min {min(times):.2f}, "
          f"max {max(times):.2f}; target < 1 s)")


if __name__ == "__main__":
    main()
