"""Observability and incident analysis for job pipelines that silently drop work.

The package is organised by the one direction data flows: ``engine`` (a reference
processing platform with named faults) -> ``telemetry`` -> ``store`` -> ``detect`` ->
``alert`` / ``report``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
