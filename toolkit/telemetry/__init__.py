"""OpenTelemetry instrumentation of the engine: spans, job logs and metrics.

The engine stays free of OpenTelemetry; :class:`TelemetryObserver` watches it through the
engine's ``Observer`` hook and emits through the real SDK, with the engine's clock as every
timestamp. :class:`Telemetry` builds local providers, lossless batch processors and the
exporters; the JSON lines exporters write what the OpenTelemetry Collector's ``file``
exporter writes, so the store reads the reference engine and a production system alike.

Attribute and event names are in :mod:`toolkit.telemetry.attributes` and
``docs/telemetry.md``.
"""

from toolkit.telemetry.errors import TelemetryConfigError
from toolkit.telemetry.exporters import (
    CountingLogExporter,
    CountingSpanExporter,
    JsonLinesLogExporter,
    JsonLinesSpanExporter,
)
from toolkit.telemetry.files import RotatingJsonLinesFile
from toolkit.telemetry.metrics import PipelineMetrics
from toolkit.telemetry.observer import TelemetryObserver, to_ns
from toolkit.telemetry.otlp_env import OtlpExporters, otlp_exporters_from_env, otlp_requested
from toolkit.telemetry.processors import (
    LosslessBatchLogRecordProcessor,
    LosslessBatchSpanProcessor,
)
from toolkit.telemetry.providers import INSTRUMENTATION_SCOPE, Telemetry

__all__ = [
    "INSTRUMENTATION_SCOPE",
    "CountingLogExporter",
    "CountingSpanExporter",
    "JsonLinesLogExporter",
    "JsonLinesSpanExporter",
    "LosslessBatchLogRecordProcessor",
    "LosslessBatchSpanProcessor",
    "OtlpExporters",
    "PipelineMetrics",
    "RotatingJsonLinesFile",
    "Telemetry",
    "TelemetryConfigError",
    "TelemetryObserver",
    "otlp_exporters_from_env",
    "otlp_requested",
    "to_ns",
]
