"""JSON lines files: complete-only visibility, rotation by size and age, gzip, spools."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from toolkit.telemetry import RotatingJsonLinesFile, TelemetryConfigError

LINE = b'{"resourceSpans":[]}' + b" " * 39 + b"\n"  # 60 bytes


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_a_single_file_appears_only_when_complete(tmp_path: Path) -> None:
    """Without rotation the lines go to ``.tmp`` and the file is renamed into place at
    close, replacing an older file of the same name."""
    (tmp_path / "traces.jsonl").write_bytes(b"old\n")
    out = RotatingJsonLinesFile(tmp_path / "traces.jsonl")
    out.write(LINE)
    out.write(LINE)
    out.flush()
    assert _names(tmp_path) == ["traces.jsonl", "traces.jsonl.tmp"]
    assert (tmp_path / "traces.jsonl").read_bytes() == b"old\n"
    out.close()
    out.close()
    assert _names(tmp_path) == ["traces.jsonl"]
    assert (tmp_path / "traces.jsonl").read_bytes() == LINE * 2
    assert out.completed == [tmp_path / "traces.jsonl"]


def test_files_rotate_at_the_first_line_boundary_past_the_limit(tmp_path: Path) -> None:
    """max_bytes=100 with 60-byte lines: two lines per file, numbered, never split."""
    out = RotatingJsonLinesFile(tmp_path / "logs.jsonl", max_bytes=100)
    for _ in range(5):
        out.write(LINE)
    assert _names(tmp_path) == ["logs-000001.jsonl", "logs-000002.jsonl",
                                "logs-000003.jsonl.tmp"]
    out.close()
    assert _names(tmp_path) == ["logs-000001.jsonl", "logs-000002.jsonl", "logs-000003.jsonl"]
    assert [(tmp_path / n).read_bytes() for n in _names(tmp_path)] == [LINE * 2, LINE * 2, LINE]


def test_numbering_continues_after_the_files_already_there(tmp_path: Path) -> None:
    """A second run into the same directory never overwrites the first run's files."""
    (tmp_path / "logs-000007.jsonl").write_bytes(LINE)
    out = RotatingJsonLinesFile(tmp_path / "logs.jsonl", max_bytes=10)
    out.write(LINE)
    out.close()
    assert _names(tmp_path) == ["logs-000007.jsonl", "logs-000008.jsonl"]


def test_compressed_files_are_gzip_with_the_same_lines(tmp_path: Path) -> None:
    """``compress`` writes ``.jsonl.gz`` files that decompress to the lines written."""
    out = RotatingJsonLinesFile(tmp_path / "traces.jsonl", max_bytes=100, compress=True)
    for _ in range(3):
        out.write(LINE)
    out.close()
    assert _names(tmp_path) == ["traces-000001.jsonl.gz", "traces-000002.jsonl.gz"]
    assert [gzip.decompress((tmp_path / n).read_bytes()) for n in _names(tmp_path)] == \
        [LINE * 2, LINE]


def test_nothing_written_leaves_no_file(tmp_path: Path) -> None:
    """A file is created by its first line: an idle exporter leaves the directory empty."""
    RotatingJsonLinesFile(tmp_path / "traces.jsonl", max_bytes=100).close()
    assert _names(tmp_path) == []


def test_writing_after_close_is_an_error(tmp_path: Path) -> None:
    """A closed file refuses lines (the exporter turns this into a logged failure)."""
    out = RotatingJsonLinesFile(tmp_path / "traces.jsonl")
    out.close()
    with pytest.raises(ValueError, match="closed"):
        out.write(LINE)


@pytest.mark.parametrize(("options", "message"), [
    ({"max_bytes": 0}, "max_bytes must be > 0, got 0"),
    ({"max_seconds": 0}, "max_seconds must be > 0, got 0"),
    ({"compresslevel": 10}, "compresslevel must be 0-9, got 10"),
])
def test_bad_settings_fail_at_construction(
    tmp_path: Path, options: dict[str, int], message: str
) -> None:
    """Limits are checked when the file is configured, not when the first batch arrives."""
    with pytest.raises(TelemetryConfigError, match=message):
        RotatingJsonLinesFile(tmp_path / "x.jsonl", **options)  # type: ignore[arg-type]


def test_an_unusable_directory_fails_at_construction(tmp_path: Path) -> None:
    """A path below a regular file cannot hold telemetry: said at construction."""
    (tmp_path / "file").write_text("")
    with pytest.raises(TelemetryConfigError, match="cannot create the telemetry directory"):
        RotatingJsonLinesFile(tmp_path / "file" / "traces.jsonl")


def test_files_rotate_by_age_on_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """max_seconds: a write to a file that old completes it, so a slow stream is published."""
    clock = [100.0]
    monkeypatch.setattr("toolkit.telemetry.files.time.monotonic", lambda: clock[0])
    out = RotatingJsonLinesFile(tmp_path / "logs.jsonl", max_seconds=10)
    out.write(LINE)
    clock[0] += 9.9
    out.write(LINE)
    assert _names(tmp_path) == ["logs-000001.jsonl.tmp"]
    clock[0] += 0.1
    out.write(LINE)
    assert _names(tmp_path) == ["logs-000001.jsonl"]
    assert (tmp_path / "logs-000001.jsonl").read_bytes() == LINE * 3


def test_a_spool_file_is_marked_with_its_identity_when_published(tmp_path: Path) -> None:
    """spool=True: each published file has a marker .published/<name> holding its device
    and inode (what the loader checks before moving it), gzip or not."""
    for compress in (False, True):
        out = RotatingJsonLinesFile(tmp_path / f"c{compress:d}.jsonl", max_bytes=1,
                                    compress=compress, spool=True)
        out.write(LINE)
        out.close()
    for name in ("c0-000001.jsonl", "c1-000001.jsonl.gz"):
        info = (tmp_path / name).stat()
        marker = (tmp_path / ".published" / name).read_text()
        assert marker == f"{info.st_dev}:{info.st_ino}\n"
    assert gzip.decompress((tmp_path / "c1-000001.jsonl.gz").read_bytes()) == LINE
