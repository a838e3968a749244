"""The SDK's OTLP exporters, attached when the standard ``OTEL_EXPORTER_OTLP_*`` variables
ask for them.

A signal is exported over OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or its signal-specific
``OTEL_EXPORTER_OTLP_{TRACES,LOGS,METRICS}_ENDPOINT`` is set. The exporters read every other
variable (headers, timeout, compression, certificates) themselves. The protocol comes from
``OTEL_EXPORTER_OTLP_{SIGNAL}_PROTOCOL`` or ``OTEL_EXPORTER_OTLP_PROTOCOL``: ``http/protobuf``
(the default; package ``opentelemetry-exporter-otlp-proto-http``) or ``grpc`` (package
``opentelemetry-exporter-otlp-proto-grpc``).

The packages are imported only when asked for, so the core runs without them; when a variable
asks for one that is not installed, construction fails with a message saying what to install.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from toolkit.telemetry.errors import TelemetryConfigError

__all__ = ["OtlpExporters", "otlp_exporters_from_env", "otlp_requested"]

_SIGNALS = ("traces", "logs", "metrics")

# protocol -> (package to install, module prefix)
_PROTOCOLS = {
    "http/protobuf": (
        "opentelemetry-exporter-otlp-proto-http", "opentelemetry.exporter.otlp.proto.http"
    ),
    "grpc": (
        "opentelemetry-exporter-otlp-proto-grpc", "opentelemetry.exporter.otlp.proto.grpc"
    ),
}
# signal -> (module under the prefix, class)
_CLASSES = {
    "traces": ("trace_exporter", "OTLPSpanExporter"),
    "logs": ("_log_exporter", "OTLPLogExporter"),
    "metrics": ("metric_exporter", "OTLPMetricExporter"),
}


@dataclass(frozen=True)
class OtlpExporters:
    """The OTLP exporters the environment asked for (``None``: that signal is not sent)."""

    spans: Any | None = None
    logs: Any | None = None
    metrics: Any | None = None


def otlp_requested() -> bool:
    """Whether any ``OTEL_EXPORTER_OTLP_*ENDPOINT`` variable is set (and not empty)."""
    return any(_endpoint(os.environ, signal) for signal in _SIGNALS)


def otlp_exporters_from_env(*, all_signals: bool = False) -> OtlpExporters:
    """Build the OTLP exporters the environment asks for (``all_signals``: for every signal,
    whether or not an endpoint is set; the exporters then use the SDK's default endpoints).

    Raises:
        TelemetryConfigError: a protocol is unknown or its exporter package is not installed.
    """
    env = os.environ
    built: dict[str, Any] = {}
    for signal in _SIGNALS:
        if not all_signals and not _endpoint(env, signal):
            continue
        protocol = (
            env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL")
            or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            or "http/protobuf"
        ).strip()
        if protocol not in _PROTOCOLS:
            raise TelemetryConfigError(
                f"OTLP protocol {protocol!r} for {signal} is not supported "
                f"(use one of: {', '.join(_PROTOCOLS)})"
            )
        package, prefix = _PROTOCOLS[protocol]
        module_name, class_name = _CLASSES[signal]
        try:
            module = importlib.import_module(f"{prefix}.{module_name}")
        except ImportError as error:
            raise TelemetryConfigError(
                f"OTEL_EXPORTER_OTLP_* asks for OTLP {protocol} {signal} but {package} is not "
                f"installed: pip install {package} (or toolkit[otlp])"
            ) from error
        built[signal] = getattr(module, class_name)()
    return OtlpExporters(built.get("traces"), built.get("logs"), built.get("metrics"))


def _endpoint(env: Mapping[str, str], signal: str) -> str:
    return (
        env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or ""
    ).strip()
