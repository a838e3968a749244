"""Progress bars for the long steps, on a terminal only.

A bar (tqdm) appears on stderr once a step has run for :data:`DELAY` seconds, and only
when stderr is a terminal: cron, pipes and tests see nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["DELAY", "bar", "bytes_bar", "load_progress", "spool_progress"]

#: Seconds a step runs before its bar is drawn.
DELAY = 2.0


@contextmanager
def bar(total: float | None, desc: str, *, unit: str = "it", scale: bool = False,
        **options: Any) -> Iterator[Any | None]:
    """A tqdm bar over ``total`` (``None``: a running count) on stderr, closed at the end;
    ``None`` off a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit=unit, unit_scale=scale, file=sys.stderr,
              leave=False, delay=DELAY, dynamic_ncols=True, **options) as shown:
        yield shown


def bytes_bar(total: int | None, desc: str) -> Any:
    """:func:`bar` counting bytes (kB, MB)."""
    return bar(total, desc, unit="B", scale=True, unit_divisor=1024)


@contextmanager
def load_progress(paths: list[Any], desc: str = "loading") -> Iterator[None]:
    """A bar over the bytes of ``paths`` while the store loads them (files or
    directories)."""
    from toolkit.store.load import expand_paths, reporting_progress

    if not sys.stderr.isatty():
        yield
        return
    files = expand_paths(paths)
    with bytes_bar(sum(f.stat().st_size for f in files if f.is_file()), desc) as shown:
        if shown is None:
            yield
            return
        update: Callable[[int], None] = shown.update
        with reporting_progress(update):
            yield


@contextmanager
def spool_progress(desc: str = "folding") -> Iterator[None]:
    """A running count of the bytes a spool fold reads (how much is new is known only to the
    fold, from its cursors, so there is no total)."""
    from toolkit.store.load import reporting_progress

    with bytes_bar(None, desc) as shown:
        if shown is None:
            yield
            return
        with reporting_progress(shown.update):
            yield
