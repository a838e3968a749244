"""Fixtures for the store's tests: a fresh store per test, and a writer of OTLP files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from toolkit.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A new, writable store file in the test's temporary directory."""
    with Store.open(tmp_path / "store.duckdb") as opened:
        yield opened


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write a file (text or bytes) under the test's temporary directory; return its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write
