"""Load-speed benchmark: ``Store.load`` against a plain json + pandas loader.

Run ``python benchmarks/bench_load.py --spans 300000`` (a synthetic file shaped like the
engine's telemetry: one resource and scope per line, 200 spans per line, 12 attributes per
span, some events and links) or ``--file PATH`` for a real OTLP JSON lines traces file.
Prints spans per second for both loaders and the ratio. Not run by the tests.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from toolkit.store.api import Store


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _kvs(values: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, value in values.items():
        if isinstance(value, int):
            out.append({"key": key, "value": {"intValue": str(value)}})
        else:
            out.append({"key": key, "value": {"stringValue": value}})
    return out


def synthetic(path: Path, spans: int, per_line: int = 200, seed: int = 1) -> None:
    """Write ``spans`` spans of engine-like shape as OTLP JSON lines."""
    rnd = random.Random(seed)
    start = 1715083200_000_000_000
    resource_attrs = _kvs(
        {"service.name": "toolkit-engine", "service.version": "0.1.0", "service.instance.id": "i-1"}
    )
    with path.open("w", encoding="utf-8") as out:
        n = 0
        while n < spans:
            batch = []
            for _ in range(min(per_line, spans - n)):
                n += 1
                env = f"t{rnd.randrange(14)}-{rnd.choice(['dev', 'prod'])}"
                at = start + n * 1_000_000
                span: dict[str, Any] = {
                    "traceId": f"{rnd.getrandbits(128):032x}",
                    "spanId": f"{rnd.getrandbits(64):016x}",
                    "parentSpanId": f"{rnd.getrandbits(64):016x}",
                    "name": "job.process",
                    "kind": 5,
                    "startTimeUnixNano": str(at),
                    "endTimeUnixNano": str(at + 5_000_000),
                    "attributes": _kvs(
                        {
                            "pipeline.tenant": env.split("-")[0],
                            "pipeline.environment": env,
                            "pipeline.source": "cms",
                            "pipeline.entity": f"node-{rnd.randrange(5000)}",
                            "pipeline.schema": f"schema-{rnd.randrange(6)}",
                            "pipeline.job.id": n,
                            "pipeline.job.version": rnd.randrange(1, 9),
                            "pipeline.dedup.decision": "accepted",
                            "messaging.system": "toolkit.fairqueue",
                            "messaging.operation.type": "process",
                            "messaging.destination.name": env,
                            "messaging.message.id": str(n),
                        }
                    ),
                    "status": {"code": 1},
                }
                if n % 4 == 0:
                    span["events"] = [
                        {
                            "timeUnixNano": str(at + 1000),
                            "name": "retry",
                            "attributes": _kvs({"pipeline.job.attempt": 2}),
                        }
                    ]
                if n % 3 == 0:
                    span["links"] = [
                        {
                            "traceId": f"{rnd.getrandbits(128):032x}",
                            "spanId": f"{rnd.getrandbits(64):016x}",
                        }
                    ]
                batch.append(span)
            request = {
                "resourceSpans": [
                    {
                        "resource": {"attributes": resource_attrs},
                        "scopeSpans": [{"scope": {"name": "toolkit.telemetry"}, "spans": batch}],
                    }
                ]
            }
            out.write(json.dumps(request, separators=(",", ":")) + "\n")


def _plain(value: dict[str, Any]) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue", "bytesValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [_plain(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return {kv["key"]: _plain(kv["value"]) for kv in value["kvlistValue"].get("values", [])}
    return None


def naive_load(path: Path, db: Path) -> int:
    """The baseline: json.loads per line, Python loops, a DataFrame, one DuckDB insert."""
    rows = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            request = json.loads(line)
            for rs in request.get("resourceSpans", []):
                res = {
                    a["key"]: _plain(a["value"])
                    for a in rs.get("resource", {}).get("attributes", [])
                }
                for ss in rs.get("scopeSpans", []):
                    for s in ss.get("spans", []):
                        attrs = {a["key"]: _plain(a["value"]) for a in s.get("attributes", [])}
                        rows.append(
                            {
                                "trace_id": s["traceId"].lower(),
                                "span_id": s["spanId"].lower(),
                                "parent_span_id": (s.get("parentSpanId") or "").lower() or None,
                                "name": s.get("name"),
                                "kind": s.get("kind"),
                                "start_time_unix_nano": int(s.get("startTimeUnixNano", 0)),
                                "end_time_unix_nano": int(s.get("endTimeUnixNano", 0)),
                                "service_name": res.get("service.name"),
                                "environment": attrs.get("pipeline.environment"),
                                "job_id": attrs.get("pipeline.job.id"),
                                "attributes": json.dumps(attrs),
                                "resource_attributes": json.dumps(res),
                            }
                        )
    frame = pd.DataFrame(rows)
    frame["start_time"] = pd.to_datetime(frame["start_time_unix_nano"], unit="ns")
    con = duckdb.connect(str(db))
    con.register("frame", frame)
    con.execute("CREATE TABLE spans AS SELECT * FROM frame")
    con.close()
    return len(frame)


def main() -> None:
    """Run both loaders on the same file and print spans per second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=300_000)
    parser.add_argument("--file", type=Path, help="a real OTLP JSON lines traces file")
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = args.file
        if source is None:
            source = work / "spans.jsonl"
            synthetic(source, args.spans)
        size = source.stat().st_size / 2**20
        with Store.open(work / "store.duckdb") as store:
            wall, cpu = time.perf_counter(), _cpu()
            result = store.load(source, refresh=False)
            wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        spans, store_wall = result.spans_loaded, wall
        print(
            f"Store.load : {spans:,} spans, {size:,.0f} MiB in {wall:.2f} s "
            f"(cpu {cpu:.2f} s) = {spans / wall:,.0f} spans/s"
        )
        if args.skip_naive:
            return
        wall, cpu = time.perf_counter(), _cpu()
        count = naive_load(source, work / "naive.duckdb")
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        print(
            f"json+pandas: {count:,} spans in {wall:.2f} s (cpu {cpu:.2f} s) "
            f"= {count / wall:,.0f} spans/s"
        )
        print(f"ratio      : Store.load is {wall / store_wall:.1f}x faster")


if __name__ == "__main__":
    main()
