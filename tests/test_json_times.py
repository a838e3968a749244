"""Every verb's ``--json`` output writes times one way: ISO 8601 in UTC with ``Z``, to the
second or to the microsecond (``toolkit.timefmt``), including the times nested in finding
details and detector events, so a consumer parses them all alike."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.report.conftest import recorded_store
from tests.store.otlp import T0, jsonl, log_record, logs_request
from toolkit.cli import main

#: Anything that starts like a date and a time of day, in any of the usual spellings.
_LOOKS_LIKE_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
_ONE_FORMAT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")


def times(value: object) -> list[str]:
    """Every string in a JSON document that holds a time (keys included)."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in times(k) + times(v)]
    if isinstance(value, list):
        return [t for v in value for t in times(v)]
    return [value] if isinstance(value, str) and _LOOKS_LIKE_TIME.match(value) else []


def test_the_walker_sees_times_in_any_spelling():
    """The check below could not pass by finding nothing."""
    found = times({"a": ["2024-05-06 09:12:00", {"2024-05-06T09:12:00Z": 1}], "b": "x"})
    assert found == ["2024-05-06 09:12:00", "2024-05-06T09:12:00Z"]
    assert not _ONE_FORMAT.fullmatch(found[0]) and _ONE_FORMAT.fullmatch(found[1])


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A copy of the report tests' one-tenant recording (2 to 7 May 2024; the fault makes
    wrongful discards in solo-prod from 10:47 on 6 May)."""
    db = tmp_path_factory.mktemp("json") / "s.duckdb"
    shutil.copy(recorded_store("env-blind-dedup"), db)
    return str(db)


@pytest.mark.parametrize("argv", [
    ["detect", "--since", "2024-05-06T09:00", "--until", "2024-05-07T00:00"],
    ["audit", "--since", "2024-05-06T10:00", "--until", "2024-05-06T12:00"],
    ["alert", "--now", "2024-05-06T11:00", "--dry-run"],
], ids=lambda argv: argv[0])
def test_reading_verbs_write_one_time_format(store, argv, capsys):
    code = main([argv[0], "--db", store, *argv[1:], "--json"])
    assert code in (0, 1), capsys.readouterr().err
    found = times(json.loads(capsys.readouterr().out))
    assert found, "the window holds times to check"
    assert [t for t in found if not _ONE_FORMAT.fullmatch(t)] == []


def test_load_and_simulate_write_one_time_format(tmp_path, capsys):
    path = tmp_path / "x.jsonl"
    path.write_text(jsonl(logs_request([log_record(T0, "acme-prod", "job.created",
                                                   pipeline__job__id=1)])))
    assert main(["load", str(path), "--db", str(tmp_path / "s.duckdb"), "--json"]) == 0
    assert main(["simulate", "--scenario", "baseline", "--days", "1", "--json",
                 "--no-store"]) == 0
    out = capsys.readouterr().out
    documents = [json.loads(d) for d in re.split(r"(?m)^(?=\{)", out) if d.strip()]
    found = [t for d in documents for t in times(d)]
    assert [t for t in found if not _ONE_FORMAT.fullmatch(t)] == []
