"""Regenerate ``sample_logs/``: OTLP JSON lines (gzip) recorded from the reference engine.

Two samples, each a directory holding ``traces.jsonl.gz`` and ``logs.jsonl.gz`` exactly as
the toolkit's Collector-shaped file exporters write them (``record_scenario(...,
otlp_dir=..., compress=True)``), recompressed with gzip level 9 (the exporters use level 1
for speed; the JSON lines inside are untouched):

* ``may7/``: the 7 May 2024 replay (2-7 May 2024, the env-blind-dedup fault from 6 May 09:12
  to 7 May 16:41 UTC), three tenants only;
* ``baseline/``: two normal days (29-30 April 2024), the same three tenants, no fault.

Then every file is loaded into a fresh store and ``MANIFEST.json`` records, per file, its
sha256, size and the exact counts a load gives, plus per sample the seed, scenario, days,
tenants, the simulator's ground truth and the audit's result.

Usage (from the repository root)::

    .venv/bin/python scripts/make_sample_logs.py            # rewrite sample_logs/
    .venv/bin/python scripts/make_sample_logs.py --check    # regenerate in a temporary
                                                            # directory and compare counts

Determinism: the simulation is deterministic by seed, and the global ``random`` module (which
the OpenTelemetry SDK's ``RandomIdGenerator`` draws trace and span ids from) is seeded too.
The files are still not byte-identical across runs: ``service.instance.id`` is a random UUID
per run and the batch processors' background threads cut the JSON lines at timing-dependent
points. So the manifest's checksums describe the committed files, and a regeneration
reproduces the same records and the same counts (spans, log records, nothing rejected), which
``--check`` verifies.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "sample_logs"
COMMAND = ".venv/bin/python scripts/make_sample_logs.py"
SEED = 7
TENANTS = ("acme", "globex", "piedpiper")
FILES = ("traces.jsonl.gz", "logs.jsonl.gz")
# Counts that a regeneration reproduces exactly (``lines`` depends on batching).
STABLE_COUNTS = ("spans_loaded", "logs_loaded", "duplicates", "rejected", "ignored_lines")


@dataclass(frozen=True)
class Sample:
    name: str
    scenario: str
    days: int | None
    description: str


SAMPLES = (
    Sample("may7", "may7", None,
           "The 7 May 2024 replay: normal traffic from 2 May, env-blind-dedup from "
           "2024-05-06 09:12 to 2024-05-07 16:41 UTC, traffic to the end of 7 May."),
    Sample("baseline", "baseline", 2,
           "Two normal working days (29-30 April 2024), no fault: the quiet reference."),
)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _recompress(src: Path, dst: Path) -> None:
    """gzip level 9 with no name and mtime 0 in the header: same lines, smaller file."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(src, "rb") as fin, dst.open("wb") as raw, gzip.GzipFile(
        filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0
    ) as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def record(sample: Sample, out: Path, seed: int, tenants: tuple[str, ...]) -> dict[str, Any]:
    """Simulate one sample into ``out / sample.name`` and describe it."""
    from toolkit.app.runs import record_scenario
    from toolkit.detect.audit import audit
    from toolkit.store import Store

    target = out / sample.name
    if target.exists():
        shutil.rmtree(target)
    with tempfile.TemporaryDirectory(prefix="sample-logs-") as scratch:
        tmp = Path(scratch)
        random.seed(seed)  # the SDK's trace and span ids come from the global generator
        run = record_scenario(sample.scenario, db=tmp / "run.duckdb", seed=seed,
                              days=sample.days, otlp_dir=tmp / "otlp", compress=True,
                              tenants=list(tenants))
        for name in FILES:
            _recompress(tmp / "otlp" / name, target / name)

        files = []
        with Store.open(tmp / "check.duckdb") as store:
            for name in FILES:
                path = target / name
                loaded = store.load(path)
                files.append({
                    "path": f"{sample.name}/{name}",
                    "bytes": path.stat().st_size,
                    "sha256": _sha256(path),
                    "lines": loaded.lines,
                    "spans_loaded": loaded.spans_loaded,
                    "logs_loaded": loaded.logs_loaded,
                    "duplicates": loaded.duplicates,
                    "rejected": loaded.rejected,
                    "ignored_lines": loaded.ignored_lines,
                })
            found = audit(store).summary()
            lo, hi, rows = store.connection.execute(
                "SELECT min(minute), max(minute), count(*) FROM env_minute").fetchone()

    truth = {row["environment"]: int(row["wrongful_discards"]) for row in run.summary_rows()}
    jobs = {row["environment"]: int(row["jobs"]) for row in run.summary_rows()}
    return {
        "description": sample.description,
        "scenario": sample.scenario,
        "seed": seed,
        "days": sample.days if sample.days is not None else run.scenario.days,
        "tenants": list(tenants),
        "simulated_from": _iso(run.start),
        "simulated_to": _iso(run.end),
        "environments": sorted(jobs),
        "files": files,
        "store": {
            "spans": sum(f["spans_loaded"] for f in files),
            "logs": sum(f["logs_loaded"] for f in files),
            "rejected": sum(f["rejected"] for f in files),
            "env_minute_rows": int(rows),
            "first_minute": lo.isoformat(),
            "last_minute": hi.isoformat(),
        },
        "ground_truth": {
            "jobs": sum(jobs.values()),
            "wrongful_discards": sum(truth.values()),
            "wrongful_discards_per_environment": {k: v for k, v in truth.items() if v},
            "stale_views": len(run.stale_views),
        },
        "audit": {
            "wrongful_discards": found["wrongful_discards"],
            "views_to_regenerate": found["views_to_regenerate"],
            "wrongful_discards_per_environment": found["wrongful_discards_per_environment"],
        },
    }


