"""No poison pills: whatever lands in a spool, each bad line or file is named, counted once,
kept aside, and never stops the good records nor the folds after it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.store.otlp import T0, log_record, logs_request, span, traces_request
from toolkit.store import Store, fold_spool


def good(t: int) -> str:
    return json.dumps(logs_request([log_record(T0 + t, "acme-prod", "job.created",
                                               pipeline__job__id=t)]))


def deep_kvlist(levels: int) -> str:
    """The JSON text of an attribute value nested ``levels`` kvlists (4 JSON levels each)
    deep: written as text, since Python's own json cannot write it."""
    return ('{"kvlistValue":{"values":[{"key":"k","value":' * levels
            + '{"stringValue":"bottom"}' + "}]}}" * levels)


POISON_LINES = {  # line text -> the error it must be rejected with
    '{"resourceSpans":' + "[" * 1000 + "]" * 1000 + "}":
        "nested 1001 levels deep: too deep for a telemetry request",
    '{"resourceSpans":{"scopeSpans":[]}}': "resourceSpans is an object, not a list",
    '{"resourceSpans":[{"scopeSpans":{"spans":[]}}]}':
        "resourceSpans[0].scopeSpans is an object, not a list",
    json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": span(1, 1)}]}]}):
        "resourceSpans[0].scopeSpans[0].spans is an object, not a list",
    '{"resourceLogs":"logs"}': "resourceLogs is a string, not a list",
    '{"resourceLogs":[{"scopeLogs":[{"logRecords":[]}, 7]}]}':
        "resourceLogs[0].scopeLogs[1] is a number, not an object",
    '{"resourceLogs":[{"scopeLogs":[{"logRecords":{"body":{}}}]}]}':
        "resourceLogs[0].scopeLogs[0].logRecords is an object, not a list",
    '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"a\\ud800b"}}]}]}]}':
        "the string 'a'... holds a lone UTF-16 surrogate \\ud800 (an escape of half a "
        "character): not valid Unicode",
}


