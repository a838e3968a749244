"""OTLP JSON text -> rows, for the store's loader.

* :mod:`~toolkit.otlp.decode.source`: a file opened safely (regular files only, gzip
  watched for bombs), and its first bytes;
* :mod:`~toolkit.otlp.decode.lines`: its text as blocks of lines in bounded memory;
* :mod:`~toolkit.otlp.decode.sql`: the DuckDB SQL that parses and flattens requests into
  staged rows, each with its position and an error (``NULL`` when good);
* :mod:`~toolkit.otlp.decode.values`: attribute values (``AnyValue``) as the store's plain
  JSON, and back;
* :mod:`~toolkit.otlp.decode.explain`: why a line the SQL could not take is bad.
"""
