"""Who imports what on the way in: the store no OpenTelemetry, the live engine no store."""

from __future__ import annotations

import subprocess
import sys


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True).stdout


def test_the_store_imports_no_opentelemetry():
    """import toolkit.store loads neither the OpenTelemetry SDK nor its API."""
    out = run("import sys, toolkit.store; "
              "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))")
    assert out.strip() == "[]"


def test_the_live_engine_imports_neither_duckdb_nor_pandas(tmp_path):
    """A live run writes its spool with the telemetry package alone."""
    out = run(f"""
import sys, threading
from toolkit.app.runs import run_live
stop = threading.Event()
threading.Timer(1.5, stop.set).start()
stats = run_live(spool={str(tmp_path / "spool")!r}, speed=300, rotate_seconds=0.5, stop=stop)
print(stats["attempts"] > 0, "duckdb" in sys.modules, "pandas" in sys.modules)
""")
    assert out.split() == ["True", "False", "False"]
    assert list((tmp_path / "spool").glob("traces-*.jsonl"))
    assert list((tmp_path / "spool" / ".published").iterdir())