def gzip_bomb(path: Path, megabytes: int) -> None:
    """``megabytes`` MiB of spaces, gzip-compressed about a thousand times."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    with open(path, "wb") as out:
        for _ in range(megabytes):
            out.write(compressor.compress(block))
        out.write(compressor.flush())


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory):
    """A spool with every kind of poison beside good records, folded once."""
    spool = tmp_path_factory.mktemp("poison") / "spool"
    spool.mkdir()
    lines = [good(0)]
    for n, text in enumerate(POISON_LINES, start=1):
        lines += [text, good(n)]
    deep = traces_request([span(1, 1) | {"attributes": [{"key": "deep", "value": "DEEP"}]}])
    lines.append(json.dumps(deep).replace('"DEEP"', deep_kvlist(300)))
    (spool / "otlp.jsonl").write_text("\n".join(lines) + "\n")
    (spool / "binary.jsonl").write_bytes(bytes(range(256)) * 64)
    gzip_bomb(spool / "bomb.jsonl.gz", 100)
    os.symlink("/dev/zero", spool / "zero.jsonl")
    (spool / "blank.jsonl").write_bytes(b"\n" * 20_000_000 + good(100).encode() + b"\n")
    (spool / "long.jsonl").write_bytes(b"[" + b" " * (70 << 20) + b"\n" + good(101).encode()
                                       + b"\n")
    store = Store.open(spool.parent / "store.duckdb")
    first = fold_spool(store, spool)
    yield spool, store, first
    store.close()


def test_every_good_record_is_stored(poisoned):
    """The good lines around the poison, and in the files after it, all load."""
    _, store, first = poisoned
    ids = sorted(int(j) for j in store.sql("SELECT job_id FROM logs").job_id)
    assert ids == [*range(len(POISON_LINES) + 1), 100, 101]
    assert first.logs_loaded == len(POISON_LINES) + 3


def test_each_poison_line_is_named_with_what_is_wrong(poisoned):
    """file:line and the reason, for every wrong container, nesting and surrogate."""
    spool, store, _ = poisoned
    rejected = store.sql("SELECT file, line, item, error FROM rejected ORDER BY file, line")
    lines = rejected[rejected.file == str(spool / "otlp.jsonl")]
    expected = [(2 * n, error) for n, error in enumerate(POISON_LINES.values(), start=1)]
    assert list(zip(lines.line, lines.error, strict=True))[: len(expected)] == expected
    deep = lines.iloc[len(expected)]
    assert (deep["line"], deep["item"], deep["error"]) == (
        2 * len(POISON_LINES) + 2, "resourceSpans[0].scopeSpans[0].spans[0]",
        'attribute "deep" has an invalid value')


def test_each_poison_file_is_one_rejection_at_line_0(poisoned):
    """A binary file, a gzip bomb, /dev/zero: the file named once, with why."""
    _, store, _ = poisoned
    rejected = store.sql("SELECT file, line, error FROM rejected WHERE line = 0 ORDER BY file")
    by_file = {Path(f).name: e for f, e in zip(rejected.file, rejected.error, strict=True)}
    assert by_file.keys() == {"binary.jsonl", "bomb.jsonl.gz", "zero.jsonl"}
    assert by_file["binary.jsonl"] == "binary data, not JSON text (a NUL byte at byte 1)"
    assert by_file["bomb.jsonl.gz"].startswith("gzip data expands more than 100 times")
    assert by_file["zero.jsonl"] == "a character device, not a regular file: nothing to load"
    long = store.sql("SELECT line, error FROM rejected WHERE file LIKE '%long.jsonl'")
    assert (long.line[0], long.error[0]) == (1, "line longer than 64 MiB: not read")


def test_counted_once_and_later_folds_are_not_blocked(poisoned):
    """The first fold counts every rejection; the next counts none and still loads what
    is appended after the poison."""
    spool, store, first = poisoned
    assert first.rejected == len(POISON_LINES) + 1 + 4
    assert len(store.rejected()) == first.rejected
    with open(spool / "otlp.jsonl", "a") as f:
        f.write(good(200) + "\n")
    again = fold_spool(store, spool)
    assert (again.logs_loaded, again.rejected) == (1, 0)
    assert len(store.rejected()) == first.rejected
    assert fold_spool(store, spool).records == 0


def test_the_raw_text_of_a_rejected_line_is_kept(poisoned):
    """What was refused is kept aside, for a person to look at."""
    spool, store, _ = poisoned
    raw = store.sql("SELECT raw FROM rejected WHERE file = ? AND line = 6",
                    [str(spool / "otlp.jsonl")]).raw[0]
    assert raw == '{"resourceSpans":[{"scopeSpans":{"spans":[]}}]}'


def test_cli_errors_are_one_line_and_json_objects(tmp_path):
    """toolkit load: a path that is not there, and a store that is not a store."""
    run = [sys.executable, "-m", "toolkit.cli", "load"]
    missing = subprocess.run([*run, str(tmp_path / "nope.jsonl"), "--db",
                              str(tmp_path / "s.duckdb"), "--json"],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert json.loads(missing.stdout) == {"error": f"{tmp_path / 'nope.jsonl'}: no such file "
                                                   "or directory"}
    assert len(missing.stderr.splitlines()) == 1 and "Traceback" not in missing.stderr
    assert not (tmp_path / "s.duckdb").exists()
    (tmp_path / "bad.duckdb").write_text("not a database")
    (tmp_path / "x.jsonl").write_text(good(1) + "\n")
    broken = subprocess.run([*run, str(tmp_path / "x.jsonl"), "--db",
                             str(tmp_path / "bad.duckdb")], capture_output=True, text=True,
                            timeout=60)
    assert broken.returncode == 2 and len(broken.stderr.splitlines()) == 1
    assert broken.stderr.startswith(f"toolkit load: error: {tmp_path / 'bad.duckdb'}: ")


def test_control_characters_from_telemetry_are_not_printed_raw(tmp_path):
    """An ESC in a rejected line's content reaches the terminal as an escape, not as ESC."""
    (tmp_path / "esc.jsonl").write_text('{"\\u001b[31mred": 1}\n')
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "load",
                           str(tmp_path / "esc.jsonl"), "--db", str(tmp_path / "s.duckdb")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "\x1b" not in proc.stderr and "\\x1b[31mred" in proc.stderr


