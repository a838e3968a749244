"""One narrow connection over the two ways to reach ClickHouse: a server or cluster through
``clickhouse-connect`` (``clickhouse://user:pass@host:port/database``) and embedded ClickHouse
through ``chdb`` (``chdb:PATH``, optionally ``chdb:PATH?database=NAME``).

Both speak the same SQL and exchange Arrow, so everything above this module is written once
(values are written into the SQL as literals by ``sql.py``, which sidesteps the two drivers'
different parameter formats). Every failure to reach the database or to run a
statement becomes :class:`toolkit.errors.BadInput` with one line naming what is wrong.
"""

from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import pyarrow as pa

from toolkit.errors import BadInput
from toolkit.store.base import is_clickhouse

__all__ = ["Connection", "Target", "connect", "is_clickhouse", "parse_target"]

#: The database ``chdb:PATH`` uses unless told otherwise (the exporter README's ``otel``).
DEFAULT_DATABASE = "otel"
#: Seconds a server connection waits before saying it cannot reach the server.
CONNECT_TIMEOUT = 10
#: Every session computes in UTC (the exporter's ``DateTime64(9)`` are UTC instants, the
#: toolkit's times naive UTC), fills unmatched outer-join columns with ``NULL`` as standard SQL
#: does, and lets a column name win over a same-named alias (``min(time) AS time``).
_SETTINGS = {"session_timezone": "UTC", "join_use_nulls": 1, "prefer_column_name_to_alias": 1,
             "output_format_arrow_string_as_string": 1}



@dataclass(frozen=True)
class Target:
    """A parsed store address. ``label`` is what messages show (never the password)."""

    kind: str  # "server" or "chdb"
    database: str
    label: str
    host: str = ""
    port: int = 0
    username: str = "default"
    password: str = ""
    secure: bool = False
    path: str = ""


def _identifier(name: str, what: str, url: str) -> str:
    if not name or not all(c.isalnum() or c == "_" for c in name):
        raise BadInput(f"{url}: {what} {name!r} is not a plain ClickHouse identifier")
    return name


def parse_target(url: str) -> Target:
    """Parse ``clickhouse://user:pass@host:port/database``, ``clickhouses://...`` (TLS) or
    ``chdb:PATH[?database=NAME]``.

    Raises:
        BadInput: the address is malformed (the message names the part at fault).
    """
    if url.startswith("chdb:"):
        path, _, query = url[len("chdb:"):].partition("?")
        if not path:
            raise BadInput(f"{url}: no path after chdb: (write chdb:PATH)")
        options = parse_qs(query, keep_blank_values=True) if query else {}
        unknown = sorted(set(options) - {"database"})
        if unknown:
            raise BadInput(f"{url}: unknown option {unknown[0]!r} (only database=NAME)")
        database = options.get("database", [DEFAULT_DATABASE])[-1]
        return Target("chdb", _identifier(database, "database", url), url, path=path)
    if not url.startswith(("clickhouse://", "clickhouses://")):
        raise BadInput(f"{url}: not a ClickHouse address (clickhouse://user:pass@host:port/db "
                       "or chdb:PATH)")
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise BadInput(f"{_redact(url)}: the port is not a number") from exc
    if not parts.hostname:
        raise BadInput(f"{_redact(url)}: no host (clickhouse://user:pass@host:port/database)")
    database = parts.path.strip("/")
    if not database:
        raise BadInput(f"{_redact(url)}: no database (clickhouse://user:pass@host:port/database)")
    if parts.query or parts.fragment:
        raise BadInput(f"{_redact(url)}: options after the database are not supported")
    secure = parts.scheme == "clickhouses"
    return Target(
        "server",
        _identifier(database, "database", _redact(url)),
        _redact(url),
        host=parts.hostname,
        port=port or (8443 if secure else 8123),
        username=unquote(parts.username or "default"),
        password=unquote(parts.password or ""),
        secure=secure,
    )


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    line = text.splitlines()[0]
    # ClickHouse prefixes "Code: N. DB::Exception: "; the rest says what is wrong.
    return line.split("DB::Exception: ", 1)[-1].split(" Stack trace", 1)[0][:400]


