"""The setup API: local providers, early configuration errors, clean shutdown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry._logs import get_logger_provider

from tests.telemetry.conftest import T0
from toolkit import __version__
from toolkit.engine.testing import drain, small_engine
from toolkit.telemetry import CountingSpanExporter, Telemetry, TelemetryConfigError


def test_providers_are_local_and_the_global_ones_untouched() -> None:
    """A Telemetry never installs its providers globally."""
    before = (trace.get_tracer_provider(), get_logger_provider(), metrics.get_meter_provider())
    telemetry = Telemetry(otlp=False)
    after = (trace.get_tracer_provider(), get_logger_provider(), metrics.get_meter_provider())
    assert after == before
    assert telemetry.tracer_provider not in after
    telemetry.shutdown()


def test_the_resource_names_the_service() -> None:
    """service.name/version/instance.id from the arguments; extra attributes win."""
    telemetry = Telemetry(service_name="engine-a", service_instance_id="run-7",
                          resource_attributes={"deployment.environment": "test"}, otlp=False)
    resource = dict(telemetry.resource.attributes)
    assert {k: resource[k] for k in ("service.name", "service.version", "service.instance.id",
                                     "deployment.environment")} == {
        "service.name": "engine-a", "service.version": __version__,
        "service.instance.id": "run-7", "deployment.environment": "test",
    }
    telemetry.shutdown()


@pytest.mark.parametrize(("options", "message"), [
    ({"service_name": " "}, "service_name must not be empty"),
    ({"max_queue_size": 1}, "max_queue_size must be >= 2, got 1"),
    ({"max_queue_size": 8, "max_export_batch_size": 9}, r"max_export_batch_size must be in"),
    ({"max_queue_size": 8, "flush_every": 5},
     r"flush_every must be in 1..max_queue_size // 2 \(4\), got 5"),
    ({"schedule_delay_millis": 0}, "schedule_delay_millis must be > 0"),
])
def test_bad_configuration_fails_at_construction(options: dict[str, Any], message: str) -> None:
    """Wrong limits raise TelemetryConfigError (a ValueError) saying what is wrong."""
    with pytest.raises(TelemetryConfigError, match=message):
        Telemetry(span_exporters=[CountingSpanExporter()], otlp=False, **options)
    assert issubclass(TelemetryConfigError, ValueError)


def test_to_directory_writes_rotated_compressed_files(tmp_path: Path) -> None:
    """Rotation and gzip from the convenience constructor; all files complete on exit."""
    with Telemetry.to_directory(tmp_path / "out", max_bytes=4096, compress=True,
                                otlp=False) as telemetry:
        engine = small_engine(observer=telemetry.observer)
        for i in range(20):
            engine.ingest(T0 + i, "acme-dev", "cms", f"node-{i}", 1)
        drain(engine, T0 + 100)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names[0] == "logs-000001.jsonl.gz" and len(names) > 2
    assert all(n.endswith(".jsonl.gz") for n in names)


def test_shutdown_is_idempotent_and_flushes() -> None:
    """Everything emitted is exported by shutdown; a second shutdown does nothing."""
    spans = CountingSpanExporter()
    telemetry = Telemetry(span_exporters=[spans], otlp=False, schedule_delay_millis=60_000)
    engine = small_engine(observer=telemetry.observer)
    engine.ingest(T0, "acme-dev", "cms", "node-1", 1)
    assert spans.count == 0
    telemetry.shutdown()
    telemetry.shutdown()
    assert spans.count == 3


def test_the_engine_imports_no_opentelemetry() -> None:
    """The engine and workload stay pure Python: telemetry observes them from outside."""
    code = ("import sys, json, toolkit.engine, toolkit.workload, toolkit.engine.testing; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('opentelemetry'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert json.loads(out.stdout) == []
