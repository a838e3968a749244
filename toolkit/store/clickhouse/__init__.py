"""The toolkit's store over ClickHouse: the OpenTelemetry Collector's ``otel_logs`` and
``otel_traces`` tables read as they are, the rollup and the exact audit computed inside
ClickHouse, OTLP JSON loaded in the exporter's row shape. See ``docs/scale.md``.

``ClickHouseStore`` implements :class:`toolkit.store.Store` (reads, the audit's queries, the
alert's state, the detector fits, loads) with the DuckDB store's DataFrame shapes, so code
written against one runs on the other; ``Store.open`` returns one for a ``clickhouse://`` or
``chdb:`` address. Needs the ``clickhouse`` extra (a server, ``clickhouse-connect``) or the
``chdb`` extra (embedded ClickHouse).
"""

from toolkit.store.clickhouse.connection import is_clickhouse, parse_target
from toolkit.store.clickhouse.schema import SCHEMA_VERSION, create_exporter_tables
from toolkit.store.clickhouse.store import ClickHouseStore

__all__ = [
    "SCHEMA_VERSION",
    "ClickHouseStore",
    "create_exporter_tables",
    "is_clickhouse",
    "parse_target",
]
