"""Progress: a bar over the bytes a load reads, on a terminal only."""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path

import pytest

from tests.store.otlp import jsonl, span, traces_request
from toolkit.app import progress
from toolkit.app.progress import load_progress
from toolkit.store import Store
from toolkit.store.load import reporting_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _files(tmp_path: Path) -> list[Path]:
    text = jsonl(*(traces_request([span(i, i)]) for i in range(1, 200)))
    plain = tmp_path / "a.jsonl"
    plain.write_text(text)
    packed = tmp_path / "b.jsonl.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    (tmp_path / "bad.jsonl").write_bytes(b"\x00\x01 not telemetry")
    return [plain, packed, tmp_path / "bad.jsonl"]


def test_a_load_reports_every_byte_of_its_files(tmp_path: Path) -> None:
    """Plain, gzip (compressed bytes) and unreadable files: the updates add up to the sizes."""
    files = _files(tmp_path)
    updates: list[int] = []
    with Store.open(":memory:") as store, reporting_progress(updates.append):
        result = store.load(*files)
    assert (result.spans_loaded, result.duplicates, result.rejected) == (199, 199, 1)
    assert all(n >= 0 for n in updates)
    assert sum(updates) == sum(f.stat().st_size for f in files)
    with Store.open(":memory:") as store:  # outside the block, nobody is called
        store.load(*files)
    assert sum(updates) == sum(f.stat().st_size for f in files)


def test_the_bar_is_drawn_on_a_terminal_only(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    files = _files(tmp_path)
    quiet = io.StringIO()
    monkeypatch.setattr(sys, "stderr", quiet)
    with Store.open(":memory:") as store, load_progress([tmp_path]):
        store.load(tmp_path)
    assert quiet.getvalue() == ""

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress, "DELAY", 0.0)
    with Store.open(":memory:") as store, load_progress(files, "loading"):
        store.load(*files)
    assert "loading:" in terminal.getvalue()
    total = sum(f.stat().st_size for f in files)
    assert f"/{total / 1024:.1f}k " in terminal.getvalue()  # the total, in KiB


def test_a_spool_fold_reports_the_bytes_it_reads_and_draws_on_a_terminal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fold reports each new byte once (a second fold of the same files reports nothing),
    and ``toolkit load --spool``'s running count is drawn on a terminal only."""
    from toolkit.app.progress import spool_progress
    from toolkit.store import fold_spool

    spool = tmp_path / "spool"
    spool.mkdir()
    text = jsonl(*(traces_request([span(i, i)]) for i in range(1, 200)))
    (spool / "a.jsonl").write_text(text)
    updates: list[int] = []
    with Store.open(":memory:") as store:
        with reporting_progress(updates.append):
            assert fold_spool(store, spool).spans_loaded == 199
            assert sum(updates) == len(text.encode()) and all(n > 0 for n in updates)
            fold_spool(store, spool)
        assert sum(updates) == len(text.encode())

    quiet = io.StringIO()
    monkeypatch.setattr(sys, "stderr", quiet)
    with Store.open(":memory:") as store, spool_progress():
        fold_spool(store, spool)
    assert quiet.getvalue() == ""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress, "DELAY", 0.0)
    with Store.open(":memory:") as store, spool_progress():
        fold_spool(store, spool)
    assert "folding: " in terminal.getvalue() and "B/s" in terminal.getvalue()
