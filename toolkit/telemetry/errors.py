"""The telemetry package's exceptions."""

from toolkit.errors import ToolkitError


class TelemetryConfigError(ToolkitError, ValueError):
    """Telemetry was configured wrongly (a bad limit, an unusable path or OTLP setting)."""
