"""The store writer process behind ``toolkit.store.sinks.ProcessSink``.

``python -m toolkit.store_writer STORE OPEN_TIMEOUT`` reads length-prefixed pickled
messages on standard input (``("spans", rows)``, ``("logs", rows)``, ``("flush", n)``) and
answers on standard output (``("failed", reason)`` when the store cannot be opened,
``("flushed", n, ok)``, ``("closed", ok)``). Its parent starts it; it is not a command for people.

It lives outside ``toolkit.store`` because importing that package (DuckDB, pyarrow,
pandas) takes half a second, and the parent must not wait that long with a full pipe: this
module starts reading at once and imports the store afterwards.
"""

from __future__ import annotations

import contextlib
import pickle
import queue
import signal
import struct
import sys
import threading
from typing import IO, Any

__all__ = ["main", "read_frame", "write_frame"]

_HEADER = struct.Struct("<Q")
#: Messages read ahead of the writer; beyond this the pipe, then the parent, waits.
READ_AHEAD = 1024


def write_frame(stream: IO[bytes], message: Any) -> None:
    """One pickled message, length first (``message`` may be pickled bytes already)."""
    payload = message if isinstance(message, bytes) else pickle.dumps(message, protocol=5)
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def frame(message: Any) -> bytes:
    """The bytes :func:`write_frame` writes for ``message``."""
    payload = pickle.dumps(message, protocol=5)
    return _HEADER.pack(len(payload)) + payload


def read_frame(stream: IO[bytes]) -> Any:
    """The next message; ``None`` at end of input (a cut-off message counts as the end).
    A message that cannot be unpickled becomes ``("error", why)``: the frame is whole, so
    the stream stays in step."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    try:
        return pickle.loads(payload)
    except Exception as exc:  # e.g. an attribute value of a class this process cannot import
        return ("error", f"a message of {size} bytes could not be read: {exc!r}")


def _read(stream: IO[bytes], items: queue.Queue[Any]) -> None:
    while (message := read_frame(stream)) is not None:
        items.put(message)
    items.put(None)


def main(path: str, open_timeout: float) -> int:
    """Serve one store until the parent ends its input; 0 when every write succeeded."""
    # The parent decides when telemetry ends (it flushes on Ctrl-C or SIGTERM, which reach
    # the whole process group); its end of input, even after SIGKILL, ends this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    items: queue.Queue[Any] = queue.Queue(READ_AHEAD)
    threading.Thread(target=_read, args=(sys.stdin.buffer, items), daemon=True).start()

    out = sys.stdout.buffer
    lock = threading.Lock()

    def tell(message: tuple[Any, ...]) -> None:
        with lock, contextlib.suppress(OSError):  # a parent gone (SIGKILL) hears nothing
            write_frame(out, message)

    from toolkit.store.api import Store
    from toolkit.store.sinks import serve

    try:
        store = Store.open(path, timeout=open_timeout)
    except Exception as exc:
        tell(("failed", f"cannot open the store {path}: {exc}"))
        return 1
    # A background writer must not take the program's core: one DuckDB thread (measured:
    # the instrumented run and the writer both finish sooner than with two).
    store.connection.execute("SET threads = 1")
    with store:
        ok = serve(store, items, lambda number, good: tell(("flushed", number, good)))
        try:
            store.refresh_rollup()
        except Exception as exc:
            print(f"toolkit store writer: rollup refresh failed: {exc}", file=sys.stderr)
            ok = False
    tell(("closed", ok))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
