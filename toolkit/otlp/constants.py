"""What OTLP itself fixes, written once for the encoder and the decoder.

The names and numbers come from the OTLP protobuf definitions (``opentelemetry-proto``:
``trace/v1/trace.proto``, ``logs/v1/logs.proto``, ``common/v1/common.proto``) and their JSON
mapping. The store keeps span kinds and status codes as the lowercase words below.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "REQUESTS",
    "SEVERITY_NAMES",
    "SPAN_FLAGS_HAS_IS_REMOTE",
    "SPAN_FLAGS_IS_REMOTE",
    "SPAN_KINDS",
    "STATUS_CODES",
    "proto_names",
]

#: The containers of each request, outermost first: ``resourceSpans`` -> ``scopeSpans`` ->
#: ``spans`` (``ExportTraceServiceRequest``), and the same for logs.
REQUESTS: Final = {
    "spans": ("resourceSpans", "scopeSpans", "spans"),
    "logs": ("resourceLogs", "scopeLogs", "logRecords"),
}

#: ``Span.SpanKind`` by number (the API's ``SpanKind`` starts at INTERNAL = 0, OTLP at 1).
SPAN_KINDS: Final = ("unspecified", "internal", "server", "client", "producer", "consumer")
#: ``Status.StatusCode`` by number.
STATUS_CODES: Final = ("unset", "ok", "error")
#: ``SeverityNumber`` by number, without the ``SEVERITY_NUMBER_`` prefix.
SEVERITY_NAMES: Final = ("UNSPECIFIED", *(
    f"{level}{n if n > 1 else ''}"
    for level in ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
    for n in range(1, 5)
))

#: ``SpanFlags``: bit 8 says whether bit 9 (the parent or linked context is remote) is known.
SPAN_FLAGS_HAS_IS_REMOTE: Final = 0x100
SPAN_FLAGS_IS_REMOTE: Final = 0x200

#: OTLP integers (``intValue``, counts) are signed 64-bit.
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


def proto_names(prefix: str, names: tuple[str, ...]) -> list[str]:
    """The protobuf enum names (``SPAN_KIND_SERVER``) of the words above, in number order;
    the JSON mapping accepts them as well as the numbers."""
    return [f"{prefix}{name.upper()}" for name in names]
