"""OTLP, both ways: what the toolkit knows of the OpenTelemetry protocol's JSON encoding.

* :mod:`toolkit.otlp.encode`: spans and log records -> OTLP JSON lines (what the
  telemetry writers write, shaped as the Collector's ``file`` exporter writes them);
* :mod:`toolkit.otlp.decode`: OTLP JSON text from any producer -> rows (the text read
  safely as lines, the DuckDB SQL that parses and flattens them, attribute values, and
  why a bad line is bad); the store writes those rows into its tables;
* :mod:`toolkit.otlp.constants`: what the protocol fixes (span kinds, status codes,
  severity names, flags), written once.

A leaf of the house: it imports neither the OpenTelemetry SDK nor the store.
"""