def build(out: Path, seed: int = SEED, tenants: tuple[str, ...] = TENANTS) -> dict[str, Any]:
    """Write every sample under ``out`` and return the manifest (also written there)."""
    import toolkit

    out.mkdir(parents=True, exist_ok=True)
    samples = {}
    for sample in SAMPLES:
        started = time.perf_counter()
        samples[sample.name] = record(sample, out, seed, tenants)
        took = time.perf_counter() - started
        size = sum(f["bytes"] for f in samples[sample.name]["files"])
        print(f"{sample.name}: {size / 1e6:.1f} MB in {took:.0f} s", file=sys.stderr)
    manifest = {
        "generator": "scripts/make_sample_logs.py",
        "command": COMMAND,
        "toolkit_version": getattr(toolkit, "__version__", None),
        "format": "OTLP JSON lines (one ExportTraceServiceRequest / ExportLogsServiceRequest "
                  "per line), gzip level 9",
        "byte_identical_on_regeneration": False,
        "note": "checksums describe the committed files; a regeneration gives the same "
                "records and counts (spans_loaded, logs_loaded, rejected) but new "
                "service.instance.id values and different line batching",
        "total_bytes": sum(f["bytes"] for s in samples.values() for f in s["files"]),
        "samples": samples,
    }
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def check(out: Path) -> int:
    """Regenerate into a temporary directory and compare the stable counts with ``out``'s
    manifest. Returns the number of differences."""
    committed = json.loads((out / "MANIFEST.json").read_text())
    with tempfile.TemporaryDirectory(prefix="sample-logs-check-") as scratch:
        fresh = build(Path(scratch), seed=SEED, tenants=TENANTS)
    problems = 0
    for name, sample in committed["samples"].items():
        new = fresh["samples"].get(name)
        if new is None:
            print(f"{name}: not regenerated", file=sys.stderr)
            problems += 1
            continue
        for old_file, new_file in zip(sample["files"], new["files"], strict=True):
            for key in STABLE_COUNTS:
                if old_file[key] != new_file[key]:
                    print(f"{old_file['path']}: {key} {old_file[key]} committed, "
                          f"{new_file[key]} regenerated", file=sys.stderr)
                    problems += 1
        for part in ("store", "ground_truth", "audit"):
            if sample[part] != new[part]:
                print(f"{name}: {part} differs: {sample[part]} committed, {new[part]} "
                      "regenerated", file=sys.stderr)
                problems += 1
    print("counts match the manifest" if not problems else f"{problems} differences",
          file=sys.stderr)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output directory (default: sample_logs/ of the repository)")
    parser.add_argument("--check", action="store_true",
                        help="regenerate in a temporary directory and compare the counts "
                             "with OUT/MANIFEST.json; writes nothing")
    args = parser.parse_args(argv)
    if args.check:
        return 1 if check(args.out) else 0
    manifest = build(args.out)
    print(f"wrote {args.out}: {manifest['total_bytes'] / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