def test_a_request_too_big_for_the_memory_cap_still_loads(tmp_path):
    """One line of 35 MiB (30,000 spans) needs more than the load's DuckDB memory cap to
    parse: it is loaded under the default limit instead of blocking the spool for ever."""
    spool = tmp_path / "spool"
    spool.mkdir()
    big = [span(i, i) | {"attributes": [{"key": f"k{j}", "value": {"stringValue": "v" * 40}}
                                        for j in range(12)]} for i in range(30_000)]
    (spool / "otlp.jsonl").write_text(json.dumps(traces_request(big)) + "\n" + good(1) + "\n")
    with Store.open(tmp_path / "store.duckdb") as store:
        before = store.sql("SELECT current_setting('memory_limit') AS m").m[0]
        result = fold_spool(store, spool)
        after = store.sql("SELECT current_setting('memory_limit') AS m").m[0]
    assert (result.spans_loaded, result.logs_loaded, result.rejected) == (30_000, 1, 0)
    assert _same_limit(after, before)  # the load's cap is lifted again afterwards


def _bytes(limit: str) -> float:
    """One of DuckDB's memory limits as it prints them ("18.8 GiB") in bytes."""
    number, unit = limit.split()
    return float(number) * {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}[unit]


def _same_limit(a: str, b: str) -> bool:
    """Two printed limits are the same, up to DuckDB's rounding when a printed limit is set
    again (it may read back as "18.7 GiB")."""
    return abs(_bytes(a) - _bytes(b)) <= 0.01 * _bytes(b)


def test_a_rollup_refresh_too_big_for_the_memory_cap_gets_more(tmp_path, monkeypatch):
    """The refresh at the end of a load runs under the load's cap; days of new data may not
    fit it (the demo's six days of 14 tenants did not, at 96 MB): DuckDB's out-of-memory
    error there is answered by refreshing again under ``REFRESH_MEMORY``, then under the
    default limit, not by failing the load. The first two refreshes are made to fail here,
    so the test does not hang on how much memory this DuckDB version needs."""
    import duckdb

    import toolkit.store.api as api

    real, limits = api.refresh_rollup, []

    def refresh(con):
        limits.append(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
        if len(limits) <= 2:
            raise duckdb.OutOfMemoryException("could not allocate block (made up by the test)")
        return real(con)

    monkeypatch.setattr(api, "refresh_rollup", refresh)
    path = tmp_path / "two-days.jsonl"
    path.write_text(json.dumps(logs_request([
        log_record(T0 + 60 * m + i, env, "job.created", pipeline__job__id=10 * m + i)
        for m in range(2 * 1440) for i, env in enumerate(["acme-prod", "globex-prod"])])))
    with Store.open(tmp_path / "store.duckdb") as store:
        before = store.sql("SELECT current_setting('memory_limit') AS m").m[0]
        result = store.load(path)
        rollup = store.rollup()
        after = store.sql("SELECT current_setting('memory_limit') AS m").m[0]
    assert result.logs_loaded == 5760 and len(limits) == 3
    # the load's cap, the refresh's larger one, DuckDB's default; the caller's limit after
    assert [_same_limit(limit, before) for limit in limits] == [False, False, True]
    assert _bytes(limits[0]) < _bytes(limits[1]) == _bytes("122.0 MiB")  # REFRESH_MEMORY
    assert _same_limit(after, before)
    assert len(rollup) == 5760 and rollup.offered.sum() == 5760