class Connection(Protocol):
    """What the ClickHouse store needs from a connection."""

    target: Target

    def arrow(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        """Run a query and return its rows as Arrow; ``params`` fill the query's
        ``{name:Type}`` placeholders (ClickHouse's own parameter syntax)."""
        ...

    def command(self, sql: str) -> None:
        """Run a statement that returns nothing worth reading."""
        ...

    def insert(self, table: str, rows: pa.Table) -> None:
        """Append ``rows`` (Arrow, columns named as the table's) to ``table``."""
        ...

    def close(self) -> None: ...


class _Server:
    """A ClickHouse server or cluster through clickhouse-connect's HTTP client."""

    def __init__(self, target: Target) -> None:
        try:
            import clickhouse_connect
        except ImportError as exc:
            raise BadInput(f"{target.label}: ClickHouse needs the clickhouse-connect package "
                           "(pip install 'toolkit[clickhouse]')") from exc
        self.target = target
        # The driver also logs what it raises; the toolkit says it once, in one line.
        logging.getLogger("clickhouse_connect").addHandler(logging.NullHandler())
        try:
            self._client = clickhouse_connect.get_client(
                host=target.host, port=target.port, username=target.username,
                password=target.password, database=target.database, secure=target.secure,
                connect_timeout=CONNECT_TIMEOUT, settings=dict(_SETTINGS),
            )
        except Exception as exc:  # the driver raises several unrelated types
            raise BadInput(f"{target.label}: cannot reach ClickHouse: {_first_line(exc)}"
                           ) from exc

    def arrow(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        try:
            return self._client.query_arrow(sql, parameters=params, use_strings=True)
        except Exception as exc:
            raise BadInput(f"{self.target.label}: {_first_line(exc)}") from exc

    def command(self, sql: str) -> None:
        try:
            self._client.command(sql)
        except Exception as exc:
            raise BadInput(f"{self.target.label}: {_first_line(exc)}") from exc

    def insert(self, table: str, rows: pa.Table) -> None:
        try:
            self._client.insert_arrow(table, rows)  # the toolkit's names are qualified
        except Exception as exc:
            raise BadInput(f"{self.target.label}: {_first_line(exc)}") from exc

    def close(self) -> None:
        self._client.close()


class _Embedded:
    """Embedded ClickHouse (chdb): the same engine in this process, data under ``path``.

    chdb runs one embedded server per process: a second path cannot be opened while the first
    is, so the message says which one is open.
    """

    _open: ClassVar[dict[str, int]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, target: Target) -> None:
        try:
            import chdb
        except ImportError as exc:
            raise BadInput(f"{target.label}: embedded ClickHouse needs the chdb package "
                           "(pip install 'toolkit[chdb]')") from exc
        self.target = target
        self._lock = threading.RLock()
        with self._guard:
            others = [p for p, n in self._open.items() if n and p != target.path]
            if others:
                raise BadInput(f"{target.label}: embedded ClickHouse is already open at "
                               f"{others[0]} in this process (one chdb path per process)")
            try:
                self._con = chdb.connect(target.path)
            except Exception as exc:
                raise BadInput(f"{target.label}: cannot open embedded ClickHouse: "
                               f"{_first_line(exc)}") from exc
            self._open[target.path] = self._open.get(target.path, 0) + 1
        for name, value in _SETTINGS.items():
            self.command(f"SET {name} = {value!r}")
        self.command(f"CREATE DATABASE IF NOT EXISTS {target.database}")
        self.command(f"USE {target.database}")

    def arrow(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        with self._lock:
            try:
                return self._con.query(sql, "ArrowTable", params=params)
            except Exception as exc:
                raise BadInput(f"{self.target.label}: {_first_line(exc)}") from exc

    def command(self, sql: str) -> None:
        with self._lock:
            try:
                self._con.query(sql, "CSV")
            except Exception as exc:
                raise BadInput(f"{self.target.label}: {_first_line(exc)}") from exc

    def insert(self, table: str, rows: pa.Table) -> None:
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, rows.schema) as writer:
            writer.write_table(rows)
        columns = ", ".join(f"`{c}`" for c in rows.column_names)
        with self._lock:
            try:
                with self._con.send_insert(f"INSERT INTO {table} ({columns})",
                                           "ArrowStream") as inserter:
                    inserter.append(sink.getvalue())
                    inserter.finish()
            except Exception as exc:
                raise BadInput(f"{self.target.label}: {_first_line(exc)}") from exc

    def close(self) -> None:
        with self._guard, self._lock:
            self._con.close()
            self._open[self.target.path] -= 1


def connect(url: str) -> Connection:
    """Open ``url`` (see :func:`parse_target`).

    Raises:
        BadInput: a malformed address, a missing driver, or a server that cannot be reached.
    """
    target = parse_target(url)
    return _Embedded(target) if target.kind == "chdb" else _Server(target)
